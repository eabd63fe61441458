"""No topology value is written twice: the local platform reads the components' values through the
synthesized graph, so changing one in the place the component reads it changes both sides."""

from __future__ import annotations

import uuid

import pytest

import infra.transcoder
from app.contracts.names import ResourceNames
from app.local.provision import client, provision
from pulumi_offline.synth import synthesize


def test_a_task_visibility_timeout_changed_in_one_place_reaches_the_queue_and_the_worker(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hand-written topology restated queue settings; now the queue the emulator holds and the
    lease the transcoder's environment sets both come from the one value the component reads."""
    monkeypatch.setattr(infra.transcoder, "TASK_VISIBILITY_TIMEOUT_SECONDS", 77)
    graph = tuple(synthesize("dev"))
    resources = provision(ResourceNames(f"v{uuid.uuid4().hex[:12]}"), moto_endpoint, synthesized=graph)
    attributes = client("sqs", moto_endpoint).get_queue_attributes(
        QueueUrl=resources.task_queue_url, AttributeNames=["VisibilityTimeout"]
    )["Attributes"]
    assert attributes["VisibilityTimeout"] == "77"
    assert resources.env_for("transcoder")["REELSTACK_VISIBILITY_TIMEOUT_SECONDS"] == "77"
