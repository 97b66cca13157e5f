"""``movielake invoke FUNCTION``: run a deployed Lambda and print what it returned.

On AWS this is a synchronous ``lambda:Invoke`` (the answer, or the function's error, comes
back). On the local stack (a local ``AWS_ENDPOINT_URL``) moto cannot run a function, so the
local runtime runs the deployed zip with the deployed configuration instead, then delivers the
events the invocation caused (e.g. the planner's SQS messages to the worker): the same command
works against both.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from botocore.config import Config

from movielake import aws
from movielake.cli import UserError
from movielake.config import Settings

# The longest a Lambda may run (15 min), plus the time to send the answer back.
READ_TIMEOUT = 960


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``movielake invoke``."""
    # An argparse declaration, alike in shape to the other commands' (tmdb/cli.py).
    parser = subparsers.add_parser(
        "invoke",
        help="run a deployed Lambda and print its result",
        description="Invoke FUNCTION (its deployed name or ARN, e.g. from `terraform output "
        "function_names`) synchronously and print the JSON it returned; exit 1 when the function "
        "failed. On the local stack the local runtime runs it instead of moto.",
    )
    parser.add_argument("function", metavar="FUNCTION", help="deployed function name or ARN")
    parser.add_argument("--event", default="{}", help="event JSON (default {})")
    parser.set_defaults(func=invoke_command)


def invoke_command(args: argparse.Namespace) -> int:
    """movielake invoke FUNCTION."""
    try:
        event = json.loads(args.event)
    except ValueError as exc:
        raise UserError(f"--event is not JSON: {exc}") from exc
    settings = Settings.from_env()
    if settings.is_local:
        from movielake import plugins  # moto runs no function: the local runtime does

        try:
            run_locally = plugins.hook("invoke_at_endpoint", "invoking a Lambda on a local endpoint")
        except plugins.PluginMissingError as exc:
            raise UserError(str(exc)) from exc
        return run_locally(settings, args.function, event)
    client = aws.client(
        "lambda", settings, config=Config(read_timeout=READ_TIMEOUT, retries={"max_attempts": 1})
    )
    return print_answer(args.function, client.invoke(FunctionName=args.function, Payload=json.dumps(event)))


def print_answer(function: str, response: dict[str, Any]) -> int:
    """Print the function's answer; a function error becomes a UserError naming its log group."""
    payload = response["Payload"].read().decode()
    if response.get("FunctionError"):
        name = function.rsplit(":", 1)[-1] if function.startswith("arn:") else function
        raise UserError(
            f"{function} failed ({response['FunctionError']}): {payload}; its log is in the "
            f"CloudWatch log group /aws/lambda/{name}"
        )
    print(payload)
    return 0
