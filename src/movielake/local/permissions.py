"""The permission report: per role, what the run used against what the role grants.

The enforcing moto server records every authorization decision (principal, action, resource,
allowed) in ``<local dir>/authorizations.jsonl``. For each role the stack deployed (the
Lambdas' execution roles and the crawlers' role), :func:`build_report` lines those decisions
up with the role's inline policy statements:

- every use must be granted (a denied use is listed as such);
- every granted action must be used by the run, or justified: the comment directly above
  the statement in ``terraform/iam.tf`` has a sentence starting ``Unused locally:`` saying
  why it is needed on AWS though the local run never calls it.

``movielake local permissions`` writes the report as ``build/permissions.json`` and
``build/permissions.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

JUSTIFICATION = "Unused locally:"
EXAMPLES = 3


@dataclass(frozen=True)
class Statement:
    """One Allow statement of a role's inline policy."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]

    def grants(self, action: str, resource: str) -> bool:
        """Whether this statement allows ``action`` on ``resource`` (IAM wildcards)."""
        return any(wildcard(a, action, ignore_case=True) for a in self.actions) and any(
            wildcard(r, resource) for r in self.resources
        )


@dataclass
class RoleReport:
    """What one role used and what it grants."""

    role: str
    used: list[dict[str, Any]] = field(default_factory=list)
    granted: list[dict[str, Any]] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Denied uses and grants neither used nor justified."""
        denied = [f"{u['action']} denied on {u['resources'][0]}" for u in self.used if not u["granted_by"]]
        idle = [
            f"{g['sid']}: {g['action']} unused and unjustified"
            for g in self.granted
            if g["status"] == "unjustified"
        ]
        return denied + idle


def wildcard(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM matching: ``*`` any run of characters (``/`` included), ``?`` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def statements(document: dict[str, Any]) -> list[Statement]:
    """The Allow statements of a policy document."""
    raw = document.get("Statement", [])
    found = []
    for item in [raw] if isinstance(raw, dict) else raw:
        if item.get("Effect") != "Allow":
            continue
        actions = item.get("Action", [])
        resources = item.get("Resource", [])
        found.append(
            Statement(
                sid=item.get("Sid", ""),
                actions=tuple([actions] if isinstance(actions, str) else actions),
                resources=tuple([resources] if isinstance(resources, str) else resources),
            )
        )
    return found


def justifications(iam_tf: str) -> dict[str, str]:
    """Statement sid -> the ``Unused locally:`` text of the comment directly above its ``statement {``."""
    found: dict[str, str] = {}
    comment: list[str] = []
    pending = ""
    for line in iam_tf.splitlines():
        text = line.strip()
        if text.startswith("#"):
            comment.append(text.lstrip("# "))
            continue
        if text.startswith("statement {"):
            pending = " ".join(comment)
        elif (match := re.match(r'sid\s*=\s*"([^"]+)"', text)) and JUSTIFICATION in pending:
            found[match.group(1)] = pending.split(JUSTIFICATION, 1)[1].strip()
        comment = []
    return found


def read_audit(path: Path) -> Iterator[dict[str, Any]]:
    """The decisions the enforcing moto server recorded."""
    if not path.exists():
        return
    with path.open() as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def role_of(principal: str) -> str | None:
    """The role name of an assumed-role principal ARN, else None."""
    match = re.match(r"arn:[^:]+:sts::\d+:assumed-role/([^/]+)/", principal)
    return match.group(1) if match else None


def build_report(
    policies: dict[str, list[Statement]], decisions: Iterable[dict[str, Any]], justified: dict[str, str]
) -> list[RoleReport]:
    """One RoleReport per role in ``policies`` (role name -> its Allow statements)."""
    uses: dict[str, dict[tuple[str, bool], list[str]]] = {role: {} for role in policies}
    for decision in decisions:
        role = role_of(decision["principal"])
        if role in uses:
            key = (decision["action"], bool(decision["allowed"]))
            uses[role].setdefault(key, []).append(decision["resource"])
    reports = []
    for role, role_statements in sorted(policies.items()):
        report = RoleReport(role)
        for (action, allowed), resources in sorted(uses[role].items()):
            granted_by = sorted(
                {s.sid for s in role_statements for r in resources if allowed and s.grants(action, r)}
            )
            report.used.append(
                {"action": action, "resources": sorted(set(resources))[:EXAMPLES], "granted_by": granted_by}
            )
        for statement in role_statements:
            for action in statement.actions:
                used = any(
                    statement.grants(use["action"], r)
                    for use in report.used
                    if use["granted_by"]
                    for r in uses[role][(use["action"], True)]
                    if wildcard(action, use["action"], ignore_case=True)
                )
                status = "used" if used else ("justified" if statement.sid in justified else "unjustified")
                report.granted.append(
                    {
                        "sid": statement.sid,
                        "action": action,
                        "resources": list(statement.resources),
                        "status": status,
                        "why": justified.get(statement.sid, "") if status == "justified" else "",
                    }
                )
        reports.append(report)
    return reports


def deployed_role_policies(iam: Any, lambda_client: Any, glue: Any) -> dict[str, list[Statement]]:
    """Role name -> Allow statements of its inline policies, for every Lambda and crawler role."""
    roles: set[str] = set()
    for page in lambda_client.get_paginator("list_functions").paginate():
        roles.update(f["Role"].rsplit("/", 1)[-1] for f in page.get("Functions", []))
    roles.update(
        c["Role"].rsplit("/", 1)[-1] for c in glue.get_crawlers().get("Crawlers", []) if c.get("Role")
    )
    found: dict[str, list[Statement]] = {}
    for role in sorted(roles):
        found[role] = []
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
            found[role] += statements(json.loads(document) if isinstance(document, str) else document)
    return found


def render_markdown(reports: list[RoleReport]) -> str:
    """The report as Markdown: per role, the uses and the grants."""
    lines = [
        "# Permission report",
        "",
        "Generated by `movielake local permissions` from the authorization decisions the local",
        "stack's moto server recorded during the run, and the roles' inline policies.",
        "Every use must be granted; every grant used, or justified in `terraform/iam.tf`.",
        "",
    ]
    for report in reports:
        verdict = "OK" if not report.problems else f"{len(report.problems)} problem(s)"
        lines += [f"## {report.role}: {verdict}", "", "| action used | resources (examples) | granted by |"]
        lines += ["| --- | --- | --- |"]
        for use in report.used:
            granted = ", ".join(use["granted_by"]) or "**DENIED**"
            lines.append(f"| `{use['action']}` | {'<br>'.join(use['resources'])} | {granted} |")
        lines += ["", "| statement | action granted | status |", "| --- | --- | --- |"]
        for grant in report.granted:
            status = grant["status"] + (f": {grant['why']}" if grant["why"] else "")
            lines.append(f"| {grant['sid']} | `{grant['action']}` | {status} |")
        lines += [*(f"- problem: {p}" for p in report.problems), ""]
    return "\n".join(lines)


def write_report(reports: list[RoleReport], out_dir: Path) -> tuple[Path, Path]:
    """Write ``permissions.json`` and ``permissions.md`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    as_json = out_dir / "permissions.json"
    as_json.write_text(json.dumps([{**asdict(r), "problems": r.problems} for r in reports], indent=2) + "\n")
    markdown = out_dir / "permissions.md"
    markdown.write_text(render_markdown(reports))
    return as_json, markdown
