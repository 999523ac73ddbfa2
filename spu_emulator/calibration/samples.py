"""Node-voltage samples read from a board: loading and checking.

Two layouts of ``.npz`` are read:

* ``spu simulate``'s: ``t`` (N,), ``states`` (chains, N, states), ``state_names``; only
  the node-voltage states ``v(<node>)`` are used (a hardware board shows nothing else);
* plain: ``t`` (N,), ``v`` (N, nodes) or (chains, N, nodes), ``nodes`` (names).

Either may carry ``design_digest``: the digest of the design the board was built from
(``spu check`` prints it); when present it must match the design given. Every problem
is one line naming the file and the field. Cost O(size of the file).
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

Array = np.ndarray

#: Relative spread of the sampling intervals accepted as "fixed".
EVEN_TOL = 1e-6


@dataclass(frozen=True, eq=False)
class Samples:
    """Readings ``v`` (chains, N, nodes) in volts at the times ``t`` (N,), every ``h``
    seconds; ``nodes`` their names; ``source`` the file, ``digest`` its SHA-256,
    ``design_digest`` the design it declares (or "")."""

    v: Array
    t: Array
    h: float
    nodes: tuple[str, ...]
    source: str = ""
    digest: str = ""
    design_digest: str = ""

    @property
    def chains(self) -> int:
        return self.v.shape[0]

    @property
    def n(self) -> int:
        """Samples per chain."""
        return self.v.shape[1]

    @property
    def count(self) -> int:
        """Readings of every node (chains × samples)."""
        return self.v.shape[0] * self.v.shape[1]

    def describe(self) -> dict:
        return {"file": self.source, "sha256": self.digest, "chains": self.chains,
                "samples_per_chain": self.n, "interval": self.h, "nodes": list(self.nodes)}


def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def from_arrays(t: Array, v: Array, nodes: tuple[str, ...] | list[str], *, source: str = "<samples>",
                digest: str = "", design_digest: str = "") -> Samples:
    """Check and wrap readings (see the module docstring); errors name ``source``."""
    where = source
    t = np.asarray(t)
    if t.ndim != 1 or t.size < 2 or not np.issubdtype(t.dtype, np.number):
        raise InputError(f"{where}: t: the time axis must be a 1-d array of at least 2 times, "
                         f"got shape {t.shape}")
    t = t.astype(float)
    if not np.all(np.isfinite(t)):
        raise InputError(f"{where}: t: contains non-finite times")
    dt = np.diff(t)
    h = float(np.mean(dt))
    if not h > 0:
        raise InputError(f"{where}: t: times must increase")
    spread = float(np.max(np.abs(dt - h)) / h)
    if spread > EVEN_TOL:
        k = int(np.argmax(np.abs(dt - h)))
        raise InputError(f"{where}: t: uneven sampling (interval {dt[k]:.6g} s at sample {k + 1} "
                         f"against a mean of {h:.6g} s); calibration needs a fixed interval")
    v = np.asarray(v)
    if not np.issubdtype(v.dtype, np.number) or np.iscomplexobj(v):
        raise InputError(f"{where}: v: readings must be real numbers")
    if v.ndim == 2:
        v = v[None]
    if v.ndim != 3 or v.shape[1] != t.size:
        raise InputError(f"{where}: v: expected (times, nodes) or (chains, times, nodes) with "
                         f"{t.size} times, got shape {v.shape}")
    nodes = tuple(str(n) for n in nodes)
    if len(nodes) != v.shape[2]:
        raise InputError(f"{where}: nodes: {len(nodes)} names for {v.shape[2]} columns of v")
    if len(set(nodes)) != len(nodes):
        raise InputError(f"{where}: nodes: duplicate node names")
    v = v.astype(float)
    bad = ~np.isfinite(v)
    if bad.any():
        c, k, j = (int(x[0]) for x in np.nonzero(bad))
        raise InputError(f"{where}: v: {int(bad.sum())} non-finite (NaN or inf) readings, the "
                         f"first at chain {c}, sample {k}, node {nodes[j]!r}")
    return Samples(v=v, t=t, h=h, nodes=nodes, source=source, digest=digest,
                   design_digest=design_digest)


def load_samples(path: str | os.PathLike[str]) -> Samples:
    """Read a samples ``.npz`` (see the module docstring)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"{path}: samples file not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        reason = " ".join(str(exc).split())[:120]
        raise InputError(f"{path}: cannot read a .npz file ({reason})") from None
    if "t" not in data:
        raise InputError(f"{path}: t: no time axis (the file needs `t`, the sample times in "
                         "seconds)")
    dd = str(data["design_digest"]) if "design_digest" in data else ""
    digest = _file_digest(path)
    if "states" in data:
        if "state_names" not in data:
            raise InputError(f"{path}: state_names: missing (needed to find the node "
                             "voltages in `states`)")
        names = [str(s) for s in np.atleast_1d(data["state_names"])]
        st = np.asarray(data["states"])
        if st.ndim == 2:
            st = st[None]
        if st.ndim != 3 or st.shape[-1] != len(names):
            raise InputError(f"{path}: states: expected (chains, times, {len(names)}) "
                             f"states, got shape {st.shape}")
        cols = [i for i, s in enumerate(names) if s.startswith("v(") and s.endswith(")")]
        if not cols:
            raise InputError(f"{path}: state_names: no node-voltage states v(<node>)")
        nodes = tuple(names[i][2:-1] for i in cols)
        return from_arrays(data["t"], st[..., cols], nodes, source=path, digest=digest,
                           design_digest=dd)
    if "v" not in data:
        raise InputError(f"{path}: v: no readings (the file needs `v`, or `states` and "
                         "`state_names` as spu simulate writes them)")
    if "nodes" not in data:
        raise InputError(f"{path}: nodes: missing (the names of the columns of `v`)")
    return from_arrays(data["t"], data["v"], [str(s) for s in np.atleast_1d(data["nodes"])],
                       source=path, digest=digest, design_digest=dd)


def check_against(samples: Samples, netlist, design_file: str) -> None:
    """The samples fit the design: known node names, the declared design digest."""
    if samples.design_digest and samples.design_digest != netlist.digest:
        raise InputError(f"{samples.source}: design_digest: the samples were read from a board "
                         f"of design {samples.design_digest[:12]}…, not {design_file} "
                         f"({netlist.digest[:12]}…)")
    from ..circuit.assemble import assemble

    known = assemble(netlist).nodes
    unknown = [n for n in samples.nodes if n not in known]
    if unknown:
        raise InputError(f"{samples.source}: nodes: {', '.join(map(repr, unknown[:4]))} "
                         f"{'is' if len(unknown) == 1 else 'are'} not a node of {design_file} "
                         f"(its nodes: {', '.join(known[:8])}{', …' if len(known) > 8 else ''})")


__all__ = ["Samples", "check_against", "from_arrays", "load_samples"]
