"""Operations: the stack's CloudWatch dashboard and its alarms, built as data.

Each component says what an operator watches on it: ``widgets()`` returns its part of the
dashboard (a titled ``Section`` of graphs) and ``alarms(thresholds)`` its alarms, as
``AlarmSpec`` values; both are plain data over the component's own resources. The stack hands
them to its own ``Operations`` component (``stacks/operations.py``), which lays the sections
out on CloudWatch's 24-column grid (``dashboard_body``) in one ``aws.cloudwatch.Dashboard``
and creates every alarm, notifying the stack's alarm topic. ``metric_alarm`` is the one way an
alarm is made: TranscoderFleet's DLQ alarm, which the fleet keeps for programs that use it
alone, is made by it too.

The dashboard body follows "Dashboard Body Structure and Syntax"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

GRID_COLUMNS = 24
"""A dashboard is 24 columns wide; a widget's x + width may not pass it."""
SECTION_HEADER_HEIGHT = 1


@dataclass(frozen=True)
class Metric:
    """One CloudWatch metric, by its dimensions, and the statistic read from it."""

    namespace: str
    name: str
    dimensions: Mapping[str, pulumi.Input[str]]
    stat: str = "Average"
    period: int = 60
    label: str | None = None
    region: str | None = None
    """Where CloudWatch keeps it when not in the stack's region (CloudFront's are in us-east-1)."""

    def graph_entry(self, id_: str, visible: bool) -> list[Any]:
        """The metric in a graph's ``metrics`` array: namespace, name, dimension pairs, options."""
        options: dict[str, Any] = {"id": id_, "stat": self.stat, "period": self.period}
        if self.label:
            options["label"] = self.label
        if self.region:
            options["region"] = self.region
        if not visible:
            options["visible"] = False
        pairs = [part for dimension in self.dimensions.items() for part in dimension]
        return [self.namespace, self.name, *pairs, options]

    def alarm_query(self, id_: str, return_data: bool) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
        return aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=id_,
            return_data=return_data,
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace=self.namespace,
                metric_name=self.name,
                dimensions=dict(self.dimensions),
                period=self.period,
                stat=self.stat,
            ),
        )

    def tracking_metric(
        self, id_: str
    ) -> aws.autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricArgs:
        """The metric in a target tracking policy's customized metric specification."""
        return aws.autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricArgs(
            id=id_,
            return_data=False,
            metric_stat=aws.autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricMetricStatArgs(
                stat=self.stat,
                metric=aws.autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricMetricStatMetricArgs(
                    namespace=self.namespace,
                    metric_name=self.name,
                    dimensions=[
                        aws.autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricMetricStatMetricDimensionArgs(
                            name=name, value=value
                        )
                        for name, value in self.dimensions.items()
                    ],
                ),
            ),
        )


@dataclass(frozen=True)
class Expression:
    """Metric math over the other series of its graph or alarm (by id), or a Metrics Insights
    query (``SELECT ...``), which needs a ``period``."""

    expression: str
    label: str
    period: int | None = None

    def graph_entry(self, id_: str, visible: bool) -> list[Any]:
        entry: dict[str, Any] = {"expression": self.expression, "label": self.label, "id": id_}
        if self.period is not None:
            entry["period"] = self.period
        if not visible:
            entry["visible"] = False
        return [entry]

    def alarm_query(self, id_: str, return_data: bool) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
        return aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=id_, expression=self.expression, label=self.label, period=self.period, return_data=return_data
        )


Series = Metric | Expression


def alb_metric(
    alb: aws.lb.LoadBalancer,
    target_group: aws.lb.TargetGroup | None,
    metric: str,
    stat: str,
    label: str | None = None,
) -> Metric:
    """A load balancer's metric (``AWS/ApplicationELB``), of one of its target groups when given:
    CloudWatch names both by the last part of their ARN (``app/<name>/<id>``, ``targetgroup/<name>/<id>``)."""
    dimensions: dict[str, pulumi.Input[str]] = {"LoadBalancer": alb.arn_suffix}
    if target_group is not None:
        dimensions["TargetGroup"] = target_group.arn_suffix
    return Metric("AWS/ApplicationELB", metric, dimensions, stat, label=label)


def insights_sum(namespace: str, metric: str, dimensions: Sequence[str], where: Mapping[str, str]) -> str:
    """A Metrics Insights query summing ``metric`` over every value of the dimensions not in
    ``where`` (``SCHEMA`` names all the metric's dimensions, as CloudWatch matches them exactly)."""
    schema = ", ".join([f'"{namespace}"', *sorted(dimensions)])
    condition = " AND ".join(f"{key} = '{value}'" for key, value in sorted(where.items()))
    # A CloudWatch metric query over names this code chooses, not SQL over anyone's input.
    return f"SELECT SUM({metric}) FROM SCHEMA({schema}) WHERE {condition}"  # noqa: S608


def _check_size(what: str, width: int, height: int) -> None:
    if not 1 <= width <= GRID_COLUMNS or not 1 <= height <= 1000:
        raise ValueError(f"{what}: a widget is 1-{GRID_COLUMNS} columns wide and 1-1000 rows high")


@dataclass(frozen=True)
class Graph:
    """A time-series graph of ``series`` (by id; ``hidden`` ids only feed expressions)."""

    title: str
    series: Mapping[str, Series]
    hidden: frozenset[str] = frozenset()
    width: int = 8
    height: int = 6
    region: str | None = None
    """The graph's region when its metrics are not in the stack's (CloudFront: us-east-1)."""

    def __post_init__(self) -> None:
        _check_size(self.title, self.width, self.height)
        if unknown := self.hidden - set(self.series):
            raise ValueError(f"{self.title}: hidden ids {sorted(unknown)} are not series of the graph")

    def widget(self, region: pulumi.Input[str]) -> dict[str, Any]:
        return {
            "type": "metric",
            "width": self.width,
            "height": self.height,
            "properties": {
                "title": self.title,
                "view": "timeSeries",
                "stacked": False,
                "region": self.region or region,
                "metrics": [s.graph_entry(id_, id_ not in self.hidden) for id_, s in self.series.items()],
            },
        }


def hosts_graph(title: str, alb: aws.lb.LoadBalancer, target_group: aws.lb.TargetGroup) -> Graph:
    """The healthy and unhealthy instances behind a load balancer."""
    return Graph(
        title,
        {
            "healthy": alb_metric(alb, target_group, "HealthyHostCount", "Minimum", "healthy"),
            "unhealthy": alb_metric(alb, target_group, "UnHealthyHostCount", "Maximum", "unhealthy"),
        },
    )


@dataclass(frozen=True)
class AlarmStatus:
    """The state of some alarms, one tile each."""

    title: str
    alarm_arns: Sequence[pulumi.Input[str]]
    width: int = GRID_COLUMNS
    height: int = 3

    def __post_init__(self) -> None:
        _check_size(self.title, self.width, self.height)

    def widget(self, region: pulumi.Input[str]) -> dict[str, Any]:
        return {
            "type": "alarm",
            "width": self.width,
            "height": self.height,
            "properties": {"title": self.title, "alarms": list(self.alarm_arns)},
        }


Widget = Graph | AlarmStatus


@dataclass(frozen=True)
class Section:
    """One component's part of the dashboard: a header row, then its widgets left to right."""

    title: str
    widgets: Sequence[Widget]


def dashboard_body(sections: Sequence[Section], region: pulumi.Input[str]) -> dict[str, Any]:
    """The dashboard: each section a markdown header across the grid, then its widgets placed
    left to right, a new row whenever the next one would pass the 24th column."""
    placed: list[dict[str, Any]] = []
    y = 0
    for section in sections:
        placed.append(
            {
                "type": "text",
                "x": 0,
                "y": y,
                "width": GRID_COLUMNS,
                "height": SECTION_HEADER_HEIGHT,
                "properties": {"markdown": f"## {section.title}"},
            }
        )
        y += SECTION_HEADER_HEIGHT
        x = row_height = 0
        for widget in section.widgets:
            body = widget.widget(region)
            if x + body["width"] > GRID_COLUMNS:
                x, y, row_height = 0, y + row_height, 0
            placed.append({**body, "x": x, "y": y})
            x += body["width"]
            row_height = max(row_height, body["height"])
        y += row_height
    return {"start": "-PT6H", "widgets": placed}


@dataclass(frozen=True)
class AlarmThresholds:
    """When the stack's alarms fire; a stack's config overrides each (README: the ``alarm*`` keys)."""

    api_5xx_percent: float = 1.0
    """Share of the API's requests answered 5xx over 5 minutes, twice in a row."""
    api_p95_latency_ms: float = 2000.0
    """p95 latency of ``/api`` and of ``/auth`` over 5 minutes, twice in a row."""
    task_age_seconds: int = 3600
    """Age of the oldest task not yet done (waiting or transcoding)."""
    transcode_failure_percent: float = 10.0
    """Share of the transcodes finished in an hour that failed (at least ``MIN_TASKS_FOR_RATE`` of them)."""
    db_cpu_percent: float = 80.0
    """Database CPU over 5 minutes, three times in a row."""
    db_free_storage_gib: float | None = None
    """Database free storage; ``None``: a tenth of its allocated storage."""


MIN_TASKS_FOR_RATE = 5
"""Fewer transcodes in the hour are too few for a failure rate to mean anything."""


@dataclass(frozen=True)
class AlarmSpec:
    """An alarm as data: the series it reads and which of them (``watched``) it compares."""

    name: str
    """``<component>-<what>``: the alarm's logical name, and its name in CloudWatch under the stack's prefix."""
    description: str
    """What it means, for whoever it wakes."""
    series: Mapping[str, Series]
    watched: str
    threshold: float
    comparison: str = "GreaterThanThreshold"
    evaluation_periods: int = 1
    datapoints_to_alarm: int | None = None
    treat_missing_data: str = "notBreaching"

    def __post_init__(self) -> None:
        if self.watched not in self.series:
            raise ValueError(f"alarm {self.name}: watched series {self.watched!r} is not among its series")


def dead_letters_alarm(name: str, dlq_name: pulumi.Input[str], description: str) -> AlarmSpec:
    """Any message in a dead-letter queue, hidden ones included (a consumer that reports a dead
    letter may keep it invisible for a while)."""
    series: dict[str, Series] = {
        id_: Metric("AWS/SQS", metric, {"QueueName": dlq_name}, "Maximum")
        for id_, metric in (
            ("visible", "ApproximateNumberOfMessagesVisible"),
            ("hidden", "ApproximateNumberOfMessagesNotVisible"),
        )
    }
    series["dead_letters"] = Expression("visible + hidden", "dead letters")
    return AlarmSpec(name, description, series, watched="dead_letters", threshold=0)


def metric_alarm(
    name: str,
    parent: pulumi.Resource,
    spec: AlarmSpec,
    *,
    actions: Sequence[pulumi.Input[str]],
    tags: Mapping[str, str],
    alarm_name: str | None = None,
) -> aws.cloudwatch.MetricAlarm:
    """The alarm ``spec`` describes, telling ``actions`` when it fires and when it clears."""
    return aws.cloudwatch.MetricAlarm(
        name,
        name=alarm_name,
        alarm_description=spec.description,
        metric_queries=[s.alarm_query(id_, id_ == spec.watched) for id_, s in spec.series.items()],
        threshold=spec.threshold,
        comparison_operator=spec.comparison,
        evaluation_periods=spec.evaluation_periods,
        datapoints_to_alarm=spec.datapoints_to_alarm,
        treat_missing_data=spec.treat_missing_data,
        alarm_actions=list(actions),
        ok_actions=list(actions),
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
