"""``reelstack policy``: both stacks pass; a harmful change to the synthesized graph fails the gate
with a message naming the policy and the resource (acceptance 1 and 3); config files are checked."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app import cli
from policies import runner
from policies.pack import POLICIES
from pulumi_offline import synth
from pulumi_offline.synth import SynthResource

CONFIG_DIR = Path(runner.__file__).parent / "config"


def write_graph(path: Path, resources: list[SynthResource]) -> Path:
    """The graph as ``reelstack synth --json`` prints it."""
    path.write_text(json.dumps([dataclasses.asdict(r) for r in resources]))
    return path


def mutate(
    resources: list[SynthResource], type_: str, name: str, change: Callable[[dict[str, Any]], None]
) -> list[SynthResource]:
    matches = [r for r in resources if r.type == type_ and r.name == name]
    assert len(matches) == 1, f"{type_} {name} not in the graph"
    inputs = json.loads(json.dumps(matches[0].inputs))
    change(inputs)
    return [dataclasses.replace(r, inputs=inputs) if r is matches[0] else r for r in resources]


@pytest.mark.parametrize(
    ("stack", "disabled"),
    [
        (
            "dev",
            [
                "alarms-notify",
                "cognito-ses-email",
                "dynamodb-recoverable",
                "rds-deletion-protection",
                "s3-uploads-versioned",
            ],
        ),
        ("prod", ["cost-instance-types"]),
    ],
)
def test_stack_passes_with_no_mandatory_violation_under_its_own_config(
    stack: str, disabled: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert runner.main(["--stack", stack, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["mandatory"] == 0
    assert report["summary"]["resources"] > 100
    assert report["summary"]["disabled"] == disabled
    assert all(v["level"] == "advisory" for v in report["violations"])


def test_public_database_fails_the_gate_naming_policy_and_resource(
    prod_graph: list[SynthResource], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = mutate(
        prod_graph, "aws:rds/instance:Instance", "db-db", lambda i: i.update(publiclyAccessible=True)
    )
    code = runner.main(["--stack", "prod", "--graph", str(write_graph(tmp_path / "g.json", changed))])
    out = capsys.readouterr().out
    assert code == 1
    line = next(line for line in out.splitlines() if line.startswith("[mandatory]"))
    assert "rds-not-public" in line
    assert "aws:rds/instance:Instance db-db" in line
    assert "1 mandatory" in out


def test_transcoder_granted_s3_star_fails_the_gate_naming_policy_and_resource(
    prod_graph: list[SynthResource], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def grant_s3_star(inputs: dict[str, Any]) -> None:
        document = json.loads(inputs["policy"])
        document["Statement"].append(
            {"Sid": "Everything", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::*"}
        )
        inputs["policy"] = json.dumps(document)

    changed = mutate(prod_graph, "aws:iam/rolePolicy:RolePolicy", "transcoder-policy", grant_s3_star)
    code = runner.main(
        ["--stack", "prod", "--json", "--graph", str(write_graph(tmp_path / "g.json", changed))]
    )
    violations = json.loads(capsys.readouterr().out)["violations"]
    assert code == 1
    flagged = {(v["policy"], v["resource_name"]) for v in violations if v["level"] == "mandatory"}
    assert flagged == {
        ("iam-no-wildcard-action", "transcoder-policy"),
        ("iam-no-wildcard-resource-on-write", "transcoder-policy"),
    }
    assert all("Everything" in v["message"] for v in violations if v["resource_name"] == "transcoder-policy")


def test_unversioned_uploads_fail_prod_unless_config_says_which_buckets_need_versions(
    prod_graph: list[SynthResource], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = [r for r in prod_graph if r.type != "aws:s3/bucketVersioning:BucketVersioning"]
    graph = str(write_graph(tmp_path / "g.json", changed))
    assert runner.main(["--stack", "prod", "--graph", graph]) == 1
    assert "s3-uploads-versioned: aws:s3/bucket:Bucket media-uploads" in capsys.readouterr().out
    config = json.loads((CONFIG_DIR / "prod.json").read_text())
    config["s3-uploads-versioned"]["bucketPatterns"] = ["*archive*"]
    (tmp_path / "prod.json").write_text(json.dumps(config))
    assert runner.main(["--stack", "prod", "--graph", graph, "--config", str(tmp_path / "prod.json")]) == 0


def test_all_advisory_config_reports_but_does_not_fail(
    prod_graph: list[SynthResource], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = mutate(
        prod_graph, "aws:rds/instance:Instance", "db-db", lambda i: i.update(storageEncrypted=False)
    )
    config = tmp_path / "advisory.json"
    config.write_text(json.dumps({"all": "advisory"}))
    graph = str(write_graph(tmp_path / "g.json", changed))
    assert runner.main(["--stack", "prod", "--graph", graph, "--config", str(config)]) == 0
    assert "[advisory] rds-encrypted: aws:rds/instance:Instance db-db" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"rds-not-pubic": "mandatory"}, "unknown policies rds-not-pubic"),
        ({"rds-backup-retention": {"minimumDays": "seven"}}, "rds-backup-retention: 'seven' is not of type"),
        ({"rds-not-public": "blocking"}, "enforcement level 'blocking' is not one of"),
        (
            {"rds-backup-retention": {"minimumDay": 3}},
            "rds-backup-retention: Additional properties are not allowed",
        ),
        (
            {"rds-not-public": {"enforcementLevel": "advisory", "strict": True}},
            "rds-not-public takes no config",
        ),
    ],
)
def test_bad_policy_config_is_refused_with_a_message(
    config: dict[str, Any], error: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(config))
    assert runner.main(["--stack", "dev", "--config", str(path)]) == 2
    assert error in capsys.readouterr().err


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_config_files_name_only_known_policies_and_fit_their_schemas(stack: str) -> None:
    settings = runner.load_policy_config(CONFIG_DIR / f"{stack}.json")
    assert set(settings) == {p.name for p in POLICIES}


def test_the_pack_has_at_least_fifteen_described_policies_with_levels() -> None:
    assert len(POLICIES) >= 15
    assert len({p.name for p in POLICIES}) == len(POLICIES)
    assert all(p.description and p.enforcement_level is not None for p in POLICIES)


def test_reelstack_policy_command_exits_non_zero_on_a_mandatory_violation(
    prod_graph: list[SynthResource], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = mutate(
        prod_graph,
        "aws:ec2/launchTemplate:LaunchTemplate",
        "transcoder-lt",
        lambda i: i["metadataOptions"].update(httpTokens="optional"),
    )
    graph = str(write_graph(tmp_path / "g.json", changed))
    assert cli.main(["policy", "--stack", "prod", "--graph", graph]) == 1
    assert (
        "ec2-imdsv2-required: aws:ec2/launchTemplate:LaunchTemplate transcoder-lt" in capsys.readouterr().out
    )


def test_a_custom_domain_with_its_certificate_clears_the_default_certificate_advisory(
    prod_graph: list[SynthResource],
) -> None:
    settings = runner.load_policy_config(CONFIG_DIR / "prod.json")
    flagged = [(v.policy, v.resource_name) for v in runner.evaluate(prod_graph, settings)]
    assert flagged == [("cloudfront-custom-certificate", "site-cdn")]

    with_domain = synth.synthesize_stack(
        "prod",
        overrides={
            "reelstack:domain": "video.example.com",
            "reelstack:certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c",
        },
    )
    assert runner.evaluate(with_domain.resources, settings) == []
    assert with_domain.exports["web_url"] == "https://video.example.com"


def test_an_operations_alarm_without_its_topic_fails_the_prod_gate(
    prod_graph: list[SynthResource], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """alarms-notify covers the stack's own alarms (infra/operations.py), not only the DLQ's."""
    changed = mutate(
        prod_graph,
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "ops-gateway-5xx-rate",
        lambda i: i.pop("alarmActions"),
    )
    code = runner.main(["--stack", "prod", "--graph", str(write_graph(tmp_path / "g.json", changed))])
    out = capsys.readouterr().out
    assert code == 1
    line = next(line for line in out.splitlines() if line.startswith("[mandatory]"))
    assert "alarms-notify" in line and "ops-gateway-5xx-rate" in line
