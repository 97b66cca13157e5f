"""The seven analyses: SQL files in ``sql/``, run on Athena or on a local DuckDB engine.

``run_query`` / ``run_all`` (module ``movielake.analysis.engines``) are the entry points; the
``movielake query`` command is in ``movielake.analysis.cli``.
"""
