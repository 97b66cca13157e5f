"""``python -m movielake.local.motoserver -H HOST -p PORT``: moto's server, minus its Lambda triggers.

moto reacts to an object put (S3 notification) or a message sent (SQS event source mapping)
by invoking the target function in Docker. Without Docker that invocation fails, and for SQS
it does damage: moto first *receives* the messages (raising their receive count, so they
reach the dead-letter queue early), then makes them visible again. The local runtime
(:mod:`movielake.local.dispatch`) delivers those events itself, so this launcher switches
moto's own delivery off before starting the unchanged moto server. The wiring stays
readable through the APIs (notification configuration, event source mappings).

It also runs Athena queries (:mod:`movielake.local.athena`: moto only records them),
evaluates S3 bucket policies without their conditioned statements (see below why),
when the stack hands it an administrator key, authorizes every request as AWS would
(:mod:`movielake.local.authz`), and makes the Glue crawlers crawl, putting their state changes
on the default bus (:mod:`movielake.local.glue.crawler`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any


def quiet_lambda_triggers() -> None:
    """Stop moto from invoking Lambdas on S3 puts and SQS sends (the local runtime does it)."""
    from moto.awslambda import models as lambda_models
    from moto.s3 import notifications
    from moto.sqs.models import sqs_backends

    def no_invoke(*_args: Any, **_kwargs: Any) -> None:
        """S3 -> Lambda notifications are delivered by ``movielake local pump``."""

    notifications._invoke_awslambda = no_invoke  # type: ignore[assignment]

    original = lambda_models.LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        """Register the mapping as usual, but detach it from the queue's send hook."""
        esm = original(self, spec)
        queues = sqs_backends[self.account_id][self.region_name].queues
        for queue in queues.values():
            if queue.queue_arn == esm.event_source_arn:
                queue.lambda_event_source_mappings.pop(esm.function_arn, None)
        return esm

    lambda_models.LambdaBackend.create_event_source_mapping = create_event_source_mapping  # type: ignore[method-assign]


def skip_conditional_bucket_policy_statements() -> None:
    """Evaluate S3 bucket policies without their conditioned statements.

    moto has no request context for conditions such as ``aws:SecureTransport`` and turns any
    unmet condition into an explicit deny, so the lake's TLS-only policy (deny when
    ``aws:SecureTransport`` is false) would refuse every object request. The loopback endpoint
    stands in for AWS's HTTPS one: statements with a ``Condition`` are left out, the others
    (an unconditional deny, say) still apply.
    """
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy.decode() if isinstance(self.policy, bytes) else self.policy)
        statements = document.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        document["Statement"] = [s for s in statements if not s.get("Condition")]
        if not document["Statement"]:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps(document)).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


# Signs the crawler stand-in's AssumeRole on a server that enforces no IAM (any key passes).
UNENFORCED_CREDENTIALS = ("movielake-local", "movielake-local")


def own_endpoint(argv: list[str]) -> str:
    """The URL the server will listen on, from moto's ``-H HOST -p PORT`` (its defaults else)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    known, _ = parser.parse_known_args(argv)
    return f"http://{known.host}:{known.port}"


def main(argv: list[str] | None = None) -> None:
    """Patch moto, then run its server with the given command-line arguments."""
    argv = sys.argv[1:] if argv is None else argv
    quiet_lambda_triggers()
    skip_conditional_bucket_policy_statements()
    from movielake.local import athena, authz
    from movielake.local.eventbus import BUS_VARIABLE, BusLog
    from movielake.local.glue import crawler

    athena.install()
    admin = authz.install()
    bus = os.environ.get(BUS_VARIABLE)
    crawler.install(own_endpoint(argv), admin or UNENFORCED_CREDENTIALS, BusLog(Path(bus)) if bus else None)
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main()
