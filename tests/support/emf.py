"""Reading back the services' metric lines, and checking them against CloudWatch's embedded metric format.

The rules (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
a log event is one JSON object whose ``_aws`` member holds ``Timestamp`` (epoch milliseconds) and
``CloudWatchMetrics``, an array of directives, each with a ``Namespace``, ``Dimensions`` (an array
of dimension sets, each an array of up to 30 names) and ``Metrics`` (``Name`` and ``Unit`` each);
every name a directive refers to is a member of the root, a dimension's value a string.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.metrics import NAMESPACE

MAX_DIMENSIONS = 30


@dataclass(frozen=True)
class MetricLine:
    """One EMF line: its dimensions, and each metric's unit and value (or values)."""

    dimensions: dict[str, str]
    units: dict[str, str]
    values: dict[str, Any]


def check(document: dict[str, Any]) -> MetricLine:
    """The line's metrics, once its structure is checked as the specification requires."""
    meta = document["_aws"]
    assert isinstance(meta["Timestamp"], int) and meta["Timestamp"] > 1_500_000_000_000
    [directive] = meta["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE
    dimensions: dict[str, str] = {}
    for dimension_set in directive["Dimensions"]:
        assert 1 <= len(dimension_set) <= MAX_DIMENSIONS
        for name in dimension_set:
            assert isinstance(document[name], str), name
            dimensions[name] = document[name]
    units = {}
    for metric in directive["Metrics"]:
        assert set(metric) <= {"Name", "Unit", "StorageResolution"}
        value = document[metric["Name"]]
        assert all(isinstance(v, int | float) for v in (value if isinstance(value, list) else [value]))
        units[metric["Name"]] = metric["Unit"]
    return MetricLine(dimensions, units, {name: document[name] for name in units})


def metric_lines(output: str, service: str | None = None) -> list[MetricLine]:
    """Every EMF line in ``output`` (other lines skipped), checked; only ``service``'s if given."""
    lines = []
    for raw in output.splitlines():
        if '"_aws"' not in raw:
            continue
        line = check(json.loads(raw[raw.index("{") :]))
        if service is None or line.dimensions.get("service") == service:
            lines.append(line)
    return lines
