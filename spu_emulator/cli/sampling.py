"""CLI subcommands of the sampling layer: ``spu program``, ``sample``, ``invert``,
``solve``, ``logdet``. Thin: parse, call one library function, write the output.
Bad input raises :class:`~spu_emulator.errors.InputError` (one line, exit 2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where it is used: --help and --version need none
    import numpy as np

import argparse
import os
import sys
from typing import Any

from ..errors import InputError
from ..io import check_output, dumps_json, save_npy, write_text
from ..resources import Budget
from ..units import ValueParseError, parse_value
from .options import add_budget_options, out_option, seed


def read_matrix(path: str, what: str = "matrix", vector: bool = False, spd: bool = False) -> np.ndarray:
    """A matrix (or vector) from .npy, .csv (commas) or .txt (whitespace); with ``spd``
    also checked symmetric positive definite (errors name the file)."""
    import numpy as np
    if not os.path.isfile(path):
        raise InputError(f"{path}: {what} file not found")
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".npy":
            arr = np.load(path, allow_pickle=False)
        elif ext == ".csv":
            arr = np.loadtxt(path, delimiter=",", ndmin=1 if vector else 2)
        elif ext in (".txt", ".dat", ""):
            arr = np.loadtxt(path, ndmin=1 if vector else 2)
        else:
            raise InputError(f"{path}: unknown {what} format {ext!r} (use .npy, .csv or .txt)")
    except InputError:
        raise
    except Exception as exc:  # numpy raises ValueError/OSError with long messages
        raise InputError(f"{path}: cannot read {what}: {str(exc).splitlines()[0]}") from None
    arr = np.asarray(arr)
    if not np.issubdtype(arr.dtype, np.number):
        raise InputError(f"{path}: {what} must be numeric")
    if np.iscomplexobj(arr):
        raise InputError(f"{path}: {what} has complex entries; the SPU works with real numbers")
    arr = arr.astype(float)
    if vector:
        arr = arr.ravel()
    elif arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise InputError(f"{path}: {what} must be square, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{path}: {what} contains non-finite values")
    if spd:  # checked at unit scale: inv/solve/logdet work at any scale
        from ..hardware.compiler import check_spd
        from ..sampling.linalg import normalized

        an, s = normalized(arr)
        arr = check_spd(an, f"{path}: {what}") * s
    if arr.size > 1 << 22:
        raise InputError(f"{path}: {what} has {arr.size} entries; the emulated SPU takes "
                         "matrices up to 2048 x 2048")
    return arr


def _parse(text: str, unit: str, opt: str) -> float:
    """A value with its unit (``10ms``, ``1 nF``); a bad one names the option."""
    try:
        return parse_value(text, unit)
    except (ValueParseError, ValueError) as exc:
        raise InputError(f"{opt}: {exc}") from None


def _quantity(text: str, unit: str, opt: str, allow_none: bool = False) -> float | None:
    import numpy as np
    if allow_none and str(text).lower() == "none":
        return None
    v = _parse(text, unit, opt)
    if not (np.isfinite(v) and v > 0):
        raise InputError(f"{opt}: must be positive, got {text!r}")
    return v


def _bank(args: argparse.Namespace):
    from ..hardware.bank import Bank

    if getattr(args, "bank", None) is not None and getattr(args, "bank_values", None):
        raise InputError("give --bank or --bank-values, not both")
    try:
        if getattr(args, "bank", None) is not None:
            return Bank.uniform(args.bank)
        if getattr(args, "bank_values", None):
            vals = [_quantity(v.strip(), "F", "--bank-values") for v in args.bank_values.split(",") if v.strip()]
            return Bank.from_values(vals)
    except InputError as exc:  # Bank names its own parameter (bits, values): show the flag
        raise exc.with_name("bank" if getattr(args, "bank", None) is not None else "bank_values") from None
    return None


def _quantization(args: argparse.Namespace):
    from ..sampling.options import Quantization

    return Quantization(bank=_bank(args), rounding=args.rounding, roundings=getattr(args, "roundings", 1))


def _options(args: argparse.Namespace, rc_default: bool):
    from ..hardware.compiler import CompileOptions
    from ..netlist import load

    ind = getattr(args, "inductance", None)
    inductance = (None if rc_default else 1e-6) if ind is None else _quantity(ind, "H", "--inductance", True)
    cells_from = load(args.cells_from) if getattr(args, "cells_from", None) else None
    return CompileOptions(
        temperature=_quantity(args.temperature, "K", "--temperature"),
        c_max=_quantity(args.c_max, "F", "--c-max"),
        c_min=_quantity(args.c_min, "F", "--c-min"),
        inductance=inductance,
        resistance=_quantity(args.resistance, "Ohm", "--resistance") if args.resistance else None,
        realization=args.realization,
        cells_from=cells_from,
        covariance_report=rc_default is False,
    )


def _add_compile_options(p: argparse.ArgumentParser, inductance_help: str) -> None:
    g = p.add_argument_group("hardware")
    g.add_argument("--realization", default="auto",
                   choices=["auto", "capacitive", "differential", "inductive"],
                   help="how the matrix is built: auto takes the first that can represent it")
    g.add_argument("--c-max", default="1 nF", help="largest programmed capacitor")
    g.add_argument("--c-min", default="0.1 pF", help="smallest realizable capacitor, reported")
    g.add_argument("--inductance", default=None, help=inductance_help)
    g.add_argument("--resistance", default=None, help="cell resistor (default: near-critical damping)")
    g.add_argument("--temperature", default="300 K", help="bath temperature of the board")
    g.add_argument("--bank", type=int, default=None, metavar="BITS",
                   help="quantize couplers to 2^BITS uniform levels (0 = open; default: exact "
                   "values)")
    g.add_argument("--bank-values", default=None, metavar="LIST",
                   help="quantize couplers to these values, e.g. '10p,22p,47p,100p'")
    g.add_argument("--rounding", default="nearest", choices=["nearest", "stochastic"],
                   help="how values are rounded to the bank")


def _board(args: argparse.Namespace, **fields: Any):
    """The BoardOptions of a run: ``fields``, and ``--readout``'s converter if given."""
    from ..sampling.options import DEFAULT_BOARD, BoardOptions

    if getattr(args, "readout", None):
        from ..netlist import load

        nl = load(args.readout)
        if nl.readout is None:
            raise InputError(f"{args.readout}: has no readout: block to read the board through")
        fields["readout"] = nl.readout
    return BoardOptions(**fields) if fields else DEFAULT_BOARD


def _calibration(args: argparse.Namespace):
    """The board calibration of ``--calibration`` (or None); the run's cells then come
    from the calibrated board's design (``--cells-from`` overrides), whose digest must
    match the calibration's."""
    if not getattr(args, "calibration", None):
        return None
    from ..calibration.report import load_calibration
    from ..netlist import load

    cal = load_calibration(args.calibration)
    if not getattr(args, "cells_from", None):
        args.cells_from = cal.design_path()
    nl = load(args.cells_from)
    if cal.design_digest and nl.digest != cal.design_digest:
        raise InputError(f"{args.calibration}: design.digest: calibrated on a board of design "
                         f"{cal.design_digest[:12]}…, not {args.cells_from} ({nl.digest[:12]}…)")
    return cal


def _energy(args: argparse.Namespace):
    from ..sampling.energy import EnergyModel

    return EnergyModel() if getattr(args, "energy", False) else None


def _extra_lines(readout: dict | None, energy: dict | None) -> str:
    """Extra human lines: the readout's part of the error bound, the energy report."""
    from ..sampling.energy import format_energy

    out = ""
    if readout is not None:
        out += (f"\nreadout: systematic error {readout['systematic_error']:.3g} included in the bound "
                f"(statistical {readout['statistical_error_bound']:.3g}); clipped "
                f"{100 * readout['clipped_fraction']:.3g}% of {readout['readings']} readings")
    if energy is not None:
        out += "\n" + format_energy(energy)
    return out


def _emit(args: argparse.Namespace, obj: dict[str, Any], human: str) -> None:
    if getattr(args, "json", False):
        sys.stdout.write(dumps_json(obj))
    else:
        print(human)


# ---------------------------------------------------------------------------


def cmd_program(args: argparse.Namespace) -> int:
    from ..hardware.compiler import compile_matrix

    sources = [(k, getattr(args, k)) for k in ("precision", "covariance", "matrix") if getattr(args, k)]
    if len(sources) != 1:
        raise InputError("give exactly one of --precision, --covariance or --matrix")
    kind, path = sources[0]
    M = read_matrix(path, kind, spd=True)
    mean = read_matrix(args.mean, "mean", vector=True) if args.mean else None
    cal = _calibration(args)  # before the options: it names the board's cells
    opts = _options(args, rc_default=False)
    if cal is not None:
        from ..calibration.compensate import compile_compensated

        design = compile_compensated(M, kind, calibration=cal, mean=mean, options=opts,
                                     bank=_bank(args), rounding=args.rounding, rng=args.seed)
    else:
        design = compile_matrix(M, kind, mean=mean, options=opts, bank=_bank(args),
                                rounding=args.rounding, rng=args.seed)
    write_text(args.out, design.dumps())
    rep = dict(design.program.report)
    rep["output"] = args.out
    human = (
        f"{args.out}: {rep['realization']} realization of a {rep['dimension']}x{rep['dimension']} "
        f"{kind}, {rep['couplers']} couplers; quantization ({rep.get('bank')}): precision error "
        f"{rep['precision_relative_error']:.3g}, covariance error {rep.get('covariance_relative_error', float('nan')):.3g}"
    )
    comp = rep.get("compensation")
    if comp:
        u = comp["calibration_uncertainty"]
        human += (f"\n  compensated for {args.calibration} ({comp['positions_calibrated']} positions): "
                  f"uncompensated covariance error {comp['uncompensated_covariance_error']:.3g}; "
                  f"calibration uncertainty adds {u['covariance_error_mean']:.3g} "
                  f"(95%: {u['covariance_error_p95']:.3g})")
    _emit(args, rep, human)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from ..hardware.design import load_design
    from ..sampling.gaussian import sample

    check_output(args.out)
    design = load_design(args.design)
    cal_info = None
    if args.calibration:  # the design runs on the calibrated board's as-built parts
        from ..calibration.compensate import as_built
        from ..calibration.report import load_calibration
        from ..hardware.design import Design

        cal = load_calibration(args.calibration)
        built = as_built(design.netlist, cal)
        changed = sum(a is not b for a, b in zip(built.elements, design.netlist.elements, strict=True))
        if changed == 0:
            raise InputError(f"{args.calibration}: no calibrated position matches the parts of "
                             f"{args.design}: program it for this board (spu program "
                             "--cells-from the board's design)", "calibration")
        design = Design(built, design.program)
        cal_info = {"calibration": args.calibration, "positions_applied": changed,
                    "compensation": design.program.report.get("compensation")}
    interval = 1.0 / _quantity(args.rate, "Hz", "--rate") if args.rate else None
    burn = None if args.burn_in is None else _parse(args.burn_in, "s", "--burn-in")
    board = _board(args, chains=args.chains, groups=1, interval=interval, burn_in=burn)
    res = sample(design, args.n, seed=args.seed, board=board,
                 budget=Budget(args.max_memory, args.max_chain_steps, output=args.out),
                 energy=_energy(args))
    out = res.samples[0] if args.chains == 1 else res.samples
    save_npy(args.out, out)
    s = res.summary()
    s["output"] = args.out
    if cal_info is not None:
        s["calibrated_board"] = cal_info
    human = (f"{args.out}: {s['samples']} samples of {s['dimension']} variables, interval "
             f"{s['sample_interval']:.3g} s, N_eff {s['effective_samples']:.0f}, emulated time "
             f"{s['emulated_time']:.3g} s")
    ro = s.get("readout")
    if ro is not None:
        cb = ro["bias"]
        human += (f"\nreadout: covariance biased by {cb['total']:.3g} (gain {cb['gain']:.3g}, filter "
                  f"{cb['filter']:.3g}, noise {cb['noise']:.3g}, quantization {cb['quantization']:.3g}); "
                  f"clipped {100 * ro['clipped_fraction']:.3g}% of {ro['readings']} readings")
    if "energy" in s:
        human += _extra_lines(None, s["energy"])
    _emit(args, s, human)
    return 0


def _budget(args: argparse.Namespace):
    from ..sampling.options import RunBudget

    return RunBudget(time=None if args.time is None else _parse(args.time, "s", "--time"), tol=args.tol)


def _save(path: str | None, arr: np.ndarray) -> None:
    import numpy as np
    if not path:
        return
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npy":
        save_npy(path, arr)
    elif ext in (".csv", ".txt"):
        import io

        buf = io.StringIO()
        np.savetxt(buf, np.atleast_2d(arr) if arr.ndim else np.array([[arr]]),
                   delimiter="," if ext == ".csv" else " ", fmt="%.17g")
        write_text(path, buf.getvalue())
    else:
        raise InputError(f"--out: unknown format {ext!r} (use .npy, .csv or .txt)")


def _info_dict(info) -> dict[str, Any]:
    d = info.to_dict()
    d.pop("history", None)
    d["compile_reports"] = d["compile_reports"][:2]
    return d


def _progress(args: argparse.Namespace, what: str):
    from .progress import TerminalProgress

    return TerminalProgress(what, quiet=args.json or args.quiet)


def cmd_invert(args: argparse.Namespace) -> int:
    from ..sampling.linalg import inv

    A = read_matrix(args.matrix, spd=True)
    if args.out:
        check_output(args.out)
    cal = _calibration(args)
    X, info = inv(A, _budget(args), seed=args.seed, quantization=_quantization(args),
                  board=_board(args), options=_options(args, rc_default=True),
                  progress=_progress(args, "inverting"), energy=_energy(args), calibration=cal)
    _save(args.out, X)
    _emit(args, {"inverse": X, **_info_dict(info)},
          f"inverse of {A.shape[0]}x{A.shape[0]}: relative error ≤ {info.relative_error_estimate:.3g} (95%), "
          f"N_eff {info.effective_samples:.0f}, emulated {info.emulated_time:.3g} s, wall {info.wall_time:.3g} s"
          + _extra_lines(info.readout, info.energy) + _calibration_line(info))
    return 0


def cmd_solve(args: argparse.Namespace) -> int:
    from ..sampling.linalg import solve

    A = read_matrix(args.matrix, spd=True)
    b = read_matrix(args.rhs, "right-hand side", vector=True)
    if b.shape != (A.shape[0],):
        raise InputError(f"{args.rhs}: right-hand side has {b.size} values, the matrix "
                         f"{args.matrix} needs {A.shape[0]}")
    if args.out:
        check_output(args.out)
    cal = _calibration(args)
    x, info = solve(A, b, _budget(args), method=args.method, seed=args.seed,
                    quantization=_quantization(args), board=_board(args),
                    options=_options(args, rc_default=True), progress=_progress(args, "solving"),
                    energy=_energy(args), calibration=cal)
    _save(args.out, x)
    _emit(args, {"solution": x, **_info_dict(info)},
          f"solution ({info.method}): relative error ≤ {info.relative_error_estimate:.3g} (95%), "
          f"emulated {info.emulated_time:.3g} s, wall {info.wall_time:.3g} s\n"
          + " ".join(f"{v:.6g}" for v in x) + _extra_lines(info.readout, info.energy)
          + _calibration_line(info))
    return 0


def cmd_logdet(args: argparse.Namespace) -> int:
    import numpy as np

    from ..sampling.linalg import logdet

    A = read_matrix(args.matrix, spd=True)
    cal = _calibration(args)
    val, info = logdet(A, _budget(args), seed=args.seed, quantization=_quantization(args),
                       board=_board(args), options=_options(args, rc_default=True),
                       progress=_progress(args, "logdet"), energy=_energy(args), calibration=cal)
    _emit(args, {"logdet": val, **_info_dict(info)},
          f"log det A = {val:.6g} ± {info.relative_error_estimate:.3g} (95%; the bound is "
          f"absolute on log det A, i.e. relative on det A: ±{100 * np.expm1(info.relative_error_estimate):.2g}%), "
          f"emulated {info.emulated_time:.3g} s, wall {info.wall_time:.3g} s"
          + _extra_lines(info.readout, info.energy) + _calibration_line(info))
    return 0


def _calibration_line(info) -> str:
    """The compensation's summary for a run on a calibrated board ("" otherwise)."""
    reps = getattr(info, "compile_reports", None) or []
    comp = reps[0].get("compensation") if reps else None
    if not comp:
        return ""
    u = comp["calibration_uncertainty"]
    return (f"\ncalibrated board ({comp['calibration']}): compensated covariance error "
            f"{reps[0]['covariance_relative_error']:.3g} (uncompensated "
            f"{comp['uncompensated_covariance_error']:.3g}); the calibration's own uncertainty "
            f"adds {u['covariance_error_mean']:.3g} (95%: {u['covariance_error_p95']:.3g})")


def _add_readout_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("readout")
    g.add_argument("--readout", metavar="NETLIST", default=None,
                   help="read the board through this netlist's readout: block (ADC bits, full "
                   "scale, offset, gain error, noise, anti-alias bandwidth; default: the design's)")
    g.add_argument("--energy", action="store_true",
                   help="report the energy of the run beside a digital computation of the same "
                   "size (every assumption printed; in --json under 'energy')")


def register(subparsers: Any) -> None:
    """Add ``program``, ``sample``, ``invert``, ``solve`` and ``logdet``."""
    p = subparsers.add_parser("program", help="compile a matrix into an SPU design netlist")
    src = p.add_argument_group("target (one of)")
    src.add_argument("--precision", metavar="P", help="precision matrix file (.npy/.csv/.txt)")
    src.add_argument("--covariance", metavar="S", help="covariance matrix file")
    src.add_argument("--matrix", metavar="A", help="matrix to invert (Cov(x) = A^-1)")
    p.add_argument("--mean", help="mean vector file (default 0)")
    p.add_argument("--cells-from", metavar="NETLIST", help="take cell names, L, R, temperature from a netlist")
    _add_compile_options(p, "cell inductance (default 1 uH; 'none' for RC cells)")
    p.add_argument("--calibration", metavar="CAL", default=None,
                   help="board calibration (spu calibrate's YAML): program the values that make "
                        "the calibrated board's as-built parts realize the target")
    p.add_argument("--seed", type=seed, default=0, help="seed for stochastic rounding")
    out_option(p, required=True, help="design netlist to write (.yaml)")
    p.add_argument("--json", action="store_true", help="print the compile report as JSON")
    p.set_defaults(func=cmd_program)

    p = subparsers.add_parser("sample", help="draw Gaussian samples from a programmed SPU design")
    p.add_argument("design", help="a design netlist written by 'spu program'")
    p.add_argument("--samples", dest="n", type=int, required=True, help="samples per chain")
    p.add_argument("--rate", default=None, help="ADC rate (default: the design's readout rate, else 1/relaxation time)")
    p.add_argument("--calibration", metavar="CAL", default=None,
                   help="run the design on this calibrated board's as-built parts (spu calibrate's YAML)")
    p.add_argument("--burn-in", default=None, help="equilibration time before reading (default 15 relaxation times)")
    p.add_argument("--chains", type=int, default=1, help="independent boards read side by side")
    _add_readout_options(p)
    add_budget_options(p)
    p.add_argument("--seed", type=seed, default=0, help="random seed")
    out_option(p, required=True, help="samples .npy, shape (N, d), or (chains, N, d)")
    p.add_argument("--json", action="store_true", help="print the run's summary as JSON")
    p.set_defaults(func=cmd_sample)

    for name, func, helptext in (
        ("invert", cmd_invert, "invert an SPD matrix on the emulated SPU"),
        ("solve", cmd_solve, "solve A x = b on the emulated SPU"),
        ("logdet", cmd_logdet, "log-determinant of an SPD matrix on the emulated SPU"),
    ):
        p = subparsers.add_parser(name, help=helptext)
        p.add_argument("matrix", help="matrix file (.npy/.csv/.txt)")
        if name == "solve":
            p.add_argument("rhs", help="right-hand side b (.npy/.csv/.txt)")
            p.add_argument("--method", default="auto", choices=["auto", "dc", "inverse"],
                           help="dc: relax an RC network to G^-1 b; inverse: x = A^-1 b from an "
                           "inversion run; auto: dc where a resistor network realizes A")
        budget = p.add_mutually_exclusive_group()
        budget.add_argument("--time", default=None,
                            help="emulated hardware time budget, e.g. 10ms (default: run to --tol)")
        budget.add_argument("--tol", type=float, default=None, help="run until the 95%% error bound ≤ TOL (default 0.05)")
        p.add_argument("--seed", type=seed, default=0, help="random seed")
        if name != "logdet":
            out_option(p, help="write the result (.npy/.csv/.txt)")
        if name == "invert":
            p.add_argument("--roundings", type=int, default=1,
                           help="error mitigation: average K stratified roundings to the bank")
        _add_compile_options(p, "cell inductance (default none: RC cells)")
        p.add_argument("--calibration", metavar="CAL", default=None,
                       help="run on this calibrated board (spu calibrate's YAML), programmed to "
                            "compensate its as-built parts; cells from its design")
        _add_readout_options(p)
        p.add_argument("--json", action="store_true", help="print the result and its error report as JSON")
        p.add_argument("--quiet", action="store_true", help="no progress output")
        p.set_defaults(func=func, cells_from=None)
