"""Extensions of the ``movielake`` command, discovered through entry points.

An installed distribution declares a module in the ``movielake.plugins`` entry-point group
(``[project.entry-points."movielake.plugins"]`` in its pyproject.toml). The product calls the
functions such a module defines, by name (``register`` adds subcommands; other hooks serve one
command each), and never imports it itself: this is how the local stand-ins (moto, the local
Lambda runtime) join the CLI without the product depending on them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

GROUP = "movielake.plugins"


class PluginMissingError(LookupError):
    """No installed plugin provides a hook a command needs; the message says how to get one."""


@functools.cache
def installed() -> tuple[ModuleType, ...]:
    """The plugin modules of the installed distributions, by entry-point name."""
    return tuple(ep.load() for ep in sorted(entry_points(group=GROUP), key=lambda ep: ep.name))


def hook(name: str, needed_for: str) -> Callable[..., Any]:
    """The first installed plugin's function ``name``; ``PluginMissingError`` when none has it."""
    for plugin in installed():
        function = getattr(plugin, name, None)
        if callable(function):
            return function
    raise PluginMissingError(
        f"{needed_for} needs the local stack, which is not installed in this environment: "
        "install movielake with its local extra (`make install`, or `pip install -e '.[local]'`)"
    )
