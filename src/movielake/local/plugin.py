"""The local stack's hooks into the ``movielake`` command (entry-point group ``movielake.plugins``).

The product discovers this module through the entry point pyproject.toml declares and calls
these functions by name (``movielake.plugins``); it never imports ``movielake.local``.
"""

from __future__ import annotations

from movielake.local.cli import invoke_at_endpoint, register

__all__ = ["invoke_at_endpoint", "register"]
