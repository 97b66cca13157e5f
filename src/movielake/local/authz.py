"""IAM enforcement in the local stack's moto server: every request authorized as AWS would.

Installed by the launcher (:mod:`movielake.local.motoserver`) when the stack gives it an
administrator key. Then:

- before serving, an IAM user ``movielake-local-admin`` with that access key and an
  ``Allow *`` inline policy exists (and again after a ``/moto-api/reset``); Terraform and the
  CLI sign with it. No request is served unauthenticated (``INITIAL_NO_AUTH_ACTION_COUNT`` 0);
- each request is checked for every permission :func:`requirements.permissions_needed` lists
  against the caller's identity policies (an IAM user's, or the role behind STS temporary
  credentials) and, for S3, the bucket policy: an explicit deny wins, else one allow is
  needed. A refusal is ``AccessDenied`` naming the principal, action and resource, as AWS
  words it;
- ``sts:AssumeRole`` also needs the role's trust policy to allow the caller. The local runtime
  plays the AWS service that assumes a role (Lambda, Glue): the stack's administrator says
  which service it acts as in the ``x-movielake-acting-service`` header, and the trust policy
  must name that service, as it must on AWS;
- HeadObject/GetObject of a missing key answers 404 only with ``s3:ListBucket``, else 403;
- every decision is appended once per (principal, action, resource, outcome) to the audit
  file (JSON lines), which ``movielake local permissions`` turns into the permission report.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from movielake.local.requirements import Call, Permission, bucket_of, missing_object, permissions_needed

ADMIN_USER = "movielake-local-admin"
ADMIN_KEY_VARIABLE = "MOVIELAKE_MOTO_ADMIN_KEY"  # "<access key id>:<secret>", never on argv
AUDIT_VARIABLE = "MOVIELAKE_MOTO_AUDIT"
SERVICE_HEADER = "x-movielake-acting-service"
ADMIN_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
ACCOUNT = "123456789012"
PARTITION = "aws"


class Audit:
    """Appends each distinct authorization decision to a JSON-lines file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._seen: set[tuple[str, str, str, bool]] = set()
        self._lock = threading.Lock()

    def record(self, principal: str, permission: Permission, allowed: bool) -> None:
        """Write the decision unless the same one was written already."""
        entry = (principal, permission.action, permission.resource, allowed)
        if self.path is None or entry in self._seen:
            return
        with self._lock:
            self._seen.add(entry)
            line = {"principal": principal, "action": entry[1], "resource": entry[2], "allowed": allowed}
            with self.path.open("a") as handle:
                handle.write(json.dumps(line) + "\n")


def create_admin(access_key_id: str, secret: str) -> None:
    """The stack's administrator: an IAM user with ``Allow *`` and the given access key."""
    from moto.iam.models import iam_backends

    backend = iam_backends[ACCOUNT][PARTITION]
    if ADMIN_USER in backend.users:
        return
    backend.create_user(region_name="us-east-1", user_name=ADMIN_USER)
    backend.put_user_policy(ADMIN_USER, "administrator", ADMIN_POLICY)
    key = backend.create_access_key(ADMIN_USER)
    backend.access_keys.pop(key.physical_resource_id, None)
    key.access_key_id, key.secret_access_key = access_key_id, secret
    backend.access_keys[key.physical_resource_id] = key


def trust_allows(document: str, caller_arn: str, service: str | None) -> bool:
    """Whether a role's trust policy lets ``caller_arn`` (or ``service``) assume it."""
    account_root = f"arn:{PARTITION}:iam::{caller_arn.split(':')[4]}:root"
    allowed = False
    for statement in _statements(json.loads(document)):
        actions = statement.get("Action", [])
        if "sts:AssumeRole" not in ([actions] if isinstance(actions, str) else actions):
            continue
        principal = statement.get("Principal") or {}
        services = _as_list(principal.get("Service")) if isinstance(principal, dict) else []
        aws = _as_list(principal.get("AWS")) if isinstance(principal, dict) else [principal]
        matches = (service is not None and service in services) or any(
            p in ("*", caller_arn, account_root) for p in aws
        )
        if matches and statement.get("Effect") == "Deny":
            return False
        allowed = allowed or (matches and statement.get("Effect") == "Allow")
    return allowed


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


class Authorizer:
    """Decides one request: identity policies, bucket policy, trust policy; records it."""

    def __init__(self, audit: Audit) -> None:
        self.audit = audit

    def authorize(self, response: Any, iam_request: Any, resource: str) -> None:
        """Raise AccessDenied unless the caller holds every permission the request needs."""
        from moto.iam.access_control import IAMPolicy, PermissionResult

        access_key = iam_request._access_key
        service, _, operation = iam_request._action.partition(":")
        if iam_request._action == "sts:GetCallerIdentity":
            return
        call = Call(
            service=service,
            operation=operation,
            resource=resource,
            account=str(response.current_account),
            region=str(iam_request._region),
            method=str(response.method),
            query=urlparse(response.uri).query,
            headers=response.headers,
            body=getattr(response, "raw_body", None) or response.body,
        )
        policies = [IAMPolicy(p) for p in access_key.collect_policies()]
        bucket = bucket_of(resource.split(":::", 1)[1].split("/")[0]) if service == "s3" else None

        def allowed(permission: Permission) -> bool:
            results = [p.is_action_permitted(permission.action, permission.resource) for p in policies]
            if bucket is not None and permission.action.startswith("s3:"):
                results.append(bucket.get_permission(permission.action, permission.resource))
            return PermissionResult.DENIED not in results and PermissionResult.PERMITTED in results

        needed = permissions_needed(call)
        reads = needed[0].action in ("s3:GetObject", "s3:GetObjectVersion")
        if call.service == "s3" and reads and missing_object(resource):  # 404 only with ListBucket
            needed.append(Permission("s3:ListBucket", resource.split("/", 1)[0]))
        for permission in needed:
            ok = allowed(permission)
            if ok and permission.action == "sts:AssumeRole":
                ok = self._trusted(access_key, permission.resource, response.headers.get(SERVICE_HEADER))
            self.audit.record(access_key.arn, permission, ok)
            if not ok:
                raise _denied(service, access_key.arn, permission, "X-Amz-Target" in response.headers)

    @staticmethod
    def _trusted(access_key: Any, role_arn: str, service: str | None) -> bool:
        """The trust check; only the stack's administrator may act as an AWS service."""
        from moto.iam.models import iam_backends

        acting = service if access_key.arn.endswith(f":user/{ADMIN_USER}") else None
        try:
            role = iam_backends[access_key.account_id][PARTITION].get_role_by_arn(role_arn)
        except Exception:  # moto raises its own NotFound: no role, no trust
            return False
        return trust_allows(role.assume_role_policy_document, access_key.arn, acting)


def _denied(service: str, principal: str, permission: Permission, json_protocol: bool) -> Exception:
    """AWS's AccessDenied for a missing identity-based allow, in the service's protocol."""
    message = (
        f"User: {principal} is not authorized to perform: {permission.action} on resource: "
        f"{permission.resource} because no identity-based policy allows the {permission.action} action"
    )
    if service == "s3":
        from moto.s3.exceptions import S3AccessDeniedError

        error = S3AccessDeniedError()
        error.message = message
        return error
    from moto.core.exceptions import AccessDeniedError, JsonRESTError

    if json_protocol:  # Glue, Secrets Manager, Logs, KMS, SQS: {"__type": ..., "message": ...}
        code = "AccessDenied" if service == "sqs" else "AccessDeniedException"
        denied = JsonRESTError(code, message)
        denied.code = 403 if service == "sqs" else 400
        return denied
    return AccessDeniedError(user_arn=principal, action=message.split("perform: ", 1)[1])


def install() -> tuple[str, str] | None:
    """Switch enforcement on when the stack handed over an administrator key; that key
    (access key id, secret), or None when there was none."""
    admin = os.environ.pop(ADMIN_KEY_VARIABLE, "")
    if not admin:
        return None
    access_key_id, _, secret = admin.partition(":")
    audit_path = os.environ.get(AUDIT_VARIABLE)
    authorizer = Authorizer(Audit(Path(audit_path) if audit_path else None))

    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.moto_api._internal.models import MotoAPIBackend

    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0  # type: ignore[assignment]

    def authenticate_and_authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        """moto's check, with the permissions AWS evaluates instead of moto's approximation."""
        if self.headers.get("X-Amz-Target") in ActionAuthenticatorMixin.PUBLIC_OPERATIONS:
            return
        path = self.raw_path + (f"?{urlparse(self.uri).query}" if urlparse(self.uri).query else "")
        # moto verifies a bodyless request's signature over its parsed parameters, right for
        # a form POST (IAM, STS), wrong for a REST GET (Lambda), whose parameters moto fills
        # with the headers. S3 signs its payload hash in a header and names the bucket in data.
        data = self.data if self.form_data or self.service_name == "s3" else {}
        iam_request = iam_request_cls(
            account_id=self.current_account,
            method=self.method,
            path=path,
            data=data,
            body=self.raw_body,
            headers=self.headers,
            action=self._get_action(),
        )
        iam_request.check_signature()
        authorizer.authorize(self, iam_request, resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = authenticate_and_authorize  # type: ignore[method-assign]

    original_reset = MotoAPIBackend.reset

    def reset(self: Any) -> None:
        """Reset moto's state, keeping the administrator (the stack keeps using its key)."""
        original_reset(self)
        create_admin(access_key_id, secret)

    MotoAPIBackend.reset = reset  # type: ignore[method-assign]
    create_admin(access_key_id, secret)
    return access_key_id, secret
