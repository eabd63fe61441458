"""No topology value is written twice: the local platform reads the components' values through the
synthesized graph, so changing one in the place the component reads it changes both sides."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

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


def test_the_web_apps_password_rule_is_the_user_pools() -> None:
    """The sign-up form said 8 characters and a symbol while the pool requires 12 and no symbol;
    the form cannot import the component, so this test holds them together."""
    pool = next(r for r in synthesize("dev") if r.type == "aws:cognito/userPool:UserPool")
    policy = pool.inputs["passwordPolicy"]
    source = (Path(__file__).resolve().parents[3] / "app/web/js/views/auth.js").read_text()
    minimum = int(policy["minimumLength"])
    assert set(re.findall(r"minlength: (\d+)", source)) == {str(minimum)}
    hint = re.search(r'const PASSWORD_HINT = "([^"]+)"', source)
    assert hint is not None and f"At least {minimum} characters" in hint.group(1)
    assert ("symbol" in hint.group(1)) == bool(policy["requireSymbols"])
