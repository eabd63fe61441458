"""app.metrics: one line per emit, in CloudWatch's embedded metric format (checked in tests/support/emf.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_lambda_powertools.metrics import MetricUnit

from app import metrics
from tests.support.emf import metric_lines

ROOT = Path(__file__).resolve().parents[2]


def test_a_request_is_one_line_with_count_latency_and_error_flags_per_route(
    capsys: pytest.CaptureFixture[str],
) -> None:
    metrics.request("backend", "POST /api/videos/<uuid:video_id>/retry", 409, 0.25)

    [line] = metric_lines(capsys.readouterr().out)
    assert line.dimensions == {"service": "backend", "route": "POST /api/videos/<uuid:video_id>/retry"}
    assert line.units == {
        "Requests": "Count",
        "Latency": "Milliseconds",
        "Errors4xx": "Count",
        "Errors5xx": "Count",
    }
    assert line.values == {"Requests": [1], "Latency": [250], "Errors4xx": [1], "Errors5xx": [0]}


def test_several_values_of_one_metric_share_a_line_and_none_leaves_it_out(
    capsys: pytest.CaptureFixture[str],
) -> None:
    metrics.emit(
        "progress",
        {"OpenStreams": (3, MetricUnit.Count), "DeliveryLatency": ([12.5, 40.0], MetricUnit.Milliseconds)},
    )
    metrics.emit(
        "progress", {"OpenStreams": (0, MetricUnit.Count), "DeliveryLatency": ([], MetricUnit.Milliseconds)}
    )

    first, second = metric_lines(capsys.readouterr().out, "progress")
    assert first.values == {"OpenStreams": [3], "DeliveryLatency": [12.5, 40.0]}
    assert second.values == {"OpenStreams": [0]}


@pytest.mark.parametrize(
    ("method", "template", "name"),
    [
        ("GET", "/api/videos/<uuid:video_id>", "GET /api/videos/<uuid:video_id>"),
        ("GET", None, "GET unmatched"),
        ("BREW", "/api/videos", "OTHER /api/videos"),
    ],
)
def test_route_names_are_bounded_by_templates_and_known_methods(
    method: str, template: str | None, name: str
) -> None:
    assert metrics.route_name(method, template) == name


def test_lines_of_processes_sharing_one_log_never_run_into_each_other(tmp_path: Path) -> None:
    """The local platform's log is every service's output in one file; a full run once found a
    metric line and another process's line joined (the line and its newline written apart)."""
    emitter = (
        "import logging\n"
        "from aws_lambda_powertools.metrics import MetricUnit\n"
        "from app.metrics import emit\n"
        "logging.basicConfig(format='%(message)s', level=logging.INFO)\n"  # on stderr, as the services log
        "for n in range(400):\n"
        "    emit('svc', {'Count': (n, MetricUnit.Count)}, route='GET /api/videos/<video_id>')\n"
        "    logging.info('{\"message\": \"a log line between the metrics' + 'x' * 200 + '\"}')\n"
    )
    log = tmp_path / "platform.log"
    with log.open("wb") as shared:
        writers = [
            subprocess.Popen([sys.executable, "-c", emitter], stdout=shared, stderr=shared, cwd=ROOT)
            for _ in range(3)
        ]
        assert all(w.wait(timeout=120) == 0 for w in writers)
    lines = log.read_text().splitlines()
    assert len(lines) == 3 * 400 * 2
    for line in lines:
        json.loads(line)
    assert len(metric_lines(log.read_text(), "svc")) == 3 * 400


def test_a_request_line_is_the_line_emit_writes_for_the_same_values(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``request`` builds its route's parts once (the hot path of every API request): the line stays ``emit``'s."""
    for status in (200, 404, 503):
        metrics.request("backend", "GET /api/videos", status, 0.0125)
        metrics.emit(
            "backend",
            {
                "Requests": (1, MetricUnit.Count),
                "Latency": (12.5, MetricUnit.Milliseconds),
                "Errors4xx": (int(status == 404), MetricUnit.Count),
                "Errors5xx": (int(status == 503), MetricUnit.Count),
            },
            route="GET /api/videos",
        )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for line in lines:
        line["_aws"]["Timestamp"] = 0
    assert lines[0::2] == lines[1::2]
