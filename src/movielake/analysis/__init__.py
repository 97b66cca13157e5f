"""The seven analyses: SQL files in ``sql/``, run on Athena or on a local DuckDB engine.

``run_all`` (DataFrames) and ``fetch_all`` (plain rows), in ``movielake.analysis.engines``, are the
entry points; the ``movielake query`` command is in ``movielake.analysis.cli``.
"""
