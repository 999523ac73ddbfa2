"""The loader's located view of a YAML document (no YAML library needed here).

:class:`Node` is a value with its YAML path and line; :class:`Context` builds located
:class:`~spu_emulator.errors.NetlistError` messages and typed, checked accessors
(mappings with allowed keys, names, quantities with units, node pairs). Element types
read their own fields through it (:meth:`~spu_emulator.netlist.base.Element.parse`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import NetlistError
from ..units import ValueParseError, parse_value
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
                raise self.error(
                    v,
                    f"unknown key {k!r} (allowed: {', '.join(sorted(allowed))})",
                    _join(node.path, k),
                )
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
        if not s.strip() or any(c.isspace() for c in s):
            raise self.error(node, f"names must be non-empty with no spaces, got {s!r}")
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
            raise self.error(node, f"must be finite, got {node.value!r}")
        if positive and not x > 0:
            raise self.error(node, f"must be positive, got {node.value!r}")
        if nonnegative and x < 0:
            raise self.error(node, f"must be non-negative, got {node.value!r}")
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


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _kind(v: Any) -> str:
    if v is None:
        return "nothing (null)"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, bool):
        return f"boolean {v}"
    return f"{type(v).__name__} {v!r}"
