"""YAML → :class:`~spu_emulator.netlist.schema.Netlist`, with path-aware errors.

Every problem raises :class:`~spu_emulator.errors.NetlistError` naming the file, the
YAML path (``couplers[1].C``) and the line. The YAML is composed into a node tree
first so that every value keeps its line number, and duplicate mapping keys (which
plain YAML silently overwrites) are caught.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import yaml

from ..errors import NetlistError
from ..units import DEFAULT_TEMPERATURE
from .base import FORMAT
from .context import Context, Node, _join
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

# libyaml's parser (when PyYAML was built with it) composes the same nodes, with the same
# line marks, ~10x faster than the pure-Python one: a trained generative computer's
# netlist has ~10⁵ elements.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str, ctx: Context) -> Node | None:
    loader = _LOADER(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise NetlistError(
            f"YAML syntax error: {problem}",
            file=ctx.file,
            line=mark.line + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise NetlistError(f"YAML error: {exc}", file=ctx.file) from None
    if root is None:
        return None

    def convert(n: yaml.Node, path: str) -> Node:
        line = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            out: dict[str, Node] = {}
            for kn, vn in n.value:
                if not isinstance(kn, yaml.ScalarNode):
                    raise NetlistError(
                        "mapping keys must be plain names", ctx.file, path, kn.start_mark.line + 1
                    )
                key = str(loader.construct_object(kn))
                if key in out:
                    raise NetlistError(
                        f"duplicate key {key!r}", ctx.file, _join(path, key), kn.start_mark.line + 1
                    )
                out[key] = convert(vn, _join(path, key))
            return Node(out, path, line)
        if isinstance(n, yaml.SequenceNode):
            return Node([convert(x, _join(path, i)) for i, x in enumerate(n.value)], path, line)
        try:
            value = loader.construct_object(n)
        except yaml.YAMLError as exc:
            raise NetlistError(f"bad value: {exc}", ctx.file, path, line) from None
        return Node(value, path, line)

    return convert(root, "")


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
)


class _Builder:
    """Accumulates elements and node order while the document is read."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.elements: list[Element] = []
        self.names: dict[str, Node] = {}
        self.nodes: list[str] = []
        self.cells: list[str] = []

    def add(self, element: Element, name_node: Node) -> None:
        if element.name in self.names:
            first = self.names[element.name]
            raise self.ctx.error(
                name_node,
                f"duplicate name {element.name!r} (first used at {first.path or 'top'}"
                + (f", line {first.line})" if first.line else ")"),
            )
        self.names[element.name] = name_node
        for n in element.nodes:
            if n != GROUND and n not in self.nodes:
                self.nodes.append(n)
        self.elements.append(element)


def _parse_cells(ctx: Context, sec: Node, b: _Builder) -> None:
    for cn in ctx.sequence(sec):
        m = ctx.keys(cn, ("name", "C"), ("L", "R", "temperature"))
        name = ctx.string(m["name"])
        if name in GROUND_NAMES:
            raise ctx.error(m["name"], f"{name!r} is the ground node and cannot be a cell")
        if name in b.cells:
            raise ctx.error(m["name"], f"duplicate cell name {name!r}")
        if name in b.nodes:
            raise ctx.error(m["name"], f"cell name {name!r} is already used as a node")
        b.cells.append(name)
        b.nodes.append(name)
        t = ctx.temperature(m)
        gnd = (name, GROUND)
        c = ctx.quantity(m["C"], "F", positive=True)
        b.add(Capacitor(name=f"{name}.C", nodes=gnd, C=c, origin=f"{cn.path}.C"), m["C"])
        if "L" in m:
            ell = ctx.quantity(m["L"], "H", positive=True)
            b.add(Inductor(name=f"{name}.L", nodes=gnd, L=ell, origin=f"{cn.path}.L"), m["L"])
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
        m = ctx.keys(cn, ("between",), ("name", "C", "R", "L", "temperature"))
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
            if n != GROUND and n not in b.nodes:
                raise ctx.error(
                    sub, f"unknown node {n!r}: couplers join cells or nodes defined earlier"
                )
        name = ctx.string(m["name"]) if "name" in m else f"couplers[{i}]"
        unit, cls, attr = _COUPLER_KINDS[kind]
        value = ctx.quantity(m[kind], unit, positive=True)
        kwargs: dict[str, Any] = {attr: value}
        if "temperature" in m:
            if kind == "C":
                raise ctx.error(
                    m["temperature"], "a capacitive coupler has no temperature (it is noiseless)"
                )
            kwargs["temperature"] = ctx.temperature(m)
        b.add(
            cls(name=name, nodes=(a, bb), origin=f"{cn.path}.{kind}", **kwargs),
            m.get("name", m[kind]),
        )


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
        b.add(ELEMENT_TYPES[t].parse(ctx, en, m, name), m["name"])


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
    m = ctx.keys(sec, (), ("rate", "bits", "full_scale"))
    bits = None
    if "bits" in m:
        v = m["bits"].value
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 32:
            raise ctx.error(m["bits"], f"bits must be an integer from 1 to 32, got {v!r}")
        bits = v
    return Readout(
        rate=ctx.quantity(m["rate"], "Hz", positive=True) if "rate" in m else None,
        bits=bits,
        full_scale=ctx.quantity(m["full_scale"], "V", positive=True) if "full_scale" in m else None,
    )


def loads(text: str, file: str | None = None) -> Netlist:
    """Parse netlist YAML text. ``file`` names the source in error messages."""
    _load_extensions()
    ctx = Context(file)
    root = _compose(text, ctx)
    if root is None:
        raise NetlistError("empty netlist: expected a mapping with 'format: spu-netlist/1'", file)
    top = ctx.mapping(root, "a mapping at the top level")
    for k, v in top.items():
        if k not in TOP_KEYS and k not in SECTION_PARSERS:
            raise ctx.error(
                v,
                f"unknown top-level key {k!r} (allowed: {', '.join(TOP_KEYS + tuple(SECTION_PARSERS))})",
                k,
            )
    if "format" not in top:
        raise NetlistError(f"missing 'format: {FORMAT}'", file, "format", 1)
    if top["format"].value != FORMAT:
        raise ctx.error(
            top["format"],
            f"unsupported format {top['format'].value!r}: this version reads {FORMAT!r}",
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
    _check_references(ctx, b, b.names)
    if not b.elements:
        raise NetlistError("the netlist has no elements (add cells, couplers or elements)", file)
    readout = _parse_readout(ctx, top["readout"]) if "readout" in top else None
    netlist = Netlist(
        name=name,
        temperature=temperature,
        nodes=tuple(b.nodes),
        cells=tuple(b.cells),
        elements=tuple(b.elements),
        source=file,
        description=description,
        readout=readout,
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
