"""Sweep files (``sweep: spu-sweep/1``): read, validate, and say what each point is.

A sweep file names a base netlist, an ``spu`` command that prints JSON, and the points
to run it on::

    sweep: spu-sweep/1
    netlist: netlists/spu8.yaml         # relative to the sweep file
    command: [analyze, --json]          # the point's netlist is its first positional argument
    seed: 0                             # the sweep seed (random draws, per-point seeds)
    set:                                # Cartesian product of these lists
      "cells[0].C": ["1 nF", "1.2 nF"]
    zip:                                # lists of equal length, advanced together
      "cells[1].C": ["1 nF", "1.1 nF"]
      "cells[1].R": ["1 kOhm", "1.1 kOhm"]
    random:                             # count draws of each value
      count: 100
      draw: {"couplers[0].C": {uniform: ["90 pF", "110 pF"]}}
    montecarlo: {boards: 1000}          # as-built boards of the netlist's tolerances
    seeds: 4                            # --seed 0..3 for each point
    plot: {y: [relaxation_time]}        # fields of the result to plot

Every problem is one line naming the file and the field
(``sweep.yaml: set."cells[9].C": the netlist has 8 cells``), found before any point runs.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError

FORMAT = "spu-sweep/1"
TOP_KEYS = ("sweep", "netlist", "command", "seed", "set", "zip", "random", "montecarlo",
            "seeds", "plot")
DISTRIBUTIONS = ("uniform", "normal", "lognormal")
SEED_MAX = 2**63 - 1
#: Commands a sweep cannot run (they start sweeps themselves or print no JSON).
REFUSED = {"sweep": "a sweep cannot run sweeps", "plot": "it writes PNGs and prints no JSON"}

_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)$")


@dataclass(frozen=True)
class Draw:
    """One randomly drawn value: ``path``, its distribution and two parameters in SI
    units (uniform: low, high; normal: mean, std; lognormal: median, σ of the log)."""

    path: str
    distribution: str
    a: float
    b: float


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file. ``axes`` are the point kinds in the order they vary
    (the last fastest): ``("set", path, values)``, ``("zip", paths, rows)``,
    ``("random", draws, count)``, ``("montecarlo", seed, boards)``, ``("seeds", seeds)``.
    ``prefix`` is how many command tokens name the subcommand (the netlist goes after
    them); ``takes_seed`` whether the command has ``--seed``."""

    file: str
    netlist_file: str
    netlist_text: str
    command: tuple[str, ...]
    prefix: int
    takes_seed: bool
    seed: int
    axes: tuple[tuple, ...]
    plot_y: tuple[str, ...]
    digest: str
    raw: dict = field(repr=False, compare=False, default_factory=dict)

    @property
    def size(self) -> int:
        return math.prod(axis_length(a) for a in self.axes)

    @property
    def swept(self) -> tuple[str, ...]:
        """The swept parameters a plot can put on its axes: set paths, and the first
        path of a zip group."""
        return tuple(a[1] if a[0] == "set" else a[1][0] for a in self.axes
                     if a[0] in ("set", "zip"))


def axis_length(axis: tuple) -> int:
    kind = axis[0]
    if kind == "set":
        return len(axis[2])
    if kind == "zip":
        return len(axis[2])
    if kind in ("random", "montecarlo"):
        return axis[2]
    return len(axis[1])


# ---- netlist paths ----------------------------------------------------------------------
def parse_path(path: str) -> list[str | int]:
    """``cells[0].C`` → ["cells", 0, "C"]; raises ValueError on a malformed path."""
    out: list[str | int] = []
    for seg in path.split("."):
        m = _SEGMENT.match(seg)
        if not m:
            raise ValueError(f"cannot read {path!r} as a netlist path like cells[0].C")
        out.append(m.group(1))
        out += [int(i) for i in re.findall(r"\[(\d+)\]", m.group(2))]
    return out


def _where(keys: list[str | int]) -> str:
    s = ""
    for k in keys:
        s = f"{s}[{k}]" if isinstance(k, int) else (f"{s}.{k}" if s else k)
    return s


def locate(data: Any, path: str) -> tuple[Any, str | int]:
    """(container, key) of ``path`` in the netlist's plain data; ValueError with the
    reason when the path does not exist there."""
    keys = parse_path(path)
    cur = data
    for i, k in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(k, int):
            if not isinstance(cur, list):
                raise ValueError(f"{_where(keys[:i]) or 'the netlist'} is not a list")
            if k >= len(cur):
                where = keys[:i]
                if len(where) == 1:
                    raise ValueError(f"the netlist has {len(cur)} {where[0]}")
                raise ValueError(f"{_where(where)} has {len(cur)} entries")
        else:
            if not isinstance(cur, dict):
                raise ValueError(f"{_where(keys[:i]) or 'the netlist'} is not a mapping")
            if k not in cur:
                at = _where(keys[:i])
                have = ", ".join(sorted(map(str, cur))[:12])
                raise ValueError(f"the netlist has no {k!r}" + (f" in {at}" if at else "")
                                 + f" (it has: {have})")
        if last:
            return cur, k
        cur = cur[k]
    raise ValueError("empty path")  # pragma: no cover (parse_path never returns [])


def override_text(data: Any, overrides: tuple[tuple[str, Any], ...]) -> str:
    """YAML text of the netlist ``data`` (plain data) with ``overrides`` written at their
    paths; ValueError when a path does not exist."""
    import copy

    import yaml

    data = copy.deepcopy(data)
    for path, value in overrides:
        container, key = locate(data, path)
        container[key] = value
    return yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False,
                     default_flow_style=None, allow_unicode=True, width=100)



# ---- values with units ----------------------------------------------------------------
_UNIT_SUFFIXES = ("A2/Hz", "V2/Hz", "Ohm", "Hz", "F", "H", "K", "A", "V", "s")


def si_value(v: Any) -> float:
    """A number, or a string with an SI scale and unit (``"1.2 nF"``), as a float."""
    from ..units import ValueParseError, parse_value

    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise ValueError(f"expected a number or a value like '1 nF', got {v!r}")
    if isinstance(v, str):
        t = v.strip()
        unit = next((u for u in _UNIT_SUFFIXES if t.endswith(u)), "1")
        try:
            return parse_value(t, unit)
        except ValueParseError as exc:
            raise ValueError(str(exc)) from None
    return float(v)


# ---- the file ---------------------------------------------------------------------------
class _Ctx:
    def __init__(self, file: str):
        self.file = file

    def error(self, where: str, msg: str) -> InputError:
        return InputError(f"{self.file}: {where}: {msg}" if where else f"{self.file}: {msg}")

    def keys(self, m: Any, where: str, allowed: tuple[str, ...], required=()) -> dict:
        from ..netlist.context import unknown_key

        if not isinstance(m, dict):
            raise self.error(where, f"expected a mapping, got {type(m).__name__}")
        for k in m:
            if k not in allowed:
                raise self.error(f"{where}.{k}" if where else str(k), unknown_key(str(k), allowed))
        for k in required:
            if k not in m:
                raise self.error(where, f"missing key {k!r}")
        return m

    def count(self, v: Any, where: str) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise self.error(where, f"expected a positive integer, got {v!r}")
        return v

    def seed(self, v: Any, where: str) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= SEED_MAX:
            raise self.error(where, f"expected an integer from 0 to 2^63-1, got {v!r}")
        return v

    def values(self, v: Any, where: str) -> list:
        if not isinstance(v, list):
            raise self.error(where, f"expected a list of values, got {type(v).__name__}")
        if not v:
            raise self.error(where, "the list is empty; give at least one value")
        return v


def _quote(path: str) -> str:
    return f'"{path}"'


def load_sweep(path: str | os.PathLike[str]) -> SweepSpec:
    """Read and validate a sweep file (see the module docstring). Every value of every
    list is applied to the base netlist alone and the result validated, so a point
    fails at run time only when a combination of valid values is invalid. Cost: one
    netlist load per listed value."""
    import yaml

    file = str(path)
    c = _Ctx(file)
    try:
        text = Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{file}: cannot read the sweep file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputError(f"{file}: not a text file") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InputError(f"{file}{line}: {problem}") from None
    if not isinstance(raw, dict):
        raise InputError(f"{file}: expected a mapping with 'sweep: {FORMAT}'")
    c.keys(raw, "", TOP_KEYS, required=("sweep", "netlist", "command"))
    if raw["sweep"] != FORMAT:
        raise c.error("sweep", f"expected {FORMAT!r}, got {raw['sweep']!r}")

    # the base netlist
    nl = raw["netlist"]
    if not isinstance(nl, str) or not nl:
        raise c.error("netlist", f"expected a netlist file name, got {nl!r}")
    nl_file = nl if os.path.isabs(nl) else os.path.join(os.path.dirname(file), nl)
    try:
        nl_text = Path(nl_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not a text file"
        raise c.error("netlist", f"cannot read {nl_file} ({reason})") from None
    from ..errors import NetlistError
    from ..netlist import loads

    try:
        base = loads(nl_text, nl_file)
    except NetlistError as exc:
        raise c.error("netlist", str(exc)) from None
    data = yaml.safe_load(nl_text)

    seed = c.seed(raw.get("seed", 0), "seed")
    command, prefix, takes_seed = _command(c, raw["command"], "seeds" in raw)

    axes: list[tuple] = []
    seen: set[str] = set()

    def check_path(p: Any, where: str) -> str:
        if not isinstance(p, str):
            raise c.error(where, f"expected a netlist path like \"cells[0].C\", got {p!r}")
        w = f"{where}.{_quote(p)}"
        if p in seen:
            raise c.error(w, "this path is already swept elsewhere in the file")
        try:
            locate(data, p)
        except ValueError as exc:
            raise c.error(w, str(exc)) from None
        seen.add(p)
        return p

    def check_value(p: str, v: Any, where: str) -> None:
        try:
            loads(override_text(data, ((p, v),)), nl_file)
        except NetlistError as exc:
            raise c.error(where, exc.message) from None
        except ValueError as exc:
            raise c.error(where, str(exc)) from None

    if "set" in raw:
        s = raw["set"]
        if not isinstance(s, dict) or not s:
            raise c.error("set", "expected a mapping of netlist paths to lists of values")
        for p, vals in s.items():
            p = check_path(p, "set")
            vals = c.values(vals, f"set.{_quote(p)}")
            for i, v in enumerate(vals):
                check_value(p, v, f"set.{_quote(p)}[{i}]")
            axes.append(("set", p, tuple(vals)))
    if "zip" in raw:
        z = raw["zip"]
        if not isinstance(z, dict) or not z:
            raise c.error("zip", "expected a mapping of netlist paths to lists of equal length")
        paths, cols = [], []
        for p, vals in z.items():
            p = check_path(p, "zip")
            vals = c.values(vals, f"zip.{_quote(p)}")
            if cols and len(vals) != len(cols[0]):
                raise c.error(f"zip.{_quote(p)}", f"has {len(vals)} values, "
                              f"{_quote(paths[0])} has {len(cols[0])}; zipped lists need equal lengths")
            for i, v in enumerate(vals):
                check_value(p, v, f"zip.{_quote(p)}[{i}]")
            paths.append(p)
            cols.append(vals)
        axes.append(("zip", tuple(paths), tuple(zip(*cols, strict=True))))
    if "random" in raw:
        r = c.keys(raw["random"], "random", ("count", "draw"), required=("count", "draw"))
        count = c.count(r["count"], "random.count")
        d = r["draw"]
        if not isinstance(d, dict) or not d:
            raise c.error("random.draw", "expected a mapping of netlist paths to distributions "
                          "like {uniform: ['1 nF', '1.2 nF']}")
        draws = []
        for p, spec in d.items():
            p = check_path(p, "random.draw")
            w = f"random.draw.{_quote(p)}"
            c.keys(spec, w, DISTRIBUTIONS)
            if len(spec) != 1:
                raise c.error(w, f"give one distribution ({', '.join(DISTRIBUTIONS)})")
            (dist, args), = spec.items()
            if not isinstance(args, list) or len(args) != 2:
                raise c.error(f"{w}.{dist}", "expected two parameters [a, b]")
            try:
                a, b = si_value(args[0]), si_value(args[1])
            except ValueError as exc:
                raise c.error(f"{w}.{dist}", str(exc)) from None
            if dist == "uniform" and not a < b:
                raise c.error(f"{w}.{dist}", "expected [low, high] with low < high")
            if dist in ("normal", "lognormal") and not b >= 0:
                raise c.error(f"{w}.{dist}", "the spread (second parameter) must be ≥ 0")
            if dist == "lognormal" and not a > 0:
                raise c.error(f"{w}.{dist}", "the median (first parameter) must be positive")
            draws.append(Draw(p, dist, a, b))
        axes.append(("random", tuple(draws), count))
    if "montecarlo" in raw:
        m = c.keys(raw["montecarlo"], "montecarlo", ("boards", "seed"), required=("boards",))
        boards = c.count(m["boards"], "montecarlo.boards")
        mseed = c.seed(m.get("seed", seed), "montecarlo.seed")
        from ..hardware.family import BoardFamily

        try:
            fam = BoardFamily(base)
        except InputError as exc:
            raise c.error("montecarlo", str(exc)) from None
        if base.tolerances is None or not fam.toleranced:
            raise c.error("montecarlo", "the netlist has no tolerances: section to draw boards from")
        axes.append(("montecarlo", mseed, boards))
    if "seeds" in raw:
        s = raw["seeds"]
        if isinstance(s, list):
            c.values(s, "seeds")
            for i, v in enumerate(s):
                c.seed(v, f"seeds[{i}]")
            if len(set(s)) != len(s):
                raise c.error("seeds", "the list repeats a seed")
            seeds = tuple(s)
        else:
            seeds = range(c.count(s, "seeds"))  # lazy: a count of 10⁹ is refused by size, not built
        axes.append(("seeds", seeds))

    plot_y: tuple[str, ...] = ()
    if "plot" in raw:
        pl = c.keys(raw["plot"], "plot", ("y",), required=("y",))
        ys = pl["y"]
        ys = [ys] if isinstance(ys, str) else ys
        ys = c.values(ys, "plot.y")
        for i, y in enumerate(ys):
            if not isinstance(y, str):
                raise c.error(f"plot.y[{i}]", f"expected a result field like relaxation_time, got {y!r}")
            try:
                parse_path(y)
            except ValueError as exc:
                raise c.error(f"plot.y[{i}]", str(exc)) from None
        plot_y = tuple(ys)

    digest = hashlib.sha256(text.encode() + b"\0" + nl_text.encode()).hexdigest()
    return SweepSpec(file, nl_file, nl_text, command, prefix, takes_seed, seed, tuple(axes),
                     plot_y, digest, raw)


def _command(c: _Ctx, cmd: Any, has_seeds: bool) -> tuple[tuple[str, ...], int, bool]:
    import shlex

    from ..cli.capture import has_option, parse_error, subcommand

    if isinstance(cmd, str):
        cmd = shlex.split(cmd)
    if isinstance(cmd, list):  # YAML reads `--save-every, 10` as a number
        cmd = [str(t) if isinstance(t, (int, float)) and not isinstance(t, bool) else t
               for t in cmd]
    if not isinstance(cmd, list) or not cmd or not all(isinstance(t, str) for t in cmd):
        raise c.error("command", "expected an spu command as a list, e.g. [analyze, --json]")
    if cmd[0] == "spu":
        cmd = cmd[1:]
    if cmd and cmd[0] in REFUSED:
        raise c.error("command", f"cannot sweep 'spu {cmd[0]}': {REFUSED[cmd[0]]}")
    leaf, prefix = subcommand(cmd)
    if leaf is None:
        raise c.error("command", f"{cmd[0] if cmd else ''!r} is not an spu command "
                      "(see spu --help)")
    name = " ".join(cmd[:prefix])
    if any(type(a).__name__ == "_SubParsersAction" for a in leaf._actions):
        raise c.error("command", f"'spu {name}' needs a subcommand (see spu {name} --help)")
    if not has_option(leaf, "--json"):
        raise c.error("command", f"'spu {name}' prints no JSON (it has no --json option); "
                      "a sweep records each point's JSON output")
    if "--json" not in cmd[prefix:]:
        raise c.error("command", "add --json: a sweep records each point's JSON output")
    takes_seed = has_option(leaf, "--seed")
    if any(t == "--seed" or t.startswith("--seed=") for t in cmd[prefix:]) and has_seeds:
        raise c.error("command", "give the seeds in 'seeds:', not as --seed in the command")
    if has_seeds and not takes_seed:
        raise c.error("seeds", f"'spu {name}' takes no --seed")
    argv = [*cmd[:prefix], "netlist.yaml", *cmd[prefix:]]
    if takes_seed and not any(t.startswith("--seed") for t in cmd[prefix:]):
        argv += ["--seed", "0"]
    err = parse_error(argv)
    if err:
        raise c.error("command", err.removeprefix("spu: error: "))
    return tuple(cmd), prefix, takes_seed


__all__ = ["FORMAT", "Draw", "SweepSpec", "axis_length", "load_sweep", "locate", "override_text", "parse_path",
           "si_value"]
