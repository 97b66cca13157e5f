"""The local stack: a moto server standing in for AWS, the TMDB emulator, the Terraform driver
that deploys ``terraform/`` onto them, and a local Lambda runtime that delivers S3, SQS and
schedule events to the deployed functions (moto stores Lambdas but cannot run them here).

Everything the stack writes lives in one directory, ``build/local/`` by default
(``MOVIELAKE_LOCAL_DIR`` moves it); :func:`local_dir` reads it at call time so tests can
redirect it by patching ``movielake.config.STACK_FILE``.
"""

from __future__ import annotations

from pathlib import Path

from movielake import config


def stack_file() -> Path:
    """The stack record (``build/local/stack.json``)."""
    return config.STACK_FILE


def local_dir() -> Path:
    """The directory holding the stack record, server pids, Terraform state and Lambda caches."""
    return config.STACK_FILE.parent
