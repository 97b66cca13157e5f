"""One matplotlib chart per question, rendered to a PNG ``data:`` URI.

Figures are drawn on ``matplotlib.figure.Figure`` (the Agg backend: no display needed);
matplotlib and numpy are imported inside functions so ``movielake --help`` stays fast.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from movielake.analysis.report import results as rows
from movielake.analysis.report.formats import MONTHS, money, number, shorten
from movielake.analysis.report.results import EmptyAnswer, MissingData, Results

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ACCENT, MUTED, HIGHLIGHT = "#2f6690", "#9db4c0", "#d1495b"
BARS_SHOWN = 10  # artists; hidden gems show up to 15


def png_data_uri(draw: Callable[[Figure], None], width: float = 9.0, height: float = 4.2) -> str:
    """Draw a chart of ``width`` x ``height`` inches and return it as a PNG ``data:`` URI."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    draw(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _labels(ax: Axes, title: str, xlabel: str, ylabel: str, grid: str = "y") -> None:
    ax.set_title(title, loc="left", fontsize=12, fontweight="bold")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis=grid, alpha=0.3)


def _formatter(fmt: Callable[[float], str]) -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: fmt(v))


def q1(results: Results, fig: Figure) -> None:
    """Histogram of revenue/budget (= ROI + 1) on a log axis, break-even and median marked."""
    import numpy as np

    films = rows.films_with_roi(results)
    multiple = (films["roi"].astype(float) + 1).clip(lower=1e-3)
    ax = fig.subplots()
    top = max(multiple.max(), multiple.min() * 1.01)
    bins = np.logspace(math.log10(multiple.min()), math.log10(top), 30)
    ax.hist(multiple, bins=bins, color=ACCENT, edgecolor="white")
    ax.set_xscale("log")
    ax.axvline(1, color=HIGHLIGHT, linestyle="--", label="break-even (ROI 0)")
    ax.axvline(float(multiple.median()), color="black", linestyle=":", label="median")
    ax.xaxis.set_major_formatter(_formatter(lambda v: f"{v:g}×"))
    _labels(ax, "ROI distribution", "revenue ÷ budget (log scale; ROI = this − 1)", "films")
    ax.legend(frameon=False)


def q2(results: Results, fig: Figure) -> None:
    """Bar per decade of the average ROI, with the film count on each bar."""
    decades = rows.decades(results)
    ax = fig.subplots()
    labels = [f"{int(d)}s" for d in decades["decade"]]
    bars = ax.bar(labels, decades["avg_roi"].astype(float), color=ACCENT)
    ax.bar_label(bars, labels=[f"n={int(n)}" for n in decades["films"]], fontsize=8, padding=2)
    ax.axhline(0, color="black", linewidth=0.8)
    _labels(ax, "Average ROI by decade of release", "decade", "average ROI (revenue ÷ budget − 1)")


def q3(results: Results, fig: Figure) -> None:
    """Budget vs revenue per film (q1's rows) on log axes, and revenue per budget quintile."""
    frame = rows.quintiles(results)
    r = float(frame["corr_budget_revenue"].iloc[0])
    has_quintiles = "budget_quintile" in frame.columns
    left, right = (
        fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]}) if has_quintiles else (fig.subplots(), None)
    )
    try:
        films = rows.films_with_roi(results)
    except MissingData:
        films = None
    if films is not None:
        budget, revenue = films["budget"].astype(float), films["revenue"].astype(float)
        left.scatter(budget, revenue, s=12, alpha=0.6, color=ACCENT, edgecolors="none")
        low, high = min(budget.min(), revenue.min()), max(budget.max(), revenue.max())
        left.plot([low, high], [low, high], color=HIGHLIGHT, linestyle="--", linewidth=1, label="break-even")
        left.set_xscale("log")
        left.set_yscale("log")
        left.xaxis.set_major_formatter(_formatter(money))
        left.yaxis.set_major_formatter(_formatter(money))
        left.legend(frameon=False, loc="upper left")
    _labels(left, f"Budget vs revenue (Pearson r = {r:.2f})", "budget (USD, log)", "revenue (USD, log)")
    if right is not None:
        column = rows.revenue_column(frame)
        ordered = frame.sort_values("budget_quintile")
        quintile_labels = [f"Q{int(q)}" for q in ordered["budget_quintile"]]
        right.bar(quintile_labels, ordered[column].astype(float), color=ACCENT)
        right.yaxis.set_major_formatter(_formatter(money))
        what = column.replace("_", " ").capitalize()
        _labels(right, f"{what} by quintile", "budget quintile (Q1 smallest)", "USD")


def q4(results: Results, fig: Figure) -> None:
    """Horizontal bars of films per artist, the average vote written on each bar."""
    artists = rows.artists(results).head(BARS_SHOWN).iloc[::-1]
    ax = fig.subplots()
    bars = ax.barh(artists["artist"].astype(str), artists["films"].astype(float), color=ACCENT)
    votes = [f"vote {number(v, 1)}" for v in artists["avg_vote_average"]]
    ax.bar_label(bars, labels=votes, fontsize=8, padding=3)
    _labels(ax, "Enriched films per artist (bar label: their average vote)", "films", "", grid="x")


def q5(results: Results, fig: Figure) -> None:
    """The two coefficients as bars on the full −1 … 1 scale, strength bands shaded."""
    row = rows.coefficients(results).iloc[0]
    values = [float(row["pearson_vote_popularity"]), float(row["spearman_vote_popularity"])]
    ax = fig.subplots()
    for edge, alpha in ((0.1, 0.15), (0.3, 0.1), (0.5, 0.05)):
        ax.axvspan(-edge, edge, color=MUTED, alpha=alpha, linewidth=0)
    bars = ax.barh(["Spearman (ranks)", "Pearson"], values[::-1], color=[MUTED, ACCENT], height=0.5)
    ax.bar_label(bars, labels=[f"{v:.2f}" for v in values[::-1]], padding=4)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlim(-1, 1)
    _labels(ax, "Correlation of vote average and popularity", "correlation coefficient (−1 … 1)", "", "x")


def q6(results: Results, fig: Figure) -> None:
    """Stacked bars per month: hits and other films."""
    months = rows.months(results).set_index("month").reindex(range(1, 13), fill_value=0)
    hits = months["hits"].astype(float)
    others = months["films"].astype(float) - hits
    ax = fig.subplots()
    ax.bar(MONTHS, hits, color=HIGHLIGHT, label="hits (ROI ≥ 1)")
    ax.bar(MONTHS, others, bottom=hits, color=MUTED, label="other films")
    ax.legend(frameon=False)
    _labels(ax, "Hits by month of release", "month of release", "films")


def q7(results: Results, fig: Figure) -> None:
    """Horizontal bars of the gems' ROI (top 15), their vote counts written on the bars."""
    gems = rows.gems(results).head(15).iloc[::-1]
    if gems.empty:
        raise EmptyAnswer("no hidden gem")
    ax = fig.subplots()
    labels = [f"{shorten(str(t), 28)} ({i})" for t, i in zip(gems["title"], gems["imdb_id"], strict=True)]
    bars = ax.barh(labels, gems["roi"].astype(float), color=HIGHLIGHT)
    ax.bar_label(bars, labels=[f"{int(v):,} votes" for v in gems["vote_count"]], fontsize=8, padding=3)
    xlabel = "ROI (revenue ÷ budget − 1)"
    if "roi_p90" in gems.columns:
        threshold = float(gems["roi_p90"].iloc[0])
        ax.axvline(threshold, color="black", linestyle=":")
        xlabel += f"; dotted line: the top-tenth threshold, {number(threshold, 1)}"
    _labels(ax, "ROI of films few people voted for", xlabel, "", grid="x")
