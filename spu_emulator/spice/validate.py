"""``spu validate``: the emulator against ngspice, one driver for every netlist.

The netlist is assembled once (:func:`~spu_emulator.circuit.assemble.assemble`: a
linear ``Circuit`` or a ``NonlinearCircuit``); each requested check
(:mod:`spu_emulator.spice.checks`) is asked whether it applies to that circuit and,
if so, planned, written as decks, run through ngspice and compared. A check that does
not apply (the spectrum of a nonlinear circuit, statistics the point budget cannot
cover) is reported as *not run* with its reason.

The report's status: ``"fail"`` if any check failed, else ``"pass"`` if at least one
check ran (and all that ran passed), else ``"not run"``: nothing was compared, so
nothing is claimed (``spu validate`` exits 1 then, as for a failure, since the design
was not shown to agree; the table says which it is).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..circuit.assemble import assemble
from ..integrate.progress import Progress
from ..netlist.schema import Netlist
from .checks import CHECK_NAMES, select
from .checks.base import FAIL, NOT_RUN, PASS, CheckData, CheckResult, Runner
from .checks.options import ValidateOptions
from .run import ngspice_version, run_deck

#: The settings ``spu validate`` uses unless told otherwise.
DEFAULTS = ValidateOptions()

#: A function applied to every deck's text before it runs (to plant mismatches in tests).
DeckFilter = Callable[[str], str]


@dataclass(frozen=True, eq=False)
class SpiceOutputs:
    """The ngspice side of a validation, by check name (any subset), from a live run
    or a reference file."""

    data: Mapping[str, CheckData] = field(default_factory=dict)
    ngspice: str = ""
    source: str = ""

    def get(self, name: str) -> CheckData | None:
        return self.data.get(name)

    def with_data(self, **data: CheckData) -> SpiceOutputs:
        """A copy with some checks' data replaced."""
        return replace(self, data={**self.data, **data})


@dataclass(eq=False)
class ValidationReport:
    netlist: str
    digest: str
    ngspice: str
    source: str  # "ngspice (live)" or the reference file
    checks: list[CheckResult]
    options: ValidateOptions

    @property
    def status(self) -> str:
        """``"fail"`` if any check failed, ``"pass"`` if any ran (all passing), else
        ``"not run"``."""
        if any(c.status == FAIL for c in self.checks):
            return FAIL
        return PASS if any(c.status == PASS for c in self.checks) else NOT_RUN

    @property
    def passed(self) -> bool:
        return self.status == PASS

    def to_dict(self) -> dict[str, Any]:
        return {
            "netlist": self.netlist,
            "digest": self.digest,
            "ngspice": self.ngspice,
            "source": self.source,
            "status": self.status,
            "passed": self.passed,
            "checks": [c.to_dict() for c in self.checks],
            "options": self.options.to_dict(),
        }

    def table(self) -> str:
        """A human-readable summary: one line per check, then each check's summary (the
        reason, for a check that did not run), then the overall verdict."""
        lines = [f"{self.netlist}: validation against {self.ngspice} ({self.source})"]
        lines.append(f"  {'check':<11} {'verdict':<7} {'worst':>11} {'tolerance':>10}  where")
        for c in self.checks:
            if not c.ran:
                lines.append(f"  {c.name:<11} {'n/a':<7} {'':>11} {'':>10}  not run (reason below)")
                continue
            lines.append(
                f"  {c.name:<11} {c.status.upper():<7} {c.metric:>11.3g} "
                f"{c.tolerance:>10.3g}  {c.worst}"
            )
        for c in self.checks:
            lines.append(f"  {c.name}: {c.summary}")
        skipped = [c.name for c in self.checks if not c.ran]
        status = self.status
        if status == NOT_RUN:
            lines.append("NOT RUN: no check could run on this design (reasons above); "
                         "nothing was compared")
        elif skipped:
            lines.append(f"{status.upper()} (not run: {', '.join(skipped)})")
        else:
            lines.append(status.upper())
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class SpiceRun:
    """How the ngspice side of a validation is made and run: decks from ``netlist``
    (default: the emulator's own), each passed through ``deck_filter`` (both exist to
    plant mismatches in tests), run by ``runner`` (default: ngspice in batch mode,
    :func:`~spu_emulator.spice.run.run_deck`; any function from a deck's text to an
    object with ``plot(name)``)."""

    netlist: Netlist | None = None
    deck_filter: DeckFilter | None = None
    runner: Runner | None = None

    def run(
        self, netlist: Netlist, options: ValidateOptions = DEFAULTS,
        checks: Sequence[str] = CHECK_NAMES, progress: Progress | None = None,
    ) -> SpiceOutputs:
        """ngspice's outputs for every requested check that applies to ``netlist``'s
        circuit (grids and lengths come from the emulator's circuit). Where no requested
        check applies, ngspice is not needed. ``progress`` hears of every check done."""
        selected = select(checks)
        snet = self.netlist if self.netlist is not None else netlist
        circuit = assemble(netlist)
        run = self.runner or run_deck
        data: dict[str, CheckData] = {}
        if progress is not None:
            progress.start(len(selected), "check")
        try:
            for check in selected:
                if check.applies(circuit, options) is None:
                    plan = check.plan(circuit, options)
                    decks = check.decks(plan, snet)
                    if self.deck_filter is not None:
                        decks = {label: self.deck_filter(deck) for label, deck in decks.items()}
                    data[check.name] = check.run(plan, decks, snet, run)
                if progress is not None:
                    progress.update(1)
        finally:
            if progress is not None:
                progress.close()
        if self.runner is not None:
            version = "custom runner"
        else:  # no check to run needs no ngspice
            version = ngspice_version() if data else "ngspice (not called)"
        return SpiceOutputs(data, ngspice=version, source="ngspice (live)")


#: ngspice itself on the emulator's netlist.
LIVE = SpiceRun()


def compare_all(
    netlist: Netlist,
    outputs: SpiceOutputs,
    options: ValidateOptions = DEFAULTS,
    checks: Sequence[str] = CHECK_NAMES,
) -> ValidationReport:
    """Compare stored or live ngspice outputs with the emulator: every requested check
    gives a verdict, "not run" (with the reason) where it does not apply or
    ``outputs`` hold no data for it."""
    selected = select(checks)
    circuit = assemble(netlist)
    results = []
    for check in selected:
        reason = check.applies(circuit, options)
        data = outputs.get(check.name)
        if reason is None and data is None:
            reason = f"not run: no ngspice {check.name} data in {outputs.source or 'the outputs'}"
        if reason is not None:
            results.append(check.not_run(reason))
            continue
        results.append(check.compare(circuit, data, options))
    return ValidationReport(
        netlist=netlist.name,
        digest=netlist.digest,
        ngspice=outputs.ngspice,
        source=outputs.source,
        checks=results,
        options=options,
    )


def validate(
    netlist: Netlist,
    options: ValidateOptions = DEFAULTS,
    checks: Sequence[str] = CHECK_NAMES,
    spice: SpiceRun = LIVE,
    progress: Progress | None = None,
) -> ValidationReport:
    """Run ngspice and compare: the library function behind ``spu validate``."""
    return compare_all(netlist, spice.run(netlist, options, checks, progress), options, checks)
