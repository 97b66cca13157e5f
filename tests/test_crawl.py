"""The crawler stand-in registers what the real Glue crawler would, runs as Glue's API says
(StartCrawler, states, LastCrawl, CrawlerRunningException), honours the crawler's
TableLevelConfiguration; ``movielake crawl`` (the AWS path) waits with a deadline."""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from datetime import date

import boto3
import pytest
from conftest import LAKE_BUCKET, NO_RETRY, REGION

from movielake import keys
from movielake.catalog import cli as crawl_cli
from movielake.catalog.aws_crawl import CrawlTimeoutError, crawl_aws
from movielake.catalog.crawlers import CrawlerDefinition
from movielake.catalog.paths import glob_to_regex, is_excluded, is_hidden, place_object, table_name
from movielake.catalog.summary import TableSummary
from movielake.catalog.types import (
    BIGINT,
    DOUBLE,
    INT,
    NULL,
    STRING,
    infer_json_type,
    merge_columns,
    merge_types,
    parse_type,
    render_type,
)
from movielake.local import sample_lake, synthetic
from movielake.local.glue.crawl import crawl
from movielake.tmdb.records import error_record, to_record

DATABASE = "movielake_test_raw"
TMDB_CRAWLER = "movielake-test-raw-tmdb"
CSV_CRAWLER = "movielake-test-raw-csv"
DAY1 = date(2024, 1, 15)
DAY2 = date(2024, 2, 1)
INGESTED = "2024-01-15T10:00:00.000000Z"
JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
LAZY_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"


# ---------------------------------------------------------------------------------- pure rules


def test_json_types_follow_the_crawler_rules() -> None:
    assert infer_json_type(5) == INT
    assert infer_json_type(2**31) == BIGINT
    assert infer_json_type(-(2**31) - 1) == BIGINT
    assert infer_json_type(1.5) == DOUBLE
    assert render_type(infer_json_type(True)) == "boolean"
    assert render_type(infer_json_type([{"Id": 1, "Name": "x"}, {"id": 2, "extra": None}])) == (
        "array<struct<id:int,name:string,extra:string>>"
    )
    assert render_type(infer_json_type([])) == "array<string>"


def test_merge_widens_and_nulls_do_not_decide() -> None:
    assert merge_types(INT, BIGINT) == BIGINT
    assert merge_types(BIGINT, DOUBLE) == DOUBLE
    assert merge_types(NULL, INT) == INT
    assert merge_types(INT, NULL) == INT
    assert merge_types(INT, STRING) == STRING
    nested = merge_types(infer_json_type({"a": 1}), infer_json_type({"a": 3_000_000_000, "b": "x"}))
    assert render_type(nested) == "struct<a:bigint,b:string>"
    assert merge_types(infer_json_type({"a": 1}), INT) == STRING


@pytest.mark.parametrize(
    "text",
    ["int", "bigint", "array<struct<id:int,name:string>>", "struct<a:array<double>,b:struct<c:boolean>>"],
)
def test_type_text_round_trips(text: str) -> None:
    assert render_type(parse_type(text)) == text


def test_merge_columns_keeps_old_columns_and_widens() -> None:
    merged = merge_columns([("id", "int"), ("gone", "string")], [("id", "bigint"), ("new", "double")])
    assert merged == [("id", "bigint"), ("gone", "string"), ("new", "double")]


def test_exclusion_globs() -> None:
    assert is_excluded("2024/01/15/erros_geral.json", ["**/erros_geral.json"])
    assert not is_excluded("2024/01/15/lote_1.json", ["**/erros_geral.json"])
    assert glob_to_regex("*.json").match("a.json")
    assert not glob_to_regex("*.json").match("2024/a.json")  # one * stays within a folder
    assert glob_to_regex("**.{csv,json}").match("2024/01/a.csv")
    assert glob_to_regex("2024/0[1-3]/**").match("2024/02/15/x.json")
    terraform_globs = ["**/erros_geral.json", "**/_*", "**/_*/**"]  # as terraform/glue.tf deploys them
    assert is_excluded("2024/01/15/_run/plan.json", terraform_globs)
    assert is_excluded("2024/01/15/_manifest.json", terraform_globs)
    assert not is_excluded("2024/01/15/lote_12.json", terraform_globs)
    assert is_hidden("2024/01/15/_manifest.json")
    assert is_hidden("2024/01/15/_run/plan.json")
    assert is_hidden("2024/01/15/.tmp")
    assert not is_hidden("2024/01/15/lote_1.json")


def test_tables_and_partitions_from_folders() -> None:
    assert place_object("2024/01/15/lote_1.json").partition_values == ("2024", "01", "15")
    assert place_object("2024/01/15/lote_1.json").table_folder == ""
    series = place_object("Series/2024/01/15/series.csv")
    assert (series.table_folder, series.partition_values) == ("Series/", ("2024", "01", "15"))
    assert table_name("tmdb_", "Raw/TMDB/JSON/Movies/") == "tmdb_movies"
    assert table_name("csv_", "Raw/Local/CSV/Series/") == "csv_series"


# ---------------------------------------------------------------------------------- moto catalog


@pytest.fixture
def glue(s3):
    """A Glue client on the same in-process moto, with the database and crawlers as Terraform makes them."""
    client = boto3.client("glue", region_name=REGION, config=NO_RETRY)
    client.create_database(DatabaseInput={"Name": DATABASE})
    create_crawlers(client, "UPDATE_IN_DATABASE")
    return client


def create_crawlers(client, update_behavior: str) -> None:
    """The two crawlers and the declared CSV tables, as the Terraform stack defines them.

    The tables come from ``sample_lake`` here (no Terraform in a unit test); the integration
    test checks that the applied Terraform declares the same ones.
    """
    for table_input in sample_lake.contract_table_inputs(LAKE_BUCKET):
        if table_input["Name"].startswith("csv_"):
            with contextlib.suppress(client.exceptions.AlreadyExistsException):
                client.create_table(DatabaseName=DATABASE, TableInput=table_input)
    policy = {"UpdateBehavior": update_behavior, "DeleteBehavior": "DEPRECATE_IN_DATABASE"}
    client.create_crawler(
        Name=TMDB_CRAWLER,
        Role="arn:aws:iam::123456789012:role/crawler",
        DatabaseName=DATABASE,
        TablePrefix="tmdb_",
        SchemaChangePolicy=policy,
        Targets={
            "S3Targets": [
                {
                    "Path": f"s3://{LAKE_BUCKET}/{keys.TMDB_MOVIES_PREFIX}",
                    "Exclusions": ["**/erros_geral.json"],
                }
            ]
        },
    )
    client.create_crawler(
        Name=CSV_CRAWLER,
        Role="arn:aws:iam::123456789012:role/crawler",
        DatabaseName=DATABASE,
        SchemaChangePolicy={"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"},
        Targets={"CatalogTargets": [{"DatabaseName": DATABASE, "Tables": ["csv_movies", "csv_series"]}]},
    )


def put_tmdb_day(s3, day: date, films: list[synthetic.Film], *, overrides: dict | None = None) -> list[dict]:
    """A run's objects under the contract keys: two batches, errors, manifest and bookkeeping."""
    records = [to_record(synthetic.tmdb_payload(f), f.imdb_id, INGESTED) | (overrides or {}) for f in films]
    half = len(records) // 2
    for number, chunk in ((1, records[:half]), (2, records[half:])):
        body = "".join(json.dumps(r) + "\n" for r in chunk)
        s3.put_object(Bucket=LAKE_BUCKET, Key=keys.tmdb_batch_key(day, number), Body=body.encode())
    errors = json.dumps(error_record("tt9999999", "not_found", 404, 1, INGESTED)) + "\n"
    s3.put_object(Bucket=LAKE_BUCKET, Key=keys.tmdb_errors_key(day), Body=errors.encode())
    manifest = {"manifest_only_field": 1, "batches": 2}
    s3.put_object(Bucket=LAKE_BUCKET, Key=keys.tmdb_manifest_key(day), Body=json.dumps(manifest).encode())
    plan = {"plan_only_field": ["tt1"]}
    s3.put_object(Bucket=LAKE_BUCKET, Key=keys.tmdb_run_key(day, "plan.json"), Body=json.dumps(plan).encode())
    return records


def put_csvs(s3, day: date) -> None:
    movies = list(synthetic.films(20, seed=3))
    series = list(synthetic.films(10, seed=4, series=True, first_id=900000))
    body = "".join(synthetic.csv_text(movies)).encode()
    s3.put_object(Bucket=LAKE_BUCKET, Key=keys.raw_csv_key("movies.csv", day), Body=body)
    body = "".join(synthetic.csv_text(series, series=True)).encode()
    s3.put_object(Bucket=LAKE_BUCKET, Key=keys.raw_csv_key("series.csv", day), Body=body)


def columns_of(glue, table: str) -> dict[str, str]:
    sd = glue.get_table(DatabaseName=DATABASE, Name=table)["Table"]["StorageDescriptor"]
    return {c["Name"]: c["Type"] for c in sd["Columns"]}


def partitions_of(glue, table: str) -> dict[tuple[str, ...], dict]:
    found = glue.get_partitions(DatabaseName=DATABASE, TableName=table)["Partitions"]
    return {tuple(p["Values"]): p for p in found}


def expected_int_type(records: list[dict], name: str) -> str:
    return "bigint" if any(abs(r[name]) > 2**31 - 1 for r in records) else "int"


def run_crawl(glue, s3, name: str, **options) -> list[TableSummary]:
    """One run of the deployed crawler ``name``, as the stand-in does it (in-process moto)."""
    return crawl(glue, s3, CrawlerDefinition.from_api(glue.get_crawler(Name=name)["Crawler"]), **options)


def test_tmdb_table_matches_the_contract(s3, glue) -> None:
    records = put_tmdb_day(s3, DAY1, list(synthetic.films(30)))

    summary = run_crawl(glue, s3, TMDB_CRAWLER)

    table = glue.get_table(DatabaseName=DATABASE, Name="tmdb_movies")["Table"]
    sd = table["StorageDescriptor"]
    assert sd["Location"] == f"s3://{LAKE_BUCKET}/Raw/TMDB/JSON/Movies/"
    assert sd["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert sd["OutputFormat"] == "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    assert sd["SerdeInfo"]["SerializationLibrary"] == JSON_SERDE
    assert table["Parameters"]["classification"] == "json"
    assert table["Parameters"]["UPDATED_BY_CRAWLER"] == TMDB_CRAWLER
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert table["PartitionKeys"] == [{"Name": f"partition_{i}", "Type": "string"} for i in range(3)]
    assert columns_of(glue, "tmdb_movies") == {
        "id": "int",
        "imdb_id": "string",
        "title": "string",
        "original_title": "string",
        "runtime": "int",
        "release_date": "string",
        "budget": expected_int_type(records, "budget"),
        "revenue": expected_int_type(records, "revenue"),
        "popularity": "double",
        "vote_average": "double",
        "vote_count": "int",
        "original_language": "string",
        "genres": "array<struct<id:int,name:string>>",
        "production_companies": "array<struct<id:int,name:string,origin_country:string>>",
        "cast": "array<struct<name:string,character:string,order:int>>",
        "crew": "array<struct<name:string,job:string>>",
        "requested_id": "string",
        "ingested_at": "string",
    }
    assert list(columns_of(glue, "tmdb_movies"))[:3] == ["id", "imdb_id", "title"]  # first-seen order
    partitions = partitions_of(glue, "tmdb_movies")
    assert list(partitions) == [("2024", "01", "15")]
    location = partitions[("2024", "01", "15")]["StorageDescriptor"]["Location"]
    assert location == f"s3://{LAKE_BUCKET}/Raw/TMDB/JSON/Movies/2024/01/15/"
    (only,) = summary
    # Only the two batches are data: errors are excluded by glob, _manifest and _run are hidden.
    assert (only.table, only.objects_read, only.partitions, only.action) == ("tmdb_movies", 2, 1, "created")


def test_excluded_and_hidden_objects_contribute_no_columns(s3, glue) -> None:
    put_tmdb_day(s3, DAY1, list(synthetic.films(6)))

    run_crawl(glue, s3, TMDB_CRAWLER)

    columns = columns_of(glue, "tmdb_movies")
    for foreign in ("reason", "http_status", "attempts", "manifest_only_field", "batches", "plan_only_field"):
        assert foreign not in columns


def test_declared_csv_tables_get_partitions_and_are_never_changed(s3, glue) -> None:
    declared = {
        t: glue.get_table(DatabaseName=DATABASE, Name=t)["Table"] for t in ("csv_movies", "csv_series")
    }
    put_csvs(s3, DAY1)
    # A quoted value (IMDb character names have them) must not change how the table is read.
    quoted = b'id|x\ntt1|"Quoted" name\n'
    s3.put_object(
        Bucket=LAKE_BUCKET, Key=f"{keys.raw_csv_prefix('Movies')}2024/02/01/quoted.csv", Body=quoted
    )

    summary = run_crawl(glue, s3, CSV_CRAWLER)

    assert sorted((t.table, t.action, t.partitions_added) for t in summary) == [
        ("csv_movies", "unchanged", 2),
        ("csv_series", "unchanged", 1),
    ]
    for name, before in declared.items():
        after = glue.get_table(DatabaseName=DATABASE, Name=name)["Table"]
        assert after["StorageDescriptor"] == before["StorageDescriptor"], name
        assert after["Parameters"] == before["Parameters"], name
    partitions = partitions_of(glue, "csv_movies")
    assert list(partitions) == [("2024", "01", "15"), ("2024", "02", "01")]
    sd = partitions[("2024", "02", "01")]["StorageDescriptor"]
    assert sd["Location"] == f"s3://{LAKE_BUCKET}/Raw/Local/CSV/Movies/2024/02/01/"
    assert sd["SerdeInfo"]["SerializationLibrary"] == LAZY_SERDE
    assert sd["SerdeInfo"]["Parameters"] == {"field.delim": "|", "serialization.null.format": "\\N"}
    assert sd["Columns"] == declared["csv_movies"]["StorageDescriptor"]["Columns"]
    assert list(partitions_of(glue, "csv_series")) == [("2024", "01", "15")]

    again = run_crawl(glue, s3, CSV_CRAWLER)
    assert [t.partitions_added for t in again] == [0, 0]


def test_a_missing_declared_table_is_named(s3, glue) -> None:
    glue.delete_table(DatabaseName=DATABASE, Name="csv_series")
    with pytest.raises(
        LookupError, match=f"{DATABASE}.csv_series, a catalog target of crawler {CSV_CRAWLER}"
    ):
        run_crawl(glue, s3, CSV_CRAWLER)


def test_recrawl_adds_new_partition_and_keeps_old_ones(s3, glue) -> None:
    put_tmdb_day(s3, DAY1, list(synthetic.films(10)))
    run_crawl(glue, s3, TMDB_CRAWLER)
    before = partitions_of(glue, "tmdb_movies")[("2024", "01", "15")]

    put_tmdb_day(s3, DAY2, list(synthetic.films(10, seed=8, first_id=500000)))
    summary = run_crawl(glue, s3, TMDB_CRAWLER)

    partitions = partitions_of(glue, "tmdb_movies")
    assert sorted(partitions) == [("2024", "01", "15"), ("2024", "02", "01")]
    assert (
        partitions[("2024", "01", "15")]["StorageDescriptor"]["Location"]
        == (before["StorageDescriptor"]["Location"])
    )
    assert partitions[("2024", "02", "01")]["StorageDescriptor"]["Location"].endswith("/Movies/2024/02/01/")
    (only,) = summary
    assert (only.action, only.partitions, only.partitions_added, only.objects_read) == ("updated", 2, 1, 4)
    # A third crawl with nothing new adds nothing and fails on nothing.
    (again,) = run_crawl(glue, s3, TMDB_CRAWLER)
    assert (again.partitions, again.partitions_added) == (2, 0)


def test_recrawl_widens_int_to_bigint_everywhere(s3, glue) -> None:
    put_tmdb_day(s3, DAY1, list(synthetic.films(4)), overrides={"revenue": 1000, "budget": 10})
    run_crawl(glue, s3, TMDB_CRAWLER)
    assert columns_of(glue, "tmdb_movies")["revenue"] == "int"

    put_tmdb_day(s3, DAY2, list(synthetic.films(4, seed=9)), overrides={"revenue": 2_900_000_000})
    run_crawl(glue, s3, TMDB_CRAWLER)

    assert columns_of(glue, "tmdb_movies")["revenue"] == "bigint"
    assert columns_of(glue, "tmdb_movies")["budget"] == "int"
    for partition in partitions_of(glue, "tmdb_movies").values():
        types = {c["Name"]: c["Type"] for c in partition["StorageDescriptor"]["Columns"]}
        assert types["revenue"] == "bigint"


def test_large_objects_are_sampled_by_their_first_lines(s3, glue) -> None:
    lines = [{"id": 1, "title": "a"}, {"id": 2, "title": "b", "late_field": True}]
    body = "".join(json.dumps(r) + "\n" for r in lines).encode()
    s3.put_object(Bucket=LAKE_BUCKET, Key=keys.tmdb_batch_key(DAY1, 1), Body=body)

    run_crawl(glue, s3, TMDB_CRAWLER, sample_lines=1, whole_object_bytes=10)
    assert "late_field" not in columns_of(glue, "tmdb_movies")

    run_crawl(glue, s3, TMDB_CRAWLER)  # small enough to read whole by default
    assert columns_of(glue, "tmdb_movies")["late_field"] == "boolean"


def test_schema_change_policy_log_keeps_the_table(s3, glue) -> None:
    for name in (TMDB_CRAWLER, CSV_CRAWLER):
        glue.delete_crawler(Name=name)  # moto has no update_crawler
    create_crawlers(glue, "LOG")
    put_tmdb_day(s3, DAY1, list(synthetic.films(4)), overrides={"revenue": 5})
    run_crawl(glue, s3, TMDB_CRAWLER)
    put_tmdb_day(s3, DAY2, list(synthetic.films(4)), overrides={"revenue": 2**40})

    (table,) = run_crawl(glue, s3, TMDB_CRAWLER)

    assert table.action == "unchanged"
    assert columns_of(glue, "tmdb_movies")["revenue"] == "int"
    assert table.partitions_added == 1


def test_a_missing_database_is_a_clear_error(s3, glue) -> None:
    glue.delete_database(Name=DATABASE)
    with pytest.raises(LookupError, match="does not exist"):
        run_crawl(glue, s3, TMDB_CRAWLER)


# ---------------------------------------------------------------------------------- real crawlers


@pytest.fixture
def crawl_transition():
    """Set how moto's crawl runs progress, and restore the default afterwards."""
    from moto.moto_api import state_manager

    def set_transition(transition: dict) -> None:
        state_manager.set_transition("glue::crawl", transition)

    yield set_transition
    state_manager.unset_transition("glue::crawl")


def test_aws_crawl_waits_until_ready(glue, crawl_transition) -> None:
    crawl_transition({"progression": "immediate"})
    glue.create_table(
        DatabaseName=DATABASE,
        TableInput={"Name": "tmdb_movies", "Parameters": {"UPDATED_BY_CRAWLER": TMDB_CRAWLER}},
    )
    glue.create_table(DatabaseName=DATABASE, TableInput={"Name": "tmdb_by_hand"})  # not the crawler's

    summary = crawl_aws(glue, [TMDB_CRAWLER], sleep=lambda _: None)

    assert summary.crawler_status == {TMDB_CRAWLER: "COMPLETED"}
    assert [t.table for t in summary.tables] == ["tmdb_movies"]


def test_aws_crawl_times_out_with_a_clear_message(glue, crawl_transition) -> None:
    crawl_transition({"progression": "manual", "times": 10**6})  # never finishes
    now = [0.0]

    def fake_sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(CrawlTimeoutError, match=f"crawler {TMDB_CRAWLER} is still RUNNING"):
        crawl_aws(glue, [TMDB_CRAWLER], timeout=60, poll_seconds=10, sleep=fake_sleep, clock=lambda: now[0])
    assert 60 <= now[0] < 70  # it polled until the deadline, not forever


def test_aws_crawl_without_wait_only_starts(glue, crawl_transition) -> None:
    crawl_transition({"progression": "manual", "times": 10**6})
    summary = crawl_aws(glue, [TMDB_CRAWLER, CSV_CRAWLER], wait=False)
    assert summary.crawler_status == {TMDB_CRAWLER: "started", CSV_CRAWLER: "started"}
    assert glue.get_crawler(Name=CSV_CRAWLER)["Crawler"]["State"] == "RUNNING"


# ------------------------------------------------------------- the stand-in in the moto server


def server_clients(endpoint: str) -> tuple:
    """S3 and Glue clients on the moto server, with the lake bucket and the database."""
    s3 = boto3.client("s3", region_name=REGION, config=NO_RETRY, endpoint_url=endpoint)
    glue = boto3.client("glue", region_name=REGION, config=NO_RETRY, endpoint_url=endpoint)
    s3.create_bucket(Bucket=LAKE_BUCKET)
    glue.create_database(DatabaseInput={"Name": DATABASE})
    return s3, glue


def states_until_ready(glue, name: str, timeout: float = 60.0) -> list[str]:
    """The distinct states GetCrawler shows, polled until READY (with a deadline)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while not seen or seen[-1] != "READY":
        assert time.monotonic() < deadline, f"crawler {name} never came back to READY: {seen}"
        state = glue.get_crawler(Name=name)["Crawler"]["State"]
        if not seen or seen[-1] != state:
            seen.append(state)
        time.sleep(0.02)
    return seen


def test_start_crawler_crawls_through_its_states_and_refuses_a_second_start(moto_endpoint) -> None:
    """StartCrawler runs the crawl in the server: RUNNING, STOPPING, READY; a start while it
    runs is refused as Glue refuses it; LastCrawl and ListCrawls record the run."""
    s3, glue = server_clients(moto_endpoint)
    create_crawlers(glue, "UPDATE_IN_DATABASE")
    put_tmdb_day(s3, DAY1, list(synthetic.films(8)))
    put_csvs(s3, DAY1)
    assert "LastCrawl" not in glue.get_crawler(Name=TMDB_CRAWLER)["Crawler"]

    glue.start_crawler(Name=TMDB_CRAWLER)
    with pytest.raises(glue.exceptions.CrawlerRunningException) as refused:
        glue.start_crawler(Name=TMDB_CRAWLER)
    states = states_until_ready(glue, TMDB_CRAWLER)
    crawl_aws(glue, [CSV_CRAWLER], poll_seconds=0.1)  # the AWS path: start, wait, summarise

    assert (
        refused.value.response["Error"]["Message"] == f"Crawler with name {TMDB_CRAWLER} has already started"
    )
    assert states == ["RUNNING", "STOPPING", "READY"]
    last = glue.get_crawler(Name=TMDB_CRAWLER)["Crawler"]["LastCrawl"]
    assert (last["Status"], last["LogGroup"], last["LogStream"]) == (
        "SUCCEEDED",
        "/aws-glue/crawlers",
        TMDB_CRAWLER,
    )
    assert "ErrorMessage" not in last
    (run,) = glue.list_crawls(CrawlerName=TMDB_CRAWLER)["Crawls"]
    assert (run["State"], run["CrawlId"], run["StartTime"]) == (
        "COMPLETED",
        last["MessagePrefix"],
        last["StartTime"],
    )
    assert run["EndTime"] > run["StartTime"]
    assert columns_of(glue, "tmdb_movies")["genres"] == "array<struct<id:int,name:string>>"
    assert list(partitions_of(glue, "csv_movies")) == [("2024", "01", "15")]


def test_stop_crawler_cancels_the_run(moto_endpoint) -> None:
    """StopCrawler during a run: STOPPING, then READY with LastCrawl CANCELLED; a stop with
    no run going is refused."""
    s3, glue = server_clients(moto_endpoint)
    create_crawlers(glue, "UPDATE_IN_DATABASE")
    put_tmdb_day(s3, DAY1, list(synthetic.films(4)))

    glue.start_crawler(Name=TMDB_CRAWLER)
    glue.stop_crawler(Name=TMDB_CRAWLER)
    states = states_until_ready(glue, TMDB_CRAWLER)

    assert states == ["STOPPING", "READY"]
    assert glue.get_crawler(Name=TMDB_CRAWLER)["Crawler"]["LastCrawl"]["Status"] == "CANCELLED"
    assert [c["State"] for c in glue.list_crawls(CrawlerName=TMDB_CRAWLER)["Crawls"]] == ["STOPPED"]
    with pytest.raises(glue.exceptions.CrawlerNotRunningException):
        glue.stop_crawler(Name=TMDB_CRAWLER)


def test_the_crawlers_table_level_decides_the_table_root(moto_endpoint) -> None:
    """Grouping.TableLevelConfiguration, read from the crawler's Configuration: at level 4 the
    TMDB folder is one table whatever the days' schemas; at level 5 each year is a table."""
    s3, glue = server_clients(moto_endpoint)
    s3.put_object(Bucket=LAKE_BUCKET, Key=keys.tmdb_batch_key(DAY1, 1), Body=b'{"id": 1, "title": "a"}\n')
    s3.put_object(
        Bucket=LAKE_BUCKET, Key=keys.tmdb_batch_key(DAY2, 1), Body=b'{"budget": 10.5, "cast": []}\n'
    )
    for level in (4, 5):
        glue.create_crawler(
            Name=f"level-{level}",
            Role="arn:aws:iam::123456789012:role/crawler",
            DatabaseName=DATABASE,
            TablePrefix=f"l{level}_",
            Targets={"S3Targets": [{"Path": f"s3://{LAKE_BUCKET}/{keys.TMDB_MOVIES_PREFIX}"}]},
            Configuration=json.dumps({"Version": 1.0, "Grouping": {"TableLevelConfiguration": level}}),
        )
        glue.start_crawler(Name=f"level-{level}")
    for level in (4, 5):
        states_until_ready(glue, f"level-{level}")

    tables = {t["Name"]: t for t in glue.get_tables(DatabaseName=DATABASE)["TableList"]}
    assert sorted(tables) == ["l4_movies", "l5_2024"]
    movies, year = tables["l4_movies"], tables["l5_2024"]
    assert movies["StorageDescriptor"]["Location"] == f"s3://{LAKE_BUCKET}/Raw/TMDB/JSON/Movies/"
    assert [k["Name"] for k in movies["PartitionKeys"]] == ["partition_0", "partition_1", "partition_2"]
    assert set(columns_of(glue, "l4_movies")) == {"id", "title", "budget", "cast"}
    assert sorted(partitions_of(glue, "l4_movies")) == [("2024", "01", "15"), ("2024", "02", "01")]
    assert year["StorageDescriptor"]["Location"] == f"s3://{LAKE_BUCKET}/Raw/TMDB/JSON/Movies/2024/"
    assert [k["Name"] for k in year["PartitionKeys"]] == ["partition_0", "partition_1"]
    assert sorted(partitions_of(glue, "l5_2024")) == [("01", "15"), ("02", "01")]


def test_crawl_command_prints_the_summary(moto_endpoint, monkeypatch, capsys) -> None:
    """``movielake crawl --crawler csv`` on a moto server: the stand-in crawls, the AWS path
    waits for READY and prints the last crawl and the tables."""
    s3, glue = server_clients(moto_endpoint)
    create_crawlers(glue, "UPDATE_IN_DATABASE")
    put_csvs(s3, DAY1)
    for name, value in {
        "MOVIELAKE_LAKE_BUCKET": LAKE_BUCKET,
        "MOVIELAKE_GLUE_DATABASE": DATABASE,
        "MOVIELAKE_TMDB_CRAWLER": TMDB_CRAWLER,
        "MOVIELAKE_CSV_CRAWLER": CSV_CRAWLER,
    }.items():
        monkeypatch.setenv(name, value)
    parser = argparse.ArgumentParser()
    crawl_cli.register(parser.add_subparsers())
    args = parser.parse_args(["crawl", "--crawler", "csv"])

    assert args.func(args) == 0

    out = capsys.readouterr().out
    assert f"crawler {CSV_CRAWLER}: SUCCEEDED" in out
    assert f"{DATABASE}.csv_movies: crawled, 15 columns, 1 partitions" in out
    with pytest.raises(SystemExit):  # one engine: the local crawl branch is gone
        parser.parse_args(["crawl", "--engine", "local"])
