"""Physics oracles: fluctuation–dissipation, kT/C, Lyapunov, Van Loan, simulation."""

from pathlib import Path

import numpy as np
import pytest
from randnet import random_netlist_yaml

from spu_emulator.circuit import assemble
from spu_emulator.integrate import Exact, SaveAt, simulate
from spu_emulator.integrate.base import NoiseSource
from spu_emulator.netlist import load, loads
from spu_emulator.sampling.estimators import covariance_with_errors
from spu_emulator.units import K_B

ROOT = Path(__file__).resolve().parent.parent


def _rel(S, R):
    d = np.sqrt(np.abs(np.diag(R)))
    return np.max(np.abs(S - R) / np.outer(d, d))


def _sde(text):
    return assemble(loads(text)).to_sde()


@pytest.mark.parametrize("block", range(10))
def test_fdt_on_random_netlists(block):
    """≥ 200 random netlists: the Lyapunov covariance equals k_B T blkdiag(C_N⁻¹, L⁻¹)."""
    features = {"kron": 0, "mutual": 0, "extra": 0, "inductors": 0}
    for seed in range(block * 25, block * 25 + 25):
        text = random_netlist_yaml(seed)
        c = assemble(loads(text))
        features["kron"] += bool(c.reduced_nodes)
        features["mutual"] += "type: K" in text
        features["extra"] += "Cx" in text
        features["inductors"] += bool(c.inductors)
        sde = c.to_sde()
        S = sde.stationary_covariance()
        n = c.n_nodes
        ref = np.zeros_like(S)
        ref[:n, :n] = K_B * 300 * np.linalg.inv(c.C)
        if c.inductors:
            ref[n:, n:] = K_B * 300 * np.linalg.inv(c.L)
        assert _rel(S, ref) < 1e-9, (seed, _rel(S, ref))
        F, Q = sde.transition(0.37 * sde.relaxation_time())
        assert _rel(F @ S @ F.T + Q, S) < 1e-10, seed
    # the generator really exercises every feature
    assert all(v > 0 for v in features.values()), features


def test_single_cell_kT_over_C_and_L():
    sde = _sde(
        "format: spu-netlist/1\ntemperature: 77 K\ncells:\n  - {name: a, C: 2.2 nF, L: 4.7 uH, R: 330 Ohm}\n"
    )
    S = sde.stationary_covariance()
    assert S[0, 0] == pytest.approx(K_B * 77 / 2.2e-9, rel=1e-12)
    assert S[1, 1] == pytest.approx(K_B * 77 / 4.7e-6, rel=1e-12)
    assert abs(S[0, 1]) < 1e-12 * np.sqrt(S[0, 0] * S[1, 1])


def test_two_cell_closed_form():
    """Capacitively coupled pair: Cov(v) = k_B T [[C+Cc, −Cc], [−Cc, C+Cc]]⁻¹."""
    sde = _sde(open(f"{ROOT}/netlists/coupled_pair.yaml").read())
    CN = np.array([[1.2e-9, -0.2e-9], [-0.2e-9, 1.2e-9]])
    assert _rel(sde.stationary_covariance()[:2, :2], K_B * 300 * np.linalg.inv(CN)) < 1e-12


def test_noise_current_source_psd_convention():
    """An injected current with one-sided PSD S on an RC node adds S R / (4 C)
    to ⟨v²⟩ (white noise through a one-pole filter: ∫ S R²/(1+(2πfRC)²) df)."""
    S_I, R, C = 3e-24, 1e4, 1e-9
    text = f"""format: spu-netlist/1
temperature: 0 K
cells:
  - {{name: a, C: {C}, R: {R}}}
elements:
  - {{name: In, type: I, nodes: [gnd, a], noise_psd: {S_I}}}
"""
    sde = _sde(text)
    assert sde.stationary_covariance()[0, 0] == pytest.approx(S_I * R / (4 * C), rel=1e-12)


def test_kron_reduction_matches_limit_of_tiny_capacitance():
    """Eliminating a resistive node equals giving it a vanishing capacitance."""
    base = """format: spu-netlist/1
cells:
  - {name: a, C: 1 nF, L: 1 uH, R: 1 kOhm}
  - {name: b, C: 1 nF, R: 2 kOhm, temperature: 400 K}
elements:
  - {name: R1, type: R, nodes: [a, m], value: 1 kOhm, temperature: 100 K}
  - {name: R2, type: R, nodes: [m, b], value: 2 kOhm}
  - {name: R3, type: R, nodes: [m, gnd], value: 3 kOhm, temperature: 50 K}
  - {name: I1, type: I, nodes: [gnd, m], dc: 1 mA, noise_psd: 1e-24}
"""
    red = assemble(loads(base))
    assert red.reduced_nodes == ("m",)
    full = _sde(base + "  - {name: Cm, type: C, nodes: [m, gnd], value: 1e-18}\n")
    sr = red.to_sde()
    Sf = full.stationary_covariance()
    keep = [0, 1, 3]  # v(a), v(b), i(a.L) of the full circuit (m is state 2)
    assert _rel(sr.stationary_covariance(), Sf[np.ix_(keep, keep)]) < 1e-6
    assert np.allclose(sr.stationary_mean(), full.stationary_mean()[keep], rtol=1e-6)


def test_van_loan_against_direct_quadrature():
    """Q = ∫₀ʰ e^{As} B Bᵀ e^{Aᵀs} ds by Gauss–Legendre quadrature on a non-normal
    RLC drift, at steps from far below to far above the relaxation time."""
    from scipy.linalg import expm

    sde = _sde(open(f"{ROOT}/netlists/nonequilibrium.yaml").read())
    BB = sde.B @ sde.B.T
    for h in (1e-9, 3e-7, 2e-6):
        x, w = np.polynomial.legendre.leggauss(400)
        s = 0.5 * h * (x + 1)
        Qq = sum(0.5 * h * wi * expm(sde.A * si) @ BB @ expm(sde.A * si).T for si, wi in zip(s, w, strict=True))
        F, Q = sde.transition(h)
        assert np.allclose(F, expm(sde.A * h), rtol=1e-10, atol=1e-12 * np.abs(F).max())
        assert _rel(Q, Qq) < 1e-9


def test_nonequilibrium_is_not_boltzmann():
    c = assemble(load(f"{ROOT}/netlists/nonequilibrium.yaml"))
    assert c.equal_temperature is None
    sde = c.to_sde()
    S = sde.stationary_covariance()
    A, B = sde.A, sde.B
    assert np.max(np.abs(A @ S + S @ A.T + B @ B.T)) < 1e-9 * np.max(np.abs(B @ B.T))
    assert sde.boltzmann_covariance() is None


@pytest.mark.parametrize(
    "name,chains,duration,dtype",
    [
        ("spu8", 64, 2e-3, np.float64),
        ("nonequilibrium", 64, 2e-3, np.float64),
        ("spu8", 1, 0.128, np.float32),  # one long chain: stretches per stream, fixed up
        ("nonequilibrium", 200, 1e-3, np.float32),  # wide batch
    ],
)
def test_simulated_covariance_within_standard_errors(name, chains, duration, dtype):
    sde = assemble(load(f"{ROOT}/netlists/{name}.yaml")).to_sde()
    tr = simulate(
        sde, "exact", 0.0, duration, 0.25 * sde.relaxation_time(), 1234, chains=chains, dtype=dtype
    )
    assert tr.states.dtype == dtype
    est = covariance_with_errors(tr.states)
    z = est.z_scores(sde.stationary_covariance())
    assert est.min_effective_samples > 1e4
    assert np.max(np.abs(z)) < 4.5, np.max(np.abs(z))
    # and the means are zero within their errors
    assert np.max(np.abs(est.mean / est.mean_stderr)) < 4.5


@pytest.mark.parametrize(
    "segments,chains,steps",
    [(1, 5, 101), (1, 1, 50), (3, 5, 101), (8, 2, 1000), (64, 1, 5000), (7, 3, 1000), (None, 130, 70)],
)
@pytest.mark.parametrize("chunk", [1 << 22, 700])
@pytest.mark.parametrize("dt", [1e-8, 3e-7])  # 3e-7: responses negligible after ~150 steps
def test_segmented_run_equals_stepwise(segments, chains, steps, chunk, dt, monkeypatch):
    """Running P trajectory segments side by side and stitching them is the same
    recursion as stepping one step at a time, given the same normals."""
    monkeypatch.setattr("spu_emulator.integrate.exact.CHUNK_NUMBERS", chunk)  # many chunks
    monkeypatch.setattr("spu_emulator.integrate.exact.SCAN_WIDE_STATES", 0)  # 130: plain
    sde = assemble(load(f"{ROOT}/netlists/nonequilibrium.yaml")).to_sde()
    integ = Exact(segments=segments)
    plan = integ.init(sde, dt)
    r = integ.noise_dim(plan)
    Z = np.random.default_rng(5).standard_normal((steps + 4096, chains, r))

    class Fixed:  # global step t of chain b gets Z[t, b], whatever the layout asked for
        i = 0

        def draw(self, m, prefetch=None, chains=None):
            P = (chains or Z.shape[1]) // Z.shape[1]
            blk = Z[self.i : self.i + P * m]
            self.i += P * m
            return blk.reshape(P, m, Z.shape[1], r).transpose(1, 0, 2, 3).reshape(m, -1, r)

    _assert_run_is_stepwise(integ, plan, Fixed(), Z[:steps], dt)


class _SerialStreams:
    """A stand-in noise source whose workers run in order, one per stream; subclasses
    serve fixed normals through ``part(s, ...)``."""

    N_STREAMS = 2

    def map(self, fn, n, size=0):
        return [fn(s) for s in range(n)]

    def _finish_pending(self):
        pass


def _scan_noise(Z, edges):
    """Serves the blocked scan: worker s walks through the steps of its stretch
    edges[s]:edges[s+1], asking for (chains, steps, r) at a time."""
    assert len(edges) - 1 == _SerialStreams.N_STREAMS

    class Fixed(_SerialStreams):
        pos = list(edges[:-1])

        def part(self, s, chains, steps):
            assert self.pos[s] + steps <= edges[s + 1]
            z = Z[self.pos[s] : self.pos[s] + steps].transpose(1, 0, 2)
            self.pos[s] += steps
            return z

    return Fixed()


@pytest.mark.parametrize("netlist", ["nonequilibrium", "spu8", "wide12"])
@pytest.mark.parametrize(
    "chains,steps",
    [(1, 1), (1, 7), (1, 50), (2, 101), (3, 1000), (1, 5003), (5, 3001), (130, 70)],
)
@pytest.mark.parametrize("chunk", [1 << 22, 700])
@pytest.mark.parametrize("dt", [1e-8, 1e-6])  # 1e-6: responses negligible after ~10² steps
def test_scan_run_equals_stepwise(netlist, chains, steps, chunk, dt, monkeypatch):
    """Small batches of small states: stretches per noise stream, each in chunks of
    Toeplitz blocks stitched by a blocked scan, the later stretches fixed up with the
    response to their true start: the same recursion as stepping one step at a time."""
    import spu_emulator.integrate.exact as ex

    monkeypatch.setattr(ex, "SCAN_CHUNK", chunk)  # many chunks
    sde = _wide_spu_sde(12) if netlist == "wide12" else assemble(load(f"{ROOT}/netlists/{netlist}.yaml")).to_sde()
    n = sde.dim
    assert n <= ex.SCAN_STATES
    integ = Exact()
    monkeypatch.setattr(ex, "SCAN_WIDE_STATES", n)  # wide batches of 24 states, too
    plan = integ.init(sde, dt)
    assert plan.horizon is not None and (dt < 1e-7 or plan.horizon < 1000)
    r = integ.noise_dim(plan)
    Z = np.random.default_rng(5).standard_normal((steps, chains, r))
    m = 4 if n <= 16 else 2
    edges = Exact.scan_edges(steps, 2, m)
    _assert_run_is_stepwise(integ, plan, _scan_noise(Z, edges), Z, dt)


def _assert_run_is_stepwise(integ, plan, noise, Z, dt):
    """integ.run with ``noise`` (which serves Z[t, b] to step t of chain b) equals
    stepping one step at a time through Z."""
    steps, chains, _ = Z.shape
    n = plan.F.shape[0]
    x0 = np.random.default_rng(0).standard_normal((chains, n)) * 1e-6
    out = np.empty((chains, steps, n))
    integ.run(plan, x0, steps, noise, 0.0, dt, out)
    x = x0
    ref = np.empty_like(out)
    for k in range(steps):
        x = integ.step(plan, x, Z[k], 0.0)
        ref[:, k] = x
    assert np.allclose(out, ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())


def _wide_spu_sde(d: int):
    """An all-to-all RLC SPU of d cells (2d states), built in YAML."""
    rng = np.random.default_rng(d)
    cells = "\n".join(
        f"  - {{name: n{i}, C: {rng.uniform(1, 1.3):.3f} nF, L: {rng.uniform(1.5, 2.2):.3f} uH, "
        f"R: {rng.uniform(1, 1.5):.3f} kOhm}}" for i in range(d))
    cpl = "\n".join(f"  - {{between: [n{i}, n{j}], C: {rng.uniform(1, 20):.2f} pF}}"
                     for i in range(d) for j in range(i + 1, d) if rng.random() < 0.3)
    return assemble(loads(f"format: spu-netlist/1\ntemperature: 300 K\ncells:\n{cells}\ncouplers:\n{cpl}\n")).to_sde()


@pytest.mark.parametrize("chains,steps,chunk", [(130, 50, 1 << 22), (131, 41, 30000), (257, 9, 1 << 22)])
def test_split_wide_run_equals_stepwise(chains, steps, chunk, monkeypatch):
    """Big states: chains run in row groups on worker threads, each drawing normals
    from its own stream in small blocks; that is the same recursion as stepping."""
    import spu_emulator.integrate.exact as ex

    monkeypatch.setattr(ex, "CHUNK_NUMBERS", chunk)
    monkeypatch.setattr(ex, "SPLIT_BLOCK", 700)  # several sub-blocks per chunk
    sde = _wide_spu_sde(32)
    assert sde.dim >= ex.SPLIT_STATES
    integ = Exact()
    plan = integ.init(sde, 2e-8)
    r = integ.noise_dim(plan)
    Z = np.random.default_rng(5).standard_normal((steps, chains, r))
    S = _SerialStreams.N_STREAMS
    edges = [chains * s // S for s in range(S + 1)]

    class Fixed(_SerialStreams):  # worker s owns chains edges[s]:edges[s+1], walks the steps
        pos = [0] * S

        def part(self, s, m, rows):
            assert rows == edges[s + 1] - edges[s]
            z = Z[self.pos[s] : self.pos[s] + m, edges[s] : edges[s + 1]]
            self.pos[s] += m
            return z

    _assert_run_is_stepwise(integ, plan, Fixed(), Z, 2e-8)


def test_dc_sources_give_exact_mean():
    """RC network with DC sources: the mean relaxes to G⁻¹ i (Kron-reduced)."""
    c = assemble(load(f"{ROOT}/netlists/rc_network.yaml"))
    sde = c.to_sde()
    assert np.allclose(sde.stationary_mean()[: c.n_nodes], np.linalg.solve(c.G, c.u[: c.n_nodes]))
    tr = simulate(
        sde,
        "exact",
        0,
        400 * sde.relaxation_time(),
        sde.relaxation_time(),
        3,
        chains=32,
        x0="zeros",
        save=SaveAt(t_start=20 * sde.relaxation_time()),
    )
    est = covariance_with_errors(tr.states)
    assert np.max(np.abs((est.mean - sde.stationary_mean()) / est.mean_stderr)) < 4.5


def test_euler_weak_order():
    """Euler–Maruyama's weak error in E[v²](t) from a fixed start falls like h¹:
    regression slope of log error on log step is 1 ± 0.3."""
    sde = _sde("format: spu-netlist/1\ncells:\n  - {name: a, C: 1 nF, R: 1 kOhm}\n")  # OU, τ = 1 µs
    exact_var = sde.stationary_covariance()[0, 0] * (1 - np.exp(-2 * 1.0))  # at t = τ from 0
    hs = np.array([0.2, 0.1, 0.05, 0.025]) * 1e-6
    errs = []
    for i, h in enumerate(hs):
        tr = simulate(
            sde,
            "euler",
            0.0,
            1e-6,
            h,
            100 + i,
            chains=400_000,
            x0="zeros",
            save=SaveAt(every=int(round(1e-6 / h))),
        )
        v = tr.states[:, -1, 0]
        errs.append(abs(np.mean(v**2) - exact_var) / exact_var)
    slope = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert 0.7 <= slope <= 1.3, (slope, errs)


def test_exact_sampled_psd_integrates_to_variance():
    sde = assemble(load(f"{ROOT}/netlists/single_cell.yaml")).to_sde()
    dt = 1e-8
    f = np.linspace(0, 0.5 / dt, 200001)
    P = sde.sampled_node_psd(f, dt)[:, 0]
    assert np.trapezoid(P, f) == pytest.approx(sde.stationary_covariance()[0, 0], rel=1e-4)


def _tank(R: str):
    return _sde(f"format: spu-netlist/1\ntemperature: 300 K\ncells:\n  - {{name: a, C: 1 nF, L: 1 uH, R: {R}}}\n")


@pytest.mark.parametrize("chains,chunk", [(1, None), (3, 1 << 10)])
def test_float32_scan_decays_at_the_exact_rate(chains, chunk, monkeypatch):
    """A Q ≈ 3e5 tank stepped at h ω = 1/4 in float32: the rounded F alone shifts the
    decay rate by ~1% (stepping with it for γt = 0.5 ends 0.6% off); the blocked scan
    adds responses through powers of the float64 F rounded once and carries the state
    from chunk to chunk in float64, so it stays within 1e-4 however many chunks (a
    float32 carry through ~40 rounded propagators per 512-step chunk would be ~0.5% off)."""
    import spu_emulator.integrate.exact as ex

    if chunk:
        monkeypatch.setattr(ex, "SCAN_CHUNK", chunk)
    sde = _tank("10 megOhm")
    gam = -np.max(sde.eigenvalues().real)
    h = 0.25 / np.max(np.abs(sde.eigenvalues()))
    steps = int(0.5 / (gam * h))
    integ = Exact()
    p32 = integ.init(sde, h, np.float32)
    r, n = integ.noise_dim(p32), sde.dim
    Z = np.zeros((steps, chains, r), np.float32)
    out = np.empty((chains, steps, n), np.float32)
    x0 = np.repeat(np.array([[1.0, 0.0]], np.float32), chains, axis=0)
    integ.run(p32, x0, steps, _scan_noise(Z, Exact.scan_edges(steps, 2, 4)), 0.0, h, out)
    exact = np.linalg.matrix_power(integ.init(sde, h).F, steps) @ x0[0].astype(float)
    w = 1 / np.diag(sde.stationary_covariance())  # energy weights
    amp = lambda v: np.sqrt(np.sum(w * v * v))  # noqa: E731
    for b in range(chains):
        assert abs(amp(out[b, -1].astype(float)) / amp(exact) - 1) < 1e-4
    # and the rounded F itself is off: its slowest eigenvalue misses by > 1e-3 of 1 − |λ|
    lam32 = np.max(np.abs(np.linalg.eigvals(p32.F.astype(float))))
    lam = np.max(np.abs(np.linalg.eigvals(integ.init(sde, h).F)))
    assert abs((1 - lam32) / (1 - lam) - 1) > 1e-3


def test_float32_rounding_warning(monkeypatch):
    """A float32 layout that steps with the rounded F warns when the slowest decay rate
    may move by more than 0.1%; wide batches of small states then take the scan
    instead (no drift); float64 is quiet."""
    import warnings

    import spu_emulator.integrate.exact as ex
    from spu_emulator.errors import PrecisionWarning

    sde = _tank("10 megOhm")
    h = 0.02 / np.max(np.abs(sde.eigenvalues()))
    stepping = Exact(segments=1)  # plain stepping, as wide batches of big states do
    with pytest.warns(PrecisionWarning, match=r"slowest decay rate by ~\d"):
        simulate(sde, stepping, 0, 20 * h, h, 1, chains=200, dtype=np.float32)
    assert stepping.rounding_drift(stepping.init(sde, h, np.float32), 200) > 1.0
    integ = Exact()
    p = integ.init(sde, h, np.float32)
    assert integ.uses_scan(200, sde.dim)  # 2 states: wide batches always scan
    with monkeypatch.context() as mp:  # were they stepped plainly, the drift would decide
        mp.setattr(ex, "SCAN_WIDE_STATES", 0)
        assert integ.uses_scan(200, sde.dim, p) and not integ.uses_scan(200, sde.dim)
    assert integ.rounding_drift(p, 200) == integ.rounding_drift(p, 1) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrecisionWarning)
        for chains in (1, 200):
            simulate(sde, "exact", 0, 20 * h, h, 1, chains=chains, dtype=np.float32)
        simulate(sde, stepping, 0, 20 * h, h, 1, chains=200, dtype=np.float64)


def test_float32_segments_decay_at_the_exact_rate():
    """The segment layout (small batches of big states) chains its segment starts in
    float64 with F^K: 32,768 segments of a float32 free decay stay within 1e-4 of the
    exact one (a float32 chain through the rounded F^K is 9e-4 off here)."""
    sde = _tank("10 megOhm")
    gam = -np.max(sde.eigenvalues().real)
    h = 0.25 / np.max(np.abs(sde.eigenvalues()))
    steps = int(0.5 / (gam * h))
    integ = Exact(segments=32768)
    p32 = integ.init(sde, h, np.float32)
    r = integ.noise_dim(p32)
    assert integ.rounding_drift(p32, 1) == 0.0

    class Quiet:
        def draw(self, m, prefetch=None, chains=None):
            return np.zeros((m, chains or 1, r), np.float32)

    out = np.empty((1, steps, sde.dim), np.float32)
    x0 = np.array([[1.0, 0.0]], np.float32)
    integ.run(p32, x0, steps, Quiet(), 0.0, h, out)
    exact = np.linalg.matrix_power(integ.init(sde, h).F, steps) @ x0[0].astype(float)
    w = 1 / np.diag(sde.stationary_covariance())
    ratio = np.sqrt(np.sum(w * out[0, -1].astype(float) ** 2) / np.sum(w * exact**2))
    assert abs(ratio - 1) < 1e-4


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_negligible_horizon_is_the_first_negligible_power(seed, dtype):
    """H is the first k with ‖W⁻¹F^kW‖₂ < tol (Σ = WWᵀ the stationary covariance, in
    which F contracts): checked against plain matrix powers on random netlists, at
    equal and unequal temperatures."""
    from spu_emulator.integrate.exact import flush_tol, negligible_horizon

    sde = assemble(loads(random_netlist_yaml(seed, temperatures=seed % 2 == 1))).to_sde()
    h = np.random.default_rng(seed).uniform(0.05, 3.0) * sde.relaxation_time()
    F, _ = sde.transition(h)
    S = sde.stationary_covariance()
    tol = flush_tol(dtype)
    sig, H = negligible_horizon(F, S, tol)
    assert np.allclose(sig, np.sqrt(np.diag(S)))
    W = np.linalg.cholesky(S)
    Fw = np.linalg.solve(W, F @ W)
    assert np.linalg.norm(Fw, 2) <= 1 + 1e-9  # a contraction in the whitened norm
    norm = lambda k: np.linalg.norm(np.linalg.matrix_power(Fw, k), 2)  # noqa: E731
    assert norm(H) < tol <= norm(H - 1)
    # and in the plan: powers from H on are zero, below it only negligible entries go
    plan = Exact().init(sde, h, dtype)
    assert plan.horizon == H
    FH = np.linalg.matrix_power(F, H)
    assert not np.any(plan.flush(FH, H))
    Fk = np.linalg.matrix_power(F, max(H // 2, 1))
    kept = plan.flush(Fk, max(H // 2, 1))
    dropped = (Fk - kept) * sig[None, :] / sig[:, None]
    assert np.max(np.abs(dropped)) < tol


def test_decayed_tables_hold_no_subnormal_numbers():
    """A float32 run of many relaxation times per chunk (the bench's step): every table
    of powers the blocked scan built is free of subnormal numbers (100× slower GEMMs
    on some CPUs), and the run matches the stationary law."""
    sde = assemble(load(f"{ROOT}/netlists/spu8.yaml")).to_sde()
    dt = 1.0 / np.max(np.abs(sde.eigenvalues()))
    integ = Exact()
    plan = integ.init(sde, dt, np.float32)
    out = np.empty((1, 200_000, sde.dim), np.float32)
    noise = NoiseSource(np.random.default_rng(3), 1, integ.noise_dim(plan), np.float32)
    try:
        integ.run(plan, np.zeros((1, sde.dim), np.float32), out.shape[1], noise, 0.0, dt, out)
    finally:
        noise.close()

    def arrays(v):
        if isinstance(v, np.ndarray):
            yield v
        elif isinstance(v, dict):
            for u in v.values():
                yield from arrays(u)
        elif isinstance(v, (list, tuple)):
            for u in v:
                yield from arrays(u)

    tables = list(arrays(plan.tables))
    assert len(tables) > 10
    for a in tables + [out]:
        if a.dtype.kind == "f":
            assert not np.any((a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny))
    est = covariance_with_errors(out)
    assert np.max(np.abs(est.z_scores(sde.stationary_covariance()))) < 4.5
