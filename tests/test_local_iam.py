"""The local stack's moto server authorizes every request as AWS does (movielake.local.authz).

One IAM-enforcing moto server for the module, started as the local stack starts it (an
administrator key handed over in the environment); each test builds the role it needs with
the administrator and acts with the role's STS credentials, assumed as the Lambda service.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from movielake.local import permissions, server
from movielake.local.authz import trust_allows
from movielake.local.roles import assume_as_service
from movielake.local.stack import new_admin_key

NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})
ACCOUNT = "123456789012"
LAMBDA = "lambda.amazonaws.com"
TRUST_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": LAMBDA}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture(scope="module")
def enforcing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """An IAM-enforcing moto server, its administrator credentials and its audit file."""
    directory = tmp_path_factory.mktemp("iam-moto")
    admin = new_admin_key()
    record = server.start_moto(
        directory,
        managed_policies=False,
        admin_key=f"{admin['AWS_ACCESS_KEY_ID']}:{admin['AWS_SECRET_ACCESS_KEY']}",
    )
    try:
        yield {"url": record.url, "admin": admin, "audit": server.audit_file(directory)}
    finally:
        server.stop(record)


@pytest.fixture
def aws(enforcing: dict[str, Any]) -> dict[str, Any]:
    """A reset server; ``client(service, credentials)`` and ``role(statements)`` helpers."""
    server.reset_moto(enforcing["url"])

    def client(service: str, credentials: dict[str, str] | None = None) -> Any:
        credentials = credentials or enforcing["admin"]
        return boto3.client(
            service,
            endpoint_url=enforcing["url"],
            region_name="us-east-1",
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials.get("AWS_SESSION_TOKEN"),
            config=NO_RETRY,
        )

    def role(name: str, statements: list[dict[str, Any]]) -> dict[str, str]:
        """Create a Lambda-trusting role with these statements; its credentials as Lambda."""
        iam = client("iam")
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))["Role"]["Arn"]
        document = {"Version": "2012-10-17", "Statement": statements}
        iam.put_role_policy(RoleName=name, PolicyName="access", PolicyDocument=json.dumps(document))
        return assume_as_service(client("sts"), arn, LAMBDA, name)

    return {"client": client, "role": role, "audit": enforcing["audit"]}


def allow(actions: list[str], resources: list[str]) -> dict[str, Any]:
    """An Allow statement."""
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def lake_with_kms_key(aws: dict[str, Any]) -> str:
    """Bucket ``lake`` encrypted by default with a new KMS key; returns the key ARN."""
    key = aws["client"]("kms").create_key()["KeyMetadata"]["Arn"]
    s3 = aws["client"]("s3")
    s3.create_bucket(Bucket="lake")
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}
    s3.put_bucket_encryption(Bucket="lake", ServerSideEncryptionConfiguration={"Rules": [rule]})
    return key


def error(raised: pytest.ExceptionInfo[ClientError]) -> dict[str, str]:
    return raised.value.response["Error"]


def test_a_key_the_server_does_not_know_is_refused(aws: dict[str, Any]) -> None:
    stranger = {"AWS_ACCESS_KEY_ID": "AKIAUNKNOWN000000000", "AWS_SECRET_ACCESS_KEY": "x"}
    with pytest.raises(ClientError) as refused:
        aws["client"]("s3", stranger).list_buckets()
    assert error(refused)["Code"] == "InvalidAccessKeyId"


def test_the_administrator_survives_a_reset(aws: dict[str, Any], enforcing: dict[str, Any]) -> None:
    aws["client"]("s3").create_bucket(Bucket="before")
    server.reset_moto(enforcing["url"])
    assert aws["client"]("s3").list_buckets()["Buckets"] == []


def test_a_role_is_assumed_only_as_a_service_its_trust_policy_names(aws: dict[str, Any]) -> None:
    aws["role"]("fn", [allow(["s3:ListAllMyBuckets"], ["*"])])
    arn = f"arn:aws:iam::{ACCOUNT}:role/fn"
    sts = aws["client"]("sts")
    with pytest.raises(ClientError) as as_user:
        sts.assume_role(RoleArn=arn, RoleSessionName="me")
    with pytest.raises(ClientError) as as_glue:
        assume_as_service(sts, arn, "glue.amazonaws.com", "crawl")
    assert error(as_user)["Code"] == error(as_glue)["Code"] == "AccessDenied"


def test_a_role_gets_what_its_statements_allow_and_an_access_denied_naming_the_rest(
    aws: dict[str, Any],
) -> None:
    key = lake_with_kms_key(aws)
    aws["client"]("s3").put_object(Bucket="lake", Key="Landing/a.csv", Body=b"a")
    role = aws["role"](
        "ingest", [allow(["s3:GetObject"], ["arn:aws:s3:::lake/Landing/*"]), allow(["kms:Decrypt"], [key])]
    )
    s3 = aws["client"]("s3", role)

    assert s3.get_object(Bucket="lake", Key="Landing/a.csv")["Body"].read() == b"a"
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket="lake", Key="Raw/a.csv", Body=b"a")

    assert error(refused)["Code"] == "AccessDenied"
    assert (
        "assumed-role/ingest/ingest is not authorized to perform: s3:PutObject" in error(refused)["Message"]
    )
    assert "arn:aws:s3:::lake/Raw/a.csv" in error(refused)["Message"]
    decisions = [json.loads(line) for line in aws["audit"].read_text().splitlines()]
    assert {"principal": f"arn:aws:sts::{ACCOUNT}:assumed-role/ingest/ingest", "action": "s3:PutObject",
            "resource": "arn:aws:s3:::lake/Raw/a.csv", "allowed": False} in decisions  # fmt: skip


def test_reading_an_sse_kms_object_needs_kms_decrypt_and_writing_generate_data_key(
    aws: dict[str, Any],
) -> None:
    key = lake_with_kms_key(aws)
    aws["client"]("s3").put_object(Bucket="lake", Key="Raw/a.json", Body=b"{}")
    role = aws["role"]("reader", [allow(["s3:GetObject", "s3:PutObject"], ["arn:aws:s3:::lake/Raw/*"])])
    s3 = aws["client"]("s3", role)

    with pytest.raises(ClientError) as read:
        s3.get_object(Bucket="lake", Key="Raw/a.json")
    with pytest.raises(ClientError) as write:
        s3.put_object(Bucket="lake", Key="Raw/b.json", Body=b"{}")

    assert f"kms:Decrypt on resource: {key}" in error(read)["Message"]
    assert f"kms:GenerateDataKey on resource: {key}" in error(write)["Message"]
    assert s3.head_object(Bucket="lake", Key="Raw/a.json")["ContentLength"] == 2  # HEAD returns no data


def test_a_multipart_upload_needs_both_key_actions_and_its_abort_its_own_permission(
    aws: dict[str, Any],
) -> None:
    key = lake_with_kms_key(aws)
    writes = allow(["s3:PutObject"], ["arn:aws:s3:::lake/Raw/*"])
    generate_only = aws["client"]("s3", aws["role"]("gen", [writes, allow(["kms:GenerateDataKey"], [key])]))
    both = allow(["kms:GenerateDataKey", "kms:Decrypt"], [key])
    uploader = aws["client"]("s3", aws["role"]("up", [writes, both]))

    with pytest.raises(ClientError) as refused:
        generate_only.create_multipart_upload(Bucket="lake", Key="Raw/big.csv")
    upload = uploader.create_multipart_upload(Bucket="lake", Key="Raw/big.csv")["UploadId"]
    with pytest.raises(ClientError) as abort:
        uploader.abort_multipart_upload(Bucket="lake", Key="Raw/big.csv", UploadId=upload)

    assert f"kms:Decrypt on resource: {key}" in error(refused)["Message"]
    assert (
        "perform: s3:AbortMultipartUpload on resource: arn:aws:s3:::lake/Raw/big.csv"
        in error(abort)["Message"]
    )


def test_head_object_of_a_missing_key_is_404_only_with_list_bucket(aws: dict[str, Any]) -> None:
    aws["client"]("s3").create_bucket(Bucket="lake")
    read = allow(["s3:GetObject"], ["arn:aws:s3:::lake/*"])
    without = aws["client"]("s3", aws["role"]("nolist", [read]))
    with_list = aws["client"](
        "s3", aws["role"]("list", [read, allow(["s3:ListBucket"], ["arn:aws:s3:::lake"])])
    )

    with pytest.raises(ClientError) as forbidden:
        without.head_object(Bucket="lake", Key="Rejected/missing.csv")
    with pytest.raises(ClientError) as missing:
        with_list.head_object(Bucket="lake", Key="Rejected/missing.csv")

    assert error(forbidden)["Code"] == "403"
    assert error(missing)["Code"] == "404"


def test_a_copy_needs_read_on_its_source(aws: dict[str, Any]) -> None:
    s3 = aws["client"]("s3")
    s3.create_bucket(Bucket="lake")
    s3.put_object(Bucket="lake", Key="Landing/a.csv", Body=b"a")
    writer = aws["client"](
        "s3", aws["role"]("writer", [allow(["s3:PutObject"], ["arn:aws:s3:::lake/Raw/*"])])
    )

    with pytest.raises(ClientError) as refused:
        writer.copy_object(
            Bucket="lake", Key="Raw/a.csv", CopySource={"Bucket": "lake", "Key": "Landing/a.csv"}
        )

    assert "s3:GetObject on resource: arn:aws:s3:::lake/Landing/a.csv" in error(refused)["Message"]


def test_a_secret_statement_scoped_to_its_arn_matches_and_its_key_is_checked(aws: dict[str, Any]) -> None:
    key = aws["client"]("kms").create_key()["KeyMetadata"]["Arn"]
    arn = aws["client"]("secretsmanager").create_secret(Name="tmdb", SecretString="s", KmsKeyId=key)["ARN"]
    only_secret = aws["client"](
        "secretsmanager", aws["role"]("nokey", [allow(["secretsmanager:GetSecretValue"], [arn])])
    )
    with_key = aws["client"](
        "secretsmanager",
        aws["role"](
            "withkey", [allow(["secretsmanager:GetSecretValue"], [arn]), allow(["kms:Decrypt"], [key])]
        ),
    )

    with pytest.raises(ClientError) as refused:
        only_secret.get_secret_value(SecretId="tmdb")

    assert error(refused)["Code"] == "AccessDeniedException"
    assert f"kms:Decrypt on resource: {key}" in error(refused)["Message"]
    assert with_key.get_secret_value(SecretId=arn)["SecretString"] == "s"


def test_glue_catalog_calls_need_the_catalog_the_database_and_the_table(aws: dict[str, Any]) -> None:
    glue = aws["client"]("glue")
    glue.create_database(DatabaseInput={"Name": "raw"})
    glue.create_table(DatabaseName="raw", TableInput={"Name": "movies"})
    prefix = f"arn:aws:glue:us-east-1:{ACCOUNT}:"
    table_only = aws["client"](
        "glue", aws["role"]("tbl", [allow(["glue:GetTable"], [prefix + "table/raw/movies"])])
    )
    scoped = [prefix + "catalog", prefix + "database/raw", prefix + "table/raw/*"]
    all_three = aws["client"]("glue", aws["role"]("all", [allow(["glue:GetTable"], scoped)]))

    with pytest.raises(ClientError) as refused:
        table_only.get_table(DatabaseName="raw", Name="movies")

    assert f"glue:GetTable on resource: {prefix}catalog" in error(refused)["Message"]
    assert all_three.get_table(DatabaseName="raw", Name="movies")["Table"]["Name"] == "movies"
    with pytest.raises(ClientError):
        all_three.create_table(DatabaseName="raw", TableInput={"Name": "other"})


def test_send_message_batch_is_authorized_as_send_message(aws: dict[str, Any]) -> None:
    url = aws["client"]("sqs").create_queue(QueueName="batches")["QueueUrl"]
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:batches"
    sender = aws["client"]("sqs", aws["role"]("sender", [allow(["sqs:SendMessage"], [arn])]))

    answer = sender.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "x"}])

    assert [e["Id"] for e in answer["Successful"]] == ["1"]
    with pytest.raises(ClientError):
        sender.receive_message(QueueUrl=url)


# ---------------------------------------------------------------------------- pure functions


def test_trust_allows_the_named_service_or_this_account() -> None:
    trust = json.dumps(TRUST_LAMBDA)
    user = f"arn:aws:iam::{ACCOUNT}:user/admin"
    assert trust_allows(trust, user, LAMBDA)
    assert not trust_allows(trust, user, "glue.amazonaws.com")
    assert not trust_allows(trust, user, None)
    account = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "sts:AssumeRole",
    }
    assert trust_allows(json.dumps({"Statement": [account]}), user, None)


IAM_TF = """
  statement {
    sid     = "Used"
    actions = ["s3:GetObject"]
  }

  # Unused locally: Lambda writes the logs.
  statement {
    sid = "Logs"
  }
"""


def test_the_report_lines_up_uses_with_grants_and_flags_the_rest() -> None:
    role_statements = [
        permissions.Statement("Used", ("s3:GetObject",), ("arn:aws:s3:::lake/Raw/*",)),
        permissions.Statement("Logs", ("logs:PutLogEvents",), ("*",)),
        permissions.Statement("Idle", ("s3:DeleteObject",), ("arn:aws:s3:::lake/Raw/*",)),
    ]
    principal = f"arn:aws:sts::{ACCOUNT}:assumed-role/fn/fn"
    decisions = [
        {
            "principal": principal,
            "action": "s3:GetObject",
            "resource": "arn:aws:s3:::lake/Raw/a",
            "allowed": True,
        },
        {
            "principal": principal,
            "action": "s3:PutObject",
            "resource": "arn:aws:s3:::lake/Raw/a",
            "allowed": False,
        },
        {
            "principal": "arn:aws:iam::1:user/admin",
            "action": "s3:PutObject",
            "resource": "*",
            "allowed": True,
        },
    ]

    [report] = permissions.build_report(
        {"fn": role_statements}, decisions, permissions.justifications(IAM_TF)
    )

    assert [(u["action"], u["granted_by"]) for u in report.used] == [
        ("s3:GetObject", ["Used"]),
        ("s3:PutObject", []),
    ]
    assert {g["sid"]: g["status"] for g in report.granted} == {
        "Used": "used",
        "Logs": "justified",
        "Idle": "unjustified",
    }
    assert report.problems == [
        "s3:PutObject denied on arn:aws:s3:::lake/Raw/a",
        "Idle: s3:DeleteObject unused and unjustified",
    ]
    markdown = permissions.render_markdown([report])
    assert "**DENIED**" in markdown and "justified: Lambda writes the logs." in markdown


def test_the_report_of_the_terraform_policies_finds_every_justification() -> None:
    from movielake.local.terraform import TERRAFORM_DIR

    justified = permissions.justifications(Path(TERRAFORM_DIR / "iam.tf").read_text())

    assert {"WriteOwnLogs", "ValidateEventSource", "WriteCrawlerLogs", "EncryptCrawlerLogs"} <= set(justified)
