"""One exception hierarchy for everything a user can get wrong or a circuit can refuse.

Every error carries a one-line message that points at the input (file, YAML path,
line) and says what to do next. The CLI prints ``spu: error: <message>`` and exits
with status 2 for any :class:`SPUError` except :class:`CrossCheckError` (status 1).
"""

from __future__ import annotations


class SPUError(Exception):
    """Base class of every error spu_emulator raises on purpose."""

    exit_code = 2

    def __str__(self) -> str:  # always one line
        return " ".join(str(self.args[0]).split()) if self.args else self.__class__.__name__


class InputError(SPUError):
    """Bad user input that is not a netlist: a matrix file, a parameter value, a model file.

    ``param`` names the offending parameter of the library call (``duration``,
    ``x0``); the message then reads ``"<param>: <message>"``. Other parameters the
    message mentions are written in backticks (```chains```). The CLI shows the
    command-line flags that set those parameters instead (``--duration: ...``).
    """

    def __init__(self, message: str, param: str | None = None):
        self.message = message
        self.param = param
        super().__init__(f"{param}: {message}" if param else message)

    def with_name(self, name: str) -> InputError:
        """The same error, naming the parameter ``name`` (e.g. its CLI flag)."""
        return type(self)(self.message, name)


class NetlistError(SPUError):
    """A netlist that does not follow the format.

    Parameters
    ----------
    message : what is wrong (and what to do), without the location.
    file : the netlist file, or ``None`` for an in-memory document.
    path : YAML path of the offending field, e.g. ``couplers[1].C``.
    line : 1-based line number in the file, where known.
    """

    def __init__(
        self,
        message: str,
        file: str | None = None,
        path: str | None = None,
        line: int | None = None,
    ):
        self.message = message
        self.file = file
        self.path = path
        self.line = line
        super().__init__(self._format())

    def _format(self) -> str:
        where = self.file or "<netlist>"
        if self.line is not None:
            where += f":{self.line}"
        if self.path:
            path = self.path if len(self.path) <= 60 else self.path[:59] + "…"
            where += f": {path}"
        return f"{where}: {self.message}"


class TopologyError(NetlistError):
    """A netlist that parses but describes a circuit with no unique equilibrium
    (floating islands, inductor loops, capacitance-free reactive nodes, ...)."""


class InstabilityError(SPUError):
    """A drift matrix that is not Hurwitz, or matrices that are not positive definite."""


class CrossCheckError(SPUError):
    """A cross-check against an independent oracle (ngspice) that failed."""

    exit_code = 1


class MissingDependencyError(SPUError):
    """An optional dependency (ngspice, PySpice, matplotlib, ...) is not installed."""


class SPUWarning(UserWarning):
    """Base class of spu_emulator's warnings; the CLI prints each as one line."""


class PlausibilityWarning(SPUWarning):
    """A legal but suspicious input value (usually a wrong unit), located like an error."""


class PrecisionWarning(SPUWarning):
    """A run whose working precision limits its accuracy noticeably (e.g. float32
    stepping over many steps per relaxation time). The CLI prints it as one line."""
