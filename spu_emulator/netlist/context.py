"""The loader's located view of a YAML document (no YAML library needed here).

:class:`Node` is a value with its YAML path and line; :class:`Context` builds located
:class:`~spu_emulator.errors.NetlistError` messages and typed, checked accessors
(mappings with allowed keys, names, quantities with units, node pairs). Element types
read their own fields through it (:meth:`~spu_emulator.netlist.base.Element.parse`).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import NetlistError, PlausibilityWarning
from ..units import ValueParseError, check_range, parse_value
from .base import GROUND, GROUND_NAMES, Waveform


@dataclass(slots=True)
class Node:
    """A YAML value with its path and line, for located errors."""

    value: Any  # dict[str, Node] | list[Node] | scalar
    path: str
    line: int | None


class Context:
    """Carries the file name and builds located errors."""

    def __init__(self, file: str | None):
        self.file = file

    @staticmethod
    def join(path: str, key: str | int) -> str:
        """The YAML path of ``key`` under ``path`` (``cells[0].C``)."""
        return _join(path, key)

    def error(self, node: Node | None, message: str, path: str | None = None) -> NetlistError:
        return NetlistError(
            message,
            file=self.file,
            path=path if path is not None else (node.path if node else None),
            line=node.line if node else None,
        )

    # ---- typed accessors -------------------------------------------------
    def mapping(self, node: Node, what: str = "a mapping") -> dict[str, Node]:
        if not isinstance(node.value, dict):
            raise self.error(node, f"expected {what}, got {_kind(node.value)}")
        return node.value

    def sequence(self, node: Node) -> list[Node]:
        if not isinstance(node.value, list):
            raise self.error(node, f"expected a list, got {_kind(node.value)}")
        return node.value

    def keys(
        self, node: Node, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> dict[str, Node]:
        m = self.mapping(node)
        allowed = set(required) | set(optional)
        for k, v in m.items():
            if k not in allowed:
                raise self.error(v, unknown_key(k, allowed), _join(node.path, short(k, 24)[1:-1]))
        for k in required:
            if k not in m:
                raise self.error(node, f"missing required field {k!r}", _join(node.path, k))
        return m

    def string(self, node: Node) -> str:
        v = node.value
        if isinstance(v, bool) or v is None or isinstance(v, (dict, list)):
            raise self.error(node, f"expected a name, got {_kind(v)}")
        if isinstance(v, float):
            raise self.error(node, f"expected a name, got number {v!r}")
        s = str(v)
        if not s or _SPACE.search(s):
            raise self.error(node, f"names must be non-empty with no spaces, got {short(s)}")
        return s

    def quantity(
        self,
        node: Node,
        unit: str,
        *,
        positive: bool = False,
        nonnegative: bool = False,
        check: Callable[[float], str | None] | None = None,
    ) -> float:
        try:
            x = parse_value(node.value, unit)
        except ValueParseError as exc:
            raise self.error(node, str(exc)) from None
        if not math.isfinite(x):
            raise self.error(node, f"must be finite, got {short(node.value)}")
        refused, odd = check_range(x, unit)
        if refused:
            raise self.error(node, refused)
        if odd:
            warnings.warn(str(self.error(node, odd)), PlausibilityWarning, stacklevel=2)
        if positive and not x > 0:
            raise self.error(node, f"must be positive, got {short(node.value)}")
        if nonnegative and x < 0:
            raise self.error(node, f"must be non-negative, got {short(node.value)}")
        if check is not None and (msg := check(x)):
            raise self.error(node, msg)
        return x

    def node_pair(self, node: Node) -> tuple[str, str]:
        seq = self.sequence(node)
        if len(seq) != 2:
            raise self.error(node, f"expected two node names, got {len(seq)}")
        a, b = (self.string(x) for x in seq)
        a = GROUND if a in GROUND_NAMES else a
        b = GROUND if b in GROUND_NAMES else b
        if a == b:
            raise self.error(node, f"self-loop: both terminals on node {a!r}")
        return a, b

    def to_ground(self, node: Node) -> tuple[str, str]:
        """A node pair that must be [node, gnd]."""
        a, b = self.node_pair(node)
        if b != GROUND or a == GROUND:
            raise self.error(
                node,
                f"this element connects a node to ground: write nodes: [node, gnd], got [{a}, {b}]",
            )
        return a, b

    def temperature(self, m: dict[str, Node]) -> float | None:
        """The optional ``temperature`` field (K, ≥ 0), or None for the bath's."""
        if "temperature" not in m:
            return None
        return self.quantity(m["temperature"], "K", nonnegative=True)

    def waveform(self, node: Node) -> Waveform:
        """A constant voltage, or ``{pwl: [[t, v], ...]}`` with increasing times."""
        if not isinstance(node.value, dict):
            return Waveform(values=(self.quantity(node, "V"),))
        mm = self.keys(node, ("pwl",))
        pts = self.sequence(mm["pwl"])
        if not pts:
            raise self.error(mm["pwl"], "a pwl waveform needs at least one [time, value] point")
        times, values = [], []
        for p in pts:
            pair = self.sequence(p)
            if len(pair) != 2:
                raise self.error(p, "each pwl point is [time, value]")
            t = self.quantity(pair[0], "s")
            if times and not t > times[-1]:
                raise self.error(pair[0], f"pwl times must increase, got {t:g} after {times[-1]:g}")
            times.append(t)
            values.append(self.quantity(pair[1], "V"))
        if len(values) == 1:
            return Waveform(values=(values[0],))
        return Waveform(times=tuple(times), values=tuple(values))


def unknown_key(key: str, allowed) -> str:
    """'unknown key 'X' (did you mean 'Y'?; allowed: ...)'."""
    import difflib

    near = difflib.get_close_matches(str(key), sorted(allowed), n=1, cutoff=0.6)
    if not near:  # case variants (r for R) are close too
        near = [a for a in sorted(allowed) if a.lower() == str(key).lower()][:1]
    hint = f"did you mean {near[0]!r}? " if near else ""
    return f"unknown key {short(key, 24)} ({hint}allowed: {', '.join(sorted(allowed))})"


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


_SPACE = re.compile(r"\s")

#: Longest echo of a user's value or key in a message (the rest is elided).
ECHO = 40


def short(v: Any, limit: int = ECHO) -> str:
    """A value as a message shows it: repr, cut to ``limit`` characters; collections
    by their kind (never the loader's internal node objects)."""
    if isinstance(v, Node):
        v = v.value
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    r = repr(v)
    return r if len(r) <= limit else r[: limit - 1] + "…"


def _kind(v: Any) -> str:
    if v is None:
        return "nothing (null)"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, bool):
        return f"boolean {v}"
    return f"{type(v).__name__} {short(v)}"
