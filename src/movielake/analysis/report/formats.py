"""How the report writes values: money, numbers, multiples, correlations, months.

Pure functions on scalars (no pandas), used by the sentences, the charts' axes and, as
Jinja globals, by the question templates' tables.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
MONTHS = tuple(name[:3] for name in MONTH_NAMES)


def is_missing(value: Any) -> bool:
    """True for None and NaN (SQL NULLs as pandas hands them over)."""
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def money(value: float | None) -> str:
    """US dollars, short: ``$1.2M``, ``$350K``, ``$2.30B``; ``n/a`` when unknown."""
    if is_missing(value):
        return "n/a"
    sign, amount = ("-" if value < 0 else ""), abs(float(value))
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if amount >= limit:
            return f"{sign}${amount / limit:.{2 if suffix == 'B' else 1}f}{suffix}"
    return f"{sign}${amount:,.0f}"


def number(value: Any, digits: int = 2) -> str:
    """A number for prose and tables: integers with separators, floats to ``digits`` places."""
    if is_missing(value):
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral) or (
        isinstance(value, float) and value.is_integer() and digits == 0
    ):
        return f"{int(value):,}"
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        return str(value)
    if as_float.is_integer() and abs(as_float) >= 1000:
        return f"{int(as_float):,}"
    return f"{as_float:,.{digits}f}"


def text(value: Any) -> str:
    """A value as text; empty when unknown."""
    return "" if is_missing(value) else str(value)


def decade(value: Any) -> str:
    """``1990`` -> ``1990s``."""
    return f"{int(value)}s"


def month(value: Any) -> str:
    """Month number 1-12 -> ``Jan`` ... ``Dec``."""
    return MONTHS[int(value) - 1]


def percent(value: Any) -> str:
    """A share 0-1 as a whole percentage; ``n/a`` when unknown."""
    return "n/a" if is_missing(value) else f"{100 * float(value):.0f}%"


def times(ratio: float) -> str:
    """A multiple for prose: ``3.4×`` below ten, ``540×`` from ten up."""
    return f"{ratio:,.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


def correlation_words(r: float) -> str:
    """How strong a correlation coefficient is, in words (|r| < .1 none ... >= .5 strong)."""
    if is_missing(r):
        return "undefined"
    size = abs(r)
    strength = (
        "no real" if size < 0.1 else "a weak" if size < 0.3 else "a moderate" if size < 0.5 else "a strong"
    )
    direction = "" if size < 0.1 else (" positive" if r > 0 else " negative")
    return f"{strength}{direction}"


def shorten(value: str, limit: int) -> str:
    """``value`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


TABLE_FORMATS = {
    "text": text,
    "money": money,
    "number": number,
    "decade": decade,
    "month": month,
    "percent": percent,
}
