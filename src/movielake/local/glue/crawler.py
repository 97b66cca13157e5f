"""Glue crawlers that crawl, inside the local moto server (installed by its launcher).

moto's crawler only changes state, and only when its crawls are listed. With this stand-in:

- ``StartCrawler`` starts a run in the background and answers at once, as Glue does; a second
  start while a run is going is refused with ``CrawlerRunningException`` ("Crawler with name
  <name> has already started");
- the run assumes the crawler's role as ``glue.amazonaws.com`` (the role's trust policy must
  allow it) and crawls with that role's credentials, over the server's own endpoint, so the
  enforcing server authorizes each S3 read and Glue write as AWS would
  (:func:`movielake.local.glue.crawl.crawl`, reading the crawler's definition, including
  ``Configuration``, from the Glue API shape);
- ``GetCrawler``/``GetCrawlers`` show ``RUNNING`` while it reads and writes, ``STOPPING`` while
  it winds down (``STOPPING_SECONDS``), then ``READY``; ``LastCrawl`` is the last finished
  run's ``Status`` (``SUCCEEDED``/``FAILED``/``CANCELLED``), ``ErrorMessage``, ``StartTime``,
  ``LogGroup``/``LogStream``/``MessagePrefix``; ``ListCrawls`` gives every run;
- ``StopCrawler`` asks the run to stop between tables (``CANCELLED``);
- as a run ends, the *Glue Crawler State Change* event (:mod:`movielake.local.glue.events`)
  goes on the default bus (:class:`movielake.local.eventbus.BusLog`) before the crawler is
  ``READY`` again, so whoever waited for ``READY`` finds it there.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from movielake.catalog.crawlers import CrawlerDefinition
from movielake.catalog.summary import TableSummary
from movielake.local.eventbus import BusLog
from movielake.local.glue.crawl import crawl
from movielake.local.glue.events import crawler_state_event

log = logging.getLogger(__name__)

GLUE_SERVICE = "glue.amazonaws.com"
# How long a finished run shows STOPPING before READY (Glue takes tens of seconds).
STOPPING_SECONDS = 0.5
DEFAULT_LOG_GROUP = "/aws-glue/crawlers"
ERROR_MESSAGE_MAX = 2048  # LastCrawlInfo.ErrorMessage's length limit
_start_lock = threading.Lock()


def log_group(role_arn: str, security_configuration: str | None) -> str:
    """The run's log group: with a security configuration, Glue writes to
    ``/aws-glue/crawlers-role/<role name>-<configuration>`` (its logs are encrypted)."""
    if not security_configuration:
        return DEFAULT_LOG_GROUP
    return f"/aws-glue/crawlers-role/{role_arn.rsplit('/', 1)[-1]}-{security_configuration}"


@dataclass
class CrawlerRun:
    """One run; ``crawl_id``, ``status``, ``start_time``, ``end_time`` are what moto's
    ``ListCrawls`` filters on (``status`` in ListCrawls' words, plus ``STOPPING``)."""

    crawler: str
    log_group: str
    start_time: datetime
    crawl_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "RUNNING"  # RUNNING, STOPPING, then COMPLETED, FAILED or STOPPED
    end_time: datetime | None = None
    outcome: str | None = None  # LastCrawl.Status: SUCCEEDED, FAILED or CANCELLED
    error_message: str | None = None
    stop_requested: bool = False
    tables: list[TableSummary] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @property
    def log_stream(self) -> str:
        """The run's log stream: the crawler's name, as Glue names it."""
        return self.crawler

    @property
    def message_prefix(self) -> str:
        """The prefix of the run's log messages: its crawl id."""
        return self.crawl_id

    @property
    def finished(self) -> bool:
        """Whether the run has ended (the crawler is READY)."""
        return self.outcome is not None

    def advance(self) -> None:
        """moto's ListCrawls moves its own crawls on here; this run moves by itself."""

    def finish(self, outcome: str, error: str | None, ended: datetime) -> None:
        """Record the end: the crawler is READY from here on."""
        self.error_message = error[:ERROR_MESSAGE_MAX] if error else None
        self.end_time = ended
        self.status = {"SUCCEEDED": "COMPLETED", "FAILED": "FAILED", "CANCELLED": "STOPPED"}[outcome]
        self.outcome = outcome

    def as_dict(self) -> dict[str, Any]:
        """The run as ``ListCrawls`` gives it (CrawlerHistory)."""
        out: dict[str, Any] = {
            "CrawlId": self.crawl_id,
            "State": "RUNNING" if self.status == "STOPPING" else self.status,
            "StartTime": self.start_time,
            "LogGroup": self.log_group,
            "LogStream": self.log_stream,
            "MessagePrefix": self.message_prefix,
            "DPUHour": 0.0,
        }
        if self.end_time is not None:
            out["EndTime"] = self.end_time
        if self.error_message:
            out["ErrorMessage"] = self.error_message
        return out

    def last_crawl(self) -> dict[str, Any]:
        """The run as ``GetCrawler``'s ``LastCrawl`` gives it (LastCrawlInfo)."""
        out: dict[str, Any] = {
            "Status": self.outcome,
            "LogGroup": self.log_group,
            "LogStream": self.log_stream,
            "MessagePrefix": self.message_prefix,
            "StartTime": self.start_time,
        }
        if self.error_message:
            out["ErrorMessage"] = self.error_message
        return out


@dataclass
class CrawlerStandIn:
    """Runs crawls for the moto server at ``endpoint_url``.

    ``credentials`` (access key id, secret) sign the AssumeRole of each crawler's role: the
    enforcing server's administrator, who alone may act as an AWS service.
    """

    endpoint_url: str
    credentials: tuple[str, str]
    bus: BusLog | None = None

    def start(self, crawler: Any) -> None:
        """StartCrawler on moto's ``FakeCrawler``: refuse while a run is going, else start one."""
        from moto.core.utils import utcnow
        from moto.glue.exceptions import CrawlerRunningException

        with _start_lock:
            if crawler.crawls and not crawler.crawls[-1].finished:
                raise CrawlerRunningException(f"Crawler with name {crawler.name} has already started")
            group = log_group(crawler.role, crawler.crawler_security_configuration)
            run = CrawlerRun(crawler.name, group, start_time=utcnow())
            crawler.crawls.append(run)
        worker = threading.Thread(target=self.run, args=(crawler, run), name=crawler.name, daemon=True)
        worker.start()

    def run(self, crawler: Any, run: CrawlerRun) -> None:
        """The run: crawl as the role, wind down, put the event on the bus, then READY."""
        from moto.core.utils import utcnow

        region, account = crawler.backend.region_name, crawler.backend.account_id
        outcome, error = "SUCCEEDED", None
        try:
            glue, s3 = self.role_clients(crawler.role, region, crawler.name)
            definition = CrawlerDefinition.from_api(crawler.as_dict())
            run.tables = crawl(glue, s3, definition, stop_requested=lambda: run.stop_requested)
            if run.stop_requested:
                outcome = "CANCELLED"
        except Exception as exc:  # any failure of the run is the run's, as on AWS: FAILED + message
            log.warning("crawler %s failed: %s", crawler.name, exc)
            outcome, error = "FAILED", str(exc)
        run.status = "STOPPING"
        time.sleep(STOPPING_SECONDS)
        ended = utcnow()
        try:
            if self.bus is not None:
                event = crawler_state_event(
                    crawler.name,
                    outcome,
                    account=account,
                    region=region,
                    started=run.start_time,
                    ended=ended,
                    log_group=run.log_group,
                    tables=run.tables,
                    error=error or ("Crawler stopped by StopCrawler" if outcome == "CANCELLED" else None),
                )
                self.bus.put(event)
        finally:  # READY even if the event could not be written (Glue's events are best-effort)
            run.finish(outcome, error, ended)

    def role_clients(self, role_arn: str, region: str, crawler_name: str) -> tuple[Any, Any]:
        """(Glue, S3) clients with the role's credentials, assumed as the Glue service."""
        import boto3

        from movielake.local.roles import RoleCredentials

        key, secret = self.credentials
        sts = boto3.session.Session().client(
            "sts",
            endpoint_url=self.endpoint_url,
            region_name=region,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
        )
        roles = RoleCredentials(sts, self.endpoint_url, region)
        session = f"crawler-{crawler_name}"
        return roles.client("glue", role_arn, GLUE_SERVICE, session), roles.client(
            "s3", role_arn, GLUE_SERVICE, session
        )


def stop(crawler: Any) -> None:
    """StopCrawler on moto's ``FakeCrawler``: the run stops between tables (CANCELLED)."""
    from moto.glue.exceptions import CrawlerNotRunningException, GlueClientError

    run = crawler.crawls[-1] if crawler.crawls else None
    if run is None or run.finished:
        raise CrawlerNotRunningException(f"Crawler with name {crawler.name} isn't running")
    if run.status == "STOPPING":
        raise GlueClientError("CrawlerStoppingException", f"Crawler with name {crawler.name} is stopping")
    run.stop_requested = True
    run.status = "STOPPING"


def state(crawler: Any) -> str:
    """The crawler's ``State``: READY unless its last run is going."""
    run = crawler.crawls[-1] if crawler.crawls else None
    if run is None or run.finished:
        return "READY"
    return "STOPPING" if run.status == "STOPPING" else "RUNNING"


def install(endpoint_url: str, credentials: tuple[str, str], bus: BusLog | None) -> CrawlerStandIn:
    """Patch moto's crawler: StartCrawler/StopCrawler run and stop real crawls, GetCrawler(s)
    and ListCrawls report them."""
    from moto.glue.models import FakeCrawler

    stand_in = CrawlerStandIn(endpoint_url, credentials, bus)
    original_as_dict = FakeCrawler.as_dict

    def as_dict(self: Any) -> dict[str, Any]:
        data = original_as_dict(self)
        data.pop("LastCrawl", None)
        done = [run for run in self.crawls if run.finished]
        if done:
            data["LastCrawl"] = done[-1].last_crawl()
        if data["State"] != "READY":
            data["CrawlElapsedTime"] = int((time.monotonic() - self.crawls[-1].started) * 1000)
        return data

    FakeCrawler.start_crawler = lambda self: stand_in.start(self)  # type: ignore[method-assign]
    FakeCrawler.stop_crawler = stop  # type: ignore[method-assign]
    FakeCrawler.status = property(state)  # type: ignore[method-assign,assignment]
    FakeCrawler.as_dict = as_dict  # type: ignore[method-assign]
    return stand_in
