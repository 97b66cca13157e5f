"""``movielake report``: the seven analyses as one self-contained HTML page.

``build_report`` takes the query results (name -> DataFrame, as ``engines.run_all`` returns
them) and writes ``index.html``: per question, the question, a one-sentence answer computed
from the data, the top rows, and a chart. Charts are matplotlib PNGs embedded as base64
``data:`` URIs and the CSS is inline, so the page opens offline as a single file.

Results are found by query number (``q1`` matches ``q1_roi``), and a missing result or column
turns that section into a note instead of failing the whole report. pandas and matplotlib are
imported inside functions so ``movielake --help`` stays fast.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

DEFAULT_OUT_DIR = Path("build") / "report"
TABLE_ROWS = 10
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
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
ACCENT, MUTED, HIGHLIGHT = "#2f6690", "#9db4c0", "#d1495b"


class MissingData(LookupError):  # noqa: N818 - a section's answer, not a program error
    """A section's result or one of its columns is absent; the section says so instead."""


class EmptyAnswer(Exception):  # noqa: N818 - an answer of "none", not a program error
    """The answer is "none" (e.g. no hidden gem): the sentence says so; no chart or table."""


# --------------------------------------------------------------------------------------------
# Formatting helpers (pure).


def money(value: float | None) -> str:
    """US dollars, short: ``$1.2M``, ``$350K``, ``$2.30B``; ``n/a`` when unknown."""
    if value is None or _is_nan(value):
        return "n/a"
    sign, amount = ("-" if value < 0 else ""), abs(float(value))
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if amount >= limit:
            return f"{sign}${amount / limit:.{2 if suffix == 'B' else 1}f}{suffix}"
    return f"{sign}${amount:,.0f}"


def number(value: Any, digits: int = 2) -> str:
    """A number for prose and tables: integers with separators, floats to ``digits`` places."""
    if value is None or _is_nan(value):
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


def times(ratio: float) -> str:
    """A multiple for prose: ``3.4×`` below ten, ``540×`` from ten up."""
    return f"{ratio:,.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


def correlation_words(r: float) -> str:
    """How strong a correlation coefficient is, in words (|r| < .1 none ... >= .5 strong)."""
    if _is_nan(r):
        return "undefined"
    size = abs(r)
    strength = (
        "no real" if size < 0.1 else "a weak" if size < 0.3 else "a moderate" if size < 0.5 else "a strong"
    )
    direction = "" if size < 0.1 else (" positive" if r > 0 else " negative")
    return f"{strength}{direction}"


def _is_nan(value: Any) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def find_result(results: Mapping[str, pd.DataFrame], key: str) -> pd.DataFrame:
    """The result for ``q1`` (exact name, or a name ``q1_...``); MissingData if there is none."""
    if key in results:
        return results[key]
    for name, frame in results.items():
        if name.split("_", 1)[0] == key:
            return frame
    raise MissingData(f"no result for {key}")


def need(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """The frame, if it has every column; MissingData naming the missing ones otherwise."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingData(f"the result lacks column(s) {', '.join(missing)}")
    return frame


def html_table(
    frame: pd.DataFrame,
    columns: Sequence[tuple[str, str, Callable[[Any], str]]],
    max_rows: int = TABLE_ROWS,
) -> str:
    """An escaped HTML table of the first rows: (column, heading, formatter) per column."""
    present = [c for c in columns if c[0] in frame.columns]
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in present)
    rows = []
    for _, row in frame.head(max_rows).iterrows():
        cells = "".join(f"<td>{html.escape(fmt(row[name]))}</td>" for name, _, fmt in present)
        rows.append(f"<tr>{cells}</tr>")
    caption = f"<caption>first {max_rows} of {len(frame):,} rows</caption>" if len(frame) > max_rows else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _text(value: Any) -> str:
    return "" if value is None or _is_nan(value) else str(value)


def _digits(n: int) -> Callable[[Any], str]:
    return lambda v: number(v, n)


# --------------------------------------------------------------------------------------------
# Sections: sentence, table and chart per question.


@dataclass(frozen=True)
class Section:
    """One question of the report and how to answer it from the results."""

    key: str  # query number, q1 ... q7
    title: str
    question: str
    sentence: Callable[[Mapping[str, pd.DataFrame]], str]
    table: Callable[[Mapping[str, pd.DataFrame]], str]
    chart: Callable[[Mapping[str, pd.DataFrame], Any], None]  # draws on a matplotlib Figure
    chart_height: float = 4.2  # inches, at 9 inches wide


def _films_with_roi(results: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    frame = need(find_result(results, "q1"), "imdb_id", "title", "budget", "revenue", "roi")
    frame = frame.dropna(subset=["roi"])
    if frame.empty:
        raise MissingData("no film has both a budget and a revenue")
    return frame


def q1_sentence(results: Mapping[str, pd.DataFrame]) -> str:
    """Median ROI, share of films that earned more than their budget, and the best film."""
    films = _films_with_roi(results)
    best = films.loc[films["roi"].astype(float).idxmax()]
    profitable = float((films["roi"] > 0).mean()) * 100
    return (
        f"The median ROI of {len(films):,} films with a known budget and revenue is "
        f"{number(films['roi'].median())}; {profitable:.0f}% earned more than they cost. The best is "
        f"{best['title']} (ROI {number(best['roi'], 1)}: {money(best['budget'])} budget, "
        f"{money(best['revenue'])} revenue)."
    )


def q1_table(results: Mapping[str, pd.DataFrame]) -> str:
    """The films with the highest ROI."""
    films = _films_with_roi(results).sort_values("roi", ascending=False)
    return html_table(
        films,
        [
            ("imdb_id", "IMDb id", _text),
            ("title", "Title", _text),
            ("budget", "Budget", money),
            ("revenue", "Revenue", money),
            ("roi", "ROI", _digits(2)),
        ],
    )


def q1_chart(results: Mapping[str, pd.DataFrame], fig: Any) -> None:
    """Histogram of revenue/budget (= ROI + 1) on a log axis, break-even and median marked."""
    import numpy as np

    films = _films_with_roi(results)
    multiple = (films["roi"].astype(float) + 1).clip(lower=1e-3)
    ax = fig.subplots()
    bins = np.logspace(math.log10(multiple.min()), math.log10(max(multiple.max(), multiple.min() * 1.01)), 30)
    ax.hist(multiple, bins=bins, color=ACCENT, edgecolor="white")
    ax.set_xscale("log")
    ax.axvline(1, color=HIGHLIGHT, linestyle="--", label="break-even (ROI 0)")
    ax.axvline(float(multiple.median()), color="black", linestyle=":", label="median")
    ax.xaxis.set_major_formatter(_times_formatter())
    _labels(ax, "ROI distribution", "revenue ÷ budget (log scale; ROI = this − 1)", "films")
    ax.legend(frameon=False)


def _times_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{v:g}×")


def _labels(ax: Axes, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, loc="left", fontsize=12, fontweight="bold")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)


def _decades(results: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    frame = need(find_result(results, "q2"), "decade", "films", "avg_roi").dropna(subset=["avg_roi"])
    if frame.empty:
        raise MissingData("no dated film has a ROI")
    return frame.sort_values("decade")


def q2_sentence(results: Mapping[str, pd.DataFrame]) -> str:
    """The decades with the highest and lowest average ROI."""
    decades = _decades(results)
    best = decades.loc[decades["avg_roi"].astype(float).idxmax()]
    worst = decades.loc[decades["avg_roi"].astype(float).idxmin()]
    return (
        f"Across {len(decades)} decades ({int(decades['films'].sum()):,} films), the "
        f"{int(best['decade'])}s had the highest average ROI ({number(best['avg_roi'])}, "
        f"{int(best['films']):,} films) and the {int(worst['decade'])}s the lowest "
        f"({number(worst['avg_roi'])}, {int(worst['films']):,} films)."
    )


def q2_table(results: Mapping[str, pd.DataFrame]) -> str:
    """Average (and range of) ROI per decade."""
    return html_table(
        _decades(results),
        [
            ("decade", "Decade", lambda v: f"{int(v)}s"),
            ("films", "Films", _digits(0)),
            ("avg_roi", "Average ROI", _digits(2)),
            ("min_roi", "Min ROI", _digits(2)),
            ("max_roi", "Max ROI", _digits(2)),
        ],
    )


def q2_chart(results: Mapping[str, pd.DataFrame], fig: Any) -> None:
    """Bar per decade of the average ROI, with the film count on each bar."""
    decades = _decades(results)
    ax = fig.subplots()
    labels = [f"{int(d)}s" for d in decades["decade"]]
    bars = ax.bar(labels, decades["avg_roi"].astype(float), color=ACCENT)
    ax.bar_label(bars, labels=[f"n={int(n)}" for n in decades["films"]], fontsize=8, padding=2)
    ax.axhline(0, color="black", linewidth=0.8)
    _labels(ax, "Average ROI by decade of release", "decade", "average ROI (revenue ÷ budget − 1)")


def _quintiles(results: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    frame = need(find_result(results, "q3"), "corr_budget_revenue")
    if frame.empty:
        raise MissingData("no film has both a budget and a revenue")
    return frame


def _revenue_column(frame: pd.DataFrame) -> str:
    for name in ("median_revenue", "avg_revenue", "revenue"):
        if name in frame.columns:
            return name
    raise MissingData("the result has no revenue column per budget quintile")


def q3_sentence(results: Mapping[str, pd.DataFrame]) -> str:
    """The correlation, and how the top budget quintile's revenue compares with the bottom's."""
    frame = _quintiles(results)
    r = float(frame["corr_budget_revenue"].iloc[0])
    films = int(frame["films_with_roi"].iloc[0]) if "films_with_roi" in frame.columns else None
    over = f" over {films:,} films" if films else ""
    sentence = f"Budget and revenue show {correlation_words(r)} correlation (Pearson r = {r:.2f}{over})"
    if "budget_quintile" in frame.columns and len(frame) >= 2:
        column = _revenue_column(frame)
        ordered = frame.sort_values("budget_quintile")
        low, high = float(ordered[column].iloc[0]), float(ordered[column].iloc[-1])
        what = column.replace("_", " ")
        sentence += (
            f"; the biggest-budget fifth of films has a {what} of {money(high)}, "
            f"{times(high / low)} the {money(low)} of the smallest-budget fifth"
            if low > 0
            else ""
        )
    return sentence + "."


def q3_table(results: Mapping[str, pd.DataFrame]) -> str:
    """Revenue per budget quintile."""
    return html_table(
        _quintiles(results),
        [
            ("budget_quintile", "Budget quintile", _digits(0)),
            ("films", "Films", _digits(0)),
            ("budget_min", "Budget from", money),
            ("budget_max", "Budget to", money),
            ("median_revenue", "Median revenue", money),
            ("avg_revenue", "Average revenue", money),
            ("avg_roi", "Average ROI", _digits(2)),
        ],
    )


def q3_chart(results: Mapping[str, pd.DataFrame], fig: Any) -> None:
    """Budget vs revenue per film (q1's rows) on log axes, and revenue per budget quintile."""
    frame = _quintiles(results)
    r = float(frame["corr_budget_revenue"].iloc[0])
    try:
        films = _films_with_roi(results)
    except MissingData:
        films = None
    has_quintiles = "budget_quintile" in frame.columns
    left, right = (
        fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]}) if has_quintiles else (fig.subplots(), None)
    )
    if films is not None:
        budget, revenue = films["budget"].astype(float), films["revenue"].astype(float)
        left.scatter(budget, revenue, s=12, alpha=0.6, color=ACCENT, edgecolors="none")
        low, high = min(budget.min(), revenue.min()), max(budget.max(), revenue.max())
        left.plot([low, high], [low, high], color=HIGHLIGHT, linestyle="--", linewidth=1, label="break-even")
        left.set_xscale("log")
        left.set_yscale("log")
        left.xaxis.set_major_formatter(_money_formatter())
        left.yaxis.set_major_formatter(_money_formatter())
        left.legend(frameon=False, loc="upper left")
    _labels(left, f"Budget vs revenue (Pearson r = {r:.2f})", "budget (USD, log)", "revenue (USD, log)")
    if right is not None:
        column = _revenue_column(frame)
        ordered = frame.sort_values("budget_quintile")
        right.bar(
            [f"Q{int(q)}" for q in ordered["budget_quintile"]], ordered[column].astype(float), color=ACCENT
        )
        right.yaxis.set_major_formatter(_money_formatter())
        _labels(
            right,
            f"{column.replace('_', ' ').capitalize()} by quintile",
            "budget quintile (Q1 smallest)",
            "USD",
        )


def _money_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: money(v))


def _artists(results: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    frame = need(
        find_result(results, "q4"), "artist", "films", "avg_vote_average", "avg_revenue", "avg_popularity"
    )
    if frame.empty:
        raise MissingData("no artist of the movies CSV has an enriched film")
    return frame


def q4_sentence(results: Mapping[str, pd.DataFrame]) -> str:
    """The artist in the most films, with their films' ratings, revenue and popularity."""
    top = _artists(results).iloc[0]
    return (
        f"{top['artist']} appears in the most enriched films ({int(top['films']):,}); those films average "
        f"a vote of {number(top['avg_vote_average'], 1)}, a revenue of {money(top['avg_revenue'])} and a "
        f"popularity of {number(top['avg_popularity'], 1)}."
    )


def q4_table(results: Mapping[str, pd.DataFrame]) -> str:
    """The top artists."""
    return html_table(
        _artists(results),
        [
            ("artist", "Artist", _text),
            ("films", "Films", _digits(0)),
            ("avg_vote_average", "Average vote", _digits(2)),
            ("avg_revenue", "Average revenue", money),
            ("films_with_revenue", "Films with revenue", _digits(0)),
            ("avg_popularity", "Average popularity", _digits(1)),
        ],
    )


def q4_chart(results: Mapping[str, pd.DataFrame], fig: Any) -> None:
    """Horizontal bars of films per artist, the average vote written on each bar."""
    artists = _artists(results).head(TABLE_ROWS).iloc[::-1]
    ax = fig.subplots()
    bars = ax.barh(artists["artist"].astype(str), artists["films"].astype(float), color=ACCENT)
    ax.bar_label(
        bars, labels=[f"vote {number(v, 1)}" for v in artists["avg_vote_average"]], fontsize=8, padding=3
    )
    _labels(ax, "Artists with the most enriched films", "films", "")
    ax.grid(axis="x", alpha=0.3)
    ax.grid(axis="y", visible=False)


def _coefficients(results: Mapping[str, pd.DataFrame]) -> pd.Series:
    frame = need(find_result(results, "q5"), "pearson_vote_popularity", "spearman_vote_popularity")
    if frame.empty:
        raise MissingData("no film has votes and a popularity")
    return frame.iloc[0]


def q5_sentence(results: Mapping[str, pd.DataFrame]) -> str:
    """Both correlation coefficients, in words and numbers."""
    row = _coefficients(results)
    pearson, spearman = float(row["pearson_vote_popularity"]), float(row["spearman_vote_popularity"])
    films = f" over {int(row['films']):,} films" if "films" in row and not _is_nan(row["films"]) else ""
    return (
        f"Vote average and popularity show {correlation_words(pearson)} correlation{films}: "
        f"Pearson {pearson:.2f}, Spearman (ranks) {spearman:.2f}."
    )


def q5_table(results: Mapping[str, pd.DataFrame]) -> str:
    """The coefficients."""
    return html_table(
        need(find_result(results, "q5"), "pearson_vote_popularity"),
        [
            ("films", "Films", _digits(0)),
            ("pearson_vote_popularity", "Pearson", _digits(3)),
            ("spearman_vote_popularity", "Spearman", _digits(3)),
        ],
    )


def q5_chart(results: Mapping[str, pd.DataFrame], fig: Any) -> None:
    """The two coefficients as bars on the full −1 … 1 scale, strength bands shaded."""
    row = _coefficients(results)
    values = [float(row["pearson_vote_popularity"]), float(row["spearman_vote_popularity"])]
    ax = fig.subplots()
    for edge, alpha in ((0.1, 0.15), (0.3, 0.1), (0.5, 0.05)):
        ax.axvspan(-edge, edge, color=MUTED, alpha=alpha, linewidth=0)
    bars = ax.barh(["Spearman (ranks)", "Pearson"], values[::-1], color=[MUTED, ACCENT], height=0.5)
    ax.bar_label(bars, labels=[f"{v:.2f}" for v in values[::-1]], padding=4)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlim(-1, 1)
    _labels(ax, "Correlation of vote average and popularity", "correlation coefficient (−1 … 1)", "")
    ax.grid(axis="x", alpha=0.3)
    ax.grid(axis="y", visible=False)


def _months(results: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    frame = need(find_result(results, "q6"), "month", "hits", "films")
    if frame.empty or float(frame["films"].sum()) == 0:
        raise MissingData("no dated film has a ROI")
    return frame.sort_values("month")


def q6_sentence(results: Mapping[str, pd.DataFrame]) -> str:
    """The month with the most hits, and the overall hit rate."""
    months = _months(results)
    top = months.loc[months["hits"].astype(float).idxmax()]
    hits, films = int(months["hits"].sum()), int(months["films"].sum())
    return (
        f"{MONTH_NAMES[int(top['month']) - 1]} has the most hits ({int(top['hits']):,} of "
        f"{int(top['films']):,} films released that month); overall {hits:,} of {films:,} dated films "
        f"({100 * hits / films:.0f}%) earned at least twice their budget."
    )


def q6_table(results: Mapping[str, pd.DataFrame]) -> str:
    """Hits and films per month."""
    return html_table(
        _months(results),
        [
            ("month", "Month", lambda m: MONTHS[int(m) - 1]),
            ("hits", "Hits", _digits(0)),
            ("films", "Films", _digits(0)),
            (
                "hit_rate",
                "Hit rate",
                lambda v: "n/a" if _is_nan(v) or v is None else f"{100 * float(v):.0f}%",
            ),
        ],
        max_rows=12,
    )


def q6_chart(results: Mapping[str, pd.DataFrame], fig: Any) -> None:
    """Stacked bars per month: hits and other films."""
    months = _months(results).set_index("month").reindex(range(1, 13), fill_value=0)
    hits = months["hits"].astype(float)
    others = months["films"].astype(float) - hits
    ax = fig.subplots()
    ax.bar(MONTHS, hits, color=HIGHLIGHT, label="hits (ROI ≥ 1)")
    ax.bar(MONTHS, others, bottom=hits, color=MUTED, label="other films")
    ax.legend(frameon=False)
    _labels(ax, "Hits by month of release", "month of release", "films")


def _gems(results: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    return need(find_result(results, "q7"), "imdb_id", "title", "vote_count", "roi")


def q7_sentence(results: Mapping[str, pd.DataFrame]) -> str:
    """How many gems, by which thresholds, and the biggest one."""
    gems = _gems(results)
    rule = ""
    if {"vote_count_p25", "roi_p90"} <= set(gems.columns) and not gems.empty:
        rule = (
            f" (fewer than {number(gems['vote_count_p25'].iloc[0], 0)} votes, the bottom quarter, "
            f"and an ROI above {number(gems['roi_p90'].iloc[0], 1)}, the top tenth)"
        )
    if gems.empty:
        return "No film is a hidden gem: none combines few votes with a top-tenth ROI."
    best = gems.loc[gems["roi"].astype(float).idxmax()]
    return (
        f"{len(gems):,} films are hidden gems{rule}; the biggest is {best['title']} "
        f"(ROI {number(best['roi'], 1)} with {int(best['vote_count']):,} votes)."
    )


def q7_table(results: Mapping[str, pd.DataFrame]) -> str:
    """The gems."""
    return html_table(
        _gems(results).sort_values("roi", ascending=False),
        [
            ("imdb_id", "IMDb id", _text),
            ("title", "Title", _text),
            ("vote_count", "Votes", _digits(0)),
            ("roi", "ROI", _digits(2)),
        ],
    )


def q7_chart(results: Mapping[str, pd.DataFrame], fig: Any) -> None:
    """Horizontal bars of the gems' ROI (top 15), their vote counts written on the bars."""
    gems = _gems(results).sort_values("roi", ascending=False).head(15).iloc[::-1]
    if gems.empty:
        raise EmptyAnswer("no hidden gem")
    ax = fig.subplots()
    labels = [_short(str(t), 28) + f" ({i})" for t, i in zip(gems["title"], gems["imdb_id"], strict=True)]
    bars = ax.barh(labels, gems["roi"].astype(float), color=HIGHLIGHT)
    ax.bar_label(bars, labels=[f"{int(v):,} votes" for v in gems["vote_count"]], fontsize=8, padding=3)
    if "roi_p90" in gems.columns:
        threshold = float(gems["roi_p90"].iloc[0])
        ax.axvline(threshold, color="black", linestyle=":")
        xlabel = f"ROI (revenue ÷ budget − 1); dotted line: the top-tenth threshold, {number(threshold, 1)}"
    else:
        xlabel = "ROI (revenue ÷ budget − 1)"
    _labels(ax, "Hidden gems: ROI of films few people voted for", xlabel, "")
    ax.grid(axis="x", alpha=0.3)
    ax.grid(axis="y", visible=False)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


SECTIONS: tuple[Section, ...] = (
    Section(
        "q1",
        "Return on investment per film",
        "Which films returned the most money per dollar of budget?",
        q1_sentence,
        q1_table,
        q1_chart,
    ),
    Section(
        "q2",
        "ROI by decade of release",
        "Has the return on investment of films changed from decade to decade?",
        q2_sentence,
        q2_table,
        q2_chart,
    ),
    Section(
        "q3",
        "Budget versus revenue",
        "Do bigger budgets bring bigger revenues?",
        q3_sentence,
        q3_table,
        q3_chart,
    ),
    Section(
        "q4",
        "Artists with the most enriched films",
        "Which artists appear in the most films, and how are those films rated, how much do they earn "
        "and how popular are they?",
        q4_sentence,
        q4_table,
        q4_chart,
        chart_height=3.6,
    ),
    Section(
        "q5",
        "Critics versus popularity",
        "Do the films voters rate best also tend to be the most popular?",
        q5_sentence,
        q5_table,
        q5_chart,
        chart_height=2.4,
    ),
    Section(
        "q6",
        "Seasonality of hits",
        "In which months of the year are hits released?",
        q6_sentence,
        q6_table,
        q6_chart,
    ),
    Section(
        "q7",
        "Hidden gems",
        "Which films made a large return while few people voted for them?",
        q7_sentence,
        q7_table,
        q7_chart,
    ),
)


# --------------------------------------------------------------------------------------------
# The page.


def chart_png(draw: Callable[[Any], None], width: float = 9.0, height: float = 4.2) -> bytes:
    """Render a chart with the Agg backend (no display needed) to PNG bytes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    draw(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    """A ``data:`` URI embedding PNG bytes, so the page needs no other file."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def section_html(section: Section, results: Mapping[str, pd.DataFrame], title: str, question: str) -> str:
    """One section: heading, question, answer sentence, chart and table (or a note)."""
    parts = [
        f'<section id="{section.key}">',
        f"<h2>{html.escape(section.key.upper())} · {html.escape(title)}</h2>",
        f'<p class="question">{html.escape(question)}</p>',
    ]
    try:
        parts.append(f'<p class="answer">{html.escape(section.sentence(results))}</p>')
        png = chart_png(lambda fig: section.chart(results, fig), height=section.chart_height)
        alt = f"chart: {title}"
        parts.append(f'<img src="{data_uri(png)}" alt="{html.escape(alt, quote=True)}">')
        parts.append(section.table(results))
    except EmptyAnswer:
        pass  # the sentence already says there is nothing to show
    except MissingData as exc:
        parts.append(f'<p class="missing">No answer: {html.escape(str(exc))}.</p>')
    parts.append("</section>")
    return "\n".join(parts)


def query_headers(sql_dir: Path | None = None) -> dict[str, tuple[str, str]]:
    """Title and question per query number from the SQL files' headers (empty if unreadable)."""
    try:
        from movielake.analysis.queries import discover

        return {name.split("_", 1)[0]: (q.title, q.question) for name, q in discover(sql_dir).items()}
    except (ImportError, OSError):
        return {}


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
  background:#f4f6f8;color:#1d2a35}
header{background:#1d3b53;color:#fff;padding:28px 40px}header h1{margin:0 0 6px;font-size:26px}
header p{margin:0;opacity:.8}nav{padding:10px 40px;background:#fff;border-bottom:1px solid #dde3e8}
nav a{margin-right:14px;color:#2f6690;text-decoration:none;font-size:14px}
main{max-width:1040px;margin:0 auto;padding:20px}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);
  padding:20px 26px;margin:20px 0}
h2{margin:0 0 6px;font-size:20px;color:#1d3b53}.question{margin:0 0 12px;color:#5b6b78;font-style:italic}
.answer{font-size:17px;line-height:1.5;background:#eef4f8;border-left:4px solid #2f6690;padding:10px 14px}
.missing{color:#a33}img{max-width:100%;height:auto;display:block;margin:12px 0}
table{border-collapse:collapse;width:100%;font-size:14px;margin-top:8px}
caption{caption-side:bottom;text-align:left;color:#5b6b78;font-size:12px;padding-top:4px}
th{text-align:left;background:#f0f3f6;padding:6px 8px;border-bottom:2px solid #dde3e8}
td{padding:5px 8px;border-bottom:1px solid #eef1f4}tr:nth-child(even) td{background:#fafbfc}
footer{text-align:center;color:#8899a6;font-size:12px;padding:20px}
"""


def render_page(
    results: Mapping[str, pd.DataFrame],
    headers: Mapping[str, tuple[str, str]] | None = None,
    generated_at: datetime | None = None,
) -> str:
    """The whole HTML page as text (headers: query number -> (title, question))."""
    headers = headers or {}
    moment = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    nav, sections = [], []
    for section in SECTIONS:
        title, question = headers.get(section.key, (section.title, section.question))
        nav.append(f'<a href="#{section.key}">{html.escape(section.key.upper())} {html.escape(title)}</a>')
        sections.append(section_html(section, results, title, question))
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>movielake report</title><style>{CSS}</style></head><body>",
            "<header><h1>movielake — what the films say</h1>",
            f"<p>Seven questions answered from the Raw zone (TMDB enrichment and the PB CSVs). "
            f"Generated {html.escape(moment)}. ROI = (revenue − budget) ÷ budget; a budget or revenue "
            f"of 0 is unknown.</p></header>",
            f"<nav>{''.join(nav)}</nav>",
            "<main>",
            *sections,
            "</main>",
            "<footer>movielake · charts rendered with matplotlib · this file is self-contained</footer>",
            "</body></html>",
        ]
    )


def build_report(
    results: Mapping[str, pd.DataFrame],
    out_dir: Path,
    *,
    headers: Mapping[str, tuple[str, str]] | None = None,
) -> Path:
    """Write ``<out_dir>/index.html`` from the query results; return its path.

    Section titles and questions come from the SQL files' headers when they are readable
    (``headers`` overrides them), else from the defaults in ``SECTIONS``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "index.html"
    page = render_page(results, query_headers() if headers is None else headers)
    path.write_text(page, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# The command.


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``movielake report`` (called by ``movielake.analysis.cli.register``)."""
    parser = subparsers.add_parser(
        "report",
        help="run the seven analyses and write a self-contained HTML report",
        description="Run every sql/q*.sql and write index.html with an answer, a table and a chart per "
        "question. Engine default: duckdb when the AWS endpoint is on loopback (the local stack), "
        "else athena.",
    )
    parser.add_argument("--engine", choices=("duckdb", "athena"), default=None, help="query engine")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT_DIR, help=f"output directory (default {DEFAULT_OUT_DIR})"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the analyses and write the page; print where it is."""
    from movielake.analysis.engines import default_engine, run_all
    from movielake.config import Settings

    settings = Settings.from_env()
    engine = args.engine or default_engine(settings)
    results = run_all(settings, engine=engine)
    path = build_report(results, args.out)
    print(f"report ({engine}): {path.resolve()}")
    return 0
