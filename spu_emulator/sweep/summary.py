"""A sweep's summary table (CSV) and its plot (PNG, matplotlib imported here only).

The table has one row per point, by index: the point's overrides (one column per swept
path), its board and seed, ``status`` (ok / error), the chosen result fields, then every
top-level number or string of the results, and the error. The plot shows each chosen
field against the first swept value, one line per value of the second (at most two
swept values); repeated points (seeds, draws, boards) give the mean ± one standard
deviation.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .points import Point
from .spec import SweepSpec, parse_path, si_value


def field_value(result: Any, path: str) -> Any:
    """``modes[0].frequency`` of a result (nested dicts and lists), or None if absent."""
    cur = result
    for k in parse_path(path):
        if isinstance(k, int):
            if not isinstance(cur, list) or k >= len(cur):
                return None
        elif not isinstance(cur, dict) or k not in cur:
            return None
        cur = cur[k]
    return cur


def _field(record: dict[str, Any], path: str) -> Any:
    """A chosen field of a finished point: kept aside by the engine (``fields``), else
    looked up in its result."""
    kept = record.get("fields")
    if isinstance(kept, dict) and path in kept:
        return kept[path]
    return field_value(record.get("result"), path)


def _swept_paths(spec: SweepSpec) -> list[str]:
    out: list[str] = []
    for a in spec.axes:
        if a[0] == "set":
            out.append(a[1])
        elif a[0] == "zip":
            out += list(a[1])
        elif a[0] == "random":
            out += [d.path for d in a[1]]
    return out


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (dict, list)):
        import json

        return json.dumps(v)
    return str(v)


def write_summary(path: Path, spec: SweepSpec, pts: Sequence[Point], records: dict[int, dict],
                  fields: Sequence[str]) -> Path:
    """DIR/summary.csv (see the module docstring), written atomically."""
    from ..io import write_text

    swept = _swept_paths(spec)
    mc = any(a[0] == "montecarlo" for a in spec.axes)
    first = next((r["result"] for _, r in sorted(records.items()) if "result" in r), None)
    scalars = [k for k, v in (first.items() if isinstance(first, dict) else ())
               if isinstance(v, (int, float, str, bool)) and k not in fields]
    head = ["index", *swept, *(["board"] if mc else []), "seed", "status", *fields, *scalars,
            "error"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(head)
    for p in pts:
        r = records.get(p.index)
        ov = dict(p.overrides)
        row = [p.index, *(ov.get(s) for s in swept), *([p.board] if mc else []), p.seed]
        if r is None:
            row += ["missing", *([None] * (len(fields) + len(scalars))), None]
        elif "result" in r:
            res = r["result"]
            row += ["ok", *(_field(r, f) for f in fields),
                    *(res.get(k) if isinstance(res, dict) else None for k in scalars), None]
        else:
            row += ["error", *([None] * (len(fields) + len(scalars))), r.get("error")]
        w.writerow([_cell(v) for v in row])
    write_text(path, buf.getvalue())
    return path


def _number(v: Any) -> float:
    try:
        return si_value(v)
    except ValueError:
        return math.nan


def write_plot(path: Path, spec: SweepSpec, pts: Sequence[Point], records: dict[int, dict],
               fields: Sequence[str]) -> Path | None:
    """DIR/plot.png of ``fields`` against the one or two swept values (None when the
    sweep has no swept value or more than two)."""
    import numpy as np

    swept = spec.swept
    if not 1 <= len(swept) <= 2 or not fields:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io import atomic_path

    xs_of = {}
    for p in pts:
        ov = dict(p.overrides)
        xs_of[p.index] = tuple(ov[s] for s in swept)
    xkey = swept[0]
    x_vals = list(dict.fromkeys(k[0] for k in xs_of.values()))
    g_vals = list(dict.fromkeys(k[1] for k in xs_of.values())) if len(swept) == 2 else [None]
    numeric = all(math.isfinite(_number(v)) for v in x_vals)
    xpos = [_number(v) for v in x_vals] if numeric else list(range(len(x_vals)))
    fig, axes = plt.subplots(len(fields), 1, figsize=(6.4, 3.2 * len(fields)), squeeze=False)
    for ax, f in zip(axes[:, 0], fields, strict=True):
        for g in g_vals:
            mean, std = [], []
            for xv in x_vals:
                ys = []
                for i, k in xs_of.items():
                    if k[0] == xv and (g is None or k[1] == g) and "result" in records.get(i, {}):
                        y = _field(records[i], f)
                        if isinstance(y, (int, float)) and not isinstance(y, bool):
                            ys.append(float(y))
                mean.append(np.mean(ys) if ys else np.nan)
                std.append(np.std(ys, ddof=1) if len(ys) > 1 else 0.0)
            label = None if g is None else f"{swept[1]} = {g}"
            ax.errorbar(xpos, mean, yerr=std if any(std) else None, marker="o", capsize=3,
                        label=label)
        ax.set_ylabel(f)
        ax.set_xlabel(xkey)
        if not numeric:
            ax.set_xticks(xpos, [str(v) for v in x_vals])
        if g_vals != [None]:
            ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{Path(spec.file).name}: spu {' '.join(spec.command)}", fontsize="small")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    return path


__all__ = ["field_value", "write_plot", "write_summary"]
