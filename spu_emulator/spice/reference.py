"""Reference files: stored ngspice outputs (``calibration/spice/*.npz``), so that a
validation needs no ngspice.

A file holds every check's data as arrays (each :class:`~.checks.base.CheckData`
names its own: ``spectrum_freqs``, ``waveform_v``, ``statistics_cov``, …) and one
JSON string ``meta``: the netlist's name and digest, the ngspice version, the
validation options (flat, :meth:`~.checks.options.ValidateOptions.to_dict`), the
command that made it, and each check's small entries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InputError
from ..io import save_npz
from ..netlist.schema import Netlist
from .checks import CHECK_NAMES, CHECKS
from .checks.options import ValidateOptions
from .validate import SpiceOutputs, ValidationReport, compare_all


def save_outputs(
    path: str,
    outputs: SpiceOutputs,
    netlist: Netlist,
    options: ValidateOptions,
    meta: dict[str, Any],
) -> None:
    """Store ngspice outputs as .npz (arrays + a JSON ``meta`` string)."""
    arrays: dict[str, Any] = {}
    info: dict[str, Any] = dict(meta)
    info |= {
        "netlist": netlist.name,
        "digest": netlist.digest,
        "ngspice": outputs.ngspice,
        "options": options.to_dict(),
    }
    for check in CHECKS:
        data = outputs.get(check.name)
        if data is not None:
            a, m = data.to_npz()
            arrays |= a
            info |= m
    arrays["meta"] = np.array(json.dumps(info, sort_keys=True))
    save_npz(path, **arrays)


def load_outputs(path: str) -> tuple[SpiceOutputs, dict[str, Any]]:
    """Read a file written by :func:`save_outputs`: (outputs, meta)."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays["meta"]))
    data = {}
    for check in CHECKS:
        d = check.data_type.from_npz(arrays, meta)
        if d is not None:
            data[check.name] = d
    return SpiceOutputs(data, ngspice=meta.get("ngspice", ""), source=f"calibration {path}"), meta


def options_from_dict(d: dict[str, Any]) -> ValidateOptions:
    """The options a file was made with (its ``meta["options"]``)."""
    return ValidateOptions.from_dict(d)


def deck_digest(deck: str) -> str:
    """A short content digest of a deck's text (16 hex digits of SHA-256)."""
    return hashlib.sha256(deck.encode()).hexdigest()[:16]


def compare_reference(
    netlist: Netlist, path: str, checks: Sequence[str] = CHECK_NAMES
) -> ValidationReport:
    """Compare the emulator with the ngspice outputs stored in ``path`` (made from this
    very netlist), with the options they were made with: ``spu validate --reference``.
    A check the file has no data for is reported as not run."""
    try:
        outputs, meta = load_outputs(path)
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"{path}: not a calibration file ({exc})") from None
    if meta.get("digest") != netlist.digest:
        raise InputError(
            f"{path} was made from a different netlist than {netlist.source or netlist.name}"
        )
    return compare_all(netlist, outputs, options_from_dict(meta.get("options", {})), checks)
