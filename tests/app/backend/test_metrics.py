"""The backend's request metrics: one EMF line per request, per route template (tests/support/emf.py)."""

from __future__ import annotations

import uuid

import pytest

from tests.app.backend.conftest import Caller, Platform
from tests.support.emf import metric_lines


def test_each_request_is_counted_under_its_route_template_with_its_error_class(
    platform: Platform, alice: Caller, capsys: pytest.CaptureFixture[str]
) -> None:
    video_id = platform.create(alice)
    capsys.readouterr()

    platform.http.get(f"/api/videos/{video_id}", headers=alice.headers)
    platform.http.post(f"/api/videos/{video_id}/retry", headers=alice.headers)  # 409: not failed
    platform.http.get(f"/api/videos/{video_id}/nothing-here/{uuid.uuid4()}")

    read, retry, unknown = metric_lines(capsys.readouterr().out, "backend")
    assert read.dimensions["route"] == "GET /api/videos/<uuid:video_id>"
    assert (read.values["Requests"], read.values["Errors4xx"], read.values["Errors5xx"]) == ([1], [0], [0])
    assert read.units == {
        "Requests": "Count",
        "Latency": "Milliseconds",
        "Errors4xx": "Count",
        "Errors5xx": "Count",
    }
    assert retry.dimensions["route"] == "POST /api/videos/<uuid:video_id>/retry"
    assert retry.values["Errors4xx"] == [1]
    assert unknown.dimensions["route"] == "GET unmatched"
