"""Run metrics in CloudWatch's embedded metric format (EMF), through Powertools for AWS Lambda.

A Lambda's stdout goes to its log group, and CloudWatch turns every log line shaped as EMF (a
JSON object with an ``_aws`` block) into metrics, with no ``PutMetricData`` call and no grant.
Powertools' ``Metrics`` builds and validates those lines; this module is the one place the
namespace and the shape of a metric set are decided, for the TMDB run and the refine alike.

The namespace is ``POWERTOOLS_METRICS_NAMESPACE`` (Terraform sets it to the deployment's
prefix), else ``movielake``; every metric carries the dimension ``service`` (``tmdb`` or
``refine``), and a breakdown (failures by reason, rows by table) one more dimension. Lines are
printed only inside a Lambda (``AWS_LAMBDA_FUNCTION_NAME`` set): on the CLI the manifest says
the same and stdout belongs to the command's output.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULT_NAMESPACE = "movielake"


def in_lambda() -> bool:
    """Whether this process is a Lambda sandbox (the local runtime's too)."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def emit(
    service: str,
    counts: Mapping[str, float],
    *,
    rates: Mapping[str, float] | None = None,
    breakdowns: Mapping[str, tuple[str, Mapping[str, float]]] | None = None,
) -> None:
    """Print one EMF line of ``counts`` (unit Count) and ``rates`` (Count/Second), then one line
    per breakdown value: ``{metric: (dimension, {value: figure})}``. Nothing outside a Lambda."""
    if not in_lambda():
        return
    from aws_lambda_powertools.metrics import Metrics, MetricUnit, single_metric

    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE
    metrics = Metrics(namespace=namespace, service=service)
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    for name, value in (rates or {}).items():
        metrics.add_metric(name=name, unit=MetricUnit.CountPerSecond, value=value)
    metrics.flush_metrics()
    for name, (dimension, figures) in (breakdowns or {}).items():
        for key, value in figures.items():
            with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=namespace) as metric:
                metric.add_dimension(name="service", value=service)
                metric.add_dimension(name=dimension, value=key)
