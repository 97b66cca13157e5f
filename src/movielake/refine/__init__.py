"""The Trusted and Refined zones: the ``sql/trusted`` and ``sql/refined`` models, built by
Athena (AWS) or DuckDB (local stack) into versioned Parquet folders, checked, then published
by switching each Glue table to its new version (``movielake refine`` and the refine Lambda)."""
