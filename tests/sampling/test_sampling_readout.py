"""The readout chain: anti-alias filter (exact, as extra SDE states), gain error,
offset, input-referred noise, quantization with clipping; what the error bars include.

Paired runs: the converter's noise has its own stream, so a run with a converter and
the same seed without one step the same circuit noise; their difference is exactly
what the converter did to each reading."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from spu_emulator.circuit.assemble import assemble
from spu_emulator.errors import InputError
from spu_emulator.hardware.compiler import CompileOptions, compile_matrix
from spu_emulator.netlist.schema import Readout
from spu_emulator.sampling import BoardOptions, RunBudget, inv, logdet, sample, solve
from spu_emulator.sampling.engine import Board
from spu_emulator.sampling.estimators import covariance_with_errors, integrated_autocorr_time
from spu_emulator.sampling.matrices import h_matrix, m_matrix
from spu_emulator.sampling.readout import ClippingWarning, Converter, with_filters

RC = CompileOptions(inductance=None)


def _design(d=4, seed=7, maker=m_matrix):
    rng = np.random.default_rng(seed)
    P = maker(d, rng, cond=10) if maker is m_matrix else maker(d, rng)
    return compile_matrix(P, "precision", options=RC), np.linalg.inv(P)


def _scales(des):
    return np.array([v.scale for v in des.program.variables])


def _volt_rms(des, S):
    return np.sqrt(np.diag(S)) / np.abs(_scales(des))


def _pair(des, ro, n, seed, chains=4):
    """(readings through ``ro``, ideal readings) of the same seed, (chains·n, d)."""
    got = sample(des, n, seed=seed, board=BoardOptions(chains=chains, groups=1, readout=ro))
    ideal = sample(des, n, seed=seed, board=BoardOptions(chains=chains, groups=1))
    d = des.program.dim
    return got, got.samples.reshape(-1, d), ideal.samples.reshape(-1, d)


def test_readout_quantization_adds_lsb2_over_12_per_channel():
    """6-bit ADC on ±6σ (Δ ≈ 0.19σ): the paired quantization error e = Q(v) − v has
    variance Δ²/12 (within 4.5 of its standard errors, every channel), and the reading
    variance grows by Δ²/12 within the paired difference's standard error."""
    des, S = _design()
    fs = 6 * float(np.max(_volt_rms(des, S)))
    ro = Readout(bits=6, full_scale=fs)
    got, yq, y = _pair(des, ro, 20000, seed=3)
    lsb = 2 * fs / 64
    e = (yq - y) / _scales(des)  # volts
    var_e = np.mean(e**2, axis=0)
    se_e = np.std(e**2, axis=0) / np.sqrt(len(e))
    assert np.all(np.abs(var_e - lsb**2 / 12) < 4.5 * se_e), var_e / (lsb**2 / 12)
    assert np.all(np.abs(np.mean(e, axis=0)) < 4.5 * np.std(e, axis=0) / np.sqrt(len(e)))
    v, vq = y / _scales(des), yq / _scales(des)
    dv = (vq - vq.mean(0)) ** 2 - (v - v.mean(0)) ** 2  # paired per-reading increase
    tau = integrated_autocorr_time(dv)
    se = np.std(dv, axis=0) * np.sqrt(tau / len(dv))
    assert np.all(np.abs(dv.mean(0) - lsb**2 / 12) < 4.5 * se), dv.mean(0) / (lsb**2 / 12)
    q = got.summary()["readout"]["bias"]["quantization"]
    assert q == pytest.approx(np.linalg.norm(lsb**2 / 12 * np.diag(_scales(des) ** 2)) / np.linalg.norm(S))


def test_readout_clipping_is_counted_reported_and_warned(tmp_path, capsys):
    """Full scale at 1σ of the widest channel: the clipped fraction matches the Gaussian
    tails beyond the end codes (v > fs − Δ/2 or v < −fs − Δ/2), within 5 standard errors
    (autocorrelation counted); a ClippingWarning says so, and the CLI prints it."""
    des, S = _design()
    sig = _volt_rms(des, S)
    fs = float(np.max(sig))
    ro = Readout(bits=8, full_scale=fs)
    with pytest.warns(ClippingWarning, match="clipped"):
        got = sample(des, 5000, seed=4, board=BoardOptions(chains=4, groups=1, readout=ro))
    lsb = 2 * fs / 256
    p = stats.norm.sf((fs - lsb / 2) / sig) + stats.norm.cdf((-fs - lsb / 2) / sig)
    frac = got.summary()["readout"]["clipped_fraction"]
    assert got.summary()["adc"]["clipped_fraction"] == frac
    clip = np.abs(got.samples / _scales(des)) >= fs - lsb  # the end codes
    tau = integrated_autocorr_time(clip.astype(float)).max()
    se = np.sqrt(np.mean(p * (1 - p)) * tau / clip.size)
    assert abs(frac - np.mean(p)) < 5 * se, (frac, np.mean(p), se)
    # the CLI prints the warning as one line
    from spu_emulator.cli import main
    from spu_emulator.hardware.design import Design

    d = tmp_path / "d.yaml"
    d.write_text(Design(des.netlist.replace(readout=ro), des.program).dumps())
    assert main(["sample", str(d), "--samples", "200", "--out", str(tmp_path / "s.npy")]) == 0
    err = capsys.readouterr().err
    assert "spu: warning: readout:" in err and "clipped" in err and err.count("\n") == 1


def test_readout_gain_scales_the_covariance_by_one_plus_g_squared():
    """Same seed with and without a 3% gain error: every reading is (1 + g) times the
    ideal one (to rounding), so the covariance is (1 + g)² times it; the report says
    (1 + g)² − 1. The converter left the circuit's noise streams alone."""
    des, S = _design()
    got, yg, y = _pair(des, Readout(gain_error=0.03), 2000, seed=5)
    assert np.allclose(yg, 1.03 * y, rtol=1e-13, atol=0)
    assert np.allclose(np.cov(yg.T), 1.03**2 * np.cov(y.T), rtol=1e-12)
    b = got.summary()["readout"]["bias"]
    assert b["gain"] == pytest.approx(1.03**2 - 1, rel=1e-14)
    assert b["total"] == pytest.approx(1.03**2 - 1, rel=1e-12)


def test_readout_offset_shifts_the_mean_not_the_covariance():
    """An offset adds scale · o to a single-ended variable and cancels in a differential
    one; the covariance is unchanged (to rounding) either way; the report's mean shift
    says the same."""
    des, S = _design()
    o = 0.5 * float(np.min(_volt_rms(des, S)))
    got, yo, y = _pair(des, Readout(offset=o), 2000, seed=6)
    assert np.allclose(yo - y, _scales(des) * o, rtol=1e-9, atol=0)
    assert np.allclose(np.cov(yo.T), np.cov(y.T), rtol=1e-9, atol=0)
    b = got.summary()["readout"]["bias"]
    assert np.allclose(b["mean_shift"], _scales(des) * o) and b["total"] == pytest.approx(0, abs=1e-12)
    dif, _ = _design(3, 2, h_matrix)
    assert dif.program.realization == "differential"
    _, yo, y = _pair(dif, Readout(offset=o), 500, seed=6)
    assert np.allclose(yo, y, rtol=0, atol=1e-9 * np.max(np.abs(y)))


@pytest.mark.parametrize("maker", [m_matrix, h_matrix], ids=["single-ended", "differential"])
def test_readout_noise_adds_noise_squared_to_the_diagonal(maker):
    """Input-referred noise σ_n: the paired difference is white N(0, σ_n²) per channel
    (a differential variable, the difference of two channels, gets 2σ_n²), uncorrelated
    between variables and with the signal; the readings' covariance is Σ + σ_n² E Eᵀ
    (each entry within 4.5 standard errors); noise = 0 gives the ideal readings."""
    des, S = _design(4, 7, maker) if maker is m_matrix else _design(3, 2, maker)
    sn = 0.3 * float(np.min(_volt_rms(des, S)))
    got, yn, y = _pair(des, Readout(noise=sn), 10000, seed=8)
    channels = 2 if des.program.realization == "differential" else 1
    e = (yn - y) / _scales(des)
    C = np.cov(e.T)
    expect = channels * sn**2
    assert np.all(np.abs(np.diag(C) - expect) < 4.5 * expect * np.sqrt(2 / len(e))), np.diag(C) / expect
    off = C[~np.eye(len(C), dtype=bool)]
    assert np.all(np.abs(off) < 4.5 * expect / np.sqrt(len(e)))
    r = np.corrcoef(e.T, (y / _scales(des)).T)[: len(C), len(C):]
    assert np.all(np.abs(r) < 4.5 / np.sqrt(len(e)))
    est = covariance_with_errors(got.samples)
    target = S + expect * np.diag(_scales(des) ** 2)
    assert np.max(np.abs(est.z_scores(target))) < 4.5
    assert np.max(np.abs(est.z_scores(S))) > 4.5  # the shift is resolved
    zero = sample(des, 300, seed=8, board=BoardOptions(chains=2, groups=1, readout=Readout(noise=0.0)))
    ideal = sample(des, 300, seed=8, board=BoardOptions(chains=2, groups=1))
    assert np.array_equal(zero.samples, ideal.samples)


def _rc_cell():
    des = compile_matrix(np.array([[2.0]]), "precision", options=RC)
    nl = des.netlist
    return des, nl.element("x0.R").R * nl.element("x0.C").C  # type: ignore[attr-defined]


@pytest.mark.parametrize("ratio", [1.0, 3.0, 0.2])
def test_readout_filter_on_one_rc_cell_matches_its_closed_form(ratio):
    """One RC cell (dv = −v/RC dt + σ dW) read through a first-order low-pass
    (dy = ω_c (v − y) dt): from the stationary Lyapunov equations E[v y] = E[y²] =
    ω_c/(ω_c + 1/RC) · k_B T/C, so the filter multiplies the variance by
    2π f_c RC / (1 + 2π f_c RC). The augmented SDE's covariance and the report agree
    to 1e-10; the filter state's PSD is the node's times 1/(1 + (f/f_c)²)."""
    des, RCt = _rc_cell()
    fc = ratio / (2 * np.pi * RCt)
    sde = assemble(des.netlist).to_sde()
    aug = with_filters(sde, [0], fc)
    Sig = aug.stationary_covariance()
    closed = 2 * np.pi * fc * RCt / (1 + 2 * np.pi * fc * RCt)
    assert Sig[1, 1] / Sig[0, 0] == pytest.approx(closed, rel=1e-10)
    assert Sig[0, 1] / Sig[0, 0] == pytest.approx(closed, rel=1e-10)
    assert aug.state_names == ("v(x0)", "lp(v(x0))") and aug.temperature is None
    assert aug.relaxation_time() == pytest.approx(max(RCt, 1 / (2 * np.pi * fc)), rel=1e-12)
    f = np.array([0.1, 1.0, 10.0]) * fc
    psd = aug.psd(f, outputs=np.eye(2)).real
    assert np.allclose(psd[:, 1, 1], psd[:, 0, 0] / (1 + (f / fc) ** 2), rtol=1e-10)
    b = Board(des, seed=0, options=BoardOptions(chains=16, groups=4, readout=Readout(bandwidth=fc)))
    assert b.readout_report()["bias"]["filter_variance_ratio"][0] == pytest.approx(closed, rel=1e-10)
    b.close()


def test_readout_filter_variance_reduction_is_measured():
    """A 4-variable design read through filters at the corner of its slowest mode: the
    readings' covariance matches the exact augmented-SDE covariance entrywise (within
    4.5 standard errors; the unfiltered covariance is rejected), and on one RC cell the
    measured variance ratio matches the closed form within its standard error."""
    des, S = _design()
    tau = assemble(des.netlist).to_sde().relaxation_time()
    fc = 1 / (2 * np.pi * tau)
    ro = Readout(bandwidth=fc)
    b = Board(des, seed=0, options=BoardOptions(chains=16, groups=4, readout=ro))
    read, ideal = b.reading_moments()
    b.close()
    assert np.allclose(ideal.covariance, S, rtol=1e-9)
    got = sample(des, 6000, seed=9, board=BoardOptions(chains=4, groups=1, readout=ro, interval=tau))
    est = covariance_with_errors(got.samples)
    assert np.max(np.abs(est.z_scores(read.covariance))) < 4.5
    assert np.max(np.abs(est.z_scores(S))) > 4.5
    one, RCt = _rc_cell()
    fc1 = 1 / (2 * np.pi * RCt)  # ratio 1/2
    g = sample(one, 20000, seed=10, board=BoardOptions(chains=4, groups=1, readout=Readout(bandwidth=fc1),
                                                        interval=RCt))
    S1 = one.exact_covariance()[0, 0]
    var = float(np.mean(g.samples**2))
    se = S1 * np.sqrt(2.0 / float(np.min(g.effective_samples)))
    assert abs(var / S1 - 0.5) < 4.5 * se / S1, var / S1


def test_readout_random_parts_enter_the_spread_dc_solve():
    """DC solve read with input noise of 2 thermal rms and a coarse 8-bit ADC (Δ ≈ 0.5
    thermal rms): both vary from reading to reading, so the batch-means bar grows with
    them and still covers the actual error in ≥ 36 of 40 seeded runs; the bar is
    ≥ 1.5× the one of an ideal readout of the same runs."""
    from spu_emulator.hardware.dc import compile_dc

    rng = np.random.default_rng(9)
    A = m_matrix(4, rng, cond=20)
    b = rng.standard_normal(4)
    xt = np.linalg.solve(A, b)
    sde = assemble(compile_dc(A, b, options=RC, drive=10.0).netlist).to_sde()
    sig = float(np.sqrt(np.max(np.diag(sde.equilibrium_covariance()))))
    top = float(np.max(np.abs(sde.stationary_mean())))
    ro = Readout(bits=8, full_scale=top + 30 * sig, noise=2 * sig)
    hits, ratio = 0, []
    for seed in range(40):
        ref = solve(A, b, RunBudget(samples=4096), method="dc", seed=seed)
        x, info = solve(A, b, RunBudget(samples=4096), method="dc", seed=seed,
                        board=BoardOptions(readout=ro))
        assert info.readout["clipped"] == 0 and info.readout["systematic_error"] == 0
        hits += np.linalg.norm(x - xt) / np.linalg.norm(xt) <= info.relative_error_estimate
        ratio.append(info.relative_error_estimate / ref.info.relative_error_estimate)
    assert hits >= 36, hits
    assert np.median(ratio) > 1.5, np.median(ratio)


def test_readout_random_parts_enter_the_spread_inverse():
    """Inversion read with input noise σ_n = thermal rms: against the exact expected
    second moment as read (Σ + σ_n² E Eᵀ), the statistical bar covers the error in
    ≥ 27 of 30 runs; the reported bound adds the systematic σ_n² E Eᵀ and covers the
    error against A⁻¹ in as many."""
    rng = np.random.default_rng(4)
    A = m_matrix(4, rng, cond=10)
    Ai = np.linalg.inv(A)
    des = compile_matrix(A, "matrix", options=RC)
    b0 = Board(des, seed=0, options=BoardOptions(chains=16, groups=4))
    sig = float(np.sqrt(np.min(np.diag(b0.sde.equilibrium_covariance()))))
    b0.close()
    ro = Readout(noise=sig)
    bd = Board(des, seed=0, options=BoardOptions(chains=16, groups=4, readout=ro))
    read, ideal = bd.reading_moments()
    bd.close()
    stat_hits = total_hits = 0
    for seed in range(30):
        X, info = inv(A, RunBudget(samples=20000), seed=seed, board=BoardOptions(readout=ro))
        r = info.readout
        assert r["systematic_error"] == pytest.approx(
            np.linalg.norm(read.second - ideal.second) / np.linalg.norm(ideal.second), rel=1e-12)
        stat_hits += np.linalg.norm(X - read.second) / np.linalg.norm(X) <= r["statistical_error_bound"]
        total_hits += np.linalg.norm(X - Ai) / np.linalg.norm(Ai) <= info.relative_error_estimate
    assert stat_hits >= 27 and total_hits >= 27, (stat_hits, total_hits)


def test_readout_systematic_error_is_in_the_bound():
    """Gain error 4%: the inverse is biased by (1 + g)² − 1 = 8.16% whatever the run
    length; the reported bound includes it (and covers the error), log det is off by
    2 d log(1 + g), the DC solve by g; a tolerance the bias alone reaches is refused
    up front; a reachable one stops with the whole bound below it."""
    A = m_matrix(4, np.random.default_rng(2), cond=10)
    Ai = np.linalg.inv(A)
    g = 0.04
    board = BoardOptions(readout=Readout(gain_error=g))
    X, info = inv(A, RunBudget(samples=50000), seed=1, board=board)
    sysb = info.readout["systematic_error"]
    assert sysb == pytest.approx((1 + g) ** 2 - 1, rel=1e-12)
    assert info.relative_error_estimate == pytest.approx(sysb + info.readout["statistical_error_bound"])
    err = np.linalg.norm(X - Ai) / np.linalg.norm(Ai)
    assert abs(err - sysb) < info.readout["statistical_error_bound"] and err <= info.relative_error_estimate
    with pytest.raises(InputError) as exc:
        inv(A, RunBudget(tol=0.08), board=board)
    assert exc.value.param == "tol" and "systematic" in str(exc.value)
    X, info = inv(A, RunBudget(tol=0.12), seed=2, board=board)
    assert info.relative_error_estimate <= 0.12 and info.history[-1]["error"] <= 0.12
    ld, info = logdet(A, RunBudget(samples=20000), board=board)
    assert info.readout["systematic_error"] == pytest.approx(2 * 4 * np.log1p(g), rel=1e-10)
    x, info = solve(A, np.ones(4), RunBudget(samples=20000), method="dc", board=board)
    assert info.readout["systematic_error"] == pytest.approx(g, rel=1e-9)
    assert np.linalg.norm(x - np.linalg.solve(A, np.ones(4))) / np.linalg.norm(x) <= info.relative_error_estimate


def test_readout_spu8_bits_keep_their_numbers_and_ideal_runs_report_nothing():
    """A readout with only rate, bits and full scale (the bundled spu8) reads as before
    (codes on the LSB grid, no extra streams); without a readout the info has no
    readout entry (and JSON reports keep their keys)."""
    A = m_matrix(4, np.random.default_rng(3), cond=10)
    _, info = inv(A, RunBudget(samples=2000))
    assert info.readout is None and "readout" not in info.to_dict() and "energy" not in info.to_dict()
    des, S = _design()
    fs = 8 * float(np.max(_volt_rms(des, S)))
    b = Board(des, seed=0, options=BoardOptions(chains=16, groups=4, readout=Readout(rate=1e6, bits=5, full_scale=fs)))
    assert b._reading_noise is None and b.sde is b.circuit_sde
    b.close()
    assert Converter.from_readout(Readout(rate=1e6), "x") is None


def test_readout_cli_invert_reads_through_a_netlist(tmp_path, capsys):
    from spu_emulator.cli import main

    A = m_matrix(4, np.random.default_rng(3), cond=10)
    np.save(tmp_path / "A.npy", A)
    ro = tmp_path / "ro.yaml"
    ro.write_text("format: spu-netlist/1\nname: adc\ntemperature: 300 K\n"
                  "readout: {bits: 10, full_scale: 40 uV, gain_error: '1%', bandwidth: 10 megHz}\n"
                  "cells:\n  - {name: n1, C: 1 nF, R: 1 kOhm}\n")
    assert main(["invert", str(tmp_path / "A.npy"), "--time", "2ms", "--readout", str(ro), "--json",
                 "--quiet"]) == 0
    rep = json.loads(capsys.readouterr().out)
    r = rep["readout"]
    assert r["bits"] == 10 and r["bandwidth"] == pytest.approx(1e7) and r["gain_error"] == pytest.approx(0.01)
    assert rep["relative_error_estimate"] == pytest.approx(r["statistical_error_bound"] + r["systematic_error"])
    assert r["systematic_error"] > (1.01**2 - 1) * 0.99
    assert main(["invert", str(tmp_path / "A.npy"), "--time", "2ms", "--readout", str(ro), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "readout: systematic error" in out
    bare = tmp_path / "bare.yaml"
    bare.write_text("format: spu-netlist/1\nname: b\ntemperature: 300 K\ncells:\n  - {name: n1, C: 1 nF, R: 1 kOhm}\n")
    assert main(["invert", str(tmp_path / "A.npy"), "--readout", str(bare), "--quiet"]) == 2
    assert "no readout" in capsys.readouterr().err


def test_readout_filter_on_coupled_rlc_cells_matches_the_spectrum():
    """Eight coupled RLC cells of the bundled spu8 (modes 1.7–5.9 MHz) through a 5 MHz
    anti-alias filter: each filter state's Lyapunov variance equals the integral of the
    node's spectrum times 1/(1 + (f/f_c)²), an independent route, to 0.1% (log grid,
    1 kHz to 1 GHz, 2 kHz steps at the resonances, which are 60–300 kHz wide)."""
    from spu_emulator.netlist import load

    P = m_matrix(8, np.random.default_rng(0), cond=10)
    des = compile_matrix(P, "precision", options=CompileOptions(cells_from=load("netlists/spu8.yaml")))
    sde = assemble(des.netlist).to_sde()
    aug = with_filters(sde, range(8), 5e6)
    S = aug.stationary_covariance()
    lyap = np.diag(S)[16:] / np.diag(S)[:8]
    f = np.geomspace(1e3, 1e9, 20000)
    psd = sde.node_psd(f)
    spec = np.trapezoid(psd / (1 + (f / 5e6)[:, None] ** 2), f, axis=0) / np.trapezoid(psd, f, axis=0)
    assert np.allclose(lyap, spec, rtol=1e-3), (lyap, spec)
    assert 0.4 < lyap.min() and lyap.max() < 0.65  # the cells ring near the corner
