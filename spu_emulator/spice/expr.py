"""SPICE numbers and parameter expressions, read the way SPICE reads them (no ``eval``).

Numbers: a decimal (``1``, ``2.5``, ``.5``, ``1e-9``), an optional scale suffix
(case-insensitive: ``f`` 1e-15, ``p`` 1e-12, ``n`` 1e-9, ``u`` 1e-6, ``m`` 1e-3 — SPICE's
``M`` is milli too —, ``k`` 1e3, ``meg`` 1e6, ``g`` 1e9, ``t`` 1e12, ``mil`` 25.4e-6),
then an optional unit word (:data:`UNIT_WORDS`: ``ohm``, ``f``, ``h``, ``a``, ``v``,
``s``, ``hz``, …). SPICE silently ignores any other trailing letters; here they are an
error, since a typo there (``1.5x``) would otherwise mean something else than meant.

Expressions (``.param`` values, ``{expr}`` and ``'expr'``): numbers, parameter names,
``+ - * /``, ``**`` (and ``^``) for powers, parentheses. :func:`parse` builds a small
tree once; :func:`evaluate` walks it with a name lookup (floats), and
:func:`polynomial` walks it treating ``v(node)`` as variables, which is how the
importer reads the exporter's behavioural sources. Cost: O(length of the text).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from ..units import SCALES

#: Words that may follow a number (after its scale): units, which SPICE ignores. A
#: scale letter is read first, as SPICE does: ``1farad`` is 1 femto(-arad), ``1MHz`` 1 mHz.
UNIT_WORDS = frozenset({
    "", "ohm", "ohms", "f", "arad", "arads", "h", "henry", "henrys", "henries", "a", "amp",
    "amps", "ampere", "amperes", "v", "volt", "volts", "s", "sec", "secs", "second", "seconds",
    "hz", "deg",
})

_NUMBER = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)([a-z]*)$", re.I)
_SCALE = {k: Decimal(1).scaleb(v) for k, v in SCALES.items() if k.isascii()} | {
    "mil": Decimal("25.4e-6")}
_ONE = Decimal(1)


class ExpressionError(ValueError):
    """A number or expression that cannot be read; the message says why (one line)."""


def scale_of(suffix: str) -> tuple[Decimal, str]:
    """(factor, unit word) of the letters after a number: ``meg``/``mil`` first, then one
    scale letter, else no scale. Raises ExpressionError if what remains is no unit."""
    low = suffix.lower()
    for key in ("meg", "mil"):
        if low.startswith(key) and low[3:] in UNIT_WORDS:
            return _SCALE[key], low[3:]
    if low[:1] in _SCALE and low[1:] in UNIT_WORDS:
        return _SCALE[low[:1]], low[1:]
    if low in UNIT_WORDS:
        return _ONE, low
    raise ExpressionError(
        f"unknown suffix {suffix!r} (SPICE scale suffixes: f p n u m k meg g t mil, "
        "then an optional unit such as ohm, f, h, a, v, s, hz)"
    )


def number(text: str) -> float:
    """A SPICE number with its scale suffix, e.g. ``"2.2nF"`` → 2.2e-9, ``"1MEG"`` → 1e6,
    ``"1M"`` → 1e-3, scaled in decimal (``2.2n`` is the float nearest 2.2e-9). Raises
    ExpressionError naming the text."""
    m = _NUMBER.match(text.strip())
    if not m:
        raise ExpressionError(f"{text!r} is not a number")
    factor, _ = scale_of(m.group(2))
    return float(Decimal(m.group(1)) * factor)


# ---- expressions ---------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[A-Za-z]*)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)|(?P<op>\*\*|[-+*/^(),]))"
)


@dataclass(frozen=True, slots=True)
class Node:
    """An expression tree node: ``op`` is ``num`` (``value``), ``name`` (``name``),
    ``call`` (``name`` and ``args``), ``neg`` or a binary operator (``args``)."""

    op: str
    value: float = 0.0
    name: str = ""
    args: tuple[Node, ...] = ()


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExpressionError(
                f"cannot read {text[pos:].strip()[:20]!r} in {text.strip()!r} (expressions "
                "take numbers, parameters, + - * / ** and parentheses)"
            )
        kind = m.lastgroup or "op"
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    """Recursive descent: sum := product (± product)*; product := unary (*|/ unary)*;
    unary := ± unary | power; power := atom (** unary)?; atom := number | name |
    name(args) | (sum)."""

    def __init__(self, text: str):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i][1] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise ExpressionError(f"{self.text.strip()!r} ends too early")
        self.i += 1
        return self.toks[self.i - 1]

    def expect(self, op: str) -> None:
        kind, tok = self.take()
        if tok != op:
            raise ExpressionError(f"expected {op!r} in {self.text.strip()!r}, got {tok!r}")

    def parse(self) -> Node:
        if not self.toks:
            raise ExpressionError("empty expression")
        node = self.sum()
        if self.i != len(self.toks):
            raise ExpressionError(f"unexpected {self.peek()!r} in {self.text.strip()!r}")
        return node

    def chain(self, ops: tuple[str, str], operand: Callable[[], Node]) -> Node:
        """operand (op operand)*, grouped from the left."""
        node = operand()
        while self.peek() in ops:
            op = self.take()[1]
            node = Node(op, args=(node, operand()))
        return node

    def sum(self) -> Node:
        return self.chain(("+", "-"), self.product)

    def product(self) -> Node:
        return self.chain(("*", "/"), self.unary)

    def unary(self) -> Node:
        if self.peek() in ("+", "-"):
            op = self.take()[1]
            inner = self.unary()
            return Node("neg", args=(inner,)) if op == "-" else inner
        return self.power()

    def power(self) -> Node:
        node = self.atom()
        if self.peek() in ("**", "^"):
            self.take()
            node = Node("**", args=(node, self.unary()))
        return node

    def atom(self) -> Node:
        kind, tok = self.take()
        if kind == "num":
            return Node("num", value=number(tok))
        if kind == "name":
            if self.peek() == "(":
                self.take()
                args = [self.sum()]
                while self.peek() == ",":
                    self.take()
                    args.append(self.sum())
                self.expect(")")
                return Node("call", name=tok.lower(), args=tuple(args))
            return Node("name", name=tok.lower())
        if tok == "(":
            node = self.sum()
            self.expect(")")
            return node
        raise ExpressionError(f"unexpected {tok!r} in {self.text.strip()!r}")


def parse(text: str) -> Node:
    """The tree of an expression (ExpressionError if it is not one). O(len(text))."""
    return _Parser(text).parse()


def names(node: Node) -> set[str]:
    """The parameter names an expression uses."""
    out = {node.name} if node.op == "name" else set()
    for a in node.args:
        out |= names(a)
    return out


def evaluate(node: Node, lookup: Callable[[str], float]) -> float:
    """The value of ``node``, names resolved by ``lookup`` (which raises for an undefined
    one). Functions are refused: only + − * / ** and parentheses."""
    op = node.op
    if op == "num":
        return node.value
    if op == "name":
        return lookup(node.name)
    if op == "call":
        raise ExpressionError(
            f"function {node.name}() is not supported (expressions take numbers, parameters, "
            "+ - * / ** and parentheses)"
        )
    vals = [evaluate(a, lookup) for a in node.args]
    if op == "neg":
        return -vals[0]
    a, b = vals
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        return float(a**b)
    except ZeroDivisionError:
        raise ExpressionError("division by zero") from None
    except (OverflowError, TypeError):
        raise ExpressionError(f"{a!r} {op} {b!r} has no real value") from None


#: A polynomial: monomial (sorted tuple of variable names, with repeats) -> coefficient.
Polynomial = dict[tuple[str, ...], float]


def polynomial(node: Node) -> Polynomial:
    """``node`` as a polynomial in the ``v(name)`` it contains (names of nodes, lower
    case): sums, products, division by a number and whole powers. Any other name or
    function is an ExpressionError. Coefficients are the written numbers' products,
    so ``3*v(a)*v(a)`` is exactly {("a", "a"): 3.0}."""
    op = node.op
    if op == "num":
        return {(): node.value}
    if op == "call" and node.name == "v" and len(node.args) == 1 and node.args[0].op == "name":
        return {(node.args[0].name,): 1.0}
    if op in ("name", "call"):
        raise ExpressionError(f"{node.name!r} is not a node voltage v(node) or a number")
    parts = [polynomial(a) for a in node.args]
    if op == "neg":
        return {k: -c for k, c in parts[0].items()}
    a, b = parts
    if op in ("+", "-"):
        out = dict(a)
        for k, c in b.items():
            out[k] = out.get(k, 0.0) + (c if op == "+" else -c)
        return out
    if op == "*":
        return _times(a, b)
    if set(b) != {()}:
        raise ExpressionError("only division by a number and whole powers are polynomial")
    c = b[()]
    if op == "/":
        return {k: v / c for k, v in a.items()}
    if c != int(c) or c < 0:
        raise ExpressionError(f"power {c!r} is not a whole number")
    out: Polynomial = {(): 1.0}
    for _ in range(int(c)):
        out = _times(out, a)
    return out


def _times(a: Polynomial, b: Polynomial) -> Polynomial:
    out: Polynomial = {}
    for ka, ca in a.items():
        for kb, cb in b.items():
            k = tuple(sorted(ka + kb))
            out[k] = out.get(k, 0.0) + ca * cb
    return out
