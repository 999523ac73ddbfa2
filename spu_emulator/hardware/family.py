"""The as-built boards of one linear netlist: every component value as a parameter, the
random boards its ``tolerances:`` describe, and the circuit matrices of many boards at
once.

Parameters. Every value a tolerance can act on (:func:`~spu_emulator.netlist.tolerance.
element_class`) is one parameter p_j, named after its element (``n1.C``, ``couplers[3]``,
``a.L``, ``K1``) or, for an inductor's series resistance, ``<inductor>.series_R``.

Boards. Board i takes the raw 64-bit outputs number iK … (i+1)K − 1 of one PCG64
stream seeded with ``SeedSequence(seed)`` (K = 5 + P; the stream is jumped there with
``advance``, so a chunk of boards is one jump and one vectorized draw). Each output r
gives u = (⌊r / 2¹²⌋ + ½) 2⁻⁵² in (0, 1): first one per tolerance class (the lot
factors, classes in the order C, L, R, K, noise, normal by the inverse normal CDF
Φ⁻¹(u)), then one per parameter, Φ⁻¹(u) for a Gaussian tolerance or 2u − 1 for a
uniform one. Its values are

    p_j = p₀ⱼ (1 + σ_lot,j u_lot[class j]) (1 + σ_j u_j) (1 + α_j (T_board − T_ref)).

Board i depends on (seed, i) only, so the same seed gives the same boards however they
are batched or spread over threads.

Matrices. The circuit matrices are linear in simple functions of the values, so all
boards are built at once: every element stamps itself once into a recorder (the same
``stamp`` the assembler calls) that keeps, instead of numbers, which parameter enters
which matrix entry and how (c, 1/R, 2 k_B T/R, S/2, L, R_s, 2 k_B T R_s, ω_c² S/2).
For a batch of boards (B, P) this gives C, G and the node noise intensities on all
nodes by one sparse product each, the inductance matrix L with k √(L_a L_b) off the
diagonal, then the Kron reduction of capacitance-free nodes (a batched solve with
G_rr) and

    M = blkdiag(C_N, L, I),  K = [[G, A_L, −F], [−A_Lᵀ, R_L, 0], [0, 0, Ω]],
    Q = blkdiag(T Q_nodes Tᵀ, 2 k_B T R_L, ω_c² S/2)

so that M dx = −K x dt + N dW with N Nᵀ = Q, exactly the matrices
:func:`~spu_emulator.circuit.assemble` gives for each board. Everything is complex
analytic in the values (no abs, no conjugate), so a complex-step perturbation gives the
matrices' derivatives to rounding (:mod:`.sensitivity`).

Cost: O(B (nnz + r³ + r n² + s²)) for B boards, r reduced nodes, s states.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..netlist.base import Element, Waveform
from ..netlist.schema import Netlist
from ..netlist.tolerance import CLASSES, Tolerance, element_class
from ..units import K_B

Array = np.ndarray

#: Tolerance classes in draw order (one lot normal each per board).
CLASS_ORDER = tuple(CLASSES)
#: Units of the parameters, by tolerance class.
CLASS_UNITS = {"C": "F", "L": "H", "R": "Ohm", "K": "1", "noise": "A2/Hz"}


@dataclass(frozen=True, eq=False)
class Population:
    """What every result about a netlist's boards carries: the netlist's name and
    digest, and the component values it varies, by name and tolerance class."""

    name: str
    digest: str
    parameters: tuple[str, ...]
    classes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Parameter:
    """One component value: ``name`` (the element's name, or ``<inductor>.series_R``),
    the element and dataclass ``field`` it lives in, its tolerance ``cls``, nominal
    value and :class:`~spu_emulator.netlist.tolerance.Tolerance`."""

    name: str
    element: str
    field: str
    cls: str
    nominal: float
    tolerance: Tolerance

    @property
    def unit(self) -> str:
        return CLASS_UNITS[self.cls]

    @property
    def positive(self) -> bool:
        """Must the value stay positive for the board to be a circuit (not a coupling)?"""
        return self.cls != "K"


class _Channel:
    """Entries of one matrix that are sums of coef · v^power over terms, v a source (a
    parameter, or a fixed value): ``evaluate`` gives them for a batch as (B, size)."""

    def __init__(self, size: int):
        self.size = size
        self._entries: list[tuple[int, int, float]] = []  # (term, flat entry, sign)
        self._terms: list[tuple[int, float, int]] = []  # (source, coef, power)
        self._ready: tuple[Any, Array, Array, Array] | None = None

    def add(self, entries: Sequence[tuple[int, float]], source: int, coef: float, power: int) -> None:
        t = len(self._terms)
        self._terms.append((source, coef, power))
        self._entries += [(t, flat, sign) for flat, sign in entries]

    def _compiled(self) -> tuple[Any, Array, Array, Array]:
        if self._ready is None:
            from scipy import sparse  # lazy: scipy's import pulls in argparse

            t, flat, sign = (np.array(x) for x in zip(*self._entries, strict=True))
            pat = sparse.csr_array((sign.astype(float), (t.astype(int), flat.astype(int))),
                                   shape=(len(self._terms), self.size))
            src, coef, power = (np.array(x) for x in zip(*self._terms, strict=True))
            self._ready = (pat, src.astype(int), coef.astype(float), power.astype(int))
        return self._ready

    def evaluate(self, sources: Array) -> Array:
        """(B, size) for ``sources`` (B, S), real or complex: one sparse product,
        O(B · nnz)."""
        if not self._terms:
            return np.zeros((sources.shape[0], self.size), dtype=sources.dtype)
        pat, src, coef, power = self._compiled()
        v = sources[:, src]
        v = np.where(power < 0, 1.0 / np.where(power < 0, v, 1.0), v) * coef
        return np.asarray(v @ pat)


class _Recorder:
    """A :class:`~spu_emulator.netlist.base.Stamper` that records, for each stamp, which
    parameter (or fixed value) enters which matrix entry."""

    def __init__(self, family: BoardFamily, nodes: Sequence[str]):
        self.f = family
        self.index = {n: i for i, n in enumerate(nodes)}
        n = len(nodes)
        self.C, self.G, self.Qn = _Channel(n * n), _Channel(n * n), _Channel(n * n)
        self.inductors: list[tuple[Element, str, str, int, int, float]] = []
        self.mutuals: list[tuple[Element, str, str, int]] = []
        self.filters: list[tuple[Element, str, str, float, int]] = []

    def _pair(self, a: str, b: str) -> list[tuple[int, float]]:
        n = len(self.index)
        ia, ib = self.index.get(a), self.index.get(b)
        out = []
        if ia is not None:
            out.append((ia * n + ia, 1.0))
        if ib is not None:
            out.append((ib * n + ib, 1.0))
        if ia is not None and ib is not None:
            out += [(ia * n + ib, -1.0), (ib * n + ia, -1.0)]
        return out

    def _source(self, e: Element, cls: str, value: float) -> int:
        return self.f._source(e, cls, value)

    def capacitance(self, e: Element, a: str, b: str, c: float) -> None:
        self.C.add(self._pair(a, b), self._source(e, "C", c), 1.0, 1)

    def conductance(self, e: Element, a: str, b: str, r: float, temperature: float) -> None:
        src = self._source(e, "R", r)
        self.G.add(self._pair(a, b), src, 1.0, -1)
        if temperature > 0:
            self.Qn.add(self._pair(a, b), src, 2.0 * K_B * temperature, -1)

    def current(self, e: Element, a: str, b: str, dc: float, noise_psd: float) -> None:
        if noise_psd > 0:
            self.Qn.add(self._pair(a, b), self._source(e, "noise", noise_psd), 0.5, 1)

    def bias_resistor(self, e: Element, node: str, other: str, r: float, temperature: float,
                      bias: Waveform) -> None:
        self.conductance(e, node, other, r, temperature)

    def inductor(self, e: Element, a: str, b: str, inductance: float, series_r: float,
                 temperature: float) -> None:
        ls = self._source(e, "L", inductance)
        rs = self.f._source(e, "R", series_r, field="series_R") if series_r > 0 else self.f._fixed(0.0)
        self.inductors.append((e, a, b, ls, rs, temperature if series_r > 0 else 0.0))

    def mutual(self, e: Element, l1: str, l2: str, k: float) -> None:
        self.mutuals.append((e, l1, l2, self._source(e, "K", k)))

    def filtered_noise(self, e: Element, a: str, b: str, psd: float, bandwidth: float) -> None:
        self.filters.append((e, a, b, 2.0 * np.pi * bandwidth, self._source(e, "noise", psd)))

    @staticmethod
    def _nonlinear(*args: Any) -> None:  # linear netlists only: never stamped
        raise InputError("Monte Carlo and sensitivities need a linear netlist")

    nonlinear_capacitor = energy_coupling = _nonlinear


class BoardFamily:
    """The boards one linear netlist describes (see the module docstring).

    ``parameters`` (P,), ``nominal`` (P,) values; ``circuit`` the nominal assembled
    circuit, whose state order (``state_names``: node voltages, inductor currents,
    filter states) every batch follows; ``temperature`` the common temperature when
    the circuit is at one (then Cov(x) = k_B T M⁻¹), else None."""

    def __init__(self, netlist: Netlist):
        from ..circuit.assemble import assemble

        if not netlist.is_linear:
            raise InputError(f"{netlist.source or netlist.name}: Monte Carlo and sensitivities "
                             "need a linear netlist (no NC, EC or time-dependent bias)")
        self.netlist = netlist
        self.circuit = assemble(netlist)  # (the nominal board's stability: see check_nominal)
        self.parameters: list[Parameter] = []
        self._by_key: dict[tuple[str, str], int] = {}
        self._fixed_values: list[float] = []
        tol = netlist.tolerances
        self._tol = tol
        for e in netlist.elements:
            for field, cls in element_class(e):
                name = e.name if field == element_class(e)[0][0] else f"{e.name}.{field}"
                t = tol.for_element(name, cls) if tol is not None else Tolerance()
                self._by_key[(e.name, field)] = len(self.parameters)
                self.parameters.append(Parameter(name, e.name, field, cls, float(getattr(e, field)), t))
        c = self.circuit
        all_nodes = list(netlist.nodes)
        rec = _Recorder(self, all_nodes)
        for e in netlist.elements:
            e.stamp(rec, netlist.temperature)
        self._rec = rec
        idx = {n: i for i, n in enumerate(all_nodes)}
        self._state = np.array([idx[n] for n in c.nodes], int)
        self._red = np.array([idx[n] for n in c.reduced_nodes], int)
        m, f = len(rec.inductors), len(rec.filters)
        self._A_full = np.zeros((len(all_nodes), m))
        self._Ld, self._RL, self._QL = _Channel(m * m), _Channel(m), _Channel(m)
        pos = {}
        for j, (e, a, b, ls, rs, temp) in enumerate(rec.inductors):
            pos[e.name] = j
            if a in idx:
                self._A_full[idx[a], j] = 1.0
            if b in idx:
                self._A_full[idx[b], j] = -1.0
            self._Ld.add([(j * m + j, 1.0)], ls, 1.0, 1)
            self._RL.add([(j, 1.0)], rs, 1.0, 1)
            if temp > 0:
                self._QL.add([(j, 1.0)], rs, 2.0 * K_B * temp, 1)
        self._mut = np.array([(pos[l1], pos[l2], ks) for _, l1, l2, ks in rec.mutuals], int).reshape(-1, 3)
        self._Ls = np.array([ls for _, _, _, ls, _, _ in rec.inductors], int)
        self._inj = np.zeros((len(all_nodes), f))
        self._rate = np.zeros(f)
        self._QF = _Channel(f)
        for k, (_, a, b, wc, ps) in enumerate(rec.filters):
            for node, sign in ((b, 1.0), (a, -1.0)):
                if node in idx:
                    self._inj[idx[node], k] += sign
            self._rate[k] = wc
            self._QF.add([(k, 1.0)], ps, 0.5 * wc * wc, 1)
        self.n = len(c.nodes)
        self.m = m
        self.f = f
        self.temperature = c.equal_temperature
        #: names, tolerance classes and nominal values of the parameters
        self.names = tuple(p.name for p in self.parameters)
        self.classes = tuple(p.cls for p in self.parameters)
        self.nominal = np.array([p.nominal for p in self.parameters], float)
        #: (P,) standard deviation of each value's own relative spread (σ, or h/√3)
        self.std = np.array([p.tolerance.std for p in self.parameters], float)
        self._fixed_array = np.array(self._fixed_values, float)
        # draw parameters
        self._class_index = np.array([CLASS_ORDER.index(p.cls) for p in self.parameters], int)
        self.sigma = np.array([p.tolerance.sigma for p in self.parameters], float)
        self.lot = np.array([p.tolerance.lot for p in self.parameters], float)
        self._uniform = np.array([p.tolerance.distribution == "uniform" for p in self.parameters], bool)
        t_bath = netlist.temperature
        t_board = t_bath if tol is None or tol.board_temperature is None else tol.board_temperature
        t_ref = t_bath if tol is None or tol.reference_temperature is None else tol.reference_temperature
        self.drift = 1.0 + np.array([p.tolerance.tempco for p in self.parameters]) * (t_board - t_ref)

    # ---- parameters ------------------------------------------------------------
    def _fixed(self, value: float) -> int:
        """A source that is not a parameter (a fixed value): column P + k of the sources."""
        self._fixed_values.append(float(value))
        return len(self.parameters) + len(self._fixed_values) - 1

    def _source(self, e: Element, cls: str, value: float, field: str | None = None) -> int:
        fields = {c: fl for fl, c in element_class(e) if field is None or fl == field}
        key = (e.name, fields.get(cls, ""))
        j = self._by_key.get(key)
        if j is None:
            return self._fixed(value)
        if self.parameters[j].nominal != float(value):
            raise InputError(f"element {e.name!r} stamps a value other than its {key[1]} field; "
                             "its tolerance cannot be applied")
        return j


    def relative_covariance(self) -> Array:
        """(P, P) covariance of the relative deviations δ_j = ln(p_j / p₀ⱼ) to first
        order: σ_j² on the diagonal plus σ_lot,i σ_lot,j for two values of one class."""
        same = self._class_index[:, None] == self._class_index[None, :]
        return np.diag(self.std**2) + same * np.outer(self.lot, self.lot)

    @property
    def state_names(self) -> tuple[str, ...]:
        return self.circuit.state_names

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.circuit.nodes

    @property
    def dim(self) -> int:
        return self.n + self.m + self.f

    @property
    def toleranced(self) -> bool:
        return bool(np.any(self.sigma) or np.any(self.lot) or np.any(self.drift != 1.0))

    # ---- boards ------------------------------------------------------------------
    def draw(self, seed: int, start: int, stop: int) -> Array:
        """Values (stop − start, P) of boards start … stop − 1 (see the module docstring):
        board i depends on (seed, i) only. One jump, then O(P) vectorized per board."""
        from scipy.special import ndtri  # lazy: scipy's import pulls in argparse

        nc, P = len(CLASS_ORDER), len(self.parameters)
        K = nc + P
        bg = np.random.PCG64(np.random.SeedSequence(seed))
        bg.advance(start * K)
        raw = bg.random_raw((stop - start) * K).reshape(stop - start, K)
        u = ((raw >> np.uint64(12)).astype(float) + 0.5) * 2.0**-52  # in (0, 1)
        lot = ndtri(u[:, :nc])[:, self._class_index]
        dev = np.where(self._uniform, 2.0 * u[:, nc:] - 1.0, ndtri(u[:, nc:]))
        return self.nominal * (1.0 + self.lot * lot) * (1.0 + self.sigma * dev) * self.drift

    def netlist_for(self, values: Array) -> Netlist:
        """The netlist of one board: every element with its drawn values (O(P))."""
        per: dict[str, dict[str, float]] = {}
        for p, v in zip(self.parameters, np.asarray(values, float), strict=True):
            per.setdefault(p.element, {})[p.field] = float(v)
        return self.netlist.replace(elements=tuple(
            dataclasses.replace(e, **per[e.name]) if e.name in per else e
            for e in self.netlist.elements
        ))

    # ---- matrices ------------------------------------------------------------------
    def _sources(self, values: Array) -> Array:
        fixed = np.broadcast_to(self._fixed_array.astype(values.dtype),
                                (values.shape[0], self._fixed_array.size))
        return np.concatenate([values, fixed], axis=1)

    def matrices(self, values: Array) -> tuple[Array, Array, Array]:
        """(M, K, Q), each (B, s, s), for boards ``values`` (B, P), real or complex (see
        the module docstring). A board with a value ≤ 0 gives meaningless matrices:
        the caller screens them."""
        values = np.atleast_2d(values)
        V = self._sources(values)
        B = V.shape[0]
        dt = np.result_type(V.dtype, float)
        na = len(self.netlist.nodes)
        rec = self._rec
        C = rec.C.evaluate(V).reshape(B, na, na)
        G = rec.G.evaluate(V).reshape(B, na, na)
        Qn = rec.Qn.evaluate(V).reshape(B, na, na)
        s_, r_ = self._state, self._red
        n, m, f = self.n, self.m, self.f
        inj = self._inj.astype(dt)
        if r_.size:
            Grr = G[:, r_][:, :, r_]
            Grs = G[:, r_][:, :, s_]
            X = np.linalg.solve(Grr, Grs)  # G_rr⁻¹ G_rs: (B, r, n)
            Xt = X.swapaxes(-1, -2)
            Gred = G[:, s_][:, :, s_] - Grs.swapaxes(-1, -2) @ X
            Gred = 0.5 * (Gred + Gred.swapaxes(-1, -2))
            Qss, Qsr, Qrr = Qn[:, s_][:, :, s_], Qn[:, s_][:, :, r_], Qn[:, r_][:, :, r_]
            Qred = Qss - Qsr @ X - Xt @ Qsr.swapaxes(-1, -2) + Xt @ Qrr @ X
            Fin = inj[s_] - Xt @ inj[r_]
        else:
            Gred, Qred = G[:, s_][:, :, s_], Qn[:, s_][:, :, s_]
            Fin = np.broadcast_to(inj[s_], (B, n, f))
        s = n + m + f
        M = np.zeros((B, s, s), dt)
        K = np.zeros((B, s, s), dt)
        Q = np.zeros((B, s, s), dt)
        M[:, :n, :n] = C[:, s_][:, :, s_]
        K[:, :n, :n] = Gred
        Q[:, :n, :n] = 0.5 * (Qred + Qred.swapaxes(-1, -2))
        if m:
            L = self._Ld.evaluate(V).reshape(B, m, m)
            if self._mut.size:
                i1, i2, ks = self._mut.T
                off = V[:, ks] * np.sqrt(V[:, self._Ls[i1]] * V[:, self._Ls[i2]])
                L[:, i1, i2] += off
                L[:, i2, i1] += off
            M[:, n:n + m, n:n + m] = L
            A_L = self._A_full[s_]
            K[:, :n, n:n + m] = A_L
            K[:, n:n + m, :n] = -A_L.T
            d = np.arange(n, n + m)
            K[:, d, d] = self._RL.evaluate(V)
            Q[:, d, d] = self._QL.evaluate(V)
        if f:
            d = np.arange(n + m, s)
            M[:, d, d] = 1.0
            K[:, :n, n + m:] = -Fin
            K[:, d, d] = self._rate
            Q[:, d, d] = self._QF.evaluate(V)
        return M, K, Q


__all__ = ["CLASS_ORDER", "BoardFamily", "Parameter", "Population"]
