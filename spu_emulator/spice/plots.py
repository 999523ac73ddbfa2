"""PNG figures of a validation report (matplotlib is imported here only, lazily).

- ``validate_psd.png``: ngspice vs emulator node PSD, and their ratio − 1;
- ``validate_waveform.png``: PWL-driven node voltages (charges for nonlinear
  netlists) from both, and the difference;
- ``validate_covariance.png``: emulator Σ, ngspice trnoise estimate, and their
  difference in units of the check's allowance.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..plots import pyplot, save_png, time_unit
from .validate import ValidationReport


def plot_report(report: ValidationReport, out_dir: str | os.PathLike[str]) -> list[str]:
    """Write one PNG per check in ``report`` into ``out_dir``; returns the paths."""
    out = Path(out_dir)
    if not out.is_dir():
        raise InputError(f"{out} is not a directory", "plot")
    plt = pyplot()
    paths: list[str] = []
    for c in report.checks:
        a = c.arrays
        if not c.ran:
            continue  # e.g. the spectrum of a nonlinear netlist: nothing to plot
        if c.name == "spectrum":
            nodes = [r["node"] for r in c.rows]
            fig, (ax, bx) = plt.subplots(
                2, 1, figsize=(8, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
            )
            for k, n in enumerate(nodes):
                (line,) = ax.loglog(
                    a["freqs"], a["psd_emulator"][:, k], lw=1.2, label=f"{n} emulator"
                )
                ax.loglog(
                    a["freqs"][::25],
                    a["psd_ngspice"][::25, k],
                    "o",
                    ms=2.5,
                    color=line.get_color(),
                    label=f"{n} ngspice" if k == 0 else None,
                )
                bx.semilogx(
                    a["freqs"],
                    a["psd_ngspice"][:, k] / a["psd_emulator"][:, k] - 1,
                    lw=0.8,
                    color=line.get_color(),
                )
            ax.set_ylabel("one-sided PSD (V²/Hz)")
            ax.set_title(f"{report.netlist}: node noise spectra,\nngspice .noise (dots) vs "
                         "emulator (lines)", fontsize=10)
            ax.legend(fontsize=7, ncol=2)
            bx.set_ylabel("ngspice/emulator − 1")
            bx.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3), useOffset=False)
            bx.set_xlabel("frequency (Hz)")
            paths.append(save_png(fig, out / "validate_psd.png"))
        elif c.name == "waveform":
            ft, ut = time_unit(float(a["t"][-1] - a["t"][0]))
            t = a["t"] * ft
            # nonlinear netlists compare charges (aC), linear ones voltages (µV)
            charge = str(c.info.get("quantity", "")).startswith("charge")
            mul, what = (1e18, "node charge (aC)") if charge else (1e6, "node voltage (µV)")
            unit = "aC" if charge else "µV"
            k = min(range(len(c.rows)), key=lambda i: -c.rows[i]["rel_rms_error"])
            fig, (ax, bx) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
            for j in range(min(3, a["v_emulator"].shape[1])):
                (line,) = ax.plot(
                    t, a["v_emulator"][:, j] * mul, lw=1.0, label=f"{c.rows[j]['node']} emulator"
                )
                ax.plot(t[::7], a["v_ngspice"][::7, j] * mul, ".", ms=2, color=line.get_color())
            ax.set_ylabel(what)
            ax.set_title(f"{report.netlist}: the same pwl noise into ngspice (dots)\nand the "
                         "exact emulator (lines)", fontsize=10)
            ax.legend(fontsize=7)
            bx.plot(t, (a["v_ngspice"][:, k] - a["v_emulator"][:, k]) * mul, lw=0.8)
            bx.set_ylabel(f"difference at {c.rows[k]['node']} ({unit})")
            bx.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3), useOffset=False)
            bx.set_xlabel(f"time ({ut})")
            paths.append(save_png(fig, out / "validate_waveform.png"))
        elif c.name == "statistics":
            s_emu, s_ng, allow = a["cov_emulator"], a["cov_ngspice"], a["allowance"]
            fig, axes = plt.subplots(1, 3, figsize=(13, 4))
            vmax = np.abs(s_emu).max()
            for axx, m, title in (
                (axes[0], s_emu, "emulator Σ"),
                (axes[1], s_ng, "ngspice trnoise"),
            ):
                im = axx.imshow(m, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
                axx.set_title(title)
                fig.colorbar(im, ax=axx, shrink=0.8)
            im = axes[2].imshow((s_ng - s_emu) / allow, cmap="RdBu_r", vmin=-1, vmax=1)
            axes[2].set_title("difference / allowance (|·| ≤ 1 passes)")
            fig.colorbar(im, ax=axes[2], shrink=0.8)
            charge = str(c.info.get("quantity", "")).startswith("charge")
            what = "charge covariance (C²)" if charge else "voltage covariance (V²)"
            names = [str(x) for x in c.info.get("nodes", [])]
            if len(names) == s_emu.shape[0]:
                for axx in axes:
                    axx.set_xticks(range(len(names)), names, rotation=90 if len(names) > 6 else 0,
                                   fontsize=7)
                    axx.set_yticks(range(len(names)), names, fontsize=7)
            fig.suptitle(f"{report.netlist}: {what}")
            paths.append(save_png(fig, out / "validate_covariance.png"))
        plt.close("all")
    return paths
