"""One Vega-Lite chart per question, declared with Altair, as the spec the page embeds.

The film-level charts read named datasets the page fills in the browser from the one data
block it carries (``movielake.analysis.report.films``): ``films`` (q3, q5), ``gems`` (q7) and
the exact counts ``roi_bins`` (q1) and ``month_hits`` (q6). They filter them on two page-wide
parameters: ``picked_decade`` (set by a click on a q2 bar or the decade selector) and
``picked_genre`` (the genre selector). ``null`` means no selection. The small answers (q2, q3's quintiles, q4)
are inlined in their spec. Altair is imported inside functions so ``movielake --help`` stays
fast.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from movielake.analysis.report import counts, labels
from movielake.analysis.report import results as rows
from movielake.analysis.report.films import FILMS, GEMS, MONTH_HITS, ROI_BINS
from movielake.analysis.report.formats import MONTHS
from movielake.analysis.report.results import EmptyAnswer, Results

if TYPE_CHECKING:
    import altair as alt
    import pandas as pd

ACCENT, MUTED, HIGHLIGHT = "#2f6690", "#9db4c0", "#d1495b"
WIDTH, HEIGHT = 860, 300
GEMS_SHOWN = 20
# The counts' rows (counts.py) carry a decade and one genre, empty for "all genres".
PICKED_COUNTS = (
    "(picked_decade == null || datum.decade == picked_decade)"
    " && datum.genre == (picked_genre == null ? '' : picked_genre)"
)
PICKED = (
    "(picked_decade == null || datum.decade == picked_decade)"
    " && (picked_genre == null || indexof(datum.genres, '|' + picked_genre + '|') >= 0)"
)
# The views whose points are too many for SVG are drawn on a canvas.
CANVAS = frozenset({"q3", "q5"})
Spec = dict[str, Any]
# Dollars in SI prefixes, with B (not d3's G) for billions: $350k, $1.2M, $2.3B.
MONEY_LABELS = "replace(format(datum.value, '$.2~s'), 'G', 'B')"
# The charts that follow the page's selection (the others answer for all films).
LINKED = frozenset({"q1", "q3", "q5", "q6", "q7"})


def _picked(chart: Any) -> Any:
    """The chart with the page-wide selection parameters declared (their values set by the page)."""
    import altair as alt

    return chart.add_params(
        alt.param(name="picked_decade", value=None), alt.param(name="picked_genre", value=None)
    )


def _spec(chart: Any, *datasets: str) -> Spec:
    """The chart's Vega-Lite spec, with an empty entry per named dataset the page fills in."""
    spec = chart.to_dict()
    spec.setdefault("datasets", {}).update({name: [] for name in datasets})
    return spec


def _film_tooltip(*extra: Any) -> list[Any]:
    """The tooltip every film mark shows: title, year, budget, revenue, ROI, votes."""
    import altair as alt

    return [
        alt.Tooltip("title:N", title="film"),
        alt.Tooltip("imdb_id:N", title="IMDb id"),
        alt.Tooltip("release_year:O", title="year"),
        alt.Tooltip("budget:Q", title="budget (USD)", format="$,.0f"),
        alt.Tooltip("revenue:Q", title="revenue (USD)", format="$,.0f"),
        alt.Tooltip("roi:Q", title="ROI", format=",.2f"),
        alt.Tooltip("vote_count:Q", title="votes", format=",d"),
        *extra,
    ]


def _films() -> alt.Chart:
    """The embedded films, filtered on the page's selection."""
    import altair as alt

    return alt.Chart(alt.Data(name=FILMS)).transform_filter(PICKED)


def q1(results: Results) -> Spec:
    """Histogram of revenue/budget (= ROI + 1) on a log axis, from the exact counts of the
    selection (``counts.roi_bins``); break-even marked, and the bin holding the median."""
    import altair as alt

    films = rows.films_with_roi(results)
    multiple = (films["roi"].astype(float) + 1).clip(lower=counts.LOWEST_MULTIPLE)
    step = counts.ROI_BIN_STEP
    # The bins' edges around every film: the first bin's start to the last bin's end.
    low = math.floor(math.log10(multiple.min()) / step) * step
    high = (math.floor(math.log10(multiple.max()) / step) + 1) * step
    axis = alt.Axis(
        values=list(range(math.ceil(low), math.floor(high) + 1)),  # the powers of ten: 0.1×, 1×, 10×
        labelExpr="format(pow(10, datum.value), '~g') + '×'",
        title="revenue ÷ budget (log)",
    )
    bins = (
        alt.Chart(alt.Data(name=ROI_BINS))
        .transform_filter(PICKED_COUNTS)
        .transform_aggregate(films="sum(films)", groupby=["bin_start"])
        .transform_calculate(bin_end=f"datum.bin_start + {step}")
    )
    bars = (
        bins.transform_calculate(
            low="format(pow(10, datum.bin_start), '.3~g') + '×'",
            high="format(pow(10, datum.bin_end), '.3~g') + '×'",
        )
        .mark_bar(color=ACCENT)
        .encode(
            x=alt.X("bin_start:Q", bin="binned", axis=axis, scale=alt.Scale(domain=[low, high])),
            x2="bin_end:Q",
            y=alt.Y("films:Q", title="films", axis=alt.Axis(tickMinStep=1, format="d")),  # whole films
            tooltip=[
                alt.Tooltip("low:N", title="from"),
                alt.Tooltip("high:N", title="to"),
                alt.Tooltip("films:Q", title="films", format=","),
            ],
        )
    )
    break_even = alt.Chart().mark_rule(color=HIGHLIGHT, strokeDash=[6, 4]).encode(x=alt.datum(0))
    median = (
        bins.transform_joinaggregate(total="sum(films)")
        .transform_window(running="sum(films)", sort=[alt.SortField("bin_start")])
        .transform_filter("datum.running >= datum.total / 2")
        .transform_window(rank="row_number()", sort=[alt.SortField("bin_start")])
        .transform_filter("datum.rank == 1")
        .transform_calculate(middle=f"datum.bin_start + {step / 2}")
        .mark_rule(color="black", strokeDash=[2, 2])
        .encode(x="middle:Q")
    )
    chart = alt.layer(bars, break_even, median).properties(
        width=WIDTH,
        height=HEIGHT,
        title=alt.Title(
            "ROI distribution", subtitle="red dashes: break-even (ROI 0); black dots: the median's bin"
        ),
    )
    return _spec(_picked(chart), ROI_BINS)


def q2(results: Results) -> Spec:
    """Bar per decade of the average ROI, film counts on the bars; a click picks the decade."""
    import altair as alt

    frame = rows.decades(results).copy()
    frame["decade"] = frame["decade"].astype(int)
    frame["label"] = frame["decade"].map(lambda d: f"{d}s")
    frame["films"] = frame["films"].astype(int)
    columns = ["decade", "label", "films", "avg_roi", *(c for c in ("min_roi", "max_roi") if c in frame)]
    base = alt.Chart(frame[columns]).encode(
        x=alt.X("label:N", title="decade (click a bar to pick it)", sort=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("avg_roi:Q", title="average ROI"),
    )
    bars = base.mark_bar(cursor="pointer").encode(
        color=alt.condition(
            "picked_decade == null || datum.decade == picked_decade", alt.value(ACCENT), alt.value(MUTED)
        ),
        tooltip=[
            alt.Tooltip("label:N", title="decade"),
            alt.Tooltip("films:Q", title="films", format=","),
            *(alt.Tooltip(f"{c}:Q", title=c.replace("_", " "), format=",.2f") for c in columns[3:]),
        ],
    )
    counts = base.mark_text(dy=-6, fontSize=10).encode(
        text=alt.Text("films:Q", format=","), y=alt.Y("avg_roi:Q").stack(None)
    )
    chart = alt.layer(bars, counts).properties(
        width=WIDTH, height=HEIGHT, title=alt.Title("Average ROI by decade", subtitle="number: films")
    )
    return _spec(_picked(chart))


def q3(results: Results) -> Spec:
    """Budget vs revenue per film on log axes (break-even diagonal), and revenue per quintile."""
    import altair as alt

    frame = rows.quintiles(results)
    r = float(frame["corr_budget_revenue"].iloc[0])
    money_axis = alt.Axis(labelExpr=MONEY_LABELS, tickCount=6)

    def powers_of_ten(values: pd.Series) -> alt.Axis:
        """A log axis ticked at the powers of ten the values span ($100k, $1M, $10M...)."""
        low, high = math.floor(math.log10(values.min())), math.ceil(math.log10(values.max()))
        return alt.Axis(labelExpr=MONEY_LABELS, values=[10**k for k in range(low, high + 1)])

    films = rows.films_with_roi(results)
    low, high = float(films["budget"].min()), float(films["budget"].max())  # break-even over the budgets
    points = (
        _films()
        .transform_filter("datum.budget > 0 && datum.revenue > 0")
        .mark_circle(size=22, opacity=0.6, color=ACCENT)
        .encode(
            x=alt.X(
                "budget:Q",
                scale=alt.Scale(type="log"),
                axis=powers_of_ten(films["budget"].astype(float)),
                title="budget (USD, log)",
            ),
            y=alt.Y(
                "revenue:Q",
                scale=alt.Scale(type="log"),
                axis=powers_of_ten(films["revenue"].astype(float)),
                title="revenue (USD, log)",
            ),
            tooltip=_film_tooltip(),
        )
    )
    diagonal = (
        alt.Chart(alt.Data(values=[{"budget": low, "revenue": low}, {"budget": high, "revenue": high}]))
        .mark_line(color=HIGHLIGHT, strokeDash=[6, 4])
        .encode(x="budget:Q", y="revenue:Q")
    )
    scatter = alt.layer(points, diagonal).properties(
        width=540,
        height=HEIGHT,
        title=alt.Title(f"Budget vs revenue (Pearson r = {r:.2f})", subtitle="red dashes: break-even"),
    )
    if "budget_quintile" not in frame.columns:
        return _spec(_picked(scatter), FILMS)
    column = rows.revenue_column(frame)
    quintiles = frame.assign(quintile=[f"Q{int(q)}" for q in frame["budget_quintile"]])
    what = column.replace("_", " ")
    bars = (
        alt.Chart(quintiles[["quintile", column]])
        .mark_bar(color=ACCENT)
        .encode(
            x=alt.X("quintile:N", title="budget quintile (Q1 smallest)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y(f"{column}:Q", title=f"{what} (USD)", axis=money_axis),
            tooltip=["quintile:N", alt.Tooltip(f"{column}:Q", format="$,.0f", title=what)],
        )
        .properties(width=220, height=HEIGHT, title=f"{what.capitalize()} by quintile (all films)")
    )
    return _spec(_picked(alt.hconcat(scatter, bars)), FILMS)


def q4(results: Results) -> Spec:
    """Each top artist as a point: films (frequency) against their films' average revenue,
    coloured by their average vote and labelled with their name."""
    import altair as alt

    artists = rows.artists(results)[
        ["artist", "films", "avg_vote_average", "avg_revenue", "avg_popularity"]
    ].astype({"artist": str, "films": float, "avg_revenue": float})
    width = WIDTH - 120
    films, revenue = artists["films"], artists["avg_revenue"].fillna(0)
    pad = max(1.0, 0.08 * (films.max() - films.min()))
    frame = labels.Frame(
        width, HEIGHT, (films.min() - pad, films.max() + pad), (0.0, max(revenue.max() * 1.1, 1.0))
    )
    spots = labels.place(list(zip(films, revenue, artists["artist"], strict=True)), frame)
    artists = artists.assign(
        label_x=[x for x, _, _ in spots], label_y=[y for _, y, _ in spots], align=[a for _, _, a in spots]
    )
    x_scale = alt.Scale(domain=list(frame.x_domain), nice=False, zero=False)
    y_scale = alt.Scale(domain=list(frame.y_domain), nice=False)
    base = alt.Chart(artists)
    points = base.mark_circle(size=140, opacity=0.85).encode(
        x=alt.X("films:Q", title="enriched films (frequency)", scale=x_scale),
        y=alt.Y(
            "avg_revenue:Q",
            title="average revenue of their films (USD)",
            scale=y_scale,
            axis=alt.Axis(labelExpr=MONEY_LABELS),
        ),
        color=alt.Color(
            "avg_vote_average:Q",
            title="average vote of their films",
            scale=alt.Scale(scheme="viridis"),
            legend=alt.Legend(orient="top", gradientLength=200),
        ),
        tooltip=[
            alt.Tooltip("artist:N"),
            alt.Tooltip("films:Q", title="films"),
            alt.Tooltip("avg_vote_average:Q", title="average vote", format=".2f"),
            alt.Tooltip("avg_revenue:Q", title="average revenue", format="$,.0f"),
            alt.Tooltip("avg_popularity:Q", title="average popularity", format=".1f"),
        ],
    )
    names = [  # one text layer per side: align is a mark property, not an encoding
        base.transform_filter(f"datum.align == '{side}'")
        .mark_text(align=side, baseline="middle", fontSize=11)
        .encode(x=alt.X("label_x:Q", scale=x_scale), y=alt.Y("label_y:Q", scale=y_scale), text="artist:N")
        for side in ("left", "right")
    ]
    chart = alt.layer(points, *names).properties(
        width=width, height=HEIGHT, title="Frequency against results: films, revenue and vote"
    )
    return _spec(chart)


def q5(results: Results) -> Spec:
    """Each film with votes: vote average against popularity (log), both correlations titled."""
    import altair as alt

    row = rows.coefficients(results).iloc[0]
    pearson, spearman = float(row["pearson_vote_popularity"]), float(row["spearman_vote_popularity"])
    chart = (
        _films()
        .transform_filter("datum.vote_count > 0 && isValid(datum.vote_average) && datum.popularity > 0")
        .mark_circle(size=22, opacity=0.55, color=ACCENT)
        .encode(
            x=alt.X("vote_average:Q", title="vote average (0-10)", scale=alt.Scale(zero=False)),
            y=alt.Y("popularity:Q", title="TMDB popularity (log)", scale=alt.Scale(type="log")),
            tooltip=_film_tooltip(
                alt.Tooltip("vote_average:Q", title="vote average", format=".1f"),
                alt.Tooltip("popularity:Q", title="popularity", format=".1f"),
            ),
        )
        .properties(
            width=WIDTH,
            height=HEIGHT,
            title=alt.Title(
                "Vote average against popularity",
                subtitle=f"Pearson r = {pearson:.2f}, Spearman ρ (ranks) = {spearman:.2f}, over all films",
            ),
        )
    )
    return _spec(_picked(chart), FILMS)


def q6(results: Results) -> Spec:
    """Stacked bars per month of the selection's films, hits and others (exact counts,
    ``counts.month_hits``)."""
    import altair as alt

    rows.months(results)  # MissingData when the answer is absent
    labels = "[" + ", ".join(f"'{m}'" for m in MONTHS) + "][datum.value - 1]"
    chart = (
        alt.Chart(alt.Data(name=MONTH_HITS))
        .transform_filter(PICKED_COUNTS)
        .mark_bar()
        .encode(
            x=alt.X(
                "release_month:O",
                title="month of release",
                scale=alt.Scale(domain=list(range(1, 13))),  # every month, even one without films
                axis=alt.Axis(labelExpr=labels, labelAngle=0),
            ),
            y=alt.Y("sum(films):Q", title="films", axis=alt.Axis(tickMinStep=1, format="d")),
            color=alt.Color(
                "kind:N",
                title=None,
                scale=alt.Scale(domain=[counts.HIT, counts.OTHER], range=[HIGHLIGHT, MUTED]),
                legend=alt.Legend(orient="top"),
            ),
            order=alt.Order("kind:N"),
            tooltip=[
                alt.Tooltip("release_month:O", title="month"),
                alt.Tooltip("kind:N", title="kind"),
                alt.Tooltip("sum(films):Q", title="films", format=","),
            ],
        )
        .properties(width=WIDTH, height=HEIGHT, title="Hits by month of release")
    )
    return _spec(_picked(chart), MONTH_HITS)


def q7(results: Results) -> Spec:
    """Bars of the selected gems' ROI, the biggest first (up to GEMS_SHOWN)."""
    import altair as alt

    gems = rows.gems(results)
    if gems.empty:
        raise EmptyAnswer("no hidden gem")
    subtitle = f"the {GEMS_SHOWN} biggest of the selection"
    if "roi_p90" in gems.columns:
        subtitle += f"; every gem has an ROI above {float(gems['roi_p90'].iloc[0]):,.1f}"
    chart = (
        alt.Chart(alt.Data(name=GEMS))
        .transform_filter(PICKED)
        .transform_window(rank="row_number()", sort=[alt.SortField("roi", order="descending")])
        .transform_filter(f"datum.rank <= {GEMS_SHOWN}")
        .transform_calculate(label="datum.title + ' (' + (datum.release_year || '?') + ')'")
        .mark_bar(color=HIGHLIGHT)
        .encode(
            x=alt.X("roi:Q", title="ROI (revenue ÷ budget − 1)"),
            y=alt.Y("label:N", title=None, sort="-x", axis=alt.Axis(labelLimit=260)),
            tooltip=_film_tooltip(alt.Tooltip("decade:O", title="decade")),
        )
        .properties(
            width=WIDTH - 260, title=alt.Title("ROI of films few people voted for", subtitle=subtitle)
        )
    )
    return _spec(_picked(chart), GEMS)
