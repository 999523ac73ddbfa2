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
class Adc:
    """Ideal ADC of the netlist's ``readout:`` block: a mid-tread uniform quantizer on
    ±``full_scale`` volts with ``bits`` bits. Step Δ = 2 full_scale / 2^bits; a reading
    v becomes Δ · clip(round(v / Δ), −2^(bits−1), 2^(bits−1) − 1), so readings beyond
    the range saturate at the end codes. For readings well inside the range and
    Δ small against their spread the error is uniform, variance Δ²/12 (reported)."""

    bits: int
    full_scale: float

    @classmethod
    def from_netlist(cls, netlist) -> Adc | None:
        ro = netlist.readout
        if ro is None or ro.bits is None:
            return None
        if ro.full_scale is None or not ro.full_scale > 0:
            raise InputError(
                f"{netlist.source or netlist.name}: readout.bits = {ro.bits} needs a positive "
                "readout.full_scale (V) to quantize the readings"
            )
        if int(ro.bits) < 1:
            raise InputError(f"readout.bits must be ≥ 1, got {ro.bits}")
        return cls(int(ro.bits), float(ro.full_scale))

    @property
    def lsb(self) -> float:
        return 2.0 * self.full_scale / 2**self.bits

    def quantize(self, v: Array) -> tuple[Array, int]:
        """(quantized readings, number clipped at the end codes)."""
        lo, hi = -(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1
        code = np.rint(v / v.dtype.type(self.lsb))
        clipped = int(np.count_nonzero((code < lo) | (code > hi)))
        np.clip(code, lo, hi, out=code)
        code *= v.dtype.type(self.lsb)
        return code, clipped


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

    def apply(self, x: Array, scale: Array, adc: Adc | None = None) -> tuple[Array, int]:
        """(user readings of the states x (..., n) with ``scale`` (the dtype's copy),
        readings clipped by the ADC). With ``adc`` every node voltage read is
        quantized first (each cell has its converter; a differential variable is the
        difference of two quantized readings)."""
        y = x[..., self.plus]
        clipped = 0
        if adc is not None:
            y, clipped = adc.quantize(y)
        if self.differential:
            ym = np.where(self.minus >= 0, x[..., np.maximum(self.minus, 0)], 0).astype(y.dtype)
            if adc is not None:
                ym, c2 = adc.quantize(ym)
                clipped += c2
            y = y - ym
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
    the stepping, default float32; BLAS threads while stepping; ``adc``: quantize the
    readings with the netlist's ``readout:`` ADC when it gives ``bits``, see
    :class:`Adc`). ``seed``: an integer or a numpy Generator.
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

    def _setup(self, design: Design, seed: int | np.random.Generator, options: BoardOptions) -> None:
        self.design = design
        self.sde = assemble(design.netlist).to_sde()
        self.tau = self.sde.relaxation_time()
        self.h = float(options.interval) if options.interval is not None else self.tau
        if not (np.isfinite(self.h) and self.h > 0):
            raise InputError(f"the circuit has no finite relaxation time to sample at, got {self.h!r}",
                             "interval")
        self.readout = Readout.from_design(design, self.sde.state_names)
        self.adc = Adc.from_netlist(design.netlist) if options.adc else None
        if self.adc is not None and any(v.read == "current" for v in design.program.variables):
            raise InputError(
                "the readout block's ADC reads cell voltages, but this design reads inductor "
                "currents (inductive realization): drop readout.bits or use a capacitive/"
                "differential realization"
            )
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
    def plan(self):
        return self.stepper.plan

    @property
    def x(self) -> Array:
        return self.stepper.x

    @property
    def emulated_time(self) -> float:
        """One board producing the same samples: burn-in + N h (s)."""
        return self.burn_in + self.moments.total * self.h

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
                    y, clipped = self.readout.apply(out, self._scale, self.adc)  # (B, m, d)
                    if self.adc is not None:
                        self.adc_readings += out.shape[0] * out.shape[1] * (
                            len(self.readout.plus) + int(np.count_nonzero(self.readout.minus >= 0)))
                        self.adc_clipped += clipped
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
