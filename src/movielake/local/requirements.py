"""What AWS authorizes for each request the project makes: actions and resource ARNs.

moto names a request's action after its API operation and checks every service except S3,
SQS, IAM and STS against resource ``*``, so a statement scoped to an ARN never matches, and
it never asks for the KMS permissions that encryption with a customer managed key needs.
:func:`permissions_needed` says, for one request, the ``(action, resource)`` pairs AWS
evaluates, as the service authorization references document them:

- S3: ``ListObjectsV2`` is ``s3:ListBucket`` on the bucket; a copy also reads its source
  (``s3:GetObject``); objects under SSE-KMS need ``kms:GenerateDataKey`` to be written,
  ``kms:Decrypt`` to be read (not for HEAD, which returns no data) and both for a
  multipart upload;
- Glue: catalog operations on the catalog, database and table ARNs, crawler operations on
  the crawler ARN;
- Secrets Manager: the secret's ARN, plus ``kms:Decrypt`` (read) or
  ``kms:GenerateDataKey`` (write) on its key;
- SQS: the batch operations are authorized as their single-message actions, and an
  encrypted queue needs ``kms:GenerateDataKey`` + ``kms:Decrypt`` to send and
  ``kms:Decrypt`` to receive;
- CloudWatch Logs: the log group or log stream ARN; KMS: the key ARN;
- Athena: the workgroup ARN (the request's ``WorkGroup``, ``primary`` by default, or the
  workgroup a query execution ran in); data catalogs and capacity reservations by their ARNs.

It runs inside the moto server process (the launcher), reading moto's backends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

PARTITION = "aws"


@dataclass(frozen=True)
class Permission:
    """One action on one resource that a request needs."""

    action: str
    resource: str


@dataclass(frozen=True)
class Call:
    """What the launcher knows of a request: service prefix, operation, moto's resource."""

    service: str
    operation: str
    resource: str
    account: str
    region: str
    method: str = ""
    query: str = ""
    headers: Any = None
    body: Any = None

    def params(self) -> dict[str, Any]:
        """The JSON body of a JSON-protocol request (Glue, Secrets Manager, Logs, KMS)."""
        try:
            raw = self.body.decode() if isinstance(self.body, bytes) else self.body
            value = json.loads(raw or "{}")
        except (ValueError, UnicodeDecodeError):
            return {}
        return value if isinstance(value, dict) else {}

    def arn(self, service: str, resource: str) -> str:
        """An ARN of this account and region."""
        return f"arn:{PARTITION}:{service}:{self.region}:{self.account}:{resource}"


def permissions_needed(call: Call) -> list[Permission]:
    """The permissions AWS evaluates for ``call`` (the primary one first)."""
    resolver = _RESOLVERS.get(call.service)
    if resolver is None:
        return [Permission(f"{call.service}:{call.operation}", call.resource)]
    return resolver(call)


# ------------------------------------------------------------------------------------------ KMS


def key_arn(account: str, region: str, key_id: str | None) -> str | None:
    """The ARN of a KMS key given by id, ARN or alias (None when there is none)."""
    if not key_id:
        return None
    from moto.kms.models import kms_backends

    try:
        backend = kms_backends[account][region]
        return str(backend.describe_key(backend.any_id_to_key_id(key_id)).arn)
    except Exception:  # an unknown key is checked under the name given
        return key_id


def _kms(call: Call) -> list[Permission]:
    key = key_arn(call.account, call.region, call.params().get("KeyId"))
    return [Permission(f"kms:{call.operation}", key or call.resource)]


# ------------------------------------------------------------------------------------------- S3

# moto's operation names that are not IAM actions.
_S3_ACTIONS = {
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "HeadBucket": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "GetBucketEncryption": "GetEncryptionConfiguration",
}


def s3_location(resource: str) -> tuple[str, str]:
    """(bucket, key) of an S3 ARN; key is empty for a bucket ARN."""
    bucket, _, key = resource.split(":::", 1)[-1].partition("/")
    return bucket, key


def _s3_object(bucket: str, key: str) -> Any:
    """moto's object, or None when it does not exist."""
    from moto.s3.models import s3_backends

    for backend in s3_backends.values():
        store = backend[PARTITION]
        if bucket in store.buckets:
            return store.buckets[bucket].keys.get(key)
    return None


def bucket_of(bucket: str) -> Any:
    """moto's bucket, or None."""
    from moto.s3.models import s3_backends

    for backend in s3_backends.values():
        if bucket in backend[PARTITION].buckets:
            return backend[PARTITION].buckets[bucket]
    return None


def _default_kms_key(bucket: Any) -> str | None:
    """The KMS key of the bucket's default encryption, when it is SSE-KMS."""
    rules = (bucket.encryption or {}).get("Rule") if bucket is not None else None
    for rule in rules if isinstance(rules, list) else [rules] if rules else []:
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if default.get("SSEAlgorithm") == "aws:kms":
            return default.get("KMSMasterKeyID")
    return None


def _object_kms_key(bucket_name: str, key: str) -> str | None:
    """The KMS key an existing object is encrypted with (bucket default for older objects)."""
    found = _s3_object(bucket_name, key)
    if found is None:
        return None
    if getattr(found, "encryption", None) == "aws:kms" and found.kms_key_id:
        return str(found.kms_key_id)
    return _default_kms_key(bucket_of(bucket_name))


def _s3(call: Call) -> list[Permission]:
    operation = _S3_ACTIONS.get(call.operation, call.operation)
    needed = [Permission(f"s3:{operation}", call.resource)]
    bucket_name, key = s3_location(call.resource)
    if not key:
        return needed
    query = parse_qs(call.query, keep_blank_values=True)
    headers = call.headers or {}
    write_key = headers.get("x-amz-server-side-encryption-aws-kms-key-id") or _default_kms_key(
        bucket_of(bucket_name)
    )
    source = headers.get("x-amz-copy-source") if call.method == "PUT" else None
    if source:
        source_bucket, source_key, version = _copy_source(source)
        action = "s3:GetObjectVersion" if version else "s3:GetObject"
        needed.append(Permission(action, f"arn:{PARTITION}:s3:::{source_bucket}/{source_key}"))
        needed += _kms_use(call, "kms:Decrypt", _object_kms_key(source_bucket, source_key))
    if call.method == "POST" and "uploads" in query:  # CreateMultipartUpload
        needed += _kms_use(call, "kms:GenerateDataKey", write_key)
        needed += _kms_use(call, "kms:Decrypt", write_key)
    elif call.method == "PUT" and operation == "PutObject" and "uploadId" not in query:
        needed += _kms_use(call, "kms:GenerateDataKey", write_key)
    elif call.method == "GET" and operation in ("GetObject", "GetObjectVersion"):
        needed += _kms_use(call, "kms:Decrypt", _object_kms_key(bucket_name, key))
    return needed


def _copy_source(header: str) -> tuple[str, str, str | None]:
    """(bucket, key, version id) of an ``x-amz-copy-source`` header."""
    parsed = urlparse(header)
    bucket, _, key = unquote(parsed.path).lstrip("/").partition("/")
    version = parse_qs(parsed.query).get("versionId", [None])[0]
    return bucket, key, version


def _kms_use(call: Call, action: str, key_id: str | None) -> list[Permission]:
    arn = key_arn(call.account, call.region, key_id)
    return [Permission(action, arn)] if arn else []


def missing_object(resource: str) -> bool:
    """True when an S3 object ARN names no object (HeadObject/GetObject answer 404 or 403)."""
    bucket, key = s3_location(resource)
    return bool(key) and bucket_of(bucket) is not None and _s3_object(bucket, key) is None


# ------------------------------------------------------------------------------------------ SQS

_SQS_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def _sqs(call: Call) -> list[Permission]:
    action = _SQS_ACTIONS.get(call.operation, call.operation)
    needed = [Permission(f"sqs:{action}", call.resource)]
    key = _queue_kms_key(call)
    if action == "SendMessage":
        needed += _kms_use(call, "kms:GenerateDataKey", key) + _kms_use(call, "kms:Decrypt", key)
    elif action == "ReceiveMessage":
        needed += _kms_use(call, "kms:Decrypt", key)
    return needed


def _queue_kms_key(call: Call) -> str | None:
    from moto.sqs.models import sqs_backends

    for queue in sqs_backends[call.account][call.region].queues.values():
        if queue.queue_arn == call.resource:
            return getattr(queue, "kms_master_key_id", None)
    return None


# ------------------------------------------------------------------------------ Secrets Manager

_SECRET_KEY_ACTIONS = {"GetSecretValue": "kms:Decrypt", "PutSecretValue": "kms:GenerateDataKey"}


def _secretsmanager(call: Call) -> list[Permission]:
    from moto.secretsmanager.models import secretsmanager_backends

    secret_id = call.params().get("SecretId")
    secret = None
    if secret_id:
        secrets = secretsmanager_backends[call.account][call.region].secrets
        # SecretsStore resolves names and ARNs in __getitem__/__contains__ only, not in get().
        secret = secrets[secret_id] if secret_id in secrets else None  # noqa: SIM401
    resource = secret.arn if secret is not None else call.resource
    needed = [Permission(f"secretsmanager:{call.operation}", resource)]
    kms_action = _SECRET_KEY_ACTIONS.get(call.operation)
    if kms_action and secret is not None:
        needed += _kms_use(call, kms_action, getattr(secret, "kms_key_id", None))
    return needed


# ----------------------------------------------------------------------------------------- Glue

_CRAWLER_OPERATIONS = {"StartCrawler": "Name", "GetCrawler": "Name", "ListCrawls": "CrawlerName"}


def _glue(call: Call) -> list[Permission]:
    action = f"glue:{call.operation}"
    params = call.params()
    if call.operation in _CRAWLER_OPERATIONS:
        name = params.get(_CRAWLER_OPERATIONS[call.operation])
        return [Permission(action, call.arn("glue", f"crawler/{name}"))]
    database = params.get("DatabaseName") or (params.get("Name") if call.operation == "GetDatabase" else None)
    if not database:
        return [Permission(action, call.resource)]
    table = params.get("TableName") or (params.get("TableInput") or {}).get("Name")
    if call.operation == "GetTable":
        table = params.get("Name")
    if call.operation == "GetTables":
        table = "*"
    resources = [call.arn("glue", "catalog"), call.arn("glue", f"database/{database}")]
    if table:
        resources.append(call.arn("glue", f"table/{database}/{table}"))
    return [Permission(action, resource) for resource in resources]


# ----------------------------------------------------------------------------------------- Logs


def _logs(call: Call) -> list[Permission]:
    params = call.params()
    group = params.get("logGroupName")
    if not group:
        return [Permission(f"logs:{call.operation}", call.resource)]
    resource = call.arn("logs", f"log-group:{group}")
    if params.get("logStreamName"):
        resource += f":log-stream:{params['logStreamName']}"
    return [Permission(f"logs:{call.operation}", resource)]


# ----------------------------------------------------------------------------------------- Athena

_ACCOUNT_OPERATIONS = frozenset(
    {"ListWorkGroups", "ListDataCatalogs", "ListEngineVersions", "ListCapacityReservations"}
)
_EXECUTION_OPERATIONS = frozenset(
    {"GetQueryExecution", "GetQueryResults", "StopQueryExecution", "GetQueryRuntimeStatistics"}
)


def _athena(call: Call) -> list[Permission]:
    params = call.params()
    action = f"athena:{call.operation}"
    if call.operation in _EXECUTION_OPERATIONS:
        from moto.athena.models import athena_backends

        from movielake.local.athena.service import executions

        execution = executions(athena_backends[call.account][call.region]).get(
            params.get("QueryExecutionId", "")
        )
        workgroup = execution.workgroup if execution is not None else "primary"
    elif call.operation in ("CreateDataCatalog", "GetDataCatalog", "DeleteDataCatalog"):
        return [Permission(action, call.arn("athena", f"datacatalog/{params.get('Name')}"))]
    elif call.operation in _ACCOUNT_OPERATIONS:
        return [Permission(action, call.resource)]
    else:
        workgroup = params.get("Name") if call.operation == "CreateWorkGroup" else params.get("WorkGroup")
        workgroup = workgroup or "primary"
    return [Permission(action, call.arn("athena", f"workgroup/{workgroup}"))]


_RESOLVERS = {
    "athena": _athena,
    "s3": _s3,
    "sqs": _sqs,
    "secretsmanager": _secretsmanager,
    "glue": _glue,
    "logs": _logs,
    "kms": _kms,
}
