"""The ``movielake`` command.

Each concern contributes its subcommands through a ``register(subparsers)`` function in its
own ``cli`` module; this file only assembles them and turns known errors into one clear line
and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import date

from botocore.exceptions import EndpointConnectionError

from movielake import __version__, plugins
from movielake.config import (
    ENGINE_ALIASES,
    ENGINES,
    ConfigError,
    Settings,
    parse_setting,
    use_local_stack_aws_environment,
)
from movielake.log import quiet_libraries

# Modules that add subcommands, in the order they appear in --help, after those of the
# installed plugins (the local stack's `local`, see movielake.plugins).
COMMAND_MODULES = (
    "movielake.ingest.cli",
    "movielake.tmdb.cli",
    "movielake.catalog.cli",
    "movielake.refine.cli",
    "movielake.analysis.cli",
    "movielake.invoke",
)


class UserError(RuntimeError):
    """An error the user can fix; printed as one line without a traceback."""


def iso_date(text: str) -> date:
    """An argparse type: ``YYYY-MM-DD`` as a date, or an error saying the format."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def setting(name: str) -> Callable[[str], object]:
    """An argparse type parsing a flag as the ``MOVIELAKE_<NAME>`` setting it overrides."""

    def parse(text: str) -> object:
        try:
            return parse_setting(name, text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def engine(text: str) -> str:
    """An argparse type: an ``--engine`` value, ``local`` or ``aws`` (or an alias of one)."""
    name = ENGINE_ALIASES.get(text.lower(), text.lower())
    if name not in ENGINES:
        aliases = ", ".join(f"{alias} = {target}" for alias, target in ENGINE_ALIASES.items())
        raise argparse.ArgumentTypeError(f"{text!r} is not an engine: use {' or '.join(ENGINES)} ({aliases})")
    return name


def add_engine_argument(parser: argparse.ArgumentParser, local: str, aws: str) -> None:
    """``--engine local|aws``, alike on every command that has one; ``local`` and ``aws`` say
    what the engine does for this command."""
    parser.add_argument(
        "--engine",
        type=engine,
        default=None,
        metavar="{local,aws}",
        help=f"local: {local}; aws: {aws} (default: aws, on the local stack too, where the moto "
        "server executes Athena and the crawlers; duckdb and athena are accepted for local and aws)",
    )


def unreachable(exc: EndpointConnectionError) -> str:
    """One line for an AWS endpoint nobody answers at: the dead local stack, or the network."""
    url = str(exc.kwargs.get("endpoint_url", ""))
    if Settings(endpoint_url=url).is_local:
        return "the local stack is not running: run `movielake local up`"
    return (
        f"cannot reach the AWS endpoint {url}: check the network, AWS_REGION and "
        "AWS_ENDPOINT_URL, then run the command again"
    )


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every concern's subcommands."""
    parser = argparse.ArgumentParser(
        prog="movielake",
        description="Movie-analytics lakehouse: ingest CSVs and TMDB into S3, catalog, query, report.",
    )
    parser.add_argument("--version", action="version", version=f"movielake {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands = [plugin.register for plugin in plugins.installed() if hasattr(plugin, "register")]
    commands += [importlib.import_module(name).register for name in COMMAND_MODULES]
    for register in commands:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    quiet_libraries(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        if not getattr(args, "addresses_its_stack", False):  # e.g. `local`: it manages the stack
            use_local_stack_aws_environment()
        return int(args.func(args) or 0)
    except (UserError, ConfigError) as exc:
        print(f"movielake {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except EndpointConnectionError as exc:
        print(f"movielake {args.command}: error: {unreachable(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"movielake {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
