"""The points of a sweep, in a fixed order, and each point's netlist and command line.

Points are the Cartesian product of the sweep's axes in file order, the last varying
fastest: each ``set`` list, the ``zip`` group, the ``random`` draws, the ``montecarlo``
boards, the ``seeds``. Point ``index`` is its position in that product. Everything a
point is follows from (sweep file, index), never from which worker runs it or when:

- draw r of ``random`` is row r of one stream, ``SeedSequence(seed).spawn(2)[1]``
  (PCG64, one 64-bit output per value: u = (⌊x / 2¹¹⌋ + ½) 2⁻⁵³, then low + (high − low) u,
  mean + std Φ⁻¹(u) or median · exp(σ Φ⁻¹(u))), the same draws for every other axis;
- board b of ``montecarlo`` is board b of ``spu montecarlo --seed SEED`` on the point's
  netlist (:meth:`~spu_emulator.hardware.family.BoardFamily.draw`);
- the ``--seed`` of a command that takes one is the ``seeds`` entry when the file has
  ``seeds:``, else ``SeedSequence(seed).spawn(2)[0].spawn(N)[index]``'s first 63 bits
  (unless the command gives its own ``--seed``).

A point's netlist is the base netlist's YAML with the overrides written at their paths
(then the board's values, for Monte Carlo points), validated by the netlist loader when
it runs. Cost: O(points) to enumerate, O(netlist) per point's netlist.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Any

from .spec import SEED_MAX, SweepSpec, override_text

#: The point's netlist as the command sees it (in the point's working directory).
NETLIST_NAME = "netlist.yaml"


@dataclass(frozen=True)
class Point:
    """One point: its ``index``, netlist ``overrides`` ((path, value), in file order), the
    Monte Carlo ``board`` (or None), and the ``seed`` passed as --seed (or None)."""

    index: int
    overrides: tuple[tuple[str, Any], ...]
    board: int | None
    seed: int | None

    def record(self) -> dict[str, Any]:
        """The point's identity as results.jsonl writes it."""
        r: dict[str, Any] = {"index": self.index, "overrides": dict(self.overrides)}
        if self.board is not None:
            r["board"] = self.board
        r["seed"] = self.seed
        return r


def _draws(spec: SweepSpec, draws: tuple, count: int) -> list[tuple[float, ...]]:
    import numpy as np
    from scipy.special import ndtri  # lazy: scipy's import pulls in argparse

    bg = np.random.PCG64(np.random.SeedSequence(spec.seed, spawn_key=(1,)))
    raw = bg.random_raw(count * len(draws)).reshape(count, len(draws))
    u = ((raw >> np.uint64(11)).astype(float) + 0.5) * 2.0**-53
    cols = []
    for j, d in enumerate(draws):
        if d.distribution == "uniform":
            cols.append(d.a + (d.b - d.a) * u[:, j])
        elif d.distribution == "normal":
            cols.append(d.a + d.b * ndtri(u[:, j]))
        else:
            cols.append(d.a * np.exp(d.b * ndtri(u[:, j])))
    return [tuple(float(x) for x in row) for row in np.stack(cols, axis=1)]


def point_seed(sweep_seed: int, index: int) -> int:
    """The --seed of point ``index`` when the sweep file gives no ``seeds:``."""
    import numpy as np

    s = np.random.SeedSequence(sweep_seed, spawn_key=(0, index)).generate_state(1, np.uint64)[0]
    return int(s) & SEED_MAX


def _explicit_seed(command: tuple[str, ...]) -> bool:
    return any(t == "--seed" or t.startswith("--seed=") for t in command)


def points(spec: SweepSpec) -> list[Point]:
    """Every point of the sweep, by index (see the module docstring)."""
    options: list[list[dict[str, Any]]] = []
    for axis in spec.axes:
        kind = axis[0]
        if kind == "set":
            options.append([{"ov": ((axis[1], v),)} for v in axis[2]])
        elif kind == "zip":
            options.append([{"ov": tuple(zip(axis[1], row, strict=True))} for row in axis[2]])
        elif kind == "random":
            draws, count = axis[1], axis[2]
            options.append([{"ov": tuple((d.path, v) for d, v in zip(draws, row, strict=True))}
                            for row in _draws(spec, draws, count)])
        elif kind == "montecarlo":
            options.append([{"board": b} for b in range(axis[2])])
        else:
            options.append([{"seed": s} for s in axis[1]])
    derive = spec.takes_seed and not _explicit_seed(spec.command) and not any(
        a[0] == "seeds" for a in spec.axes)
    out = []
    for index, combo in enumerate(itertools.product(*options)):
        ov: tuple = ()
        board = seed = None
        for part in combo:
            ov += part.get("ov", ())
            board = part.get("board", board)
            seed = part.get("seed", seed)
        if derive:
            seed = point_seed(spec.seed, index)
        out.append(Point(index, ov, board, seed))
    return out


def montecarlo_seed(spec: SweepSpec) -> int | None:
    return next((a[1] for a in spec.axes if a[0] == "montecarlo"), None)


def argv(spec: SweepSpec, point: Point) -> list[str]:
    """The point's command line: the netlist after the subcommand, --seed at the end."""
    cmd = list(spec.command)
    out = [*cmd[: spec.prefix], NETLIST_NAME, *cmd[spec.prefix:]]
    if point.seed is not None:
        out += ["--seed", str(point.seed)]
    return out


# ---- the point's netlist ------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _parsed(text: str) -> Any:
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@functools.lru_cache(maxsize=8)
def _family(text: str) -> Any:
    from ..hardware.family import BoardFamily
    from ..netlist import loads

    return BoardFamily(loads(text, NETLIST_NAME))


def netlist_text(base_text: str, point: Point, mc_seed: int | None) -> str:
    """The point's netlist as YAML text: the base text itself when the point changes
    nothing, else the overridden YAML (with board ``point.board``'s values drawn from
    its tolerances for a Monte Carlo point)."""
    text = override_text(_parsed(base_text), point.overrides) if point.overrides else base_text
    if point.board is None:
        return text
    from ..netlist.dump import dumps

    fam = _family(text)
    values = fam.draw(mc_seed, point.board, point.board + 1)[0]
    return dumps(fam.netlist_for(values))


__all__ = ["NETLIST_NAME", "Point", "argv", "montecarlo_seed", "netlist_text", "override_text",
           "point_seed", "points"]
