"""SPICE deck text → a flat list of element cards with numeric values (pure text).

What is read, as SPICE reads it: the first line is the title; ``*`` lines are
comments, ``;`` anywhere and ``$`` after a blank start an inline comment; a line
starting with ``+`` continues the card before it; everything is case-insensitive
(names are lower-cased); ``.end`` ends the deck; ``.include FILE`` reads another file
(relative to the including one). ``.param`` cards (and ``params:`` of ``.subckt``
and ``X`` cards) define parameters, used as ``{expr}`` or ``'expr'`` values
(:mod:`.expr`). ``.subckt`` … ``.ends`` define subcircuits; ``X`` cards place them,
flattened with ngspice's names: node ``n`` and element ``r1`` of instance ``x1`` become
``x1.n`` and ``x1.r1`` (nested: ``x1.x2.n``); ``0``, ``gnd`` and ``.global`` nodes are
shared. ``.temp`` and ``.options temp=`` set the circuit temperature (°C).

Analysis and output cards (``.noise``, ``.tran``, ``.print``, ``.control`` blocks, …)
are not part of the circuit: they are skipped with a note. Every problem raises
:class:`~spu_emulator.errors.NetlistError` naming the file, line and card
(``deck.cir:12: Q1: transistors are not modelled by the emulator``). The cost is
O(size of the flattened deck).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NetlistError
from .expr import ExpressionError, Node, Polynomial, evaluate, number, parse, polynomial

#: SPICE's default circuit temperature (°C).
DEFAULT_TEMP_C = 27.0
#: Most elements a deck may flatten to (subcircuits multiply).
MAX_ELEMENTS = 5_000_000
#: Deepest subcircuit nesting and ``.include`` nesting.
MAX_DEPTH = 64

#: Element letters outside the emulator's subset, and what they are.
UNSUPPORTED = {
    "d": "diodes",
    "q": "transistors",
    "m": "transistors",
    "j": "transistors",
    "z": "transistors",
    "e": "controlled sources",
    "g": "controlled sources",
    "h": "controlled sources",
    "s": "switches",
    "w": "switches",
    "t": "transmission lines",
    "o": "transmission lines",
    "u": "transmission lines",
    "y": "transmission lines",
    "p": "transmission lines",
    "a": "XSPICE code models",
    "n": "numerical device models",
}

#: Dot cards that describe analyses or outputs, not the circuit: skipped with a note.
ANALYSIS_CARDS = frozenset({
    ".ac", ".dc", ".op", ".tran", ".noise", ".pz", ".tf", ".sens", ".disto", ".four",
    ".fourier", ".print", ".plot", ".probe", ".save", ".meas", ".measure", ".ic", ".nodeset",
    ".width", ".title", ".model", ".sp", ".csparam",
})

GROUND_SPICE = frozenset({"0", "gnd"})


def _error(message: str, file: str, line: int | None, what: str | None = None) -> NetlistError:
    return NetlistError(message, file=file, path=what, line=line)


@dataclass(frozen=True, slots=True)
class Card:
    """One card: its text (continuations joined, comments removed), first line, file."""

    text: str
    line: int
    file: str

    def error(self, message: str, what: str | None = None) -> NetlistError:
        return _error(message, self.file, self.line, what)


@dataclass(frozen=True, slots=True)
class Source:
    """An independent source's value: ``dc``, ``trnoise`` (NA, NT) and ``pwl`` points
    ((t, value), …), ``ac`` whether an AC magnitude was given (analysis only)."""

    dc: float = 0.0
    trnoise: tuple[float, float] | None = None
    pwl: tuple[tuple[float, float], ...] = ()
    ac: bool = False


@dataclass(frozen=True, eq=False)
class Flat:
    """An element card after flattening: ``kind`` (its letter), ``name`` (lower case,
    with instance prefixes), ``shown`` (as written, for messages), ``nodes``, the
    numeric ``value`` (R, C, L, K, F gain), ``refs`` (K: inductors, F: its sensing
    source), ``params`` (``temp``, ``dtemp``, ``noisy``, ``ic``), ``source`` (I, V)
    and ``poly`` (a B source's ``v=`` expression in node voltages)."""

    kind: str
    name: str
    shown: str
    nodes: tuple[str, ...]
    card: Card
    value: float = 0.0
    refs: tuple[str, ...] = ()
    params: dict[str, float] = field(default_factory=dict)
    source: Source | None = None
    poly: Polynomial | None = None

    def error(self, message: str) -> NetlistError:
        return self.card.error(message, self.shown)


@dataclass(eq=False)
class Subckt:
    name: str
    ports: tuple[str, ...]
    params: list[tuple[str, str]]  # (name, expression text) defaults
    card: Card
    cards: list[Card] = field(default_factory=list)


@dataclass(eq=False)
class Deck:
    """A read deck: ``title``, the ``header`` comment lines before the first card, the
    ``comments`` (every ``*`` line), ``temp_c`` (°C, None when the deck sets none),
    ``elements`` (flattened), ``notes`` (one line each: what was skipped and where)."""

    file: str
    title: str
    header: list[str]
    temp_c: float | None
    elements: list[Flat]
    notes: list[str]
    comments: list[str] = field(default_factory=list)
    #: the card kind each note is about (``.noise``, ``.control``, …), by note
    note_kinds: list[str] = field(default_factory=list)

    @property
    def temperature_c(self) -> float:
        return DEFAULT_TEMP_C if self.temp_c is None else self.temp_c


# ---- lines → cards --------------------------------------------------------------------

_INLINE = re.compile(r";|(?:^|(?<=\s))\$")
_SPECIAL = re.compile(r"[{}'()=,]")
_LOOKS_LIKE_CARD = re.compile(r"^[rclkivx]\w*\s+\S+\s+\S+(\s+\S+)?\s*$", re.I)


def _strip_comment(line: str) -> str:
    m = _INLINE.search(line)
    return (line[: m.start()] if m else line).rstrip()


def _read_text(path: str, card: Card | None) -> str:
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        if card is not None:
            raise card.error(f"cannot find {path}", ".include") from None
        raise _error("file not found", path, None) from None
    except OSError as exc:
        raise _error(f"cannot read: {exc.strerror}", path, None) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class _Reader:
    """Cards of a deck in file order, ``.include`` expanded, ``.control`` skipped."""

    def __init__(self, file: str):
        self.file = file
        self.title = ""
        self.header: list[str] = []
        self.comments: list[str] = []
        self.cards: list[Card] = []
        self.notes: list[str] = []
        self.note_kinds: list[str] = []

    def note(self, card: Card, what: str, message: str) -> None:
        if what not in self.note_kinds:
            self.note_kinds.append(what)
            self.notes.append(f"{card.file}:{card.line}: {what}: {message}")

    def read(self, text: str, file: str, *, title: bool, depth: int = 0) -> None:
        lines = text.splitlines()
        start = 0
        if title:
            self.title = lines[0].strip() if lines else ""
            start = 1
            if _LOOKS_LIKE_CARD.match(self.title):
                self.note(Card(self.title, 1, file), "title",
                          f"the first line is the deck's title, not a card, as in every SPICE: "
                          f"{self.title[:40]!r} is not read")
        pending: list[str] | None = None
        pending_line = 0
        in_control = False
        in_header = title

        def flush() -> bool:
            """Emit the pending card; True when it was ``.end``."""
            nonlocal pending
            if pending is None:
                return False
            card = Card(" ".join(pending), pending_line, file)
            pending = None
            low = card.text.split()[0].lower()
            if low == ".end":
                return True
            if low in (".include", ".inc"):
                self.include(card, depth)
            else:
                self.cards.append(card)
            return False

        for i in range(start, len(lines)):
            raw = lines[i]
            stripped = raw.strip()
            if not stripped or stripped.startswith("*"):
                if stripped and not in_control:
                    self.comments.append(stripped)
                    if in_header:
                        self.header.append(stripped)
                continue
            in_header = False
            low = stripped.lower()
            if in_control:
                if low.startswith(".endc"):
                    in_control = False
                continue
            text_ = _strip_comment(raw).strip()
            if not text_:
                continue
            if text_.startswith("+"):
                if pending is None:
                    raise _error("a continuation line (+) with no card before it", file, i + 1)
                pending.append(text_[1:].strip())
                continue
            if flush():
                return
            if low.startswith(".control"):
                in_control = True
                self.note(Card(stripped, i + 1, file), ".control",
                          "the control block is ngspice commands, not circuit; skipped")
                continue
            pending, pending_line = [text_], i + 1
        flush()

    def include(self, card: Card, depth: int) -> None:
        parts = card.text.split(None, 1)
        if len(parts) < 2:
            raise card.error("which file? write .include FILE", ".include")
        if depth >= MAX_DEPTH:
            raise card.error(f".include nested deeper than {MAX_DEPTH} files", ".include")
        name = parts[1].strip().strip("'\"")
        path = os.path.join(os.path.dirname(card.file), name)
        self.read(_read_text(path, card), path, title=False, depth=depth + 1)


# ---- cards → tokens -------------------------------------------------------------------


def tokens(card: Card) -> list[str]:
    """The words of a card: blanks and commas separate them, except inside ``{…}``,
    ``'…'`` and parentheses (``trnoise(1n 1p)`` is one word); ``a = b`` is ``a=b``."""
    if not _SPECIAL.search(card.text):
        return card.text.split()  # the common card: plain words
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    quote = False
    text = card.text
    for ch in text:
        if quote:
            cur.append(ch)
            quote = ch != "'"
            continue
        if ch == "'":
            quote = True
            cur.append(ch)
            continue
        if ch in "({":
            if ch == "(" and depth == 0 and not cur and out and re.fullmatch(r"[A-Za-z]\w*", out[-1]):
                cur = list(out.pop())  # "pwl (" → "pwl("
            depth += 1
        elif ch in ")}":
            depth -= 1
            if depth < 0:
                raise card.error(f"unbalanced {ch!r}", _first(text))
        if depth == 0 and (ch.isspace() or ch == ","):
            if cur:
                out.append("".join(cur))
                cur = []
            continue
        if depth == 0 and ch == "=":
            if cur:
                out.append("".join(cur))
                cur = []
            out.append("=")
            continue
        cur.append(ch)
    if quote or depth:
        raise card.error("unbalanced quote, brace or parenthesis", _first(text))
    if cur:
        out.append("".join(cur))
    joined: list[str] = []
    i = 0
    while i < len(out):
        if out[i] == "=":
            if not joined or i + 1 >= len(out) or out[i + 1] == "=":
                raise card.error("'=' needs a name before it and a value after it", _first(text))
            joined[-1] = f"{joined[-1]}={out[i + 1]}"
            i += 2
            continue
        joined.append(out[i])
        i += 1
    return joined


def _first(text: str) -> str:
    return text.split()[0] if text.split() else text


def _call(tok: str) -> tuple[str, list[str]] | None:
    """``name(args…)`` → (name lower, args split on blanks and commas), else None."""
    m = re.fullmatch(r"([A-Za-z]\w*)\((.*)\)", tok, re.S)
    if not m:
        return None
    return m.group(1).lower(), [a for a in re.split(r"[\s,]+", m.group(2).strip()) if a]


# ---- parameters -----------------------------------------------------------------------


class Scope:
    """Parameters of one level (top, or one subcircuit instance), looked up through the
    levels that placed it. Definitions are evaluated on first use (any order), each in
    its own level; a definition that depends on itself is an error."""

    def __init__(self, parent: Scope | None = None):
        self.parent = parent
        self.defs: dict[str, tuple[Node, Card, str]] = {}
        self.values: dict[str, float] = {}
        self.busy: set[str] = set()

    def define(self, name: str, text: str, card: Card) -> None:
        if name in self.defs or name in self.values:
            raise card.error(f"parameter {name!r} is defined twice", f".param {name}")
        try:
            self.defs[name] = (parse(text), card, text)
        except ExpressionError as exc:
            raise card.error(str(exc), f".param {name}") from None

    def set(self, name: str, value: float) -> None:
        self.values[name] = value
        self.defs.pop(name, None)

    def lookup(self, name: str) -> float:
        s: Scope | None = self
        while s is not None:
            if name in s.values:
                return s.values[name]
            if name in s.defs:
                return s._evaluate(name)
            s = s.parent
        raise ExpressionError(f"undefined parameter {name!r}")

    def _evaluate(self, name: str) -> float:
        node, card, _ = self.defs[name]
        if name in self.busy:
            raise card.error(f"parameter {name!r} depends on itself", f".param {name}")
        self.busy.add(name)
        try:
            value = evaluate(node, self.lookup)
        except ExpressionError as exc:
            raise card.error(str(exc), f".param {name}") from None
        finally:
            self.busy.discard(name)
        self.values[name] = value
        return value

    def value(self, tok: str) -> float:
        """A card's value word: a number (``2.2n``), ``{expr}`` or ``'expr'``."""
        if len(tok) >= 2 and (tok[0], tok[-1]) in (("{", "}"), ("'", "'")):
            return evaluate(parse(tok[1:-1]), self.lookup)
        try:
            return number(tok)
        except ExpressionError:
            if re.fullmatch(r"[A-Za-z_]\w*", tok):
                raise ExpressionError(
                    f"{tok!r} is a model name or a parameter without braces: write {{{tok}}} "
                    "for a parameter (models are not supported)"
                ) from None
            raise


def _param_pairs(card: Card, words: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for w in words:
        name, eq, text = w.partition("=")
        if not eq or not re.fullmatch(r"[A-Za-z_]\w*", name) or not text:
            raise card.error(f"expected name=value, got {w!r}", _first(card.text))
        if len(text) >= 2 and (text[0], text[-1]) in (("{", "}"), ("'", "'")):
            text = text[1:-1]
        pairs.append((name.lower(), text))
    return pairs


# ---- the deck -------------------------------------------------------------------------


class _Builder:
    """Dot cards, subcircuit definitions and the flattening of X instances."""

    def __init__(self, reader: _Reader):
        self.r = reader
        self.file = reader.file
        self.subckts: dict[str, Subckt] = {}
        self.top: list[Card] = []
        self.top_params: list[tuple[str, str, Card]] = []
        self.globals: set[str] = set()
        self.temp_c: float | None = None
        self.elements: list[Flat] = []
        self._words: dict[int, list[str]] = {}

    def words(self, card: Card) -> list[str]:
        """:func:`tokens` of a card, once (a subcircuit's cards serve every instance)."""
        w = self._words.get(id(card))
        if w is None:
            w = self._words[id(card)] = tokens(card)
        return w

    # -- pass 1: structure
    def collect(self) -> None:
        stack: list[Subckt] = []
        for card in self.r.cards:
            words = self.words(card)
            head = words[0].lower()
            body = stack[-1].cards if stack else self.top
            if head == ".subckt":
                sub = self._subckt(card, words)
                if sub.name in self.subckts:
                    raise card.error(f"subcircuit {sub.name!r} is defined twice", ".subckt")
                self.subckts[sub.name] = sub
                stack.append(sub)
            elif head == ".ends":
                if not stack:
                    raise card.error(".ends with no .subckt open", ".ends")
                if len(words) > 1 and words[1].lower() != stack[-1].name:
                    raise card.error(
                        f".ends {words[1]} closes subcircuit {stack[-1].name!r}", ".ends")
                stack.pop()
            elif head == ".param" and not stack:
                self.top_params += [(n, t, card) for n, t in _param_pairs(card, words[1:])]
            elif head.startswith(".") and head != ".param":
                self._dot(card, words, head)
            else:
                body.append(card)
        if stack:
            raise stack[-1].card.error(
                f"subcircuit {stack[-1].name!r} has no .ends", ".subckt")

    def _subckt(self, card: Card, words: list[str]) -> Subckt:
        if len(words) < 2:
            raise card.error("a subcircuit needs a name: .subckt NAME NODES…", ".subckt")
        rest = [w for w in words[2:] if w.lower() != "params:"]
        ports = tuple(w.lower() for w in rest if "=" not in w)
        params = _param_pairs(card, [w for w in rest if "=" in w])
        for p in ports:
            if p in GROUND_SPICE:
                raise card.error(f"ground ({p}) cannot be a subcircuit port", ".subckt")
        return Subckt(words[1].lower(), ports, params, card)

    def _dot(self, card: Card, words: list[str], head: str) -> None:
        if head == ".temp":
            if len(words) != 2:
                raise card.error("give one temperature: .temp T (°C)", ".temp")
            self._temp(card, words[1], ".temp")
        elif head in (".options", ".option", ".opt"):
            ignored = []
            for w in words[1:]:
                key, _, val = w.partition("=")
                key = key.lower()
                if key == "temp" and val:
                    self._temp(card, val, ".options temp")
                elif key != "tnom":
                    ignored.append(key)
            if ignored:
                self.r.note(card, ".options", f"{', '.join(ignored)} ignored (simulator "
                            "settings, not circuit)")
        elif head == ".global":
            self.globals |= {w.lower() for w in words[1:]}
        elif head in ANALYSIS_CARDS:
            self.r.note(card, head, "ignored (analysis and output cards are not part of the "
                        "circuit)")
        elif head in (".lib", ".func", ".if", ".elseif", ".else", ".endif", ".endl"):
            raise card.error("not supported by the importer", head)
        else:
            raise card.error("unknown card", head)

    def _temp(self, card: Card, text: str, what: str) -> None:
        try:
            t = Scope().value(text)
        except ExpressionError as exc:
            raise card.error(str(exc), what) from None
        if self.temp_c is not None and t != self.temp_c:
            raise card.error(f"the circuit temperature is already {self.temp_c:g} °C", what)
        self.temp_c = t

    # -- pass 2: flatten
    def flatten(self) -> None:
        scope = Scope()
        for name, text, card in self.top_params:
            scope.define(name, text, card)
        self._expand(self.top, scope, "", "", {}, ())

    def _expand(self, cards: list[Card], scope: Scope, prefix: str, shown: str,
                ports: dict[str, str], stack: tuple[str, ...]) -> None:
        for card in cards:
            words = self.words(card)
            if words[0].lower() == ".param":
                for n, t in _param_pairs(card, words[1:]):
                    scope.define(n, t, card)
        for card in cards:
            words = self.words(card)
            head = words[0]
            if head.startswith("."):
                continue
            kind = head[0].lower()

            def node(n: str) -> str:
                n = n.lower()
                if n in GROUND_SPICE:
                    return "0"
                if n in self.globals:
                    return n
                return ports.get(n, prefix + n)

            name, label = prefix + head.lower(), shown + head
            try:
                if kind == "x":
                    self._instance(card, words, scope, node, name, label, stack)
                    continue
                flat = element(kind, card, words, scope, node, name, label, prefix)
            except ExpressionError as exc:
                raise card.error(str(exc), label) from None
            self.elements.append(flat)
            if len(self.elements) > MAX_ELEMENTS:
                raise card.error(f"the deck flattens to more than {MAX_ELEMENTS} elements",
                                 label)

    def _instance(self, card: Card, words: list[str], scope: Scope, node: NodeMap, name: str,
                  label: str, stack: tuple[str, ...]) -> None:
        rest = [w for w in words[1:] if w.lower() != "params:"]
        positional = [w for w in rest if "=" not in w]
        if not positional:
            raise card.error("an instance needs nodes and a subcircuit name", label)
        sub_name = positional[-1].lower()
        sub = self.subckts.get(sub_name)
        if sub is None:
            raise card.error(f"unknown subcircuit {positional[-1]!r}", label)
        if sub_name in stack or len(stack) >= MAX_DEPTH:
            raise card.error(f"subcircuit {sub_name!r} contains itself", label)
        nodes = positional[:-1]
        if len(nodes) != len(sub.ports):
            raise card.error(
                f"subcircuit {sub_name!r} has {len(sub.ports)} port(s) "
                f"({' '.join(sub.ports) or 'none'}), the instance gives {len(nodes)} node(s)",
                label)
        inner = Scope(scope)
        overrides = dict(_param_pairs(card, [w for w in rest if "=" in w]))
        known = {n for n, _ in sub.params}
        for n in overrides:
            if n not in known:
                raise card.error(f"subcircuit {sub_name!r} has no parameter {n!r}", label)
        for n, text in sub.params:
            if n in overrides:
                inner.set(n, scope.value("{" + overrides[n] + "}"))
            else:
                inner.define(n, text, sub.card)
        ports = {p: node(n) for p, n in zip(sub.ports, nodes, strict=True)}
        self._expand(sub.cards, inner, name + ".", label + ".", ports, (*stack, sub_name))


# ---- element cards ----------------------------------------------------------------------

_VALUE_KEYS = {"r": ("r", "resistance"), "c": ("c", "capacitance"), "l": ("l", "inductance")}
_PARAM_KEYS = {"r": ("temp", "dtemp", "noisy"), "c": ("ic",), "l": ("ic",)}
_WHAT = {"r": "resistor", "c": "capacitor", "l": "inductor"}


#: Maps a node as written in a card to its flattened name.
NodeMap = Callable[[str], str]


def element(kind: str, card: Card, words: list[str], scope: Scope, node: NodeMap, name: str,
            label: str, prefix: str) -> Flat:
    """One element card (not X) as a :class:`Flat`, values evaluated in ``scope``,
    nodes mapped by ``node``. Raises NetlistError (or ExpressionError for a value)."""
    if kind in UNSUPPORTED:
        raise card.error(f"{UNSUPPORTED[kind]} are not modelled by the emulator", label)
    if kind in _VALUE_KEYS:
        return _two_terminal(kind, card, words, scope, node, name, label)
    if kind == "k":
        if len(words) != 4:
            raise card.error("a coupling card is 'Kname L1 L2 k'", label)
        return Flat("k", name, label, (), card, value=scope.value(words[3].partition("=")[2]
                    if words[3].lower().startswith("k=") else words[3]),
                    refs=(prefix + words[1].lower(), prefix + words[2].lower()))
    if kind in ("i", "v"):
        if len(words) < 3:
            raise card.error(f"a source card is '{kind.upper()}name n+ n- [dc] value'", label)
        nodes = (node(words[1]), node(words[2]))
        return Flat(kind, name, label, nodes, card, source=_source(card, words[3:], scope, label))
    if kind == "b":
        if len(words) != 4 or not words[3].lower().startswith("v="):
            raise card.error("behavioural sources are not modelled by the emulator (except the "
                             "exporter's nonlinear capacitor, 'Bname n 0 v=…')", label)
        try:
            poly = polynomial(parse(words[3][2:]))
        except ExpressionError as exc:
            raise card.error(f"behavioural sources are not modelled by the emulator ({exc})",
                             label) from None
        mapped = {tuple(sorted(node(v) for v in k)): c for k, c in poly.items()}
        return Flat("b", name, label, (node(words[1]), node(words[2])), card, poly=mapped)
    if kind == "f":
        if len(words) != 5:
            raise card.error("controlled sources are not modelled by the emulator (except the "
                             "exporter's noise copy, 'Fname n+ n- Vsense gain')", label)
        return Flat("f", name, label, (node(words[1]), node(words[2])), card,
                    value=scope.value(words[4]), refs=(prefix + words[3].lower(),))
    raise card.error(f"unknown element type {kind.upper()!r} (the card's first letter)", label)


def _two_terminal(kind: str, card: Card, words: list[str], scope: Scope, node: NodeMap,
                  name: str, label: str) -> Flat:
    what = _WHAT[kind]
    if len(words) < 4:
        raise card.error(f"a {what} card is '{kind.upper()}name n1 n2 value'", label)
    nodes = (node(words[1]), node(words[2]))
    value: float | None = None
    params: dict[str, float] = {}
    for w in words[3:]:
        key, eq, text = w.partition("=")
        key = key.lower()
        if not eq:
            if value is not None:
                raise card.error(f"unexpected {w!r} after the value (models and extra values "
                                 "are not supported)", label)
            value = scope.value(w)
        elif key in _VALUE_KEYS[kind]:
            value = scope.value(text)
        elif key in _PARAM_KEYS[kind]:
            params[key] = scope.value(text)
        else:
            allowed = ", ".join(f"{k}=" for k in _PARAM_KEYS[kind])
            raise card.error(f"parameter {key}= is not modelled (a {what} takes a value and "
                             f"{allowed})", label)
    if value is None:
        raise card.error(f"the {what} has no value", label)
    return Flat(kind, name, label, nodes, card, value=value, params=params)


_TIME_FUNCTIONS = ("pulse", "sin", "exp", "sffm", "am", "distof1", "distof2", "poly")


def _source(card: Card, words: list[str], scope: Scope, label: str) -> Source:
    dc: float | None = None
    trn: tuple[float, float] | None = None
    pwl: tuple[tuple[float, float], ...] = ()
    ac = False
    i = 0
    while i < len(words):
        w = words[i]
        low = w.lower()
        call = _call(w)
        if low == "dc":
            if i + 1 >= len(words):
                raise card.error("'dc' needs a value", label)
            dc = scope.value(words[i + 1])
            i += 2
        elif low == "ac":
            ac = True
            i += 1
            for _ in range(2):  # magnitude, phase: analysis only
                if i < len(words) and _call(words[i]) is None and words[i].lower() not in (
                        "dc", "ac"):
                    scope.value(words[i])
                    i += 1
        elif call is not None and call[0] == "trnoise":
            args = [scope.value(a) for a in call[1]]
            if len(args) < 2 or any(a != 0 for a in args[2:]):
                raise card.error("trnoise is read as white noise: trnoise(NA NT) with the 1/f "
                                 "and random-telegraph terms 0", label)
            if args[1] <= 0 or args[0] < 0:
                raise card.error("trnoise(NA NT) needs NA ≥ 0 and NT > 0", label)
            trn = (args[0], args[1])
            i += 1
        elif call is not None and call[0] == "pwl":
            vals = [scope.value(a) for a in call[1]]
            if len(vals) < 2 or len(vals) % 2:
                raise card.error("pwl needs (time, value) pairs", label)
            pwl = tuple(zip(vals[0::2], vals[1::2], strict=True))
            i += 1
        elif call is not None or low in _TIME_FUNCTIONS:
            name = call[0] if call else low
            raise card.error(f"{name} sources are not modelled by the emulator (sources are dc, "
                             "trnoise white noise, and pwl for a bias source)", label)
        elif dc is None and i == 0:
            dc = scope.value(w)
            i += 1
        else:
            raise card.error(f"unexpected {w!r} in the source's value", label)
    if dc is None and trn is None and not pwl and not ac:
        raise card.error("the source has no value: a source card is 'Name n+ n- [dc] value'",
                         label)
    return Source(dc=dc or 0.0, trnoise=trn, pwl=pwl, ac=ac)


def read_deck(text: str, file: str = "<deck>") -> Deck:
    """The deck's title, header comments, temperature and flattened elements (module
    docstring). Raises NetlistError with file and line for anything unreadable."""
    reader = _Reader(file)
    reader.read(text, file, title=True)
    b = _Builder(reader)
    b.collect()
    b.flatten()
    return Deck(file=file, title=reader.title, header=reader.header, temp_c=b.temp_c,
                elements=b.elements, notes=reader.notes, comments=reader.comments,
                note_kinds=reader.note_kinds)


def load_deck(path: str | os.PathLike[str]) -> Deck:
    """:func:`read_deck` of a file (``.include`` relative to it)."""
    p = os.fspath(path)
    if os.path.isdir(p):
        raise _error("is a directory, not a SPICE deck", p, None)
    return read_deck(_read_text(p, None), p)
