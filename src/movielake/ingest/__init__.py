"""CSV ingestion into the Raw zone: validation, the Lambda handler and ``movielake upload``.

Ships alone in the CSV Lambda zip with ``config``, ``aws``, ``keys`` and ``log``, so nothing in
this package imports ``synthetic``, pandas or tqdm at module level.
"""
