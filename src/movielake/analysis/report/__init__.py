"""``movielake report``: the analyses as one self-contained HTML page.

``build_report`` takes the query results (name -> DataFrame, as ``engines.run_all`` returns
them) and writes ``index.html``: per question of ``sql/q*.sql``, its title and question from
the file's header, a one-sentence answer computed from the data, the top rows and a chart.

Modules: ``results`` (each question's rows), ``sentences``, ``charts`` (matplotlib),
``questions`` (a section per question), ``page`` (the Jinja2 templates of ``templates/``:
``base.html.j2``, the stylesheet, one partial per question in ``questions/``), ``formats``.
The command itself is registered by ``movielake.analysis.cli``.
"""

from movielake.analysis.report.page import build_report, render_page

__all__ = ["build_report", "render_page"]
