"""The local stack's Athena runs queries as Athena does, as the caller (movielake.local.athena).

One IAM-enforcing moto server for the module, started as the local stack starts it; the
administrator builds a small lake (a JSON table, partitioned by year, under SSE-KMS), the
workgroups and the roles, and every query runs as a role through boto3 or awswrangler.
Results are checked against pandas over the same rows.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import endless_query

from movielake.catalog.descriptors import storage_descriptor
from movielake.local import server
from movielake.local.athena.pool import WORKERS_VARIABLE
from movielake.local.roles import assume_as_service
from movielake.local.stack import new_admin_key

pytestmark = pytest.mark.slow  # one moto server and its worker processes; ~1 s a query

NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})
REGION = "us-east-1"
ACCOUNT = "123456789012"
DATABASE = "lakedb"
LAKE, RESULTS = "lake", "results"
LAMBDA = "lambda.amazonaws.com"
YEARS = (1990, 2000, 2010)
FINISHED = {"SUCCEEDED", "FAILED", "CANCELLED"}
CUTOFF = 10_000_000  # the least BytesScannedCutoffPerQuery Athena (and boto3) accepts


def film_rows() -> list[dict[str, Any]]:
    """Deterministic films, some without a budget."""
    return [
        {
            "id": i,
            "title": f"film {i}",
            "budget": None if i % 7 == 0 else (i * 37 % 101) * 1000,
            "revenue": (i * 53 % 97) * 2500,
            "year": YEARS[i % 3],
        }
        for i in range(1, 121)
    ]


def arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def json_table(
    glue: Any, database: str, name: str, columns: list[tuple[str, str]], location: str, **extra: Any
) -> None:
    """A Glue table over NDJSON objects, as the crawler catalogs one."""
    table = {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "StorageDescriptor": storage_descriptor("json", columns, location),
    }
    glue.create_table(DatabaseName=database, TableInput={**table, **extra})


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The server, its administrator, the lake and workgroups, and ``role(statements)``."""
    admin = new_admin_key()
    # One worker process: a query read again runs where the first one ran (no cache may hide it).
    with pytest.MonkeyPatch.context() as env:
        env.setenv(WORKERS_VARIABLE, "1")
        record = server.start_moto(
            tmp_path_factory.mktemp("athena-moto"),
            managed_policies=False,
            admin_key=f"{admin['AWS_ACCESS_KEY_ID']}:{admin['AWS_SECRET_ACCESS_KEY']}",
        )

    def session(credentials: dict[str, str]) -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials.get("AWS_SESSION_TOKEN"),
            region_name=REGION,
        )

    def client(service: str, credentials: dict[str, str] = admin) -> Any:
        return session(credentials).client(service, endpoint_url=record.url, config=NO_RETRY)

    try:
        key = client("kms").create_key()["KeyMetadata"]["Arn"]
        s3, glue, athena = client("s3"), client("glue"), client("athena")
        for bucket in (LAKE, RESULTS):
            s3.create_bucket(Bucket=bucket)
        rows = film_rows()
        glue.create_database(DatabaseInput={"Name": DATABASE})
        columns = [("id", "int"), ("title", "string"), ("budget", "bigint"), ("revenue", "bigint")]
        json_table(
            glue,
            DATABASE,
            "films",
            columns,
            f"s3://{LAKE}/raw/films/",
            PartitionKeys=[{"Name": "year", "Type": "string"}],
        )
        for year in YEARS:
            body = "\n".join(
                json.dumps({k: v for k, v in r.items() if k != "year"}) for r in rows if r["year"] == year
            )
            location = f"s3://{LAKE}/raw/films/year={year}/"
            s3.put_object(
                Bucket=LAKE,
                Key=f"raw/films/year={year}/part.json",
                Body=body.encode(),
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=key,
            )
            glue.create_partition(
                DatabaseName=DATABASE,
                TableName="films",
                PartitionInput={
                    "Values": [str(year)],
                    "StorageDescriptor": storage_descriptor("json", columns, location),
                },
            )
        encryption = {"EncryptionOption": "SSE_KMS", "KmsKey": key}
        for name, enforced, extra in (
            ("enforced", True, {}),
            ("open", False, {}),
            ("capped", True, {"BytesScannedCutoffPerQuery": CUTOFF}),
        ):
            athena.create_work_group(
                Name=name,
                Configuration={
                    "ResultConfiguration": {
                        "OutputLocation": f"s3://{RESULTS}/{name}/",
                        "EncryptionConfiguration": encryption,
                    },
                    "EnforceWorkGroupConfiguration": enforced,
                    **extra,
                },
            )

        def role(name: str, statements: list[dict[str, Any]]) -> dict[str, Any]:
            iam = client("iam")
            trust = {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": LAMBDA}, "Action": "sts:AssumeRole"}
                ],
            }
            role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
                "Arn"
            ]
            document = {"Version": "2012-10-17", "Statement": statements}
            iam.put_role_policy(RoleName=name, PolicyName="access", PolicyDocument=json.dumps(document))
            credentials = assume_as_service(client("sts"), role_arn, LAMBDA, name)
            return {
                "session": session(credentials),
                "athena": client("athena", credentials),
                "credentials": credentials,
            }

        yield {"url": record.url, "client": client, "role": role, "key": key, "rows": rows}
    finally:
        server.stop(record)


def grants(key: str, *, without: str = "") -> list[dict[str, Any]]:
    """What a role running Athena queries over the lake needs (less the action ``without``)."""
    statements = [
        (
            [
                "athena:StartQueryExecution",
                "athena:GetQueryExecution",
                "athena:GetQueryResults",
                "athena:StopQueryExecution",
                "athena:GetWorkGroup",
            ],
            [arn("athena", "workgroup/*")],
        ),
        (
            [
                "glue:GetDatabase",
                "glue:GetTable",
                "glue:GetPartitions",
                "glue:CreateTable",
                "glue:DeleteTable",
            ],
            [arn("glue", "catalog"), arn("glue", f"database/{DATABASE}"), arn("glue", f"table/{DATABASE}/*")],
        ),
        (["s3:GetObject"], [f"arn:aws:s3:::{LAKE}/*", f"arn:aws:s3:::{RESULTS}/*"]),
        (["s3:PutObject", "s3:DeleteObject"], [f"arn:aws:s3:::{RESULTS}/*", f"arn:aws:s3:::{LAKE}/built/*"]),
        (["s3:ListBucket", "s3:GetBucketLocation"], [f"arn:aws:s3:::{LAKE}", f"arn:aws:s3:::{RESULTS}"]),
        (["kms:Decrypt", "kms:GenerateDataKey"], [key]),
    ]
    allowed = []
    for actions, resources in statements:
        kept = [a for a in actions if a != without]
        if kept:
            allowed.append({"Effect": "Allow", "Action": kept, "Resource": resources})
    return allowed


@pytest.fixture(scope="module")
def analyst(lake: dict[str, Any]) -> dict[str, Any]:
    """A role holding every grant a query needs."""
    return lake["role"]("analyst", grants(lake["key"]))


def run(athena: Any, sql: str, workgroup: str = "enforced", database: str = DATABASE) -> dict[str, Any]:
    """Start a query, poll until it finishes (or fail the test at the deadline)."""
    query_id = athena.start_query_execution(
        QueryString=sql, WorkGroup=workgroup, QueryExecutionContext={"Database": database}
    )["QueryExecutionId"]
    return wait(athena, query_id)


def wait(athena: Any, query_id: str, deadline: float = 60.0) -> dict[str, Any]:
    ends = time.monotonic() + deadline
    while time.monotonic() < ends:
        execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        if execution["Status"]["State"] in FINISHED:
            return execution
        time.sleep(0.05)
    pytest.fail(f"query {query_id} did not finish within {deadline} s")


def frame(lake: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(lake["rows"]).astype({"year": str})


ROI_SQL = """
SELECT year, count(*) AS films, sum(budget) AS spent, avg(CAST(revenue AS double) / budget) AS roi
FROM films
WHERE budget IS NOT NULL
GROUP BY year
ORDER BY year
"""


def expected_roi(lake: dict[str, Any]) -> pd.DataFrame:
    films = frame(lake).dropna(subset=["budget"])
    films = films.assign(roi=films["revenue"] / films["budget"])
    grouped = films.groupby("year").agg(films=("id", "size"), spent=("budget", "sum"), roi=("roi", "mean"))
    return grouped.reset_index()


def test_select_runs_as_the_role_and_pages_its_results(lake: dict[str, Any], analyst: dict[str, Any]) -> None:
    athena = analyst["athena"]
    execution = run(athena, ROI_SQL)
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    query_id = execution["QueryExecutionId"]

    pages = list(
        athena.get_paginator("get_query_results").paginate(
            QueryExecutionId=query_id, PaginationConfig={"PageSize": 2}
        )
    )
    assert len(pages) == 2  # header + 3 rows, two a page
    rows = [
        [cell.get("VarCharValue") for cell in row["Data"]]
        for page in pages
        for row in page["ResultSet"]["Rows"]
    ]
    assert rows[0] == ["year", "films", "spent", "roi"]  # the header row first
    info = pages[0]["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    assert [c["Type"] for c in info] == ["varchar", "bigint", "bigint", "double"]
    expected = expected_roi(lake)
    assert [r[0] for r in rows[1:]] == list(expected["year"])
    assert [int(r[1]) for r in rows[1:]] == list(expected["films"])
    assert [int(r[2]) for r in rows[1:]] == list(expected["spent"])
    assert [float(r[3]) for r in rows[1:]] == pytest.approx(list(expected["roi"]))

    # The CSV and its .metadata in the workgroup's location, under the workgroup's KMS key.
    s3 = lake["client"]("s3")
    location = execution["ResultConfiguration"]["OutputLocation"]
    assert location == f"s3://{RESULTS}/enforced/{query_id}.csv"
    written = s3.get_object(Bucket=RESULTS, Key=f"enforced/{query_id}.csv")
    assert written["SSEKMSKeyId"] == lake["key"]
    csv = pd.read_csv(io.BytesIO(written["Body"].read()))
    assert list(csv["films"]) == list(expected["films"])
    assert s3.head_object(Bucket=RESULTS, Key=f"enforced/{query_id}.csv.metadata")["ContentLength"] > 0

    # Bytes scanned: the JSON objects, read whole, as httpfs fetched them.
    sizes = sum(o["Size"] for o in s3.list_objects_v2(Bucket=LAKE, Prefix="raw/films/")["Contents"])
    assert execution["Statistics"]["DataScannedInBytes"] == sizes
    again = run(athena, ROI_SQL)  # read again, not from a cache
    assert again["Statistics"]["DataScannedInBytes"] == sizes


def test_awswrangler_read_sql_query_both_ways(lake: dict[str, Any], analyst: dict[str, Any]) -> None:
    import awswrangler as wr

    for service in ("athena", "s3", "glue", "sts"):
        setattr(wr.config, f"{service}_endpoint_url", lake["url"])
    try:
        expected = expected_roi(lake)
        for ctas_approach in (False, True):
            got = wr.athena.read_sql_query(
                ROI_SQL,
                database=DATABASE,
                workgroup="enforced",
                ctas_approach=ctas_approach,
                boto3_session=analyst["session"],
            )
            assert list(got["year"]) == list(expected["year"]), ctas_approach
            assert list(got["films"]) == list(expected["films"])
            assert list(got["roi"]) == pytest.approx(list(expected["roi"]))
        # the CTAS approach's temporary table is gone again (awswrangler drops it through Glue)
        tables = lake["client"]("glue").get_tables(DatabaseName=DATABASE)["TableList"]
        assert not [t["Name"] for t in tables if t["Name"].startswith("temp_table_")]
    finally:
        for service in ("athena", "s3", "glue", "sts"):
            setattr(wr.config, f"{service}_endpoint_url", None)


def test_ctas_writes_parquet_and_the_table_as_athena_does(
    lake: dict[str, Any], analyst: dict[str, Any]
) -> None:
    athena, s3, glue = analyst["athena"], lake["client"]("s3"), lake["client"]("glue")
    select = "SELECT id, title, revenue FROM films WHERE year = '2000'"

    # An enforced workgroup: no external_location; the table goes under <results>/tables/<id>/.
    execution = run(athena, f"CREATE TABLE hits WITH (format = 'PARQUET') AS {select}")
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    query_id = execution["QueryExecutionId"]
    table = glue.get_table(DatabaseName=DATABASE, Name="hits")["Table"]
    location = table["StorageDescriptor"]["Location"]
    assert location == f"s3://{RESULTS}/enforced/tables/{query_id}/"
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [
        ("id", "int"),
        ("title", "string"),
        ("revenue", "bigint"),
    ]
    manifest = execution["Statistics"]["DataManifestLocation"]
    assert manifest == f"s3://{RESULTS}/enforced/tables/{query_id}-manifest.csv"
    files = s3.get_object(Bucket=RESULTS, Key=manifest.split("/", 3)[3])["Body"].read().decode().split()
    assert files and all(f.startswith(location) for f in files)
    written = s3.get_object(Bucket=RESULTS, Key=files[0].split("/", 3)[3])
    assert written["SSEKMSKeyId"] == lake["key"]
    parquet = pd.read_parquet(io.BytesIO(written["Body"].read()))
    expected = frame(lake).query("year == '2000'")
    assert sorted(parquet["id"]) == sorted(expected["id"])
    results = athena.get_query_results(QueryExecutionId=query_id)
    assert results["UpdateCount"] == len(expected)

    # The new table reads back through Athena.
    again = run(athena, "SELECT sum(revenue) AS total FROM hits")
    rows = athena.get_query_results(QueryExecutionId=again["QueryExecutionId"])["ResultSet"]["Rows"]
    assert int(rows[1]["Data"][0]["VarCharValue"]) == expected["revenue"].sum()

    # A table that exists: Athena's analyzer refuses it.
    exists = run(athena, f"CREATE TABLE hits AS {select}")
    assert exists["Status"]["State"] == "FAILED"
    reason = exists["Status"]["StateChangeReason"]
    assert reason.startswith(
        "TABLE_ALREADY_EXISTS: line 1:14: Destination table 'awsdatacatalog.lakedb.hits'"
    )

    # external_location in a workgroup that enforces its result location: refused at the start.
    with pytest.raises(ClientError) as refused:
        athena.start_query_execution(
            QueryString=f"CREATE TABLE t2 WITH (external_location = 's3://{LAKE}/built/x/') AS {select}",
            WorkGroup="enforced",
            QueryExecutionContext={"Database": DATABASE},
        )
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "enforces a centralized output location" in refused.value.response["Error"]["Message"]

    # A workgroup that does not enforce: external_location is honoured, and must be empty.
    built = run(
        athena, f"CREATE TABLE built WITH (external_location = 's3://{LAKE}/built/one/') AS {select}", "open"
    )
    assert built["Status"]["State"] == "SUCCEEDED", built["Status"]
    location = glue.get_table(DatabaseName=DATABASE, Name="built")["Table"]["StorageDescriptor"]["Location"]
    assert location == f"s3://{LAKE}/built/one/"
    taken = run(
        athena, f"CREATE TABLE built2 WITH (external_location = 's3://{LAKE}/built/one/') AS {select}", "open"
    )
    assert taken["Status"]["State"] == "FAILED"
    assert taken["Status"]["StateChangeReason"] == (
        f"HIVE_PATH_ALREADY_EXISTS: Target directory for table 'lakedb.built2' already exists: s3://{LAKE}/built/one/"
    )
    with pytest.raises(ClientError):
        glue.get_table(DatabaseName=DATABASE, Name="built2")

    # DROP TABLE removes the catalog entry and leaves the data.
    dropped = run(athena, "DROP TABLE built", "open")
    assert dropped["Status"]["State"] == "SUCCEEDED", dropped["Status"]
    with pytest.raises(ClientError):
        glue.get_table(DatabaseName=DATABASE, Name="built")
    assert s3.list_objects_v2(Bucket=LAKE, Prefix="built/one/")["KeyCount"] == 1


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        (
            "SELECT id FROM sequels",
            "TABLE_NOT_FOUND: line 1:16: Table 'awsdatacatalog.lakedb.sequels' does not exist",
        ),
        ("SELECT id, gross FROM films", "COLUMN_NOT_FOUND: line 1:12: Column 'gross' cannot be resolved"),
        (
            "SELECT map_agg(id, title) FROM films",
            "FUNCTION_NOT_FOUND: line 1:8: Function 'map_agg' not registered",
        ),
        (
            "SELECT approx_percentile(budget, ARRAY[0.5, 0.9]) FROM films",
            "FUNCTION_NOT_FOUND: line 1:8: Function 'approx_percentile' not registered",
        ),
        # Glue checks the grant before the name: a database the role may not read is refused.
        ("SELECT id FROM nowhere.films", "Insufficient permissions to execute the query. User: "),
        ("ALTER TABLE films ADD COLUMNS (x int)", "NOT_SUPPORTED: line 1:1:"),
        # a CTAS's errors point into the whole statement
        ("CREATE TABLE t9 AS\nSELECT id,\n  gross FROM films", "COLUMN_NOT_FOUND: line 3:3: Column 'gross'"),
        (
            "CREATE TABLE t8 AS SELECT count(*) FROM films",
            "MISSING_COLUMN_NAME: line 1:1: Column name not specified",
        ),
    ],
)
def test_refusals_in_athena_words(analyst: dict[str, Any], sql: str, reason: str) -> None:
    execution = run(analyst["athena"], sql)
    assert execution["Status"]["State"] == "FAILED"
    assert execution["Status"]["StateChangeReason"].startswith(reason)
    assert execution["Status"]["AthenaError"]["ErrorMessage"] == execution["Status"]["StateChangeReason"]


@pytest.mark.parametrize(
    ("without", "reason"),
    [
        (
            "glue:GetTable",
            "is not authorized to perform: glue:GetTable on resource: " + arn("glue", "catalog"),
        ),
        ("s3:GetObject", f"Permission denied on S3 path: s3://{LAKE}/raw/films/"),
        ("kms:Decrypt", f"Permission denied on S3 path: s3://{LAKE}/raw/films/"),
        ("s3:PutObject", f"Access denied when writing output to url: s3://{RESULTS}/enforced/"),
        ("kms:GenerateDataKey", f"Access denied when writing output to url: s3://{RESULTS}/enforced/"),
    ],
)
def test_a_role_lacking_a_grant_is_refused(lake: dict[str, Any], without: str, reason: str) -> None:
    athena = lake["role"](f"lacks-{without.replace(':', '-')}", grants(lake["key"], without=without))[
        "athena"
    ]
    execution = run(athena, "SELECT count(*) FROM films")
    assert execution["Status"]["State"] == "FAILED"
    assert reason in execution["Status"]["StateChangeReason"]


def test_a_role_without_the_workgroup_cannot_start(lake: dict[str, Any]) -> None:
    athena = lake["role"](
        "other-workgroup",
        [
            {
                "Effect": "Allow",
                "Action": "athena:StartQueryExecution",
                "Resource": arn("athena", "workgroup/open"),
            }
        ],
    )["athena"]
    with pytest.raises(ClientError) as denied:
        athena.start_query_execution(QueryString="SELECT 1", WorkGroup="enforced")
    assert "athena:StartQueryExecution on resource: " + arn("athena", "workgroup/enforced") in str(
        denied.value
    )


def test_the_bytes_scanned_cutoff_cancels_a_query_that_reads_more(
    lake: dict[str, Any], analyst: dict[str, Any]
) -> None:
    s3, glue = lake["client"]("s3"), lake["client"]("glue")
    line = json.dumps({"id": 1, "note": "x" * 200}) + "\n"
    s3.put_object(Bucket=LAKE, Key="raw/notes/part.json", Body=(line * (CUTOFF // len(line) + 500)).encode())
    json_table(glue, DATABASE, "notes", [("id", "int"), ("note", "string")], f"s3://{LAKE}/raw/notes/")
    small = run(analyst["athena"], "SELECT count(*) FROM films", "capped")
    assert small["Status"]["State"] == "SUCCEEDED", small["Status"]

    big = run(analyst["athena"], "SELECT count(*) FROM notes", "capped")
    assert big["Status"]["State"] == "CANCELLED"
    assert big["Status"]["StateChangeReason"] == "Bytes scanned limit was exceeded"
    assert big["Statistics"]["DataScannedInBytes"] > CUTOFF
    with pytest.raises(ClientError, match="Query did not finish successfully"):
        analyst["athena"].get_query_results(QueryExecutionId=big["QueryExecutionId"])


def test_stop_query_execution_cancels_a_running_query(analyst: dict[str, Any]) -> None:
    athena = analyst["athena"]
    endless = endless_query("films", "revenue")
    query_id = athena.start_query_execution(
        QueryString=endless, WorkGroup="enforced", QueryExecutionContext={"Database": DATABASE}
    )["QueryExecutionId"]
    ends = time.monotonic() + 30
    while (
        athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]["State"]
        != "RUNNING"
    ):
        assert time.monotonic() < ends, "the query never ran"
        time.sleep(0.05)
    with pytest.raises(ClientError, match=r"Query has not yet finished\. Current state: RUNNING"):
        athena.get_query_results(QueryExecutionId=query_id)
    athena.stop_query_execution(QueryExecutionId=query_id)
    assert wait(athena, query_id, deadline=10)["Status"]["State"] == "CANCELLED"
    # the worker the query ran in was replaced: the next query runs
    assert run(athena, "SELECT count(*) FROM films")["Status"]["State"] == "SUCCEEDED"


def test_athena_checks_the_result_bucket_and_file_as_the_caller(lake: dict[str, Any]) -> None:
    # No s3:GetBucketLocation on the result bucket: refused at the start, as Athena does.
    athena = lake["role"]("cannot-locate", grants(lake["key"], without="s3:GetBucketLocation"))["athena"]
    with pytest.raises(ClientError, match="Unable to verify/create output bucket results"):
        athena.start_query_execution(QueryString="SELECT 1", WorkGroup="enforced")

    # s3:GetObject on the lake only: the query runs, its results cannot be read back.
    statements = grants(lake["key"])
    for statement in statements:
        if statement["Action"] == ["s3:GetObject"]:
            statement["Resource"] = [f"arn:aws:s3:::{LAKE}/*"]
    athena = lake["role"]("cannot-read-results", statements)["athena"]
    execution = run(athena, "SELECT count(*) AS films FROM films")
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    with pytest.raises(ClientError, match="Permission denied on S3 path: s3://results/enforced/"):
        athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])


@pytest.mark.terraform
def test_the_deployed_workgroup_runs_queries_as_the_refine_role(local_stack: dict[str, Any]) -> None:
    """terraform/'s workgroups and the refine role's grants, unchanged: the product's Athena engine
    (SELECT) and a CTAS into a lake version folder run as that role in the refine workgroup."""
    from movielake.config import Settings
    from movielake.local.stack import LocalStack
    from movielake.refine.athena import AthenaRefineEngine

    outputs = local_stack["outputs"]
    stack = LocalStack(directory=Path(local_stack["local_dir"]), record_path=Path(local_stack["record_path"]))
    url = local_stack["endpoint_url"]
    s3, glue = stack.client("s3", url), stack.client("glue", url)
    bucket, database = outputs["lake_bucket"], outputs["glue_database"]
    prefix = "Raw/TMDB/JSON/Movies/athena-probe/"
    rows = film_rows()
    s3.put_object(
        Bucket=bucket, Key=f"{prefix}part.json", Body="\n".join(json.dumps(r) for r in rows).encode()
    )
    columns = [("id", "int"), ("budget", "bigint"), ("revenue", "bigint"), ("year", "int")]
    json_table(glue, database, "athena_probe", columns, f"s3://{bucket}/{prefix}")
    role_arn = stack.client("lambda", url).get_function(FunctionName=outputs["function_names"]["refine"])[
        "Configuration"
    ]["Role"]
    credentials = assume_as_service(stack.client("sts", url), role_arn, LAMBDA, "refine")
    session = boto3.session.Session(
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
        region_name=REGION,
    )
    athena = session.client("athena", endpoint_url=url, config=NO_RETRY)
    settings = Settings(
        glue_database=database, refine_workgroup=outputs["refine_workgroup"], endpoint_url=url, region=REGION
    )
    engine = AthenaRefineEngine(
        settings, glue=session.client("glue", endpoint_url=url), athena=athena, poll_seconds=0.1
    )

    got = engine.rows(
        "SELECT year, count(*) AS films, sum(revenue) AS revenue FROM athena_probe GROUP BY 1 ORDER BY 1"
    )
    expected = (
        pd.DataFrame(rows).groupby("year").agg(films=("id", "size"), revenue=("revenue", "sum")).reset_index()
    )
    assert got == [tuple(int(v) for v in r) for r in expected.itertuples(index=False)]

    # The refine's CTAS: its own workgroup lets it name a fresh version folder in the lake.
    version = f"s3://{bucket}/Trusted/athena_probe/v=probe/"
    ctas = (
        "CREATE TABLE trusted_athena_probe WITH (format = 'PARQUET', "  # noqa: S608 - our own names
        f"external_location = '{version}') AS SELECT id, revenue FROM athena_probe"
    )
    execution = run(
        athena,
        ctas,
        outputs["refine_workgroup"],
        database,
    )
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"].get("StateChangeReason")
    table = glue.get_table(DatabaseName=database, Name="trusted_athena_probe")["Table"]
    assert table["StorageDescriptor"]["Location"] == version
    written = s3.list_objects_v2(Bucket=bucket, Prefix="Trusted/athena_probe/v=probe/")["Contents"]
    head = s3.head_object(Bucket=bucket, Key=written[0]["Key"])
    assert head["SSEKMSKeyId"] == outputs["kms_key_arn"]


def test_unload_writes_parquet_to_an_empty_location(lake: dict[str, Any], analyst: dict[str, Any]) -> None:
    athena, s3 = analyst["athena"], lake["client"]("s3")
    query = "SELECT id, revenue FROM films WHERE year = '1990'"
    sql = f"UNLOAD ({query}) TO 's3://{LAKE}/built/unload/' WITH (format = 'PARQUET')"
    execution = run(athena, sql)
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=LAKE, Prefix="built/unload/")["Contents"]]
    written = pd.concat(
        pd.read_parquet(io.BytesIO(s3.get_object(Bucket=LAKE, Key=k)["Body"].read())) for k in keys
    )
    expected = frame(lake).query("year == '1990'")
    assert sorted(written["id"]) == sorted(expected["id"])
    again = run(athena, sql)  # the location is no longer empty
    assert again["Status"]["State"] == "FAILED"
    assert again["Status"]["StateChangeReason"].startswith("HIVE_PATH_ALREADY_EXISTS")


def test_what_the_stand_in_does_not_carry_is_refused_at_the_start(analyst: dict[str, Any]) -> None:
    with pytest.raises(ClientError, match="ExecutionParameters are not carried"):
        analyst["athena"].start_query_execution(
            QueryString="SELECT id FROM films WHERE id = ?", WorkGroup="enforced", ExecutionParameters=["1"]
        )
    with pytest.raises(ClientError, match="reads the Glue catalog only"):
        analyst["athena"].start_query_execution(
            QueryString="SELECT 1",
            WorkGroup="enforced",
            QueryExecutionContext={"Catalog": "mysql", "Database": "x"},
        )


def test_a_client_request_token_starts_one_query(analyst: dict[str, Any]) -> None:
    athena = analyst["athena"]
    request = {
        "QueryString": "SELECT count(*) FROM films",
        "WorkGroup": "enforced",
        "ClientRequestToken": "x" * 32,
    }
    first = athena.start_query_execution(QueryExecutionContext={"Database": DATABASE}, **request)[
        "QueryExecutionId"
    ]
    again = athena.start_query_execution(QueryExecutionContext={"Database": DATABASE}, **request)[
        "QueryExecutionId"
    ]
    assert again == first
    with pytest.raises(ClientError, match="ClientRequestToken was used before"):
        athena.start_query_execution(**{**request, "QueryString": "SELECT 2"})
    assert wait(athena, first)["Status"]["State"] == "SUCCEEDED"


def test_a_database_that_does_not_exist(lake: dict[str, Any]) -> None:
    execution = run(
        lake["client"]("athena"), "SELECT id FROM nowhere.films"
    )  # the administrator may read any
    assert (
        execution["Status"]["StateChangeReason"]
        == "SCHEMA_NOT_FOUND: line 1:16: Schema 'nowhere' does not exist"
    )
