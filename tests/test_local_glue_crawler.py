"""The Glue crawler stand-in on the local stack: StartCrawler crawls as the crawler role, under
enforced IAM, and puts its state change on the default bus."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from movielake.local.server import bus_file
from movielake.local.stack import LocalStack

pytestmark = [pytest.mark.terraform, pytest.mark.slow]

GLUE_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def wait_until_ready(glue: Any, name: str, timeout: float = 60.0) -> dict[str, Any]:
    """GetCrawler until READY (a deadline, not a sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        crawler = glue.get_crawler(Name=name)["Crawler"]
        if crawler["State"] == "READY":
            return crawler
        assert time.monotonic() < deadline, f"crawler {name} still {crawler['State']}"
        time.sleep(0.1)


def bus_events(local_stack: dict, crawler: str) -> list[dict[str, Any]]:
    """The crawler's events in the stack's default-bus log (read whole, leaving the pump's cursor)."""
    lines = bus_file(Path(local_stack["local_dir"])).read_text().splitlines()
    events = [json.loads(line) for line in lines if line.strip()]
    return [e for e in events if e["detail"].get("crawlerName") == crawler]


def test_a_crawler_whose_role_has_no_grant_fails_with_the_denial(local_stack: dict) -> None:
    """The crawl runs as the crawler's role: a role the trust policy lets Glue assume but that
    holds no permission fails its run (LastCrawl FAILED, AWS's AccessDenied in ErrorMessage)
    and puts a Failed state change on the bus."""
    stack = LocalStack(directory=Path(local_stack["local_dir"]), record_path=Path(local_stack["record_path"]))
    url, outputs = local_stack["endpoint_url"], local_stack["outputs"]
    iam, glue = stack.client("iam", url), stack.client("glue", url)
    role = iam.create_role(RoleName="crawler-without-grants", AssumeRolePolicyDocument=GLUE_TRUST)["Role"]
    name = "movielake-local-ungranted"
    glue.create_crawler(
        Name=name,
        Role=role["Arn"],
        DatabaseName=outputs["glue_database"],
        Targets={"S3Targets": [{"Path": f"s3://{outputs['lake_bucket']}/Raw/TMDB/JSON/Movies/"}]},
    )
    try:
        glue.start_crawler(Name=name)
        crawler = wait_until_ready(glue, name)
    finally:
        glue.delete_crawler(Name=name)
        iam.delete_role(RoleName="crawler-without-grants")

    last = crawler["LastCrawl"]
    assert last["Status"] == "FAILED"
    assert "AccessDenied" in last["ErrorMessage"]
    assert f"assumed-role/crawler-without-grants/crawler-{name}" in last["ErrorMessage"]
    (event,) = bus_events(local_stack, name)
    assert (event["source"], event["detail-type"]) == ("aws.glue", "Glue Crawler State Change")
    assert event["detail"]["state"] == "Failed"
    assert event["detail"]["message"] == "Crawler Failed"
    assert event["detail"]["errorMessage"] == last["ErrorMessage"]
    assert event["account"] == role["Arn"].split(":")[4] == event["detail"]["accountId"]
