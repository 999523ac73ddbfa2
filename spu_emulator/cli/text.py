"""Plain-text rendering of results for the terminal: counts with the right plural,
long name lists cut short, tables of modes, matrices and estimates with errors."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

#: Names listed in full up to this many; longer lists show the first few and a count.
MAX_NAMES = 8
#: Matrices printed entry by entry up to this size; bigger ones are summarized.
MAX_MATRIX = 10


def si(x: float, unit: str) -> str:
    from ..units import format_si

    return format_si(float(x), unit)


def plural(n: int, word: str, words: str | None = None) -> str:
    """'1 source', '3 sources' (``words`` for irregular plurals)."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def names(items: Sequence[str], limit: int = MAX_NAMES) -> str:
    """'a, b, c' or 'n1, n2, …, n8 (+568 more)'."""
    items = list(items)
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f", … (+{len(items) - limit} more)"


def modes_table(modes: Sequence[dict[str, Any]], indent: str = "  ", limit: int = 12) -> list[str]:
    """Frequency, decay rate, time constant and Q of each mode (slowest first)."""
    out = [f"{indent}{'mode':>4}  {'frequency':>12}  {'decay rate':>12}  {'time constant':>13}  {'Q':>7}"]
    for k, m in enumerate(modes[:limit]):
        q = f"{m['quality_factor']:.3g}" if m.get("quality_factor") else "-"
        out.append(f"{indent}{k + 1:>4}  {si(m['frequency'], 'Hz'):>12}  {si(m['decay_rate'], '/s'):>12}  "
                   f"{si(m['time_constant'], 's'):>13}  {q:>7}")
    if len(modes) > limit:
        out.append(f"{indent}      … {plural(len(modes) - limit, 'more mode')}")
    return out


def matrix(labels: Sequence[str], M, fmt: str = "{:.3f}", indent: str = "  ") -> list[str]:
    """A labelled square matrix (only for small ones: see :data:`MAX_MATRIX`)."""
    w = max(7, max(len(n) for n in labels) + 1)
    out = [indent + " " * w + "".join(f"{n:>{w}}" for n in labels)]
    for i, n in enumerate(labels):
        out.append(f"{indent}{n:<{w}}" + "".join(f"{fmt.format(M[i][j]):>{w}}" for j in range(len(labels))))
    return out


def estimate(value: float, stderr: float | None, unit: str) -> str:
    """'4.142 pV² ± 0.031' (the error in the value's own prefix)."""
    text = si(value, unit)
    if stderr is None or not math.isfinite(stderr):
        return text
    scale = abs(value) if value else 1.0
    return f"{text} ± {stderr / scale * 100:.2g}%"
