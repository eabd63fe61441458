"""infra/operations.py: the stack's dashboard and alarms, over the synthesized prod graph."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from app.contracts.metrics import NAMESPACE, SERVICE_DIMENSION
from infra.operations import GRID_COLUMNS, AlarmThresholds, Graph, Metric, Section, dashboard_body
from pulumi_offline.graph import Graph as ResourceGraph
from pulumi_offline.synth import SynthResource, synthesize_stack

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ALARM_TOPIC = "arn:aws:sns:us-east-1:123456789012:reelstack-prod-alarms"
WIDGET_TYPES = {"metric", "text", "log", "alarm", "explorer", "custom"}
# (namespace, dimension) -> (resource type, the output CloudWatch names the resource by)
DIMENSION_SOURCES = {
    ("AWS/SQS", "QueueName"): ("aws:sqs/queue:Queue", "name"),
    ("AWS/AutoScaling", "AutoScalingGroupName"): ("aws:autoscaling/group:Group", "name"),
    ("AWS/ApplicationELB", "LoadBalancer"): ("aws:lb/loadBalancer:LoadBalancer", "arnSuffix"),
    ("AWS/ApplicationELB", "TargetGroup"): ("aws:lb/targetGroup:TargetGroup", "arnSuffix"),
    ("AWS/RDS", "DBInstanceIdentifier"): ("aws:rds/instance:Instance", "identifier"),
    ("AWS/ApiGateway", "ApiName"): ("aws:apigateway/restApi:RestApi", "name"),
    ("AWS/ApiGateway", "Stage"): ("aws:apigateway/stage:Stage", "stageName"),
    ("AWS/CloudFront", "DistributionId"): ("aws:cloudfront/distribution:Distribution", "id"),
}
# Dimensions whose values are fixed by the service, not by a resource.
FIXED_DIMENSIONS = {
    ("AWS/CloudFront", "Region"): {"Global"},
    ("AWS/ApiGateway", "Method"): {"ANY"},
    (NAMESPACE, SERVICE_DIMENSION): {"backend", "users", "transcoder", "progress"},
}


def _outputs(resource: SynthResource) -> dict[str, Any]:
    return {**resource.inputs, **resource.computed}


def _body(graph: ResourceGraph) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(
        graph.one("aws:cloudwatch/dashboard:Dashboard", "ops-dashboard").inputs["dashboardBody"]
    )
    return body


def _metric_entries(body: dict[str, Any]) -> list[list[Any]]:
    return [m for w in body["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]]


def _api_resource_paths(graph: ResourceGraph) -> set[str]:
    """Each API Gateway resource's path, rebuilt from its path part and its parent's id."""
    resources = graph.of_type("aws:apigateway/resource:Resource")
    by_id = {r.computed["id"]: r for r in resources}

    def path(resource: SynthResource) -> str:
        parent = by_id.get(resource.inputs["parentId"])
        return f"{path(parent) if parent else ''}/{resource.inputs['pathPart']}"

    return {path(r) for r in resources}


def test_the_dashboard_body_has_cloudwatchs_structure_and_stays_on_the_grid(prod: ResourceGraph) -> None:
    """AWS rule, "Dashboard Body Structure and Syntax"
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html):
    a JSON object with a ``widgets`` array of 0 to 500 widgets; each has a ``type`` (metric, text,
    log, alarm, explorer, custom), ``properties``, and optional ``x``, ``y``, ``width`` (1-24),
    ``height`` (1-1000) on a grid 24 columns wide; a metric widget needs ``metrics`` and ``region``,
    each metric being [namespace, metric name, dimension name/value pairs..., rendering options]
    or [{expression, id, label}]; a text widget needs ``markdown``; an alarm widget ``alarms``
    (ARNs)."""
    body = _body(prod)
    assert isinstance(body["widgets"], list) and 0 < len(body["widgets"]) <= 500
    cells: set[tuple[int, int]] = set()
    for widget in body["widgets"]:
        assert widget["type"] in WIDGET_TYPES and isinstance(widget["properties"], dict)
        x, y, width, height = widget["x"], widget["y"], widget["width"], widget["height"]
        assert all(isinstance(v, int) for v in (x, y, width, height)), widget
        assert 1 <= width <= GRID_COLUMNS and 1 <= height <= 1000 and x >= 0 and y >= 0, widget
        assert x + width <= GRID_COLUMNS, f"widget outside the 24-column grid: {widget}"
        covered = {(col, row) for col in range(x, x + width) for row in range(y, y + height)}
        assert not covered & cells, f"widget overlaps another: {widget}"
        cells |= covered
        properties = widget["properties"]
        if widget["type"] == "metric":
            assert properties["region"] and properties["metrics"]
            for entry in properties["metrics"]:
                options = entry[-1] if isinstance(entry[-1], dict) else {}
                if "expression" in options:
                    assert len(entry) == 1 and options["id"] and options["label"]
                    continue
                namespace, name, *pairs = entry[:-1] if options else entry
                assert isinstance(namespace, str) and isinstance(name, str) and len(pairs) % 2 == 0, entry
                assert all(isinstance(p, str) and p for p in pairs), entry
                assert set(options) <= {
                    "id",
                    "stat",
                    "period",
                    "label",
                    "region",
                    "visible",
                    "yAxis",
                    "color",
                }
        elif widget["type"] == "text":
            assert properties["markdown"]
        elif widget["type"] == "alarm":
            assert properties["alarms"] and all(
                a.startswith("arn:aws:cloudwatch:") for a in properties["alarms"]
            )


def test_the_dashboard_shows_what_an_operator_watches(prod: ResourceGraph) -> None:
    """Queue depth and age, dead letters, fleet against backlog, API latency and errors, SSE
    streams, database CPU, connections and storage, CloudFront errors."""
    watched = {(e[0], e[1]) for e in _metric_entries(_body(prod)) if not isinstance(e[0], dict)}
    assert {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/SQS", "ApproximateNumberOfMessagesNotVisible"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("AWS/AutoScaling", "GroupInServiceInstances"),
        ("AWS/ApiGateway", "Latency"),
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/ApplicationELB", "TargetResponseTime"),
        ("AWS/ApplicationELB", "ActiveConnectionCount"),
        (NAMESPACE, "OpenStreams"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/RDS", "DatabaseConnections"),
        ("AWS/RDS", "FreeStorageSpace"),
        ("AWS/CloudFront", "5xxErrorRate"),
    } <= watched


def test_every_dashboard_metric_names_a_resource_of_the_graph_by_its_real_dimension_values(
    prod: ResourceGraph,
) -> None:
    """A dimension value that names nothing (a logical name, an ARN where CloudWatch wants its
    suffix) draws an empty graph: each must be the output CloudWatch names that resource by."""
    api_paths = _api_resource_paths(prod)
    for entry in _metric_entries(_body(prod)):
        if isinstance(entry[0], dict):
            continue
        namespace, _name, *rest = entry
        pairs = rest[:-1] if rest and isinstance(rest[-1], dict) else rest
        for dimension, value in zip(pairs[::2], pairs[1::2], strict=True):
            key = (namespace, dimension)
            if key in FIXED_DIMENSIONS:
                assert value in FIXED_DIMENSIONS[key], entry
            elif key == ("AWS/ApiGateway", "Resource"):
                assert value in api_paths, f"{value} is not a path of the API: {sorted(api_paths)}"
            else:
                type_, output = DIMENSION_SOURCES[key]
                values = {_outputs(r).get(output) for r in prod.of_type(type_)}
                assert value in values, f"{entry}: {dimension}={value} is no {type_}'s {output} ({values})"


def test_the_transcode_failure_queries_read_the_metrics_the_transcoder_emits(prod: ResourceGraph) -> None:
    """Metrics Insights' SCHEMA matches the metrics with exactly the dimensions named
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-metrics-insights-querylanguage.html):
    the failures carry their reason, the successes do not."""
    alarm = prod.one(ALARM, "ops-transcoder-failure-rate").inputs
    queries = {q["id"]: q for q in alarm["metricQueries"]}
    assert queries["failed"]["expression"] == (
        "SELECT SUM(TasksFailed) FROM SCHEMA(\"reelstack\", reason, service) WHERE service = 'transcoder'"
    )
    assert queries["succeeded"]["expression"] == (
        "SELECT SUM(TasksSucceeded) FROM SCHEMA(\"reelstack\", service) WHERE service = 'transcoder'"
    )
    assert [q["id"] for q in alarm["metricQueries"] if q.get("returnData")] == ["failure_rate"]


QUERY_ID = re.compile(r"[a-z][a-zA-Z0-9_]*")


def test_every_alarm_is_one_time_series_over_at_most_ten_metrics_of_one_period(prod: ResourceGraph) -> None:
    """AWS rule, "Alarm data queries"
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-data-queries.html): a math
    expression used for an alarm can include as many as 10 metrics, each using the same period;
    PutMetricAlarm (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html)
    takes up to 20 queries of which exactly one returns data, each id starting with a lowercase
    letter (MetricDataQuery). A Metrics Insights query may sit inside such an expression
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-metrics-insights-alarm-create.html:
    a GROUP BY query is wrapped in a math expression that returns one time series)."""
    for alarm in prod.of_type(ALARM):
        queries = alarm.inputs["metricQueries"]
        metrics = [q["metric"] for q in queries if "metric" in q]
        assert len(queries) <= 20 and len(metrics) <= 10, alarm.name
        assert [bool(q.get("returnData")) for q in queries].count(True) == 1, alarm.name
        assert len({m["period"] for m in metrics}) <= 1, alarm.name
        assert all(QUERY_ID.fullmatch(q["id"]) for q in queries), alarm.name


def test_every_graph_series_id_is_one_cloudwatch_accepts(prod: ResourceGraph) -> None:
    """GetMetricData ids (and a graph's): a lowercase letter first, then letters, digits, underscores
    (MetricDataQuery, https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataQuery.html)."""
    for entry in _metric_entries(_body(prod)):
        options = entry[-1]
        assert QUERY_ID.fullmatch(options["id"]), entry


def _notifying_alarms(graph: ResourceGraph) -> list[SynthResource]:
    """Every alarm but the ones that drive scaling (their action is a scaling policy)."""
    return [
        a
        for a in graph.of_type(ALARM)
        if not any(":autoscaling:" in action for action in a.inputs.get("alarmActions") or [])
    ]


def test_every_alarm_in_prod_notifies_the_alarm_topic_when_it_fires_and_clears(prod: ResourceGraph) -> None:
    alarms = _notifying_alarms(prod)
    assert {a.name for a in alarms} == {
        "transcoder-dlq-not-empty",
        "ops-backend-status-dlq-not-empty",
        "ops-backend-webhooks-dlq-not-empty",
        "ops-db-cpu",
        "ops-db-free-storage",
        "ops-gateway-5xx-rate",
        "ops-gateway-api-p95-latency",
        "ops-gateway-auth-p95-latency",
        "ops-progress-unhealthy-hosts",
        "ops-transcoder-failure-rate",
        "ops-transcoder-task-age",
    }
    for alarm in alarms:
        assert alarm.inputs["alarmActions"] == [ALARM_TOPIC], alarm.name
        assert alarm.inputs["okActions"] == [ALARM_TOPIC], alarm.name


def test_the_dashboard_shows_the_state_of_every_alarm(prod: ResourceGraph) -> None:
    shown = {arn for w in _body(prod)["widgets"] if w["type"] == "alarm" for arn in w["properties"]["alarms"]}
    assert shown == {a.computed["arn"] for a in _notifying_alarms(prod)}


def _thresholds(graph: ResourceGraph) -> dict[str, float]:
    return {a.name: a.inputs["threshold"] for a in graph.of_type(ALARM) if a.name.startswith("ops-")}


def test_prod_alarms_fire_at_the_default_thresholds(prod: ResourceGraph) -> None:
    defaults = AlarmThresholds()
    thresholds = _thresholds(prod)
    assert thresholds["ops-gateway-5xx-rate"] == defaults.api_5xx_percent
    assert thresholds["ops-gateway-api-p95-latency"] == defaults.api_p95_latency_ms
    assert thresholds["ops-transcoder-task-age"] == defaults.task_age_seconds
    assert thresholds["ops-transcoder-failure-rate"] == defaults.transcode_failure_percent
    assert thresholds["ops-db-cpu"] == defaults.db_cpu_percent
    # a tenth of prod's 100 GiB
    assert thresholds["ops-db-free-storage"] == 10 * 2**30
    assert thresholds["ops-progress-unhealthy-hosts"] == 0
    assert thresholds["ops-backend-status-dlq-not-empty"] == 0


def test_a_stack_overrides_each_alarm_threshold_in_its_config() -> None:
    graph = ResourceGraph.of(
        synthesize_stack(
            "dev",
            overrides={
                "reelstack:alarmApi5xxPercent": "5",
                "reelstack:alarmApiP95LatencyMs": "750",
                "reelstack:alarmTaskAgeSeconds": "600",
                "reelstack:alarmTranscodeFailurePercent": "25",
                "reelstack:alarmDbCpuPercent": "90",
                "reelstack:alarmDbFreeStorageGib": "4",
            },
        )
    )
    thresholds = _thresholds(graph)
    assert thresholds["ops-gateway-5xx-rate"] == 5
    assert thresholds["ops-gateway-api-p95-latency"] == thresholds["ops-gateway-auth-p95-latency"] == 750
    assert thresholds["ops-transcoder-task-age"] == 600
    assert thresholds["ops-transcoder-failure-rate"] == 25
    assert thresholds["ops-db-cpu"] == 90
    assert thresholds["ops-db-free-storage"] == 4 * 2**30


def test_a_stack_without_a_topic_keeps_its_alarms_on_the_dashboard_without_actions(
    dev: ResourceGraph,
) -> None:
    for alarm in _notifying_alarms(dev):
        assert not alarm.inputs.get("alarmActions") and not alarm.inputs.get("okActions"), alarm.name


def test_alarm_names_say_the_stack_they_belong_to(prod: ResourceGraph) -> None:
    for alarm in prod.of_type(ALARM):
        if alarm.name.startswith("ops-"):
            assert alarm.inputs["name"] == "reelstack-prod-" + alarm.name.removeprefix("ops-")


def test_a_widget_wider_than_the_grid_is_refused() -> None:
    metric = Metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "q"})
    with pytest.raises(ValueError, match="1-24 columns"):
        Graph("too wide", {"m": metric}, width=GRID_COLUMNS + 1)


def test_widgets_wrap_to_a_new_row_rather_than_pass_the_last_column() -> None:
    metric = Metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "q"})
    body = dashboard_body(
        [Section("s", [Graph(f"g{n}", {"m": metric}, width=10) for n in range(3)])], "us-east-1"
    )
    graphs = [(w["x"], w["y"]) for w in body["widgets"] if w["type"] == "metric"]
    assert graphs == [(0, 1), (10, 1), (0, 7)]


def test_the_platform_guide_says_what_each_alarm_means() -> None:
    """docs/platform-teams.md names every alarm the stack creates, with what to do."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "platform-teams.md").read_text()
    section = docs.split("### The dashboard and the alarms", 1)[1].split("\n#", 1)[0]
    named = set(re.findall(r"`(?:reelstack-<stack>-)?([a-z0-9-]+)`", section))
    for suffix in (
        "backend-status-dlq-not-empty",
        "backend-webhooks-dlq-not-empty",
        "db-cpu",
        "db-free-storage",
        "gateway-5xx-rate",
        "gateway-api-p95-latency",
        "gateway-auth-p95-latency",
        "progress-unhealthy-hosts",
        "transcoder-failure-rate",
        "transcoder-task-age",
        "transcoder-dlq-not-empty",
    ):
        assert suffix in named, f"docs/platform-teams.md does not explain {suffix}"
