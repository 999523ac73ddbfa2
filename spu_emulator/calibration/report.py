"""The calibration file (``board-cal.yaml``): write it for a person to read, read it back
for compensation. Only this module touches YAML, and it imports PyYAML on first use.

Layout (``format: spu-calibration/1``): ``design`` (name, file, digest), ``data`` (the
samples file, its SHA-256, chains, samples, interval, nodes), ``fit`` (method,
iterations, goodness of fit), ``parameters`` (per element, as error messages name it:
``element``, ``position`` (the two nodes it joins), ``class``, ``unit``, ``nominal``,
``estimate``, ``stderr``, ``relative_deviation``, ``relative_stderr``) and
``relative_covariance`` (of ln(estimate / nominal), parameters in file order).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..io import to_jsonable, write_text
from .estimate import Calibration

FORMAT = "spu-calibration/1"


def calibration_dict(cal: Calibration, netlist) -> dict[str, Any]:
    """The file's content (plain data)."""
    out = cal.to_dict()
    for name, entry in out["parameters"].items():
        e = netlist.element(entry["element"])
        entry["position"] = [str(n) for n in getattr(e, "nodes", ())]
        out["parameters"][name] = {k: entry[k] for k in (
            "element", "position", "class", "unit", "nominal", "estimate", "stderr",
            "relative_deviation", "relative_stderr")}
    return to_jsonable(out)


def dumps_calibration(cal: Calibration, netlist) -> str:
    import yaml  # lazy: the numerics never import yaml

    data = calibration_dict(cal, netlist)
    cov = data.pop("relative_covariance")
    head = (f"# Calibration of a {cal.design.get('name', '')} board from "
            f"{os.path.basename(cal.data.get('file', ''))}: as-built value of every element,\n"
            "# with standard errors (Fisher information); relative_covariance is that of\n"
            "# ln(estimate / nominal), parameters in the order listed.\n")
    body = yaml.safe_dump(data, sort_keys=False, width=100)
    tail = yaml.safe_dump({"relative_covariance": [[float(f"{x:.6g}") for x in row] for row in cov]},
                          default_flow_style=None, width=200)
    return head + body + tail


def write_calibration(path: str | os.PathLike[str], cal: Calibration, netlist) -> None:
    """Write the file atomically."""
    write_text(path, dumps_calibration(cal, netlist))


@dataclass(frozen=True, eq=False)
class BoardCalibration:
    """A calibration file read back: per parameter name its element, position, class,
    nominal, estimate, stderr; the relative covariance; the design's digest."""

    source: str
    design_digest: str
    names: tuple[str, ...]
    entries: dict[str, dict[str, Any]]
    relative_covariance: np.ndarray
    design_file: str = ""

    def design_path(self) -> str:
        """The calibrated board's design file: as recorded, else beside the calibration
        file; a one-line error when neither exists."""
        cands = [self.design_file, os.path.join(os.path.dirname(self.source), self.design_file),
                 os.path.join(os.path.dirname(self.source), os.path.basename(self.design_file))]
        for c in cands:
            if self.design_file and os.path.isfile(c):
                return c
        raise InputError(f"{self.source}: design.file: the calibrated board's design "
                         f"{self.design_file!r} is not found (give it with --cells-from)",
                         "calibration")

    def ratio(self, name: str) -> float:
        e = self.entries[name]
        return float(e["estimate"]) / float(e["nominal"])

    def by_position(self) -> dict[tuple[str, frozenset], str]:
        """(class, {node, node}) → parameter name: where each calibrated part sits."""
        out = {}
        for nm, e in self.entries.items():
            pos = e.get("position") or []
            if len(pos) == 2:
                out[(str(e["class"]), frozenset(map(str, pos)))] = nm
        return out


def load_calibration(path: str | os.PathLike[str]) -> BoardCalibration:
    """Read a calibration file; every problem is one line naming the file and field."""
    import yaml  # lazy

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"{path}: calibration file not found", "calibration")
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a calibration file (not text; expected the YAML "
                         "that spu calibrate writes)", "calibration") from None
    except (OSError, yaml.YAMLError) as exc:
        reason = " ".join(str(exc).split())[:120]
        raise InputError(f"{path}: cannot read the calibration ({reason})", "calibration") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{path}: format: not a calibration file (expected format: {FORMAT})",
                         "calibration")
    params = data.get("parameters")
    if not isinstance(params, dict) or not params:
        raise InputError(f"{path}: parameters: missing or empty", "calibration")
    for nm, e in params.items():
        for k in ("element", "class", "nominal", "estimate", "stderr"):
            if not isinstance(e, dict) or k not in e:
                raise InputError(f"{path}: parameters.{nm}.{k}: missing", "calibration")
        for k in ("nominal", "estimate", "stderr"):
            v = e[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                raise InputError(f"{path}: parameters.{nm}.{k}: must be a number, got {v!r}",
                                 "calibration")
        if e["class"] != "K" and not (e["nominal"] > 0 and e["estimate"] > 0):
            raise InputError(f"{path}: parameters.{nm}.estimate: must be positive", "calibration")
    names = tuple(params)
    cov = np.asarray(data.get("relative_covariance", np.diag(
        [(float(params[n]["stderr"]) / abs(float(params[n]["estimate"]))) ** 2 for n in names])), float)
    if cov.shape != (len(names), len(names)) or not np.all(np.isfinite(cov)):
        raise InputError(f"{path}: relative_covariance: expected {len(names)} × {len(names)} "
                         "numbers", "calibration")
    digest = str((data.get("design") or {}).get("digest", ""))
    dfile = str((data.get("design") or {}).get("file", ""))
    return BoardCalibration(path, digest, names, {n: dict(params[n]) for n in names}, cov, dfile)


__all__ = ["FORMAT", "BoardCalibration", "calibration_dict", "dumps_calibration",
           "load_calibration", "write_calibration"]
