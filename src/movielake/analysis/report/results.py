"""The rows each question's answer is drawn from, picked out of the query results.

Results are found by query number (``q1`` matches ``q1_roi``). A missing result, a missing
column or no usable row raises ``MissingData``, which turns that question's section into a
note instead of failing the whole report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

Results = Mapping[str, "pd.DataFrame"]


class MissingData(LookupError):  # noqa: N818 - a section's answer, not a program error
    """A section's result or one of its columns is absent; the section says so instead."""


class EmptyAnswer(Exception):  # noqa: N818 - an answer of "none", not a program error
    """The answer is "none" (e.g. no hidden gem): the sentence says so; no chart or table."""


def find_result(results: Results, key: str) -> pd.DataFrame:
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


def films_with_roi(results: Results) -> pd.DataFrame:
    """q1: the films with a ROI, best first."""
    frame = need(find_result(results, "q1"), "imdb_id", "title", "budget", "revenue", "roi")
    frame = frame.dropna(subset=["roi"])
    if frame.empty:
        raise MissingData("no film has both a budget and a revenue")
    return frame.sort_values("roi", ascending=False, kind="stable")


def decades(results: Results) -> pd.DataFrame:
    """q2: the decades with an average ROI, oldest first."""
    frame = need(find_result(results, "q2"), "decade", "films", "avg_roi").dropna(subset=["avg_roi"])
    if frame.empty:
        raise MissingData("no dated film has a ROI")
    return frame.sort_values("decade")


def quintiles(results: Results) -> pd.DataFrame:
    """q3: the budget quintiles, each row carrying the budget/revenue correlation."""
    frame = need(find_result(results, "q3"), "corr_budget_revenue")
    if frame.empty:
        raise MissingData("no film has both a budget and a revenue")
    return frame


def revenue_column(frame: pd.DataFrame) -> str:
    """The column of q3 that holds each quintile's revenue (median preferred)."""
    for name in ("median_revenue", "avg_revenue", "revenue"):
        if name in frame.columns:
            return name
    raise MissingData("the result has no revenue column per budget quintile")


def artists(results: Results) -> pd.DataFrame:
    """q4: the artists in ranking order."""
    frame = need(
        find_result(results, "q4"), "artist", "films", "avg_vote_average", "avg_revenue", "avg_popularity"
    )
    if frame.empty:
        raise MissingData("no artist of the movies CSV has an enriched film")
    return frame


def coefficients(results: Results) -> pd.DataFrame:
    """q5: the one row of correlation coefficients."""
    frame = need(find_result(results, "q5"), "pearson_vote_popularity", "spearman_vote_popularity")
    if frame.empty:
        raise MissingData("no film has votes and a popularity")
    return frame


def months(results: Results) -> pd.DataFrame:
    """q6: hits and films per month, January first."""
    frame = need(find_result(results, "q6"), "month", "hits", "films")
    if frame.empty or float(frame["films"].sum()) == 0:
        raise MissingData("no dated film has a ROI")
    return frame.sort_values("month")


def gems(results: Results) -> pd.DataFrame:
    """q7: the hidden gems, biggest ROI first (possibly none)."""
    frame = need(find_result(results, "q7"), "imdb_id", "title", "vote_count", "roi")
    return frame.sort_values("roi", ascending=False, kind="stable")
