"""One sentence per question: the answer in words, computed from the question's rows.

The functions are alike in shape (an f-string of prose around values), each its own wording:
a repetition of form, not of logic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from movielake.analysis.report import results as rows
from movielake.analysis.report.formats import (
    MONTH_NAMES,
    correlation_words,
    is_missing,
    money,
    number,
    times,
)
from movielake.analysis.report.results import Results

if TYPE_CHECKING:
    import pandas as pd


def top_row(frame: pd.DataFrame, column: str, *, lowest: bool = False) -> pd.Series:
    """The row with the highest (or lowest) value of ``column``; the first one on a tie."""
    values = frame[column].astype(float)
    return frame.loc[values.idxmin() if lowest else values.idxmax()]


def q1(results: Results) -> str:
    """Median ROI, share of films that earned more than their budget, and the best film."""
    films = rows.films_with_roi(results)
    best = top_row(films, "roi")
    profitable = float((films["roi"] > 0).mean()) * 100
    return (
        f"The median ROI of {len(films):,} films with a known budget and revenue is "
        f"{number(films['roi'].median())}; {profitable:.0f}% earned more than they cost. The best is "
        f"{best['title']} (ROI {number(best['roi'], 1)}: {money(best['budget'])} budget, "
        f"{money(best['revenue'])} revenue)."
    )


def q2(results: Results) -> str:
    """The decades with the highest and lowest average ROI."""
    decades = rows.decades(results)
    best, worst = top_row(decades, "avg_roi"), top_row(decades, "avg_roi", lowest=True)
    return (
        f"Across {len(decades)} decades ({int(decades['films'].sum()):,} films), the "
        f"{int(best['decade'])}s had the highest average ROI ({number(best['avg_roi'])}, "
        f"{int(best['films']):,} films) and the {int(worst['decade'])}s the lowest "
        f"({number(worst['avg_roi'])}, {int(worst['films']):,} films)."
    )


def q3(results: Results) -> str:
    """The correlation, and how the top budget quintile's revenue compares with the bottom's."""
    frame = rows.quintiles(results)
    r = float(frame["corr_budget_revenue"].iloc[0])
    films = int(frame["films_with_roi"].iloc[0]) if "films_with_roi" in frame.columns else None
    over = f" over {films:,} films" if films else ""
    sentence = f"Budget and revenue show {correlation_words(r)} correlation (Pearson r = {r:.2f}{over})"
    if "budget_quintile" in frame.columns and len(frame) >= 2:
        column = rows.revenue_column(frame)
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


def q4(results: Results) -> str:
    """The artist in the most films, with their films' ratings, revenue and popularity."""
    top = rows.artists(results).iloc[0]
    return (
        f"{top['artist']} appears in the most enriched films ({int(top['films']):,}); those films average "
        f"a vote of {number(top['avg_vote_average'], 1)}, a revenue of {money(top['avg_revenue'])} and a "
        f"popularity of {number(top['avg_popularity'], 1)}."
    )


def q5(results: Results) -> str:
    """Both correlation coefficients, in words and numbers."""
    row = rows.coefficients(results).iloc[0]
    pearson, spearman = float(row["pearson_vote_popularity"]), float(row["spearman_vote_popularity"])
    films = f" over {int(row['films']):,} films" if "films" in row and not is_missing(row["films"]) else ""
    return (
        f"Vote average and popularity show {correlation_words(pearson)} correlation{films}: "
        f"Pearson {pearson:.2f}, Spearman (ranks) {spearman:.2f}."
    )


def q6(results: Results) -> str:
    """The month with the most hits, and the overall hit rate."""
    months = rows.months(results)
    top = top_row(months, "hits")
    hits, films = int(months["hits"].sum()), int(months["films"].sum())
    return (
        f"{MONTH_NAMES[int(top['month']) - 1]} has the most hits ({int(top['hits']):,} of "
        f"{int(top['films']):,} films released that month); overall {hits:,} of {films:,} dated films "
        f"({100 * hits / films:.0f}%) earned at least twice their budget."
    )


def q7(results: Results) -> str:
    """How many gems, by which thresholds, and the biggest one."""
    gems = rows.gems(results)
    if gems.empty:
        return "No film is a hidden gem: none combines few votes with a top-tenth ROI."
    rule = ""
    if {"vote_count_p25", "roi_p90"} <= set(gems.columns):
        rule = (
            f" (fewer than {number(gems['vote_count_p25'].iloc[0], 0)} votes, the bottom quarter, "
            f"and an ROI above {number(gems['roi_p90'].iloc[0], 1)}, the top tenth)"
        )
    best = gems.iloc[0]
    return (
        f"{len(gems):,} films are hidden gems{rule}; the biggest is {best['title']} "
        f"(ROI {number(best['roi'], 1)} with {int(best['vote_count']):,} votes)."
    )
