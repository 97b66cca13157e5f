"""The page: the questions' sections rendered through the Jinja2 templates into one file.

Everything is inlined (the stylesheet, the film rows as one JSON block, each chart's
Vega-Lite spec, the Vega libraries once and the page's own script), so ``index.html`` opens
offline on its own. Without JavaScript (or printed) each section still shows its sentence and
table, rendered here. Autoescaping is on: titles and artists from the data are escaped, and
JSON goes through ``tojson`` (``<``, ``>``, ``&`` and ``'`` as unicode escapes).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from movielake.analysis.report import films, javascript
from movielake.analysis.report.formats import TABLE_FORMATS
from movielake.analysis.report.moved import Moved, section_context
from movielake.analysis.report.questions import answered, report_queries
from movielake.analysis.report.results import Results

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).with_name("templates")
PAGE_TEMPLATE = "base.html.j2"
STYLESHEET = "report.css"


@cache
def environment() -> Environment:
    """The templates' environment: autoescaped, strict about undefined names."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(TABLE_FORMATS)
    # A NaN in a spec would be invalid JSON in the page: fail here rather than in the browser.
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "allow_nan": False}
    return env


def render_page(
    results: Results,
    sql_dir: Path | None = None,
    generated_at: datetime | None = None,
    film_cap: int = films.FILM_CAP,
    moved: Moved | None = None,
) -> str:
    """The whole HTML page: one section per question of ``sql/q*.sql`` the report answers, the
    selection bar and the film rows (``films.embedded``: a sample past ``film_cap``), and what
    moved since the last TMDB run when ``moved`` is given."""
    from markupsafe import Markup

    from movielake.analysis.queries import discover

    sections = [answered(query, results) for query in report_queries(discover(sql_dir).values())]
    moment = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    stylesheet = (TEMPLATES / STYLESHEET).read_text(encoding="utf-8")
    film_data = films.embedded(results, film_cap)
    return (
        environment()
        .get_template(PAGE_TEMPLATE)
        .render(
            sections=sections,
            generated_at=moment,
            stylesheet=stylesheet,
            films=film_data,
            data=film_data.payload(),
            vega_bundle=Markup(javascript.vega_bundle()),  # noqa: S704 - the vl-convert package's bundle
            dashboard_script=Markup(javascript.dashboard_script()),  # noqa: S704 - this package's file
            **section_context(moved),
        )
    )


def build_report(
    results: Results,
    out_dir: Path,
    sql_dir: Path | None = None,
    film_cap: int = films.FILM_CAP,
    moved: Moved | None = None,
) -> Path:
    """Write ``<out_dir>/index.html`` from the query results; return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "index.html"
    path.write_text(render_page(results, sql_dir, film_cap=film_cap, moved=moved), encoding="utf-8")
    return path
