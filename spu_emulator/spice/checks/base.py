"""The one interface every cross-check of ``spu validate`` implements, and its verdict.

A check has four stages, kept apart so that tests can feed stored ngspice outputs
(``calibration/``) or a deliberately modified deck:

1. ``applies(circuit, options)``: None if the check can say something about this
   assembled circuit (:class:`~spu_emulator.circuit.assemble.Circuit` or
   ``NonlinearCircuit``), else the reason it is not run (one line);
2. ``plan(circuit, options)`` and ``decks(plan, netlist)``: what to ask ngspice,
   from the emulator's circuit, as deck texts made from ``netlist`` (pure text);
3. ``run(plan, decks, netlist, runner)``: ngspice on every deck, reduced to a small
   :class:`CheckData` that a reference file can store;
4. ``compare(circuit, data, options)``: that data against the emulator, giving a
   :class:`CheckResult`.

A verdict has three states: ``"pass"``, ``"fail"`` and ``"not run"``. A check that
did not run is never counted as passed; its result carries the reason.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..export import charge_capacitances, spice_names

Array = np.ndarray
#: ngspice on one deck: returns an object with ``plot(name)`` and ``plots``
#: (:class:`~spu_emulator.spice.run.NgspiceResult`).
Runner = Callable[[str], Any]

PASS = "pass"
FAIL = "fail"
NOT_RUN = "not run"
STATUSES = (PASS, FAIL, NOT_RUN)


def verdict(passed: bool) -> str:
    """The status of a check that ran."""
    return PASS if passed else FAIL


@dataclass(eq=False)
class CheckResult:
    """One check's verdict. ``status`` is ``"pass"``, ``"fail"`` or ``"not run"``;
    ``rows`` has one dict per state node (or covariance entry); ``worst`` names the row
    that decides the verdict; ``metric`` is the worst value compared with
    ``tolerance`` (for statistics: |error| / allowance). A check that did not run has
    its reason as ``summary`` (and NaN metric and tolerance)."""

    name: str
    status: str
    metric: float
    tolerance: float
    worst: str
    summary: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, Array] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    @classmethod
    def not_run(cls, name: str, reason: str) -> CheckResult:
        """The result of a check that cannot say anything here, and why."""
        return cls(name=name, status=NOT_RUN, metric=math.nan, tolerance=math.nan,
                   worst="n/a", summary=reason, info={"applicable": False})

    @property
    def passed(self) -> bool:
        return self.status == PASS

    @property
    def ran(self) -> bool:
        return self.status != NOT_RUN

    @property
    def reason(self) -> str | None:
        """Why the check did not run (None if it ran)."""
        return None if self.ran else self.summary

    def to_dict(self) -> dict[str, Any]:
        out = {
            "check": self.name,
            "status": self.status,
            "passed": self.passed,
            "metric": self.metric,
            "tolerance": self.tolerance,
            "worst": self.worst,
            "summary": self.summary,
            "rows": self.rows,
            "info": self.info,
        }
        if not self.ran:
            out["reason"] = self.summary
        return out


class CheckData(ABC):
    """What a check keeps of its ngspice runs (arrays and a few numbers), so that a
    reference file can store it and a later comparison needs no ngspice."""

    @abstractmethod
    def to_npz(self) -> tuple[dict[str, Array], dict[str, Any]]:
        """(arrays, meta): arrays named after the check (``spectrum_freqs``, …) and
        JSON entries for the file's ``meta``."""

    @classmethod
    @abstractmethod
    def from_npz(cls, arrays: dict[str, Array], meta: dict[str, Any]) -> CheckData | None:
        """The data stored by :meth:`to_npz`, or None if the file has none."""


class Check(ABC):
    """One cross-check of the emulator against ngspice (see the module docstring)."""

    #: the check's name (``--checks``, the report, the reference file)
    name: ClassVar[str]
    #: its ngspice data
    data_type: ClassVar[type[CheckData]]

    def applies(self, circuit: Any, options: Any) -> str | None:
        """None if the check runs on ``circuit``, else the reason it is not run."""
        return None

    @abstractmethod
    def plan(self, circuit: Any, options: Any) -> Any:
        """Grids, lengths and inputs of the ngspice runs, from the emulator's circuit."""

    @abstractmethod
    def decks(self, plan: Any, netlist: Any) -> dict[str, str]:
        """The deck texts of ``plan`` made from ``netlist``, by label."""

    @abstractmethod
    def run(self, plan: Any, decks: dict[str, str], netlist: Any, runner: Runner) -> CheckData:
        """Run every deck through ``runner`` and reduce the output."""

    @abstractmethod
    def compare(self, circuit: Any, data: Any, options: Any) -> CheckResult:
        """The verdict of ``data`` against the emulator's ``circuit``."""

    def not_run(self, reason: str) -> CheckResult:
        return CheckResult.not_run(self.name, reason)

    def result(self, passed: bool, metric: float, tolerance: float, worst: str, summary: str,
               rows: list[dict[str, Any]], info: dict[str, Any],
               arrays: dict[str, Array]) -> CheckResult:
        """The result of this check when it ran: ``"pass"`` if ``passed``, else ``"fail"``."""
        return CheckResult(self.name, verdict(passed), metric, tolerance, worst, summary, rows,
                           info, arrays)


def node_states(netlist: Any, plot: Any, nodes: Sequence[str]) -> tuple[Array, Array]:
    """(time (T,), states (T, k)) of ``nodes`` from an ngspice transient ``plot``: the
    node voltages of a linear netlist, the charges C_aux · v(q_n) of a nonlinear one
    (the emulator's state either way)."""
    names = spice_names(netlist)
    tt = plot["time"].real
    if netlist.is_linear:
        return tt, np.stack([plot[names.voltage(n)].real for n in nodes], axis=1)
    caux = charge_capacitances(netlist)
    return tt, np.stack([caux[n] * plot[names.charge(n)].real for n in nodes], axis=1)

