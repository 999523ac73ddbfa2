"""Run ngspice in batch mode and read its raw output files.

``ngspice -b deck.cir -r out.raw`` is the one way this package calls ngspice: it
needs only the ``ngspice`` executable (no PySpice, no shared library), works with
ngspice 39 and numpy 2, and its binary raw file is read here with numpy.

Raw file layout (ngspice, ``filetype=binary``, the default): one or more plots, each
an ASCII header (``Title:``, ``Plotname:``, ``Flags: real|complex``,
``No. Variables:``, ``No. Points:``, ``Variables:`` then one line per variable) and
``Binary:`` followed by ``points × variables`` little-endian float64 values
(two per value for complex plots), point-major.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import CrossCheckError, InputError, MissingDependencyError

Array = np.ndarray

#: What a user runs to get ngspice (Debian/Ubuntu); quoted in every "missing" message.
INSTALL_HINT = (
    "install ngspice: apt-get install -y --no-install-recommends ngspice libngspice0 "
    "libngspice0-dev (or set SPU_NGSPICE to the ngspice executable)"
)


@dataclass(frozen=True, eq=False)
class RawPlot:
    """One plot of a raw file: ``variables`` names (lower case, as ngspice writes
    them) and ``data`` of shape (points, variables), real or complex."""

    title: str
    name: str
    variables: tuple[str, ...]
    data: Array

    def __getitem__(self, var: str) -> Array:
        key = var.lower()
        if key not in self.variables:
            raise KeyError(f"{var!r} not in plot {self.name!r} (has {', '.join(self.variables)})")
        return self.data[:, self.variables.index(key)]


@dataclass(frozen=True, eq=False)
class NgspiceResult:
    """Plots of one ngspice batch run, plus the exact command and ngspice's output."""

    plots: tuple[RawPlot, ...]
    command: tuple[str, ...]
    version: str
    log: str = field(repr=False, default="")

    def plot(self, name_contains: str) -> RawPlot:
        for p in self.plots:
            if name_contains.lower() in p.name.lower():
                return p
        raise CrossCheckError(
            f"ngspice produced no plot named like {name_contains!r} "
            f"(got {', '.join(p.name for p in self.plots) or 'none'}); log tail: "
            + " | ".join(self.log.strip().splitlines()[-3:])
        )


def read_raw(path: str | os.PathLike[str]) -> list[RawPlot]:
    """Parse an ngspice raw file (binary or ASCII values). Returns every plot in it."""
    blob = Path(path).read_bytes()
    plots: list[RawPlot] = []
    pos = 0
    while pos < len(blob):
        # Skip blank bytes between plots.
        while pos < len(blob) and blob[pos : pos + 1] in (b"\n", b"\r", b" "):
            pos += 1
        if pos >= len(blob):
            break
        header: dict[str, str] = {}
        variables: list[str] = []
        in_vars = False
        mode = ""
        while True:
            end = blob.find(b"\n", pos)
            if end < 0:
                raise CrossCheckError(f"{path}: truncated ngspice raw file header")
            line = blob[pos:end].decode("latin-1").rstrip("\r")
            pos = end + 1
            low = line.strip().lower()
            if low in ("binary:", "values:"):
                mode = low[:-1]
                break
            if in_vars and line.startswith(("\t", " ")) and line.strip():
                parts = line.split()
                variables.append(parts[1].lower())
                continue
            in_vars = False
            key, _, value = line.partition(":")
            header[key.strip().lower()] = value.strip()
            if key.strip().lower() == "variables":
                in_vars = True
        nvar = int(header["no. variables"])
        npts = int(header["no. points"].split()[0])
        is_complex = "complex" in header.get("flags", "").lower()
        if len(variables) != nvar:
            raise CrossCheckError(f"{path}: raw header lists {len(variables)} of {nvar} variables")
        width = 2 if is_complex else 1
        if mode == "binary":
            count = npts * nvar * width
            vals = np.frombuffer(blob, dtype="<f8", count=count, offset=pos)
            pos += count * 8
        else:  # ASCII: "index\tvalue" then "\tvalue" lines, complex as "re,im"
            nums: list[float] = []
            while len(nums) < npts * nvar * width:
                end = blob.find(b"\n", pos)
                end = len(blob) if end < 0 else end
                toks = blob[pos:end].decode("latin-1").replace(",", " ").split()
                pos = end + 1
                if not toks:
                    continue
                if len(nums) % (nvar * width) == 0:
                    toks = toks[1:]  # point index
                nums.extend(float(t) for t in toks)
            vals = np.asarray(nums)
        data = vals.reshape(npts, nvar, width)
        arr = data[..., 0] + 1j * data[..., 1] if is_complex else data[..., 0].copy()
        plots.append(
            RawPlot(
                title=header.get("title", ""),
                name=header.get("plotname", ""),
                variables=tuple(variables),
                data=arr,
            )
        )
    return plots


def find_ngspice() -> str:
    """Path of the ngspice executable (``$SPU_NGSPICE`` or ``ngspice`` on PATH), or
    MissingDependencyError with the install command."""
    env = os.environ.get("SPU_NGSPICE")
    if env:
        if shutil.which(env) is None and not Path(env).is_file():
            raise MissingDependencyError(f"SPU_NGSPICE={env} is not an executable; {INSTALL_HINT}")
        return env
    exe = shutil.which("ngspice")
    if exe is None:
        raise MissingDependencyError(f"ngspice was not found on PATH; {INSTALL_HINT}")
    return exe


def ngspice_available() -> bool:
    """True when an ngspice executable can be found (used by tests to decide skips)."""
    try:
        find_ngspice()
    except MissingDependencyError:
        return False
    return True


_VERSION_CACHE: dict[str, str] = {}


def ngspice_version() -> str:
    """e.g. ``"ngspice-39"`` (from ``ngspice --version``)."""
    exe = find_ngspice()
    if exe not in _VERSION_CACHE:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
        m = re.search(r"ngspice-\S+", out.stdout + out.stderr)
        _VERSION_CACHE[exe] = m.group(0) if m else "ngspice-unknown"
    return _VERSION_CACHE[exe]


def run_deck(deck: str, *, timeout: float = 600.0, workdir: str | None = None) -> NgspiceResult:
    """Run ``ngspice -b deck.cir -r out.raw`` on the deck text and read every plot.

    Raises MissingDependencyError without ngspice, CrossCheckError if ngspice fails
    or writes no raw file (the message quotes the tail of its log).
    """
    exe = find_ngspice()
    version = ngspice_version()
    with tempfile.TemporaryDirectory(prefix="spu-spice-", dir=workdir) as tmp:
        deck_path = Path(tmp) / "deck.cir"
        raw_path = Path(tmp) / "out.raw"
        deck_path.write_text(deck)
        cmd = (exe, "-b", deck_path.name, "-r", raw_path.name)
        try:
            proc = subprocess.run(
                cmd,
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=timeout,
                env={**os.environ, "SPICE_ASCIIRAWFILE": "0"},
            )
        except subprocess.TimeoutExpired:
            raise CrossCheckError(f"ngspice did not finish within {timeout:g} s") from None
        log = proc.stdout + proc.stderr
        errors = [ln for ln in log.splitlines() if re.search(r"\berror\b", ln, re.I)]
        if proc.returncode != 0 or not raw_path.exists() or errors:
            tail = " | ".join((errors or log.strip().splitlines())[-4:])
            raise CrossCheckError(f"ngspice failed (exit {proc.returncode}): {tail}")
        plots = read_raw(raw_path)
    return NgspiceResult(
        plots=tuple(plots),
        command=("ngspice", "-b", "deck.cir", "-r", "out.raw"),
        version=version,
        log=log,
    )


def require_positive(name: str, value: float) -> float:
    """Small option guard shared by the spice helpers."""
    if not (np.isfinite(value) and value > 0):
        raise InputError(f"{name} must be positive and finite, got {value!r}")
    return float(value)
