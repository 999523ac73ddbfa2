"""The element types of spu-netlist/1, each complete in one class.

Every class declares its fields once and owns its YAML reading (``parse``) and
writing (``yaml_entry``), its stamp into the circuit (``stamp``, linear and nonlinear
circuits alike) and its SPICE lines (``spice``); see :mod:`.base` for the interface.

==========  ==================================================================
``R``       resistor with Johnson–Nyquist noise S_I = 4 k_B T / R (one-sided)
``C``       linear capacitor
``L``       inductor, optional series resistance (a noise source of its own)
``K``       mutual inductance M = k √(L₁L₂) between two inductors
``I``       current source: DC value plus white noise of one-sided PSD S
``IN``      band-limited current noise: white noise through a first-order low-pass
``NC``      nonlinear capacitor to ground, energy J2 q² + J4 q⁴ of its charge
``RB``      resistor to a bias voltage source (constant or piecewise linear)
``EC``      signed energy coupling J q_a q_b between two nonlinear-capacitor charges
==========  ==================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..units import K_B
from .base import GROUND, Element, SpiceDeck, Stamper, Waveform, register_element

# SPICE lines of a two-terminal element: "<name> <a> <b> <value><params>"


def _two_terminal(deck: SpiceDeck, e: Element, value: str) -> list[str]:
    a, b = (deck.node(n) for n in e.nodes)
    return [f"{deck.name(e)} {a} {b} {value}"]


@register_element
@dataclass(frozen=True, slots=True)
class Resistor(Element):
    """Resistor with Johnson–Nyquist noise S_I = 4 k_B T / R (one-sided).
    ``temperature=None`` means the netlist's bath temperature; 0 K is noiseless."""

    R: float = 1.0
    temperature: float | None = None
    TYPE: ClassVar[str] = "R"
    CONDUCTIVE: ClassVar[bool] = True
    DISSIPATIVE: ClassVar[bool] = True
    SPICE_PREFIX: ClassVar[str | None] = "R"
    SPICE_ROLES: ClassVar[tuple[str, ...]] = ("i_n",)

    @classmethod
    def parse(cls, ctx, node, m, name) -> Resistor:
        ctx.keys(node, ("name", "type", "nodes", "value"), ("temperature",))
        return cls(
            name=name,
            nodes=ctx.node_pair(m["nodes"]),
            R=ctx.quantity(m["value"], "Ohm", positive=True),
            temperature=ctx.temperature(m),
            origin=node.path,
        )

    def yaml_entry(self) -> dict[str, Any]:
        return self._entry(value=self.R, temperature=self.temperature)

    def stamp(self, s: Stamper, bath_temperature: float) -> None:
        t = bath_temperature if self.temperature is None else self.temperature
        s.conductance(self, self.nodes[0], self.nodes[1], self.R, t)

    def spice(self, deck: SpiceDeck) -> list[str]:
        return _two_terminal(deck, self, deck.fmt(self.R) + deck.temperature(self.temperature))


@register_element
@dataclass(frozen=True, slots=True)
class Capacitor(Element):
    C: float = 1.0
    TYPE: ClassVar[str] = "C"
    CAPACITIVE: ClassVar[bool] = True
    SPICE_PREFIX: ClassVar[str | None] = "C"

    @classmethod
    def parse(cls, ctx, node, m, name) -> Capacitor:
        ctx.keys(node, ("name", "type", "nodes", "value"))
        return cls(
            name=name,
            nodes=ctx.node_pair(m["nodes"]),
            C=ctx.quantity(m["value"], "F", positive=True),
            origin=node.path,
        )

    def yaml_entry(self) -> dict[str, Any]:
        return self._entry(value=self.C)

    def stamp(self, s: Stamper, bath_temperature: float) -> None:
        s.capacitance(self, self.nodes[0], self.nodes[1], self.C)

    def spice(self, deck: SpiceDeck) -> list[str]:
        return _two_terminal(deck, self, deck.fmt(self.C))


@register_element
@dataclass(frozen=True, slots=True)
class Inductor(Element):
    """Inductor with optional series resistance ``series_R`` (a noise source at
    ``temperature``, voltage PSD 4 k_B T R_s one-sided)."""

    L: float = 1.0
    series_R: float = 0.0
    temperature: float | None = None
    TYPE: ClassVar[str] = "L"
    CONDUCTIVE: ClassVar[bool] = True
    SPICE_PREFIX: ClassVar[str | None] = "L"
    SPICE_ROLES: ClassVar[tuple[str, ...]] = ("x", "y", "r_s", "v_n")

    @classmethod
    def parse(cls, ctx, node, m, name) -> Inductor:
        ctx.keys(node, ("name", "type", "nodes", "value"), ("series_R", "temperature"))
        return cls(
            name=name,
            nodes=ctx.node_pair(m["nodes"]),
            L=ctx.quantity(m["value"], "H", positive=True),
            series_R=ctx.quantity(m["series_R"], "Ohm", nonnegative=True) if "series_R" in m else 0.0,
            temperature=ctx.temperature(m),
            origin=node.path,
        )

    def yaml_entry(self) -> dict[str, Any]:
        return self._entry(value=self.L, series_R=self.series_R or None,
                           temperature=self.temperature)

    @property
    def lossy(self) -> bool:
        return self.series_R > 0

    @property
    def lossless_inductor(self) -> bool:
        return self.series_R == 0

    def stamp(self, s: Stamper, bath_temperature: float) -> None:
        t = bath_temperature if self.temperature is None else self.temperature
        s.inductor(self, self.nodes[0], self.nodes[1], self.L, self.series_R, t)

    def spice(self, deck: SpiceDeck) -> list[str]:
        a, b = (deck.node(n) for n in self.nodes)
        if self.series_R <= 0:
            return [f"{deck.name(self)} {a} {b} {deck.fmt(self.L)}"]
        # L from a to an internal node, then the series resistance (and, in transient
        # decks, its noise voltage source aiding the current a → b: v(b) − v(y) = e(t))
        mid = deck.aux(self, "x")
        noise = deck.noise_input(self, "voltage")
        far = deck.aux(self, "y") if noise is not None else b
        lines = [
            f"{deck.name(self)} {a} {mid} {deck.fmt(self.L)}",
            f"{deck.aux(self, 'r_s')} {mid} {far} {deck.fmt(self.series_R)}"
            + deck.temperature(self.temperature),
        ]
        if noise is not None:
            lines += deck.wrap(f"{deck.aux(self, 'v_n')} {b} {far} {noise}")
        return lines


@register_element
@dataclass(frozen=True, slots=True)
class MutualInductance(Element):
    """Mutual inductance M = k sqrt(L1 L2) between two inductors (SPICE ``K``).
    ``nodes`` is empty; ``inductors`` names the two inductors."""

    inductors: tuple[str, str] = ("", "")
    k: float = 0.0
    TYPE: ClassVar[str] = "K"
    SPICE_PREFIX: ClassVar[str | None] = "K"

    @classmethod
    def parse(cls, ctx, node, m, name) -> MutualInductance:
        ctx.keys(node, ("name", "type", "inductors"), ("k", "value"))
        if ("k" in m) == ("value" in m):
            raise ctx.error(node, "give the coupling factor as 'k'", ctx.join(node.path, "k"))
        seq = ctx.sequence(m["inductors"])
        if len(seq) != 2:
            raise ctx.error(m["inductors"], f"expected two inductor names, got {len(seq)}")
        l1, l2 = (ctx.string(x) for x in seq)
        if l1 == l2:
            raise ctx.error(m["inductors"], f"an inductor cannot couple to itself ({l1!r})")
        knode = m.get("k") or m["value"]
        k = ctx.quantity(
            knode, "1", check=lambda x: None if abs(x) < 1 else f"|k| must be < 1, got {x:g}"
        )
        return cls(name=name, nodes=(), inductors=(l1, l2), k=k, origin=node.path)

    def yaml_entry(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.TYPE, "inductors": list(self.inductors),
                "k": self.k}

    def stamp(self, s: Stamper, bath_temperature: float) -> None:
        s.mutual(self, self.inductors[0], self.inductors[1], self.k)

    def spice(self, deck: SpiceDeck) -> list[str]:
        l1, l2 = (deck.name(x) for x in self.inductors)
        return [f"{deck.name(self)} {l1} {l2} {deck.fmt(self.k)}"]


@register_element
@dataclass(frozen=True, slots=True)
class CurrentSource(Element):
    """Current source pushing ``dc`` amperes from nodes[0] through itself into
    nodes[1] (SPICE convention), plus white noise of one-sided PSD ``noise_psd`` A²/Hz."""

    dc: float = 0.0
    noise_psd: float = 0.0
    TYPE: ClassVar[str] = "I"
    SOURCE: ClassVar[bool] = True
    SPICE_PREFIX: ClassVar[str | None] = "I"
    SPICE_ROLES: ClassVar[tuple[str, ...]] = ("i_n", "eq", "r_eq", "v_eq", "f_eq")

    @classmethod
    def parse(cls, ctx, node, m, name) -> CurrentSource:
        ctx.keys(node, ("name", "type", "nodes"), ("dc", "value", "noise_psd"))
        if "dc" in m and "value" in m:
            raise ctx.error(m["value"], "give either 'dc' or 'value' (they mean the same), not both")
        dc_node = m.get("dc") or m.get("value")
        return cls(
            name=name,
            nodes=ctx.node_pair(m["nodes"]),
            dc=ctx.quantity(dc_node, "A") if dc_node is not None else 0.0,
            noise_psd=ctx.quantity(m["noise_psd"], "A2/Hz", nonnegative=True)
            if "noise_psd" in m
            else 0.0,
            origin=node.path,
        )

    def yaml_entry(self) -> dict[str, Any]:
        return self._entry(dc=self.dc, noise_psd=self.noise_psd or None)

    def stamp(self, s: Stamper, bath_temperature: float) -> None:
        s.current(self, self.nodes[0], self.nodes[1], self.dc, self.noise_psd)

    def spice(self, deck: SpiceDeck) -> list[str]:
        lines = _two_terminal(deck, self, f"dc {deck.fmt(self.dc)}")
        if self.noise_psd > 0:
            # .noise: white current noise S as the short-circuit current of a resistor
            # R_S = 4 k_B T0 / S at T0, sensed by a 0 V source and copied by a CCCS.
            a, b = (deck.node(n) for n in self.nodes)
            rs = 4.0 * K_B * deck.t0 / self.noise_psd
            node, r_eq, v_eq, f_eq = (deck.aux(self, k) for k in ("eq", "r_eq", "v_eq", "f_eq"))
            lines += [f"{r_eq} {node} 0 {deck.fmt(rs)}", f"{v_eq} {node} 0 dc 0",
                      f"{f_eq} {a} {b} {v_eq} 1"]
        return lines


@register_element
@dataclass(frozen=True, slots=True)
class BandLimitedNoise(Element):
    """Band-limited current noise pushed from nodes[0] into nodes[1]: white noise of
    one-sided PSD ``psd`` (A²/Hz, its low-frequency level) through a first-order
    low-pass of corner ``bandwidth`` (Hz), so S(f) = psd / (1 + (f/bandwidth)²) and the
    variance of the current is π·bandwidth·psd/2. One extra state, the filter output.

    SPICE: the noise of a resistor R_S = 4 k_B T₀ / psd (at the deck temperature T₀)
    across a capacitor C_f = 1/(2π·bandwidth·R_S) on an inner node u, copied into the
    circuit by a voltage-controlled current source of gain 1/R_S."""

    psd: float = 0.0
    bandwidth: float = 1.0
    TYPE: ClassVar[str] = "IN"
    SOURCE: ClassVar[bool] = True
    SPICE_PREFIX: ClassVar[str | None] = "G"
    SPICE_ROLES: ClassVar[tuple[str, ...]] = ("u", "r_s", "c_f", "i_n")

    @classmethod
    def parse(cls, ctx, node, m, name) -> BandLimitedNoise:
        ctx.keys(node, ("name", "type", "nodes", "psd", "bandwidth"))
        return cls(
            name=name,
            nodes=ctx.node_pair(m["nodes"]),
            psd=ctx.quantity(m["psd"], "A2/Hz", positive=True),
            bandwidth=ctx.quantity(m["bandwidth"], "Hz", positive=True),
            origin=node.path,
        )

    def yaml_entry(self) -> dict[str, Any]:
        return self._entry(psd=self.psd, bandwidth=self.bandwidth)

    def stamp(self, s: Stamper, bath_temperature: float) -> None:
        s.filtered_noise(self, self.nodes[0], self.nodes[1], self.psd, self.bandwidth)

    def spice(self, deck: SpiceDeck) -> list[str]:
        import math

        a, b = (deck.node(n) for n in self.nodes)
        u = deck.aux(self, "u")
        rs = 4.0 * K_B * deck.t0 / self.psd
        cf = 1.0 / (2.0 * math.pi * self.bandwidth * rs)
        lines = [
            f"* {self.name}: band-limited noise, psd {deck.fmt(self.psd)} A^2/Hz below "
            f"{deck.fmt(self.bandwidth)} Hz",
            f"{deck.aux(self, 'r_s')} {u} 0 {deck.fmt(rs)}",
            f"{deck.aux(self, 'c_f')} {u} 0 {deck.fmt(cf)}",
            f"{deck.name(self)} {a} {b} {u} 0 {deck.fmt(1.0 / rs)}",
        ]
        noise = deck.noise_input(self, "filtered")
        if noise is not None:
            lines += deck.wrap(f"{deck.aux(self, 'i_n')} 0 {u} {noise}")
        return lines


@register_element
@dataclass(frozen=True, slots=True)
class NonlinearCapacitor(Element):
    """Capacitor to ground with energy E(q) = J2 q² + J4 q⁴ of its charge q
    (J/C², J/C⁴): charge–voltage law v = dE/dq = 2 J2 q + 4 J4 q³. A linear capacitor
    C is J2 = 1/(2C), J4 = 0. Its node's charge is a state of the nonlinear SDE.

    SPICE: a charge node ``q_a`` whose capacitor C_aux integrates the element's current
    (sensed by a 0 V source, copied by a CCCS), so q = C_aux·v(q_a); the node voltage is
    imposed by a B source v = 2J2·q + 4J4·q³ + Σ_b J_ab·q_b."""

    J2: float = 0.0
    J4: float = 0.0
    TYPE: ClassVar[str] = "NC"
    LINEAR: ClassVar[bool] = False
    CAPACITIVE: ClassVar[bool] = True
    SPICE_PREFIX: ClassVar[str | None] = "B"
    SPICE_ROLES: ClassVar[tuple[str, ...]] = ("v", "v_s", "f_q", "c_q")

    @classmethod
    def parse(cls, ctx, node, m, name) -> NonlinearCapacitor:
        ctx.keys(node, ("name", "type", "nodes", "J2"), ("J4",))
        J2 = ctx.quantity(m["J2"], "1")
        J4 = ctx.quantity(m["J4"], "1", nonnegative=True) if "J4" in m else 0.0
        if J4 == 0 and J2 <= 0:
            raise ctx.error(
                m["J2"], f"with J4 = 0 the energy must be confining: J2 must be positive, got {J2:g}"
            )
        return cls(name=name, nodes=ctx.to_ground(m["nodes"]), J2=J2, J4=J4, origin=node.path)

    def yaml_entry(self) -> dict[str, Any]:
        return self._entry(J2=self.J2, J4=self.J4)

    def stamp(self, s: Stamper, bath_temperature: float) -> None:
        s.nonlinear_capacitor(self, self.nodes[0], self.J2, self.J4)

    def spice(self, deck: SpiceDeck) -> list[str]:
        node = self.nodes[0]
        qn, c = deck.charge_node(node), deck.charge_capacitance(node)
        f = deck.fmt
        # v = 2 J2 q + 4 J4 q³ + Σ J q_b with q = C_aux v(q_node): coefficients on v(q)
        expr = [f"{f(2.0 * self.J2 * c)}*v({qn})"]
        if self.J4 != 0:
            expr.append(f"{f(4.0 * self.J4 * c**3)}*v({qn})*v({qn})*v({qn})")
        for other, J in deck.couplings(node):
            expr.append(f"{f(J * deck.charge_capacitance(other))}*v({deck.charge_node(other)})")
        body = "+".join(expr).replace("+-", "-")
        y, vs = deck.aux(self, "v"), deck.aux(self, "v_s")
        return [
            f"* {self.name}: E = J2 q^2 + J4 q^4, J2={f(self.J2)} J4={f(self.J4)}",
            f"{vs} {deck.node(node)} {y} dc 0",
            *deck.wrap(f"{deck.name(self)} {y} 0 v={body}"),
            f"{deck.aux(self, 'f_q')} 0 {qn} {vs} 1",
            f"{deck.aux(self, 'c_q')} {qn} 0 {f(c)}",
        ]


@register_element
@dataclass(frozen=True, slots=True)
class BiasedResistor(Element):
    """Resistor R from nodes[0] to an ideal voltage source ``bias`` (V, constant or
    piecewise linear in time) whose other terminal is nodes[1] (ground): current
    (V_b(t) − v)/R into the node, with Johnson–Nyquist noise at ``temperature``.
    With a constant bias it is linear (a Norton source V_b/R beside R)."""

    R: float = 1.0
    bias: Waveform = Waveform()
    temperature: float | None = None
    TYPE: ClassVar[str] = "RB"
    CONDUCTIVE: ClassVar[bool] = True
    DISSIPATIVE: ClassVar[bool] = True
    SPICE_PREFIX: ClassVar[str | None] = "R"
    SPICE_ROLES: ClassVar[tuple[str, ...]] = ("b", "v_b", "i_n")

    @property
    def LINEAR(self) -> bool:  # type: ignore[override]
        return self.bias.constant

    @classmethod
    def parse(cls, ctx, node, m, name) -> BiasedResistor:
        ctx.keys(node, ("name", "type", "nodes", "value"), ("bias", "temperature"))
        return cls(
            name=name,
            nodes=ctx.to_ground(m["nodes"]),
            R=ctx.quantity(m["value"], "Ohm", positive=True),
            bias=ctx.waveform(m["bias"]) if "bias" in m else Waveform(),
            temperature=ctx.temperature(m),
            origin=node.path,
        )

    def yaml_entry(self) -> dict[str, Any]:
        w = self.bias
        bias: Any = (w.values[0] if w.constant
                     else {"pwl": [[t, v] for t, v in zip(w.times, w.values, strict=True)]})
        return self._entry(value=self.R, bias=bias, temperature=self.temperature)

    def stamp(self, s: Stamper, bath_temperature: float) -> None:
        t = bath_temperature if self.temperature is None else self.temperature
        s.bias_resistor(self, self.nodes[0], self.nodes[1], self.R, t, self.bias)

    def spice(self, deck: SpiceDeck) -> list[str]:
        a, b = (deck.node(n) for n in self.nodes)
        x = deck.aux(self, "b")
        w = self.bias
        src = f"dc {deck.fmt(w.values[0])}"
        if not w.constant:
            pts = " ".join(
                f"{deck.fmt(tt)} {deck.fmt(v)}" for tt, v in zip(w.times, w.values, strict=True)
            )
            src += f" pwl({pts})"
        return [
            f"{deck.name(self)} {a} {x} {deck.fmt(self.R)}{deck.temperature(self.temperature)}",
            *deck.wrap(f"{deck.aux(self, 'v_b')} {x} {b} {src}"),
        ]

    def params(self) -> dict[str, Any]:
        out = Element.params(self)
        out["bias"] = {"times": list(self.bias.times), "values": list(self.bias.values)}
        return out


@register_element
@dataclass(frozen=True, slots=True)
class EnergyCoupler(Element):
    """Signed energy coupling E = J q_a q_b (J/C²) between the charges of two
    nonlinear-capacitor nodes: it adds J q_b to v_a and J q_a to v_b. In SPICE it is
    the J·q terms of the two nodes' B sources (no element of its own)."""

    J: float = 0.0
    TYPE: ClassVar[str] = "EC"
    LINEAR: ClassVar[bool] = False

    @classmethod
    def parse(cls, ctx, node, m, name) -> EnergyCoupler:
        ctx.keys(node, ("name", "type", "nodes", "J"))
        a, b = ctx.node_pair(m["nodes"])
        if GROUND in (a, b):
            raise ctx.error(m["nodes"], "an energy coupler joins two node charges, not ground")
        return cls(name=name, nodes=(a, b), J=ctx.quantity(m["J"], "1"), origin=node.path)

    def yaml_entry(self) -> dict[str, Any]:
        return self._entry(J=self.J)

    def stamp(self, s: Stamper, bath_temperature: float) -> None:
        s.energy_coupling(self, self.nodes[0], self.nodes[1], self.J)

    def spice(self, deck: SpiceDeck) -> list[str]:
        return []


__all__ = [
    "BandLimitedNoise",
    "BiasedResistor",
    "Capacitor",
    "CurrentSource",
    "EnergyCoupler",
    "Inductor",
    "MutualInductance",
    "NonlinearCapacitor",
    "Resistor",
]
