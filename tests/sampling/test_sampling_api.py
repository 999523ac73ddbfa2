"""The typed sampling API: value objects that check themselves (one-line InputErrors
naming the field), no unknown keywords, one result type, and library errors that
name parameters (the CLI shows them as its flags)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from spu_emulator.errors import InputError
from spu_emulator.hardware.bank import Bank
from spu_emulator.hardware.compiler import CompileOptions, compile_matrix
from spu_emulator.sampling import (
    BoardOptions,
    LinalgInfo,
    LinalgResult,
    Quantization,
    RunBudget,
    SampleResult,
    inv,
    logdet,
    sample,
    solve,
)
from spu_emulator.sampling.matrices import m_matrix, spd

ROOT = Path(__file__).resolve().parents[2]
A4 = m_matrix(4, np.random.default_rng(3), cond=10)


@pytest.mark.parametrize("call", [
    lambda: inv(A4, chain=7),
    lambda: inv(A4, grups=3),
    lambda: logdet(A4, tol=0.1),
    lambda: solve(A4, np.ones(4), return_info=True),
    lambda: inv(A4, RunBudget(), RunBudget()),
], ids=["inv-chain", "inv-grups", "logdet-tol", "solve-return_info", "inv-positional"])
def test_unknown_keywords_are_type_errors(call):
    with pytest.raises(TypeError):
        call()


def test_sample_rejects_unknown_keywords():
    des = compile_matrix(A4, "matrix", options=CompileOptions(inductance=None))
    with pytest.raises(TypeError):
        sample(des, 10, chains=2)
    with pytest.raises(TypeError):
        sample(des, 10, rate=1e6)


BAD = [
    (RunBudget, {"time": -1.0}, "time"),
    (RunBudget, {"time": float("nan")}, "time"),
    (RunBudget, {"tol": 0}, "tol"),
    (RunBudget, {"tol": "0.1"}, "tol"),
    (RunBudget, {"samples": 0}, "samples"),
    (RunBudget, {"samples": 1e4}, "samples"),
    (RunBudget, {"max_samples": -5}, "max_samples"),
    (RunBudget, {"time": 1e-3, "tol": 0.1}, "tol"),
    (RunBudget, {"tol": 0.1, "samples": 100}, "samples"),
    (BoardOptions, {"chains": 0}, "chains"),
    (BoardOptions, {"chains": 2.5}, "chains"),
    (BoardOptions, {"chains": 24}, "chains"),  # not a multiple of 16 groups
    (BoardOptions, {"groups": 0}, "groups"),
    (BoardOptions, {"interval": 0.0}, "interval"),
    (BoardOptions, {"interval": float("inf")}, "interval"),
    (BoardOptions, {"burn_in": -1e-6}, "burn_in"),
    (BoardOptions, {"dtype": np.int32}, "dtype"),
    (BoardOptions, {"dtype": "half"}, "dtype"),
    (BoardOptions, {"blas_threads": 0}, "blas_threads"),
    (BoardOptions, {"adc": "yes"}, "adc"),
    (BoardOptions, {"readout": {"bits": 8}}, "readout"),
    (Quantization, {"bank": 4}, "bank"),
    (Quantization, {"rounding": "up"}, "rounding"),
    (Quantization, {"roundings": 0}, "roundings"),
    (Quantization, {"roundings": 4}, "roundings"),  # averaging roundings needs a bank
]


@pytest.mark.parametrize("cls,kw,field", BAD, ids=[f"{c.__name__}-{'-'.join(k)}" for c, k, _ in BAD])
def test_value_objects_reject_bad_values(cls, kw, field):
    with pytest.raises(InputError) as exc:
        cls(**kw)
    err = exc.value
    assert err.param == field
    assert str(err).startswith(f"{field}: ") and "\n" not in str(err), str(err)
    assert "--" not in str(err)


def test_value_objects_defaults_and_immutability():
    assert RunBudget().tol == 0.05 and RunBudget(time=1e-3).tol is None
    assert RunBudget(samples=np.int64(100)).samples == 100
    assert BoardOptions().chains == 128 and BoardOptions().groups == 16
    assert BoardOptions(dtype="float64").dtype == np.dtype(np.float64)
    assert Quantization(Bank.uniform(3), roundings=4).roundings == 4
    with pytest.raises(AttributeError):
        RunBudget().tol = 0.1  # type: ignore[misc]


def test_one_result_type_that_unpacks():
    A = spd(4, np.random.default_rng(1), 10)
    for res in (inv(A, RunBudget(samples=2000)), logdet(A, RunBudget(samples=2000)),
                solve(A, np.ones(4), RunBudget(samples=2000)),
                solve(m_matrix(4, np.random.default_rng(2)), np.ones(4), RunBudget(samples=2000))):
        assert isinstance(res, LinalgResult) and isinstance(res.info, LinalgInfo)
        value, info = res
        assert value is res.value and info is res.info
    des = compile_matrix(A, "matrix", options=CompileOptions(inductance=None))
    assert isinstance(sample(des, 10), SampleResult)


def test_same_numbers_with_default_and_explicit_options():
    """The value objects' defaults are the calls' defaults, bit for bit."""
    A = m_matrix(6, np.random.default_rng(4), cond=20)
    X1, _ = inv(A, RunBudget(samples=4000), seed=3)
    X2, _ = inv(A, RunBudget(samples=4000), seed=3, board=BoardOptions(chains=128, groups=16, dtype=np.float32),
                quantization=Quantization(None, "nearest", 1),
                options=CompileOptions(inductance=None, covariance_report=False))
    assert np.array_equal(X1, X2)


def test_library_errors_name_parameters():
    A = m_matrix(4, np.random.default_rng(5), cond=10)
    with pytest.raises(InputError) as exc:
        inv(A, RunBudget(time=1e-9))
    assert exc.value.param == "time" and "is too short" in exc.value.message
    with pytest.raises(InputError) as exc:
        solve(spd(4, np.random.default_rng(6), 100), np.ones(4), method="dc")
    assert exc.value.param == "method" and "resistor network" in exc.value.message
    with pytest.raises(InputError) as exc:
        solve(A, np.ones(3))
    assert exc.value.param == "b"
    with pytest.raises(InputError) as exc:
        solve(A, np.ones(4), method="dc", quantization=Quantization(Bank.uniform(3), roundings=2))
    assert exc.value.param == "roundings"
    with pytest.raises(InputError) as exc:
        Bank.uniform(30)
    assert exc.value.param == "bits"
    des = compile_matrix(A, "matrix", options=CompileOptions(inductance=None))
    with pytest.raises(InputError) as exc:
        sample(des, 0)
    assert exc.value.param == "n"


def test_library_sources_name_no_cli_flags():
    """Messages in sampling/ and hardware/ speak of parameters; the CLI adds its flags."""
    flag = re.compile(r"""["'][^"'\n]*--[a-z]""")
    for pkg in ("sampling", "hardware"):
        for f in sorted((ROOT / "spu_emulator" / pkg).glob("*.py")):
            hits = [ln for ln in f.read_text().splitlines() if flag.search(ln)]
            assert not hits, (f.name, hits)


def test_cli_shows_flags(tmp_path, capsys):
    from spu_emulator.cli import main

    np.save(tmp_path / "A.npy", m_matrix(4, np.random.default_rng(7), cond=10))
    np.save(tmp_path / "S.npy", spd(4, np.random.default_rng(8), 100))
    np.savetxt(tmp_path / "b.txt", np.ones(4))
    A, S, b = str(tmp_path / "A.npy"), str(tmp_path / "S.npy"), str(tmp_path / "b.txt")
    des = str(tmp_path / "d.yaml")
    assert main(["program", "--matrix", A, "-o", des]) == 0
    capsys.readouterr()
    out = str(tmp_path / "s.npy")
    cases = [
        (["invert", A, "--time", "1ns"], "--time: 1e-09 s is too short"),
        (["invert", A, "--time", "0"], "--time: must be positive"),
        (["invert", A, "--time", "soon"], "--time: "),
        (["logdet", A, "--tol", "-1"], "--tol: must be positive"),
        (["invert", A, "--bank", "30"], "--bank: must be an integer from 1 to 24"),
        (["invert", A, "--bank-values", "0"], "--bank-values: "),
        (["invert", A, "--roundings", "3"], "--roundings: averaging 3 roundings needs a bank"),
        (["invert", A, "--roundings", "0", "--bank", "3"], "--roundings: must be a whole number ≥ 1"),
        (["solve", S, b, "--method", "dc"], "--method: dc: a resistor network cannot realize"),
        (["sample", des, "--samples", "0", "--out", out], "--samples: must be a whole number ≥ 1"),
        (["sample", des, "--samples", "5", "--chains", "0", "--out", out], "--chains: must be"),
        (["sample", des, "--samples", "5", "--burn-in=-1us", "--out", out], "--burn-in: must be ≥ 0"),
        (["sample", des, "--samples", "5", "--rate", "0", "--out", out], "--rate: must be positive"),
    ]
    for argv, needle in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith(f"spu: error: {needle}") and err.count("\n") == 1, (argv, err)


def test_cli_sample_seed_defaults_to_zero(tmp_path, capsys):
    from spu_emulator.cli import main

    np.save(tmp_path / "A.npy", A4)
    des = str(tmp_path / "d.yaml")
    assert main(["program", "--matrix", str(tmp_path / "A.npy"), "-o", des]) == 0
    assert main(["sample", des, "--samples", "20", "--out", str(tmp_path / "a.npy")]) == 0
    assert main(["sample", des, "--samples", "20", "--seed", "0", "--out", str(tmp_path / "b.npy")]) == 0
    capsys.readouterr()
    assert np.array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))


def test_docs_sampling_python_blocks_run(tmp_path, monkeypatch):
    """docs/sampling.md's Python examples run as written (in a scratch directory)."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "sampling.md").read_text(), re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    for i, code in enumerate(blocks):
        exec(compile(code, f"docs/sampling.md#python{i}", "exec"), {})
