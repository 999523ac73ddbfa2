"""Reading out a programmed SPU: chunked exact sampling with running moments.

A :class:`Board` holds a compiled design, advances B independent chains of its
circuit SDE with the exact transition over the sample interval h,
x_{k+1} = μ + F (x_k − μ) + w_k, w_k ~ N(0, Q), and maps each state to the user
variables y = T x. Exact integration means one step per sample whatever h, so the
interval can be comparable to the relaxation time: nearly independent samples for
O(n²) work each (default h = one relaxation time τ; measured N_eff ≈ N for the
inverse at d = 256).

Transition. At one temperature (every noise source thermal at the same T) the
stationary law is Boltzmann, Cov = k_B T M⁻¹, M = blkdiag(C_N, L). In the energy
coordinates z = Rᵀ x (M = R Rᵀ) that is k_B T · I, so over a step
F_z = exp(A_z h) and Q_z = k_B T (I − F_z F_zᵀ) exactly: one n × n exponential, no
Lyapunov solve and no 2n × 2n Van Loan block (8× fewer flops). A_z + A_zᵀ ⪯ 0 (the
dissipation is symmetric positive semi-definite), so ‖F_z‖ ≤ 1 and Q_z ⪰ 0; the
subtraction loses only ~ε / (1 − e^{−2h/τ}) relative accuracy. Other circuits
(injected noise, several temperatures) use the general Van Loan transition of
:meth:`~spu_emulator.sde.linear.LinearSDE.transition`.

Start. The board is powered on at zero and burns in for ``burn_in`` seconds
(default 15 τ: the transient and the covariance deficit decay as e^{−t/τ} and
e^{−2t/τ}). When the burn-in is at least :data:`EQUILIBRIUM_BURN_IN` relaxation
times and the Boltzmann law is known, the chains are instead drawn from it
directly: that is the burn-in's exact limit (the difference is below e^{−20} ≈ 2e-9,
under float32 resolution) and costs no steps. The emulated time counts the burn-in
either way.

Moments. Chains are split into G groups whose moments (count, Σ y, Σ y yᵀ) are kept
separately: the spread between groups gives error bars that need no model of the
autocorrelation (batch means over independent chains). ``advance`` continues from
the last state, so a run can be extended until an error bar reaches a tolerance.

Readout (:mod:`.readout`): each node read is a channel with its converter. An
anti-alias filter adds one state per channel to the stepped SDE (dy = ω_c (v − y) dt,
exact in the transition; read y instead of v); gain error, offset, input-referred
noise (its own stream, spawned only when the noise is non-zero) and quantization with
clipping follow, O(m) per sample for m channels. :meth:`Board.reading_moments` gives
the readings' exact stationary moments as read and as an ideal readout would give
them (the systematic error of the estimates).

Emulated hardware time: one board producing the same N samples at interval h,
t = burn_in + N h (chains are an emulation device: a board's samples at spacing h
have the same statistics as interleaved chains). Cost per sample: 2n² + 2nr
multiply-adds for the step, r normals, d² for the moments (the readout is a gather,
each variable reads one or two states); float32 by default (moments are summed in
float64 across chunks). BLAS runs on one thread while stepping (``blas_threads``;
also while setting up: eigenvalues, exponential): the products are small (chains × n × n) and OpenBLAS worker threads spin while
waiting, which on a shared CPU made a d = 256 inversion 5–10× slower (measured
5–7 s vs 34–69 s on a loaded 2-core machine); the normals for the next block are
drawn on a background thread meanwhile.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..circuit.assemble import assemble
from ..errors import InputError
from ..hardware.design import Design
from ..integrate.exact import Exact
from ..integrate.noise import NoiseSource
from ..integrate.simulate import Stepper
from ..netlist.base import GROUND
from .options import DEFAULT_BOARD, BoardOptions
from .readout import Adc, Converter, ReadingMoments, bias_report, reading_moments, with_filters

Array = np.ndarray

#: Burn-ins at least this many relaxation times start the chains at equilibrium.
EQUILIBRIUM_BURN_IN = 10.0


@dataclass
class Moments:
    """Per-group running sums of the user-variable readings y (without the mean)."""

    n: Array  # (G,)
    s1: Array  # (G, d)
    s2: Array  # (G, d, d)

    @classmethod
    def zeros(cls, groups: int, d: int) -> Moments:
        return cls(np.zeros(groups), np.zeros((groups, d)), np.zeros((groups, d, d)))

    @property
    def total(self) -> int:
        return int(self.n.sum())

    def second_moment(self) -> tuple[Array, Array]:
        """(E[y yᵀ] estimate, per-group estimates (G, d, d))."""
        per = self.s2 / self.n[:, None, None]
        return self.s2.sum(0) / self.n.sum(), per

    def first_moment(self) -> tuple[Array, Array]:
        per = self.s1 / self.n[:, None]
        return self.s1.sum(0) / self.n.sum(), per


@dataclass(frozen=True)
class Readout:
    """y_i = scale_i · (x[plus_i] − x[minus_i]) (minus_i < 0: ground): the readout
    matrix T as a gather, O(d) per sample instead of O(n d)."""

    plus: Array  # (d,) int
    minus: Array  # (d,) int, −1 for ground
    scale: Array  # (d,)

    @classmethod
    def from_design(cls, design: Design, state_names: tuple[str, ...]) -> Readout:
        idx = {s: i for i, s in enumerate(state_names)}
        plus, minus = [], []
        for v in design.program.variables:
            if v.read == "current":
                plus.append(idx[f"i({v.plus})"])
                minus.append(-1)
            else:
                plus.append(idx[f"v({v.plus})"])
                minus.append(-1 if v.minus == GROUND else idx[f"v({v.minus})"])
        scale = np.array([v.scale for v in design.program.variables], float)
        return cls(np.array(plus, int), np.array(minus, int), scale)

    @property
    def differential(self) -> bool:
        return bool(np.any(self.minus >= 0))

    @functools.cached_property
    def channels(self) -> Array:
        """The states read, each once (sorted): one converter each."""
        return np.unique(np.concatenate([self.plus, self.minus[self.minus >= 0]]))

    @functools.cached_property
    def _positions(self) -> tuple[Array, Array]:
        """(plus, minus) as positions in :attr:`channels` (−1: ground)."""
        pos = {int(c): k for k, c in enumerate(self.channels)}
        return (np.array([pos[int(p)] for p in self.plus], int),
                np.array([pos[int(m)] if m >= 0 else -1 for m in self.minus], int))

    def channel_map(self) -> Array:
        """E (d, m): y = E r for the channel readings r (scale and sign folded in)."""
        pp, pm = self._positions
        E = np.zeros((len(self.scale), len(self.channels)))
        rows = np.arange(len(self.scale))
        np.add.at(E, (rows, pp), self.scale)
        np.add.at(E, (rows[pm >= 0], pm[pm >= 0]), -self.scale[pm >= 0])
        return E

    def matrix(self, n: int) -> Array:
        """The readout matrix T (d, n) over n states: y = T x."""
        T = np.zeros((len(self.scale), n))
        T[:, self.channels] = self.channel_map()
        return T

    def on_states(self, states: Array) -> Readout:
        """The same map reading channel k from state ``states[k]`` instead (e.g. each
        node's anti-alias filter state)."""
        to = dict(zip(self.channels.tolist(), np.asarray(states, int).tolist(), strict=True))
        return Readout(np.array([to[int(p)] for p in self.plus], int),
                       np.array([to[int(m)] if m >= 0 else -1 for m in self.minus], int), self.scale)

    def apply(self, x: Array, scale: Array, adc: Adc | None = None) -> tuple[Array, int]:
        """(user readings of the states x (..., n) with ``scale`` (the dtype's copy),
        readings clipped by the ADC). With ``adc`` every node voltage read is
        quantized first (each cell has its converter; a differential variable is the
        difference of two quantized readings)."""
        if adc is not None:
            return self.read(x, scale, Converter(adc=adc), None)
        y = x[..., self.plus]
        if self.differential:
            ym = np.where(self.minus >= 0, x[..., np.maximum(self.minus, 0)], 0).astype(y.dtype)
            y = y - ym
        y *= scale
        return y, 0

    def read(self, x: Array, scale: Array, converter: Converter, z: Array | None) -> tuple[Array, int]:
        """(user readings, readings clipped) through ``converter``: each channel once,
        r = converter(x[..., channels], z) (z: its normals, (..., m), or None), then
        y_i = scale_i (r[plus_i] − r[minus_i]). O(m + d) per sample."""
        r, clipped = converter.convert(x[..., self.channels], z)
        pp, pm = self._positions
        y = r[..., pp]
        if self.differential:
            y = y - np.where(pm >= 0, r[..., np.maximum(pm, 0)], 0).astype(y.dtype)
        y *= scale
        return y, clipped


@contextlib.contextmanager
def _blas_threads(limit: int | None) -> Iterator[None]:
    if limit is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(limit), user_api="blas"):
        yield


class Board:
    """An emulated SPU running a :class:`Design` (see module docstring), read as
    ``options`` say (:class:`~.options.BoardOptions`: sample interval h, default one
    relaxation time; chains in groups; burn-in, default 15 relaxation times; dtype of
    the stepping, default float32; BLAS threads while stepping; ``readout``: the
    converter, default the netlist's ``readout:`` block; ``adc=False`` reads ideally).
    ``seed``: an integer or a numpy Generator.

    Readout (:mod:`.readout`): with an anti-alias ``bandwidth`` every channel's filter
    state joins the stepped SDE (:attr:`sde`; the circuit's own is
    :attr:`circuit_sde`) and is read instead of its node; gain, offset, noise (its own
    spawned stream, created only when the noise is non-zero, so the circuit's streams
    keep their numbers) and quantization follow (:class:`~.readout.Converter`).
    """

    def __init__(
        self,
        design: Design,
        *,
        seed: int | np.random.Generator,
        options: BoardOptions = DEFAULT_BOARD,
    ):
        self.options = options
        self.blas_threads = options.blas_threads
        with _blas_threads(options.blas_threads):
            self._setup(design, seed, options)

    def _converter(self, design: Design, options: BoardOptions) -> Converter | None:
        ro = options.readout if options.readout is not None else design.netlist.readout
        conv = Converter.from_readout(ro, design.netlist.source or design.netlist.name) if options.adc else None
        if conv is not None and any(v.read == "current" for v in design.program.variables):
            raise InputError(
                "the readout block's converter reads cell voltages, but this design reads "
                "inductor currents (inductive realization): read it ideally (no bits, offset, "
                "gain_error, noise or bandwidth) or use a capacitive/differential realization"
            )
        return conv

    def _setup(self, design: Design, seed: int | np.random.Generator, options: BoardOptions) -> None:
        self.design = design
        self.circuit_sde = self.sde = assemble(design.netlist).to_sde()
        self.converter = self._converter(design, options)
        self.node_readout = self.readout = Readout.from_design(design, self.sde.state_names)
        if self.converter is not None and self.converter.bandwidth is not None:
            ch = self.readout.channels
            self.sde = with_filters(self.sde, ch, self.converter.bandwidth)
            self.readout = self.readout.on_states(self.circuit_sde.dim + np.arange(len(ch)))
        self.tau = self.sde.relaxation_time()
        self.h = float(options.interval) if options.interval is not None else self.tau
        if not (np.isfinite(self.h) and self.h > 0):
            raise InputError(f"the circuit has no finite relaxation time to sample at, got {self.h!r}",
                             "interval")
        self.d = len(self.readout.scale)
        self.adc_readings = 0
        self.adc_clipped = 0
        self.chains, self.groups = options.chains, options.groups
        self.dtype = np.dtype(np.float32 if options.dtype is None else options.dtype)
        chains = self.chains
        gen = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        # at one temperature: the Boltzmann transition (one n × n exponential), else Van Loan
        integ = Exact(equilibrium=True)
        plan = integ.init(self.sde, self.h, self.dtype)
        self._Lz = self.sde.boltzmann_factor()
        mu = plan.mu
        self._scale = self.readout.scale.astype(self.dtype)
        self.noise = NoiseSource(gen, chains, integ.noise_dim(plan), self.dtype, threads=True)
        self._reading_noise = None
        if self.converter is not None and self.converter.noise:
            child = gen.bit_generator.seed_seq.spawn(1)[0]
            self._reading_noise = np.random.Generator(np.random.SFC64(child))
        self.moments = Moments.zeros(self.groups, self.d)
        self.burn_in = 15.0 * self.tau if options.burn_in is None else float(options.burn_in)
        self.wall_time = 0.0
        self.samples_per_chain = 0
        self.equilibrium_start = self._Lz is not None and self.burn_in >= EQUILIBRIUM_BURN_IN * self.tau
        if self.equilibrium_start:
            z = gen.standard_normal((chains, self.sde.dim))
            x = (mu + z @ self._Lz.T).astype(self.dtype)
        else:
            x = np.zeros((chains, self.sde.dim), self.dtype)
        self.stepper = Stepper(self.sde, integ, self.h, x, self.noise, dtype=self.dtype, plan=plan)
        if not self.equilibrium_start:
            burn_steps = int(np.ceil(self.burn_in / self.h - 1e-9))
            if burn_steps:
                self._steps(burn_steps, accumulate=False)

    @property
    def adc(self) -> Adc | None:
        """The quantizer of the converter (:class:`~.readout.Adc`), or None."""
        return None if self.converter is None else self.converter.adc

    @property
    def plan(self):
        return self.stepper.plan

    @property
    def x(self) -> Array:
        return self.stepper.x

    @property
    def cells(self) -> int:
        """Nodes of the circuit (each a cell with its capacitor, amplifier and noise)."""
        return len(self.design.netlist.nodes)

    @property
    def conversions(self) -> int:
        """Channel readings converted so far (samples × channels; none in the burn-in)."""
        return self.moments.total * len(self.readout.channels)

    @property
    def emulated_time(self) -> float:
        """One board producing the same samples: burn-in + N h (s)."""
        return self.burn_in + self.moments.total * self.h

    def readout_matrix(self) -> Array:
        """T (d, n) over the stepped states (the filter states where there are filters)."""
        return self.readout.matrix(self.sde.dim)

    def reading_moments(self) -> tuple[ReadingMoments, ReadingMoments]:
        """(as read, ideal): the stationary moments of the user-variable readings through
        this board's converter (filter states from the augmented SDE's Lyapunov
        covariance), and of an ideal readout of the circuit's node voltages.
        O(n³) once per SDE (cached)."""
        E = self.readout.channel_map()
        ideal, seen = self._channel_stats()
        return reading_moments(E, *seen, self.converter), reading_moments(E, *ideal, None)

    def _channel_stats(self) -> tuple[tuple[Array, Array], tuple[Array, Array]]:
        """((μ, Σ) of the read node voltages, (μ, Σ) of what the converter sees)."""
        def stats(sde, idx):
            mu = sde.stationary_mean() if np.any(sde.b) else np.zeros(sde.dim)
            return mu[idx], sde.equilibrium_covariance()[np.ix_(idx, idx)]

        ideal = stats(self.circuit_sde, self.node_readout.channels)
        seen = stats(self.sde, self.readout.channels) if self.sde is not self.circuit_sde else ideal
        return ideal, seen

    def readout_report(self) -> dict | None:
        """The converter's parameters, its biases of the readings' covariance and mean
        (:func:`~.readout.bias_report`) and the clipped fraction so far; None when the
        board reads ideally."""
        if self.converter is None:
            return None
        ideal, seen = self._channel_stats()
        rep = {**self.converter.describe(),
               "bias": bias_report(self.readout.channel_map(), ideal, seen, self.converter),
               "readings": self.adc_readings, "clipped": self.adc_clipped,
               "clipped_fraction": self.adc_clipped / max(self.adc_readings, 1)}
        return rep

    def _read(self, out: Array) -> tuple[Array, int]:
        """User readings of stepped states out (B, m, n) through the converter."""
        if self.converter is None:
            return self.readout.apply(out, self._scale)
        z = None
        if self._reading_noise is not None:  # step-major: the same numbers however chunked
            B, m = out.shape[:2]
            z = self._reading_noise.standard_normal((m, B, len(self.readout.channels)),
                                                    dtype=self.dtype).transpose(1, 0, 2)
        y, clipped = self.readout.read(out, self._scale, self.converter, z)
        self.adc_readings += out.shape[0] * out.shape[1] * len(self.readout.channels)
        self.adc_clipped += clipped
        return y, clipped

    def _steps(self, n_steps: int, accumulate: bool, keep: bool = False) -> Array | None:
        t0 = time.perf_counter()
        n = self.sde.dim
        per_chunk = max(1, (1 << 22) // max(self.chains * max(n, self.d), 1))
        kept = []
        k = 0
        cpg = self.chains // self.groups
        with _blas_threads(self.blas_threads):
            while k < n_steps:
                m = min(per_chunk, n_steps - k)
                out = self.stepper.advance(m)
                if accumulate or keep:
                    y, _ = self._read(out)  # (B, m, d)
                    if keep:
                        kept.append(y)
                    if accumulate:
                        yg = y.reshape(self.groups, cpg * m, self.d)
                        self.moments.n += cpg * m
                        self.moments.s1 += yg.sum(axis=1, dtype=np.float64)
                        self.moments.s2 += np.matmul(yg.transpose(0, 2, 1), yg).astype(np.float64)
                k += m
        self.wall_time += time.perf_counter() - t0
        if accumulate:
            self.samples_per_chain += n_steps
        return np.concatenate(kept, axis=1) if keep else None

    def advance(self, steps: int, keep: bool = False) -> Array | None:
        """Run ``steps`` more samples per chain, adding them to the moments; with
        ``keep`` also return them (B, steps, d), user variables without the mean."""
        return self._steps(int(steps), accumulate=True, keep=keep)

    def close(self) -> None:
        self.noise.close()
