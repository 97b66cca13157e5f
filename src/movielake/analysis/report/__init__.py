"""``movielake report``: the analyses as one interactive, self-contained HTML page.

``collect`` runs the seven questions and the film rows (``sql/report/films.sql``) in one
engine session; ``build_report`` takes those results (name -> DataFrame) and writes
``index.html``: per question of ``sql/q*.sql``, its title and question from the file's header,
a one-sentence answer computed from the data, the top rows and a Vega-Lite chart. A decade or
a genre picked on the page filters the film-level charts.

Modules: ``results`` (each question's rows), ``sentences``, ``charts`` (Altair specs),
``films`` (the film rows the page embeds, and ``collect``), ``questions`` (a section per
question), ``javascript`` (the Vega bundle from vl-convert, the page's script), ``page`` (the
Jinja2 templates of ``templates/``: ``base.html.j2``, ``selection.html.j2``, the stylesheet,
one partial per question in ``questions/``), ``formats``. The command itself is registered by
``movielake.analysis.cli``.
"""

from movielake.analysis.report.films import collect
from movielake.analysis.report.page import build_report, render_page

__all__ = ["build_report", "collect", "render_page"]
