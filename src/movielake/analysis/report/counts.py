"""Exact counts of every film for the linked histograms (Q1's ROI distribution, Q6's months).

The page draws its scatters from at most ``films.FILM_CAP`` films; a histogram drawn from that
sample would show a fraction of the counts. So the counts are taken here over every film the
films query returned, per decade x genre (the two things a reader can pick), plus one row per
decade for "all genres" (``genre`` empty: a film of two genres counts once there, once in each
genre's rows). The page sums the rows its selection keeps. Rows: a few per decade, genre and
bin, whatever the number of films.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

ROI_BIN_STEP = 0.25  # bins of revenue/budget, in log10 units: four per power of ten
LOWEST_MULTIPLE = 1e-3  # revenue/budget below this (ROI near -1) falls in the first bin
ALL_GENRES = ""
HIT, OTHER = "hits (ROI ≥ 1)", "other films"


def _by_genre(films: pd.DataFrame) -> pd.DataFrame:
    """Each film once with ``genre`` empty (all genres), and once per genre it has."""
    import pandas as pd

    each = films.assign(genre=films["genres"].str.strip("|").str.split("|")).explode("genre")
    each = each[each["genre"].notna() & (each["genre"] != "")]
    return pd.concat([films.assign(genre=ALL_GENRES), each], ignore_index=True)


def _count(frame: pd.DataFrame, *keys: str) -> pd.DataFrame:
    """Films per ``keys`` (decade and genre first), a missing decade kept as its own group."""
    counted = frame.groupby(["decade", "genre", *keys], dropna=False).size().reset_index(name="films")
    return counted.astype({"films": int})


def roi_bins(films: pd.DataFrame) -> pd.DataFrame:
    """Films with a ROI per decade, genre and ``bin_start`` (log10 of revenue/budget, floored
    to ``ROI_BIN_STEP``)."""
    import numpy as np

    with_roi = films[films["roi"].notna()]
    multiple = (with_roi["roi"].astype(float) + 1).clip(lower=LOWEST_MULTIPLE)
    start = np.floor(np.log10(multiple) / ROI_BIN_STEP) * ROI_BIN_STEP
    return _count(_by_genre(with_roi.assign(bin_start=start.round(2))), "bin_start")


def month_hits(films: pd.DataFrame) -> pd.DataFrame:
    """Dated films with a ROI per decade, genre, ``release_month`` and ``kind`` (hit or other)."""
    import numpy as np

    dated = films[films["roi"].notna() & films["release_month"].notna()]
    kind = np.where(dated["roi"].astype(float) >= 1, HIT, OTHER)
    counted = _count(_by_genre(dated.assign(kind=kind)), "release_month", "kind")
    return counted.astype({"release_month": int})
