"""``movielake local ...``: the local stack (moto + Terraform + the local Lambda runtime)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from movielake.local.runtime import Invocation

# Terraform subcommands that read or write state, and those that also take variables.
_STATE_COMMANDS = frozenset({"plan", "apply", "destroy", "refresh", "output", "import", "taint", "untaint"})
_VAR_COMMANDS = frozenset({"plan", "apply", "destroy", "refresh", "import"})
_NO_INIT = frozenset({"fmt", "version", "init", "-version", "-help", "--help", "help"})


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``movielake local`` and its subcommands."""
    parser = subparsers.add_parser(
        "local",
        help="run the AWS side on this machine (moto, Terraform, local Lambda runtime)",
        description="The local stack: a moto server standing in for AWS, the TMDB emulator, "
        "terraform/ applied onto them, and a runtime that delivers S3/SQS/schedule events to "
        "the deployed Lambda zips. State lives in build/local/ (MOVIELAKE_LOCAL_DIR).",
    )
    parser.set_defaults(addresses_its_stack=True)  # not pointed at the recorded stack by main()
    commands = parser.add_subparsers(dest="local_command", required=True, metavar="SUBCOMMAND")

    # One argparse declaration per subcommand: alike in shape, each with its own words.
    up = commands.add_parser(
        "up",
        help="start moto and the TMDB emulator, terraform apply, record build/local/stack.json",
        description="Bring the local stack up. Idempotent: on a running stack it re-applies only "
        "when terraform/, sql/ or the Lambda zips changed.",
    )
    up.set_defaults(func=cmd_up)

    down = commands.add_parser(
        "down",
        help="stop the local stack and forget its state",
        description="Stop the emulator "
        "and moto, and remove the stack record and Terraform state (moto's state is gone with it).",
    )
    down.set_defaults(func=cmd_down)

    status = commands.add_parser(
        "status",
        help="what runs where",
        description="Show the servers (pid, URL, alive), and Terraform's outputs of the local stack.",
    )
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(func=cmd_status)

    terraform = commands.add_parser(
        "terraform",
        help="run terraform in terraform/ with the offline provider mirror",
        description="Run `terraform ARGS` in terraform/ with the provider mirror, initialising first "
        "if needed. State-reading commands get the local stack's -state (and -var-file) unless "
        "given. Example: movielake local terraform -- validate -no-color",
    )
    terraform.add_argument("args", nargs=argparse.REMAINDER, help="terraform arguments (after --)")
    terraform.set_defaults(func=cmd_terraform)

    invoke = commands.add_parser(
        "invoke",
        help="run a deployed Lambda locally, then pump its follow-up events",
        description="Invoke FUNCTION (short name like tmdb-planner, or the deployed name) through "
        "the local runtime, print its result, then deliver the events it caused (e.g. the "
        "planner's SQS messages to the worker) until nothing is pending. Without --event a "
        "function that a schedule targets gets the scheduled event, others get {}.",
    )
    invoke.add_argument("function", metavar="FUNCTION")
    invoke.add_argument("--event", help="event JSON, or @FILE to read it from a file")
    invoke.add_argument("--rule", help="fire this EventBridge rule's target (scheduled-event shape)")
    invoke.add_argument("--no-pump", action="store_true", help="do not deliver follow-up events")
    invoke.set_defaults(func=cmd_invoke)

    pump = commands.add_parser(
        "pump",
        help="deliver pending S3 notifications and SQS messages to the Lambdas",
        description="Deliver every pending event (new objects matching a bucket notification, "
        "messages on a queue with an event source mapping) until none is left.",
    )
    pump.add_argument("--max-rounds", type=int, default=1000, help="give up after this many passes")
    pump.set_defaults(func=cmd_pump)

    permissions = commands.add_parser(
        "permissions",
        help="write the permission report (per role: actions used by the run, actions granted)",
        description="Line up the authorization decisions the local stack's moto server recorded "
        "(build/local/authorizations.jsonl) with each deployed role's inline policy, and write "
        "build/permissions.json and build/permissions.md: per role, every action the run used "
        "(and the statement granting it) and every action granted (used, or justified by an "
        "'Unused locally:' comment in terraform/iam.tf). Exits 1 when a use was denied or a "
        "grant is neither used nor justified. Run it after the pipeline (make demo).",
    )
    permissions.add_argument(
        "--out", type=Path, default=None, help="directory for the report (default: build/)"
    )
    permissions.set_defaults(func=cmd_permissions)

    land = commands.add_parser(
        "land",
        help="upload files to Landing/ of the lake bucket and let csv-ingest take them",
        description="Put each FILE at Landing/<name> in the lake bucket, then pump: the deployed "
        "S3 notification delivers each to csv-ingest. Prints the handler's result per file.",
        epilog="exit status: 0 every file ingested or skipped, 1 a file was rejected (moved to "
        "Rejected/ beside a .why.json note) or a handler failed, 2 usage or stack error",
    )
    land.add_argument("files", nargs="+", type=Path, metavar="FILE")
    land.add_argument("--no-pump", action="store_true", help="only upload")
    land.set_defaults(func=cmd_land)


# ------------------------------------------------------------------------------------- helpers


def _echo(message: str) -> None:
    """Progress lines go to stderr, results to stdout."""
    print(message, file=sys.stderr, flush=True)


def _user_errors(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn this package's known errors into the CLI's one-line UserError."""

    def wrapper(args: argparse.Namespace) -> int:
        from movielake.cli import UserError
        from movielake.local.dispatch import PumpError
        from movielake.local.runtime import LocalRuntimeError
        from movielake.local.server import ServerError
        from movielake.local.stack import StackError
        from movielake.local.terraform import TerraformError

        try:
            return func(args)
        except (StackError, TerraformError, ServerError, LocalRuntimeError, PumpError) as exc:
            raise UserError(str(exc)) from exc

    wrapper.__doc__ = func.__doc__
    return wrapper


def _stack() -> Any:
    """The checkout's local stack, echoing progress to stderr."""
    from movielake.local.stack import LocalStack

    return LocalStack.default(echo=_echo)


def describe(what: str, invocation: Invocation) -> str:
    """One human-readable line for an invocation."""
    head = f"{invocation.function} <- {what}: {invocation.status} in {invocation.duration:.2f} s"
    if invocation.ok:
        return f"{head}: {json.dumps(invocation.result, default=str)}"
    error = invocation.error or {}
    return f"{head}: {error.get('errorType', '')}: {error.get('errorMessage', '')}"


def _print_invocation(what: str, invocation: Invocation) -> None:
    """Report a delivered event as it completes."""
    print(describe(what, invocation), flush=True)


def _deliver(stack: Any, max_rounds: int = 1000) -> Any:
    """Deliver pending events and echo a summary; the dispatcher's ``PumpReport``."""
    report = stack.dispatcher(log_sink=_echo, on_invocation=_print_invocation).pump(max_rounds)
    failed = len(report.failed)
    _echo(f"pump: {len(report.invocations)} invocation(s), {failed} failed, {report.rounds} round(s)")
    return report


def _pump(stack: Any, max_rounds: int = 1000) -> int:
    """Deliver pending events; non-zero when any handler failed."""
    return 1 if _deliver(stack, max_rounds).failed else 0


def landing_results(invocations: Sequence[Invocation], sources: set[str]) -> list[dict[str, Any]]:
    """The csv-ingest results (``source``, ``status``, ``key``, ``reason``) for ``sources``."""
    return [
        item
        for invocation in invocations
        if invocation.ok and isinstance(invocation.result, dict)
        for item in invocation.result.get("results", [])
        if isinstance(item, dict) and item.get("source") in sources
    ]


def _read_event(text: str | None) -> Any:
    """The --event value: JSON, or @FILE."""
    from movielake.cli import UserError

    if text is None:
        return None
    try:
        raw = Path(text[1:]).read_text() if text.startswith("@") else text
        return json.loads(raw)
    except (OSError, ValueError) as exc:
        raise UserError(f"--event {text!r}: {exc}") from exc


# ------------------------------------------------------------------------------------ commands


@_user_errors
def cmd_up(args: argparse.Namespace) -> int:
    """movielake local up."""
    record = _stack().up()
    names = ", ".join(sorted((record["outputs"].get("function_names") or {}).values()))
    print(f"moto:     {record['endpoint_url']} (pid {record['moto_pid']})")
    if record.get("emulator_url"):
        print(f"TMDB:     {record['emulator_url']} (pid {record['emulator_pid']})")
    print(f"lake:     s3://{record['outputs'].get('lake_bucket', '?')}")
    print(f"lambdas:  {names}")
    return 0


@_user_errors
def cmd_down(args: argparse.Namespace) -> int:
    """movielake local down."""
    if not _stack().down():
        _echo("nothing was running")
    else:
        _echo("local stack down")
    return 0


@_user_errors
def cmd_status(args: argparse.Namespace) -> int:
    """movielake local status."""
    report = _stack().status()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0 if report["up"] else 1
    if not report.get("record"):
        print("local stack: down (run `movielake local up`)")
        return 1
    print(f"local stack: {'up' if report['up'] else 'NOT RUNNING (run movielake local down, then up)'}")
    for name in ("moto", "emulator"):
        if name in report:
            item = report[name]
            state = "alive" if item["alive"] else "dead"
            print(f"  {name:9} {item['url']}  pid {item['pid']} ({state})  log {item['log']}")
    outputs = report.get("outputs", {})
    for key in ("lake_bucket", "athena_results_bucket", "glue_database", "tmdb_queue_url", "function_names"):
        if key in outputs:
            value = outputs[key]
            print(f"  {key:22} {json.dumps(value) if isinstance(value, dict) else value}")
    return 0 if report["up"] else 1


def terraform_args(args: Sequence[str], state_file: Path, var_file: Path) -> list[str]:
    """Add the local stack's ``-state`` / ``-var-file`` to state commands that lack them."""
    args = list(args)
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        return args
    command, rest = args[0], args[1:]
    if command in _STATE_COMMANDS and not any(a.startswith(("-state=", "-state")) for a in rest):
        rest.insert(0, f"-state={state_file}")
    if command in _VAR_COMMANDS and var_file.exists() and not any(a.startswith("-var-file") for a in rest):
        rest.insert(0, f"-var-file={var_file}")
    return [command, *rest]


@_user_errors
def cmd_terraform(args: argparse.Namespace) -> int:
    """movielake local terraform -- ARGS."""
    stack = _stack()
    driver = stack.terraform()
    argv = terraform_args(args.args, driver.state_file, stack.tfvars)
    if not argv:
        _echo("usage: movielake local terraform -- ARGS (e.g. -- validate -no-color)")
        return 2
    result = driver.run(argv, init=argv[0] not in _NO_INIT, check=False)
    return int(result.returncode)


@_user_errors
def cmd_invoke(args: argparse.Namespace) -> int:
    """movielake local invoke FUNCTION."""
    stack = _stack()
    name = stack.function_name(args.function)
    dispatcher = stack.dispatcher(log_sink=_echo, on_invocation=_print_invocation)
    return invoke_and_pump(dispatcher, name, _read_event(args.event), args.rule, pump=not args.no_pump)


def invoke_and_pump(
    dispatcher: Any, name: str, event: Any, rule: str | None = None, pump: bool = True
) -> int:
    """Invoke ``name`` through the local runtime, then deliver what it caused; 1 on a failure.

    Without an event a function that a schedule targets gets the scheduled event.
    """
    invocation = None
    if event is None:
        spec = dispatcher.spec(name)
        invocation = dispatcher.fire_schedule(spec.arn, rule)
        if invocation is None and rule:
            from movielake.cli import UserError

            raise UserError(f"rule {rule!r} does not target {name}")
    if invocation is None:
        invocation = dispatcher.runtime.invoke(dispatcher.spec(name), {} if event is None else event)
        _print_invocation("invoke", invocation)
    status = 0 if invocation.ok else 1
    if pump:
        report = dispatcher.pump()
        failed = len(report.failed)
        _echo(f"pump: {len(report.invocations)} invocation(s), {failed} failed, {report.rounds} round(s)")
        status = max(status, 1 if failed else 0)
    return status


def invoke_at_endpoint(settings: Any, name: str, event: Any) -> int:
    """``movielake invoke`` on a local endpoint with no stack record: moto cannot run Lambda."""
    from urllib.parse import urlparse

    from movielake import aws
    from movielake.config import PROJECT_ROOT
    from movielake.local.roles import RoleCredentials
    from movielake.local.stack import make_dispatcher

    where = urlparse(settings.endpoint_url)
    directory = PROJECT_ROOT / "build" / "local" / f"endpoint-{where.hostname}-{where.port}"
    region = settings.region or "us-east-1"
    dispatcher = make_dispatcher(
        lambda service: aws.client(service, settings),
        settings.endpoint_url,
        directory,
        region=region,
        log_sink=_echo,
        on_invocation=_print_invocation,
        roles=RoleCredentials(aws.client("sts", settings), settings.endpoint_url, region),
    )
    return _user_errors(lambda _: invoke_and_pump(dispatcher, name, event))(argparse.Namespace())


@_user_errors
def cmd_pump(args: argparse.Namespace) -> int:
    """movielake local pump."""
    return _pump(_stack(), args.max_rounds)


@_user_errors
def cmd_land(args: argparse.Namespace) -> int:
    """movielake local land FILE..."""
    from movielake import keys
    from movielake.cli import UserError
    from movielake.ingest.ingest import NOTE_SUFFIX

    stack = _stack()
    bucket = stack.lake_bucket()
    s3 = stack.client("s3", stack.require()["endpoint_url"])
    sources = set()
    for path in args.files:
        if not path.is_file():
            raise UserError(f"{path} is not a file")
        key = keys.LANDING_PREFIX + path.name
        s3.upload_file(str(path), bucket, key)
        sources.add(f"s3://{bucket}/{key}")
        _echo(f"uploaded {path} to s3://{bucket}/{key}")
    if args.no_pump:
        return 0
    report = _deliver(stack)
    rejected = [r for r in landing_results(report.invocations, sources) if r.get("status") == "rejected"]
    for result in rejected:
        where = f"s3://{bucket}/{result['key']}"
        _echo(
            f"rejected: {result['source']} was moved to {where}, the reason to {where}{NOTE_SUFFIX}: "
            f"{result['reason']}"
        )
    return 1 if rejected or report.failed else 0


@_user_errors
def cmd_permissions(args: argparse.Namespace) -> int:
    """movielake local permissions."""
    from movielake.local import permissions
    from movielake.local.server import audit_file
    from movielake.local.terraform import TERRAFORM_DIR

    stack = _stack()
    url = stack.require()["endpoint_url"]
    policies = permissions.deployed_role_policies(
        stack.client("iam", url), stack.client("lambda", url), stack.client("glue", url)
    )
    justified = permissions.justifications((TERRAFORM_DIR / "iam.tf").read_text())
    decisions = permissions.read_audit(audit_file(stack.directory))
    reports = permissions.build_report(policies, decisions, justified)
    paths = permissions.write_report(reports, args.out or stack.build_dir)
    for report in reports:
        used = len(report.used)
        print(
            f"{report.role}: {used} action(s) used, {len(report.granted)} granted, "
            f"{len(report.problems)} problem(s)"
        )
        for problem in report.problems:
            print(f"  {problem}")
    _echo(f"wrote {paths[0]} and {paths[1]}")
    return 1 if any(r.problems for r in reports) else 0
