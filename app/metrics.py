"""The services' metrics, in CloudWatch's embedded metric format (EMF), written by aws-lambda-powertools.

Each ``emit`` prints one JSON line on stdout: the values, their dimensions, and an ``_aws`` block
naming the namespace (``NAMESPACE``), the dimension set and each metric's unit. On AWS the line
reaches the service's log group (the Lambda's own, or the CloudWatch agent shipping the EC2
services' output) and CloudWatch Logs extracts the metrics from it: no PutMetricData call, no
permission beyond writing logs (PutLogEvents needs no ``x-amzn-logs-format`` header for that,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Generation_PutLogEvents.html).
Locally the same lines appear in each service's output.

Every dimension value is bounded (a route's template, a failure's class, never a path or an
id), so the number of metrics CloudWatch bills for stays fixed.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Iterable, Mapping

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from app.contracts.metrics import NAMESPACE  # the stack's alarms and dashboard read the same name

# Routes with no template (unknown paths) are counted under this one name.
UNMATCHED_ROUTE = "unmatched"

Values = Mapping[str, tuple[float | Iterable[float], MetricUnit]]


def emit(service: str, values: Values, **dimensions: str) -> None:
    """Print one EMF line for ``service``: each metric's value (or values), with ``dimensions``.

    ``EphemeralMetrics``, not ``Metrics``: the latter keeps one metric set per process, which the
    threads (and greenlets) of a server would write into at once.
    """
    metrics = EphemeralMetrics(namespace=NAMESPACE, service=service)
    for dimension, text in dimensions.items():
        metrics.add_dimension(name=dimension, value=text)
    for name, (value, unit) in values.items():
        for one in [value] if isinstance(value, int | float) else value:
            metrics.add_metric(name=name, unit=unit, value=one)
    if is_metrics_disabled():
        return
    # One write of the whole line, flushed: powertools' own flush prints the line and its newline
    # apart through a block-buffered stdout, and in a log that several processes share (the local
    # platform's) another line landed between them.
    sys.stdout.write(json.dumps(metrics.serialize_metric_set(), separators=(",", ":")) + "\n")
    sys.stdout.flush()


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_name(method: str, template: str | None) -> str:
    """``"POST /api/videos/<uuid:video_id>/retry"``: a request's method and its route's template,
    ``unmatched`` without one; a method outside HTTP's usual ones counts as ``OTHER``."""
    return f"{method if method in _METHODS else 'OTHER'} {template or UNMATCHED_ROUTE}"


_REQUEST_METRICS = (
    ("Requests", MetricUnit.Count),
    ("Latency", MetricUnit.Milliseconds),
    ("Errors4xx", MetricUnit.Count),
    ("Errors5xx", MetricUnit.Count),
)


@functools.lru_cache(maxsize=1024)  # routes are templates: a bounded number per service
def _request_line_parts(service: str, route: str) -> tuple[str, str]:
    """What every request line of ``route`` shares, as powertools builds (and checks) it: the
    ``CloudWatchMetrics`` directives and the dimension members."""
    metrics = EphemeralMetrics(namespace=NAMESPACE, service=service)
    metrics.add_dimension(name="route", value=route)
    for name, unit in _REQUEST_METRICS:
        metrics.add_metric(name=name, unit=unit, value=0)
    document = metrics.serialize_metric_set()
    directives = json.dumps(document["_aws"]["CloudWatchMetrics"], separators=(",", ":"))
    dimensions = json.dumps({"route": route, "service": service}, separators=(",", ":"))[1:-1]
    return directives, dimensions


def request(service: str, route: str, status: int, seconds: float) -> None:
    """One HTTP request: counted, timed, and counted as a 4xx or 5xx (0 or 1, so the average is the rate).

    The line is ``emit``'s, with the parts that depend only on the route built once: every API
    request writes one, and building it through powertools each time cost about 57 µs of the
    request (bench/README.md, row 5).
    """
    if is_metrics_disabled():
        return
    directives, dimensions = _request_line_parts(service, route)
    values = (1.0, seconds * 1000, float(400 <= status < 500), float(status >= 500))
    members = ",".join(
        f'"{name}":[{value!r}]' for (name, _unit), value in zip(_REQUEST_METRICS, values, strict=True)
    )
    timestamp = time.time_ns() // 1_000_000
    sys.stdout.write(
        f'{{"_aws":{{"Timestamp":{timestamp},"CloudWatchMetrics":{directives}}},{dimensions},{members}}}\n'
    )
    sys.stdout.flush()
