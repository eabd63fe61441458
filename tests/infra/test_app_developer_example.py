"""An app developer's consumer program (examples/transcoder_fleet) builds one component on its own."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import yaml

from infra._common import env_from_user_data
from pulumi_offline.graph import Graph
from pulumi_offline.synth import run_program

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "transcoder_fleet"


def example_graph() -> Graph:
    document = yaml.safe_load((EXAMPLE / "Pulumi.example.yaml").read_text())
    config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in document["config"].items()}
    synthesis = run_program(
        lambda: runpy.run_path(str(EXAMPLE / "__main__.py"), run_name="__main__"),
        project="video-lab",
        stack="example",
        config=config,
    )
    return Graph.of(synthesis)


def test_example_program_builds_the_fleet_under_its_own_names_and_exports() -> None:
    graph = example_graph()
    fleet = graph.one("reelstack:index:TranscoderFleet", "lab-transcoder")
    children = graph.children(fleet)
    assert children and all(r.name.startswith("lab-transcoder-") for r in children)
    assert graph.one("aws:sqs/queue:Queue", "lab-transcoder-tasks").inputs["name"] == "lab-example-tasks"
    assert graph.exports["task_queue_url"].endswith("/lab-example-tasks")
    assert graph.exports["dlq_url"].endswith("/lab-example-tasks-dlq")
    assert graph.of_type("reelstack:index:Network") == []


def test_example_fleet_role_is_scoped_to_the_teams_own_buckets_and_topic() -> None:
    graph = example_graph()
    policy = graph.role_policy("lab-transcoder-policy")
    resources = {r for s in policy["Statement"] for r in s["Resource"]}
    assert any(r.startswith("arn:aws:s3:::lab-example-sources-") and r.endswith("/*") for r in resources)
    assert any(r.startswith("arn:aws:s3:::lab-example-renditions-") and r.endswith("/*") for r in resources)
    assert "arn:aws:sns:eu-west-1:123456789012:lab-example-progress" in resources


def test_example_workers_get_the_teams_region_ladder_and_subnets() -> None:
    graph = example_graph()
    template = graph.one("aws:ec2/launchTemplate:LaunchTemplate", "lab-transcoder-lt").inputs
    env = env_from_user_data(template["userData"], "transcoder")
    assert env["AWS_DEFAULT_REGION"] == "eu-west-1" and env["REELSTACK_LADDER"] == "720,480"
    group = graph.one("aws:autoscaling/group:Group", "lab-transcoder-asg").inputs
    assert group["vpcZoneIdentifiers"] == ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
    assert group["tags"][1:] == [
        {"key": "service", "value": "transcoder", "propagateAtLaunch": True},
        {"key": "stack", "value": "example", "propagateAtLaunch": True},
        {"key": "owner", "value": "video-lab", "propagateAtLaunch": True},
    ]
