"""YAML → :class:`~spu_emulator.netlist.schema.Netlist`, with path-aware errors.

Every problem raises :class:`~spu_emulator.errors.NetlistError` naming the file, the
YAML path (``couplers[1].C``) and the line. The YAML is composed into a node tree
first so that every value keeps its line number, and duplicate mapping keys (which
plain YAML silently overwrites) are caught.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import yaml

from ..errors import NetlistError
from ..units import DEFAULT_TEMPERATURE
from .base import FORMAT
from .context import Context, Node, _join, short, unknown_key
from .schema import (
    ELEMENT_TYPES,
    GROUND,
    GROUND_NAMES,
    Capacitor,
    Element,
    Inductor,
    MutualInductance,
    Netlist,
    Readout,
    Resistor,
)
from .tolerance import CLASSES, Tolerance, Tolerances, element_class

# libyaml's parser (when PyYAML was built with it) composes the same nodes, with the same
# line marks, ~10x faster than the pure-Python one: a trained generative computer's
# netlist has ~10⁵ elements.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


#: Deepest nesting of mappings and lists a netlist may use (netlists need about 6).
MAX_DEPTH = 64
#: Aliases may expand the document to at most this many nodes per character of its text
#: (a plain document has far fewer than one): a few hundred bytes of nested aliases can
#: otherwise stand for billions of values.
ALIAS_EXPANSION = 4


def _line_of(text: str, position: int | None) -> int | None:
    return text.count("\n", 0, position) + 1 if position is not None else None


_STD_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null"))
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"


class _Scalars:
    """Plain-scalar resolution (YAML 1.1, as PyYAML's safe loader does it) and
    construction, memoized: a netlist repeats the same few values ("1 nF", "gnd")
    thousands of times."""

    def __init__(self) -> None:
        self.resolver = yaml.resolver.Resolver()
        self.constructor = yaml.constructor.SafeConstructor()
        self.cache: dict[tuple[str | None, str, bool], Any] = {}

    def value(self, ev: yaml.ScalarEvent) -> tuple[str, Any]:
        """(tag, Python value) of a scalar event; raises yaml.YAMLError on a bad value
        and ValueError for a tag that is not a plain YAML type."""
        plain = ev.implicit[0] and not ev.style  # libyaml marks plain scalars with ""
        if ev.tag is not None and ev.tag != "!" and not plain:
            tag = ev.tag
            if tag not in _STD_TAGS:
                raise ValueError(f"tagged values are not supported ({short(tag)})")
        elif plain:
            tag = None
        else:
            return _STR, ev.value  # quoted: a string
        key = (tag, ev.value, plain)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        if tag is None:
            tag = self.resolver.resolve(yaml.ScalarNode, ev.value, (True, False))
            if tag == _MERGE:  # the caller refuses it (not a value)
                return tag, ev.value
        node = yaml.ScalarNode(tag, ev.value, ev.start_mark, ev.end_mark, ev.style)
        result = (tag, self.constructor.construct_object(node, deep=True))
        self.cache[key] = result
        return result


def _compose(text: str, ctx: Context) -> Node | None:
    """The document as a tree of located :class:`Node` objects, built straight from
    libyaml's parse events (several times faster than composing PyYAML nodes first).
    Keys must be plain scalars (no merge keys, no tags); nesting is bounded by
    :data:`MAX_DEPTH`; aliases may not expand the document beyond
    :data:`ALIAS_EXPANSION` times its size."""
    loader = _LOADER(text)
    scalars = _Scalars()
    anchors: dict[str, tuple[Node, int]] = {}  # anchor -> (node, its expanded size)
    # frames: [kind ("map"|"seq"), container, path, line, pending key, key line, size, anchor]
    stack: list[list[Any]] = []
    root: list[Node] = []
    total = [0]
    budget = max(10_000, ALIAS_EXPANSION * len(text))

    def err(msg: str, path: str | None, line: int | None) -> NetlistError:
        return NetlistError(msg, ctx.file, path or None, line)

    def child_path(frame: list[Any]) -> str:
        if frame[0] == "map":
            return _join(frame[2], frame[4])
        return _join(frame[2], len(frame[1]))

    def attach(node: Node, size: int) -> None:
        total[0] += size
        if total[0] > budget:
            raise err("the document's aliases expand it far beyond its size (an alias bomb?): "
                      "write the values out", node.path, node.line)
        if not stack:
            root.append(node)
            return
        frame = stack[-1]
        frame[6] += size
        if frame[0] == "seq":
            frame[1].append(node)
        else:
            frame[1][frame[4]] = node
            frame[4] = None

    def start(kind: str, ev: Any) -> None:
        line = ev.start_mark.line + 1
        if stack and stack[-1][0] == "map" and stack[-1][4] is None:
            raise err("mapping keys must be plain names", stack[-1][2], line)
        if len(stack) >= MAX_DEPTH:
            raise err(f"nesting deeper than {MAX_DEPTH} levels", stack[-1][2], line)
        path = child_path(stack[-1]) if stack else ""
        if stack and stack[-1][0] == "map":
            line = stack[-1][5]  # a value is located at its key's line
        stack.append([kind, {} if kind == "map" else [], path, line, None, None, 1,
                      getattr(ev, "anchor", None)])

    Scalar, get_event, check_event = yaml.ScalarEvent, loader.get_event, loader.check_event
    cache = scalars.cache
    try:
        while check_event():
            ev = get_event()
            if type(ev) is Scalar:
                line = ev.start_mark.line + 1
                frame = stack[-1] if stack else None
                if frame is not None and frame[0] == "map" and frame[4] is None:  # a key
                    if ev.tag not in (None, "!") and ev.tag not in _STD_TAGS:
                        raise err(f"tagged keys are not supported ({short(ev.tag)})", frame[2],
                                  line)
                    try:
                        tag, key = scalars.value(ev)
                    except (ValueError, yaml.YAMLError) as exc:
                        raise err(f"bad key: {str(exc).splitlines()[0]}", frame[2], line) from None
                    if tag == _MERGE:
                        raise err("YAML merge keys (<<) are not supported: write the fields out",
                                  frame[2], line)
                    key = str(key)
                    if key in frame[1]:
                        raise err(f"duplicate key {short(key)}", _join(frame[2], key), line)
                    frame[4], frame[5] = key, line
                    continue
                if frame is None:
                    path = ""
                elif frame[0] == "map":
                    path, line = _join(frame[2], frame[4]), frame[5]
                else:
                    path = f"{frame[2]}[{len(frame[1])}]"
                hit = cache.get((None, ev.value, True)) if not ev.style and ev.tag is None else None
                if hit is not None:
                    value = hit[1]
                else:
                    try:
                        _, value = scalars.value(ev)
                    except ValueError as exc:
                        raise err(str(exc), path, line) from None
                    except yaml.YAMLError as exc:
                        raise err(f"bad value: {str(exc).splitlines()[0]}", path, line) from None
                node = Node(value, path, line)
                if ev.anchor:
                    anchors[ev.anchor] = (node, 1)
                if frame is None or ev.anchor:
                    attach(node, 1)
                    continue
                total[0] += 1
                frame[6] += 1
                if frame[0] == "seq":
                    frame[1].append(node)
                else:
                    frame[1][frame[4]] = node
                    frame[4] = None
            elif isinstance(ev, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                if ev.tag is not None and ev.tag not in ("!", "tag:yaml.org,2002:map",
                                                          "tag:yaml.org,2002:seq"):
                    raise err(f"tagged values are not supported ({short(ev.tag)})",
                              child_path(stack[-1]) if stack else "", ev.start_mark.line + 1)
                start("map" if isinstance(ev, yaml.MappingStartEvent) else "seq", ev)
            elif isinstance(ev, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                _, container, path, line, _, _, size, anchor = stack.pop()
                node = Node(container, path, line)
                if anchor:
                    anchors[anchor] = (node, size)
                attach(node, size)
            elif isinstance(ev, yaml.AliasEvent):
                line = ev.start_mark.line + 1
                if ev.anchor not in anchors:
                    raise err(f"unknown alias *{short(ev.anchor)}", None, line)
                if stack and stack[-1][0] == "map" and stack[-1][4] is None:
                    raise err("mapping keys must be plain names", stack[-1][2], line)
                node, size = anchors[ev.anchor]
                attach(node, size)
            elif isinstance(ev, yaml.DocumentStartEvent) and root:
                raise err("expected a single YAML document, found a second one", None,
                          ev.start_mark.line + 1)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise NetlistError(
            f"YAML syntax error: {problem}",
            file=ctx.file,
            line=mark.line + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:  # e.g. a control character (a ReaderError: position only)
        reason = getattr(exc, "reason", None)
        line = _line_of(text, getattr(exc, "position", None))
        msg = f"YAML error: {reason}" if reason else f"YAML error: {str(exc).splitlines()[0]}"
        raise NetlistError(msg, file=ctx.file, line=line) from None
    return root[0] if root else None


_SPICE_SUFFIXES = (".cir", ".sp", ".spi", ".spice", ".net", ".ckt", ".deck")
_SPICE_LINE = re.compile(r"^\s*(?:[rclkivefghbxdqmj][^\s]*\s+\S+\s+\S+|\.(?:end|tran|noise|ac|op|"
                         r"options|param|subckt|include|temp|control)\b)", re.I)


def looks_like_spice(text: str, file: str | None = None) -> bool:
    """Is this text a SPICE deck (by its file suffix, or by its lines: element cards
    and dot commands, a ``.end``)?"""
    if file and file.lower().endswith(_SPICE_SUFFIXES):
        return True
    lines = [ln for ln in text.splitlines()[1:] if ln.strip() and not ln.lstrip().startswith("*")]
    if not lines:
        return False
    hits = sum(1 for ln in lines if _SPICE_LINE.match(ln))
    return hits >= max(1, len(lines) // 2) and any(
        ln.strip().lower().startswith(".end") for ln in lines)


#: Element types by ``type:`` (the registry of :mod:`.base`; each type parses itself).
ELEMENT_PARSERS = ELEMENT_TYPES

#: Top-level sections that extensions may claim: key -> parser(ctx, node, builder).
SECTION_PARSERS: dict[str, Callable[[Context, Node, _Builder], None]] = {}

#: Modules that define extra top-level sections (a ``NETLIST_SECTIONS`` mapping of
#: key -> parser); imported on first use so that a plain ``load()`` accepts every
#: section the project defines.
SECTION_MODULES = ("spu_emulator.hardware.design",)
_extensions_loaded = False


def _load_extensions() -> None:
    global _extensions_loaded
    if not _extensions_loaded:
        import importlib

        _extensions_loaded = True
        for mod in SECTION_MODULES:
            try:
                module = importlib.import_module(mod)
            except ModuleNotFoundError as exc:  # that part of the project is absent
                if exc.name != mod:
                    raise
                continue
            for key, parser in getattr(module, "NETLIST_SECTIONS", {}).items():
                SECTION_PARSERS.setdefault(key, parser)


TOP_KEYS = (
    "format",
    "name",
    "description",
    "temperature",
    "cells",
    "couplers",
    "elements",
    "readout",
    "tolerances",
    "parasitics",
)


class _Builder:
    """Accumulates elements and node order while the document is read."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.elements: list[Element] = []
        self.names: dict[str, Node] = {}
        self.nodes: list[str] = []
        self.node_set: set[str] = set()
        self.cells: list[str] = []
        self.cell_set: set[str] = set()
        self.tolerances: dict[str, Tolerance] = {}  # per-element overrides, by name
        self.tolerance_nodes: dict[str, Node] = {}

    def add_node(self, n: str) -> None:
        if n != GROUND and n not in self.node_set:
            self.node_set.add(n)
            self.nodes.append(n)

    def add(self, element: Element, name_node: Node) -> None:
        if element.name in self.names:
            first = self.names[element.name]
            raise self.ctx.error(
                name_node,
                f"duplicate name {element.name!r} (first used at {first.path or 'top'}"
                + (f", line {first.line})" if first.line else ")"),
            )
        self.names[element.name] = name_node
        if element.line is None:  # located for later messages (topology, assembly)
            object.__setattr__(element, "line", name_node.line)
        for n in element.nodes:
            self.add_node(n)
        self.elements.append(element)


def _pop_tolerance(ctx: Context, node: Node, b: _Builder, names: dict[str, str]) -> None:
    """Take an entry's ``tolerance:`` field out of its mapping (so the element's own
    parser never sees it) and record it for the elements it names: ``names`` maps the
    keys a mapping may use (``C``, ``L``, ``R``) to element names; a plain value applies
    to the first."""
    m = node.value if isinstance(node.value, dict) else {}
    tn = m.pop("tolerance", None)
    if tn is None:
        return
    if isinstance(tn.value, dict) and len(names) > 1:
        for k, v in ctx.keys(tn, (), tuple(names)).items():
            b.tolerances[names[k]] = parse_tolerance(ctx, v)
        return
    b.tolerances[next(iter(names.values()))] = parse_tolerance(ctx, tn)


def _parse_cells(ctx: Context, sec: Node, b: _Builder) -> None:
    for cn in ctx.sequence(sec):
        if isinstance(cn.value, dict) and "name" in cn.value:
            nm = str(cn.value["name"].value)
            _pop_tolerance(ctx, cn, b, {k: f"{nm}.{k}" for k in ("C", "L", "R")
                                        if k in cn.value})
        m = ctx.keys(cn, ("name", "C"), ("L", "R", "R_L", "temperature"))
        name = ctx.string(m["name"])
        if name in GROUND_NAMES:
            raise ctx.error(m["name"], f"{name!r} is the ground node and cannot be a cell")
        if name in b.cell_set:
            raise ctx.error(m["name"], f"duplicate cell name {name!r}")
        if name in b.node_set:
            raise ctx.error(m["name"], f"cell name {name!r} is already used as a node")
        b.cells.append(name)
        b.cell_set.add(name)
        b.add_node(name)
        t = ctx.temperature(m)
        gnd = (name, GROUND)
        c = ctx.quantity(m["C"], "F", positive=True)
        b.add(Capacitor(name=f"{name}.C", nodes=gnd, C=c, origin=f"{cn.path}.C"), m["C"])
        if "L" in m:
            ell = ctx.quantity(m["L"], "H", positive=True)
            rl = ctx.quantity(m["R_L"], "Ohm", positive=True) if "R_L" in m else 0.0
            b.add(Inductor(name=f"{name}.L", nodes=gnd, L=ell, series_R=rl, temperature=t if rl else None,
                           origin=f"{cn.path}.L"), m["L"])
        elif "R_L" in m:
            raise ctx.error(m["R_L"], "R_L is the series resistance of the cell's inductor L: "
                            "give L too")
        if "R" in m:
            r = ctx.quantity(m["R"], "Ohm", positive=True)
            b.add(
                Resistor(name=f"{name}.R", nodes=gnd, R=r, temperature=t, origin=f"{cn.path}.R"),
                m["R"],
            )
        elif "temperature" in m:
            raise ctx.error(m["temperature"], "a cell temperature needs a cell resistor R")


_COUPLER_KINDS = {
    "C": ("F", Capacitor, "C"),
    "R": ("Ohm", Resistor, "R"),
    "L": ("H", Inductor, "L"),
}


def _parse_couplers(ctx: Context, sec: Node, b: _Builder) -> None:
    for i, cn in enumerate(ctx.sequence(sec)):
        if isinstance(cn.value, dict):
            nm = str(cn.value["name"].value) if "name" in cn.value else f"couplers[{i}]"
            _pop_tolerance(ctx, cn, b, {"C": nm})
        m = ctx.keys(cn, ("between",), ("name", "C", "R", "L", "temperature", "R_switch",
                                        "C_ground"))
        kinds = [k for k in ("C", "R", "L") if k in m]
        if len(kinds) != 1:
            raise ctx.error(
                cn,
                "a coupler needs exactly one of C, R or L"
                + (f", got {', '.join(kinds)}" if kinds else ""),
            )
        kind = kinds[0]
        a, bb = ctx.node_pair(m["between"])
        for n, sub in zip((a, bb), ctx.sequence(m["between"]), strict=True):
            if n != GROUND and n not in b.node_set:
                raise ctx.error(
                    sub, f"unknown node {n!r}: couplers join cells or nodes defined earlier"
                )
        name = ctx.string(m["name"]) if "name" in m else f"couplers[{i}]"
        unit, cls, attr = _COUPLER_KINDS[kind]
        value = ctx.quantity(m[kind], unit, positive=True)
        kwargs: dict[str, Any] = {attr: value}
        if "temperature" in m:
            if kind == "C" and "R_switch" not in m:
                raise ctx.error(
                    m["temperature"], "a capacitive coupler has no temperature (it is noiseless)"
                )
            kwargs["temperature"] = ctx.temperature(m)
        far = bb
        if "R_switch" in m:  # the switch's series resistance: a -- R -- x -- C -- b
            if kind != "C":
                raise ctx.error(m["R_switch"], "R_switch is the series resistance of a "
                                "capacitive coupler's switch: the coupler needs C")
            x = f"{name}.x"
            if x in b.node_set:
                raise ctx.error(m["R_switch"], f"node {x!r} (the switch's inner node) is taken")
            rs = ctx.quantity(m["R_switch"], "Ohm", positive=True)
            b.add(Resistor(name=f"{name}.switch", nodes=(a, x), R=rs,
                           temperature=kwargs.pop("temperature", None),
                           origin=f"{cn.path}.R_switch"), m["R_switch"])
            a = x
        b.add(
            cls(name=name, nodes=(a, far), origin=f"{cn.path}.{kind}", **kwargs),
            m.get("name", m[kind]),
        )
        if "C_ground" in m:  # stray capacitance of each terminal to ground
            cg = ctx.quantity(m["C_ground"], "F", positive=True)
            for k, n in enumerate(ctx.node_pair(m["between"])):
                if n != GROUND:
                    b.add(Capacitor(name=f"{name}.C_ground[{k}]", nodes=(n, GROUND), C=cg,
                                    origin=f"{cn.path}.C_ground"), m["C_ground"])


def _parse_elements(ctx: Context, sec: Node, b: _Builder) -> None:
    for en in ctx.sequence(sec):
        m = ctx.mapping(en)
        if "type" not in m:
            raise ctx.error(en, "missing required field 'type'", _join(en.path, "type"))
        if "name" not in m:
            raise ctx.error(en, "missing required field 'name'", _join(en.path, "name"))
        t = m["type"].value
        if not isinstance(t, str) or t not in ELEMENT_TYPES:
            raise ctx.error(
                m["type"], f"unknown element type {t!r} (known: {', '.join(ELEMENT_TYPES)})"
            )
        name = ctx.string(m["name"])
        _pop_tolerance(ctx, en, b, {"value": name})
        b.add(ELEMENT_TYPES[t].parse(ctx, en, m, name), m["name"])


_FRACTION = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(%|ppm)\s*$")
_TEMPCO = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(%|ppm)\s*/\s*K\s*$")
#: The largest relative spread accepted (beyond it a component's value can change sign).
MAX_TOLERANCE = 0.5


def _decimal_fraction(number: str, unit: str) -> float:
    """'5', '%' -> 0.05 exactly as the decimal text says (written back by the dumper)."""
    from decimal import Decimal

    return float(Decimal(number) * (Decimal("0.01") if unit == "%" else Decimal("1e-6")))


def _fraction(ctx: Context, node: Node, what: str = "tolerance") -> float:
    """'5%' -> 0.05, '200 ppm' -> 2e-4 (never a bare number: is 5 five percent?)."""
    v = node.value
    m = _FRACTION.match(v) if isinstance(v, str) else None
    if m is None:
        raise ctx.error(node, f"a {what} is a percentage like '5%' or '200 ppm', got {short(v)}")
    x = _decimal_fraction(m.group(1), m.group(2))
    if not 0 <= x <= MAX_TOLERANCE:
        raise ctx.error(node, f"a {what} must be from 0% to {MAX_TOLERANCE:.0%}, got {short(v)}")
    return x


def parse_tolerance(ctx: Context, node: Node) -> Tolerance:
    """``5%`` (Gaussian, one sigma), or ``{sigma: 5%}`` / ``{uniform: 5%}`` (half-width)
    with optional ``lot: 1%`` (a common per-board factor) and ``tempco: 100 ppm/K``."""
    if not isinstance(node.value, dict):
        return Tolerance(sigma=_fraction(ctx, node))
    m = ctx.keys(node, (), ("sigma", "uniform", "lot", "tempco"))
    if "sigma" in m and "uniform" in m:
        raise ctx.error(node, "give sigma (Gaussian) or uniform (half-width), not both")
    dist = "uniform" if "uniform" in m else "gaussian"
    sigma = _fraction(ctx, m.get("sigma") or m["uniform"]) if ("sigma" in m or "uniform" in m) else 0.0
    lot = _fraction(ctx, m["lot"], "lot tolerance") if "lot" in m else 0.0
    tempco = 0.0
    if "tempco" in m:
        v = m["tempco"].value
        mt = _TEMPCO.match(v) if isinstance(v, str) else None
        if mt is None:
            raise ctx.error(m["tempco"], f"a temperature coefficient is like '100 ppm/K' or "
                            f"'0.01 %/K', got {short(v)}")
        tempco = _decimal_fraction(mt.group(1), mt.group(2))
        if abs(tempco) > 1e-2:
            raise ctx.error(m["tempco"], f"|tempco| must be at most 1 %/K, got {short(v)}")
    return Tolerance(sigma=sigma, distribution=dist, lot=lot, tempco=tempco)


def _parse_tolerances(ctx: Context, sec: Node, b: _Builder) -> Tolerances:
    keys = (*CLASSES, "elements", "board_temperature", "reference_temperature")
    m = ctx.keys(sec, (), keys)
    classes = {k: parse_tolerance(ctx, v) for k, v in m.items() if k in CLASSES}
    elements = dict(b.tolerances)
    if "elements" in m:
        for name, v in ctx.mapping(m["elements"]).items():
            elements[name] = parse_tolerance(ctx, v)
            b.tolerance_nodes[name] = v
    bt = ctx.quantity(m["board_temperature"], "K", positive=True) if "board_temperature" in m else None
    rt = (ctx.quantity(m["reference_temperature"], "K", positive=True)
          if "reference_temperature" in m else None)
    return Tolerances(classes=classes, elements=elements, board_temperature=bt,
                      reference_temperature=rt)


def _check_tolerances(ctx: Context, b: _Builder, tol: Tolerances) -> None:
    by_name = {e.name: e for e in b.elements}
    for name in tol.elements:
        node = b.tolerance_nodes.get(name) or b.names.get(name)
        if name not in by_name:
            raise ctx.error(node, f"tolerance for {short(name)}: there is no such element")
        if not element_class(by_name[name]):
            raise ctx.error(node, f"tolerance for {short(name)}: a {by_name[name].TYPE} element "
                            "has no value a tolerance acts on")


def _parse_parasitics(ctx: Context, sec: Node, b: _Builder) -> None:
    """``parasitics: {stray_k: 1%}``: a mutual inductance of coupling factor k between
    the inductors of neighbouring cells (consecutive in the cells list: the layout)."""
    m = ctx.keys(sec, (), ("stray_k",))
    if "stray_k" not in m:
        return
    k = _fraction(ctx, m["stray_k"], "stray coupling factor")
    if k == 0:
        return
    inductors = [f"{c}.L" for c in b.cells if f"{c}.L" in b.names]
    if len(inductors) < 2:
        raise ctx.error(m["stray_k"], "stray_k couples neighbouring cells' inductors: the "
                        "netlist needs at least two cells with L")
    for i, (l1, l2) in enumerate(zip(inductors, inductors[1:], strict=False)):
        b.add(MutualInductance(name=f"parasitics.stray_k[{i}]", nodes=(), inductors=(l1, l2),
                               k=k, origin="parasitics.stray_k"), m["stray_k"])


def _check_references(ctx: Context, b: _Builder, by_name: dict[str, Node]) -> None:
    """Cross-references: K elements must name inductors."""
    inductors = {e.name for e in b.elements if isinstance(e, Inductor)}
    seen_pairs: dict[frozenset[str], str] = {}
    for e in b.elements:
        if isinstance(e, MutualInductance):
            for ind in e.inductors:
                if ind not in inductors:
                    raise NetlistError(
                        f"unknown inductor {ind!r} (inductors: {', '.join(sorted(inductors)) or 'none'})",
                        ctx.file,
                        f"{e.origin}.inductors",
                        by_name[e.name].line,
                    )
            pair = frozenset(e.inductors)
            if pair in seen_pairs:
                raise NetlistError(
                    f"inductors {sorted(pair)} are already coupled by {seen_pairs[pair]!r}",
                    ctx.file,
                    e.origin,
                    by_name[e.name].line,
                )
            seen_pairs[pair] = e.name


def _parse_readout(ctx: Context, sec: Node) -> Readout:
    m = ctx.keys(sec, (), ("rate", "bits", "full_scale", "offset", "gain_error", "noise",
                           "bandwidth"))
    bits = None
    if "bits" in m:
        v = m["bits"].value
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 32:
            raise ctx.error(m["bits"], f"bits must be an integer from 1 to 32, got {short(v)}")
        bits = v
    gain = 0.0
    if "gain_error" in m:
        gv = m["gain_error"].value
        mg = _FRACTION.match(gv.lstrip("+-")) if isinstance(gv, str) else None
        if mg is None:
            raise ctx.error(m["gain_error"], f"a gain error is a percentage like '0.5%' or "
                            f"'-200 ppm', got {short(gv)}")
        gain = _decimal_fraction(mg.group(1), mg.group(2)) * (-1 if gv.lstrip().startswith("-") else 1)
        if abs(gain) >= 0.5:
            raise ctx.error(m["gain_error"], f"|gain_error| must be below 50%, got {short(gv)}")
    return Readout(
        rate=ctx.quantity(m["rate"], "Hz", positive=True) if "rate" in m else None,
        bits=bits,
        full_scale=ctx.quantity(m["full_scale"], "V", positive=True) if "full_scale" in m else None,
        offset=ctx.quantity(m["offset"], "V") if "offset" in m else 0.0,
        gain_error=gain,
        noise=ctx.quantity(m["noise"], "V", nonnegative=True) if "noise" in m else 0.0,
        bandwidth=ctx.quantity(m["bandwidth"], "Hz", positive=True) if "bandwidth" in m else None,
    )


def loads(text: str, file: str | None = None) -> Netlist:
    """Parse netlist YAML text. ``file`` names the source in error messages."""
    _load_extensions()
    ctx = Context(file)
    try:
        root = _compose(text, ctx)
        if root is None:
            raise NetlistError("empty netlist: expected a mapping with 'format: spu-netlist/1'",
                               file)
        top = ctx.mapping(root, "a mapping at the top level")
    except NetlistError:
        if looks_like_spice(text, file):
            raise NetlistError(
                "this is a SPICE deck, not a spu-netlist YAML file: convert it with "
                "'spu spice import DECK -o netlist.yaml'", file,
            ) from None
        raise
    for k, v in top.items():
        if k not in TOP_KEYS and k not in SECTION_PARSERS:
            msg = unknown_key(k, TOP_KEYS + tuple(SECTION_PARSERS)).replace(
                "unknown key", "unknown top-level key", 1)
            raise ctx.error(v, msg, short(k, 24)[1:-1])
    if "format" not in top:
        raise NetlistError(f"missing 'format: {FORMAT}'", file, "format", 1)
    if top["format"].value != FORMAT:
        raise ctx.error(
            top["format"],
            f"unsupported format {short(top['format'])}: this version reads {FORMAT!r}",
        )
    name = (
        ctx.string(top["name"])
        if "name" in top
        else (os.path.splitext(os.path.basename(file))[0] if file else "netlist")
    )
    description = ""
    if "description" in top:
        if not isinstance(top["description"].value, str):
            raise ctx.error(top["description"], "expected text")
        description = top["description"].value
    temperature = (
        ctx.quantity(top["temperature"], "K", nonnegative=True)
        if "temperature" in top
        else DEFAULT_TEMPERATURE
    )
    b = _Builder(ctx)
    # Sections in file order so that "first appearance" follows the file.
    order = {"cells": _parse_cells, "couplers": _parse_couplers, "elements": _parse_elements}
    if "cells" in top:
        _parse_cells(ctx, top["cells"], b)
    for key, sec in top.items():
        if key in ("couplers", "elements"):
            if sec.value is None:
                continue
            order[key](ctx, sec, b)
        elif key in SECTION_PARSERS:
            SECTION_PARSERS[key](ctx, sec, b)
    if "parasitics" in top:
        _parse_parasitics(ctx, top["parasitics"], b)
    _check_references(ctx, b, b.names)
    if not b.elements:
        raise NetlistError("the netlist has no elements (add cells, couplers or elements)", file)
    readout = _parse_readout(ctx, top["readout"]) if "readout" in top else None
    tolerances = None
    if "tolerances" in top:
        tolerances = _parse_tolerances(ctx, top["tolerances"], b)
    elif b.tolerances:
        tolerances = Tolerances(elements=dict(b.tolerances))
    if tolerances is not None:
        _check_tolerances(ctx, b, tolerances)
    netlist = Netlist(
        name=name,
        temperature=temperature,
        nodes=tuple(b.nodes),
        cells=tuple(b.cells),
        elements=tuple(b.elements),
        source=file,
        description=description,
        readout=readout,
        tolerances=tolerances,
    )
    # Topology checks that need the assembled circuit live in circuit/; run the
    # structural ones here so that `load` returns only usable netlists.
    from ..circuit.topology import check_topology

    check_topology(netlist)
    return netlist


def load(path: str | os.PathLike[str]) -> Netlist:
    """Read and validate a netlist file."""
    p = os.fspath(path)
    try:
        with open(p, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise NetlistError("file not found", p) from None
    except IsADirectoryError:
        raise NetlistError("is a directory, not a netlist file", p) from None
    except OSError as exc:
        raise NetlistError(f"cannot read: {exc.strerror}", p) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NetlistError("not UTF-8 text (is this a netlist YAML file?)", p) from None
    return loads(text, p)
