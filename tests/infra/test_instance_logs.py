"""EC2 services ship their logs off the instance (a log group per service, written by the
CloudWatch agent under a grant scoped to that group) and are reached by Session Manager, not SSH."""

from __future__ import annotations

from typing import Any

import pytest

from infra._common import (
    SESSION_MANAGER_ACTIONS,
    agent_config_from_user_data,
    resourceless_statement,
    unit_log_file,
    units_from_user_data,
)
from policies.iam import WRITE_SCHEMA
from pulumi_offline.graph import Graph, as_list, statements_allowing

SERVICES = ("backend", "transcoder", "progress")
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ACCOUNT_ARN = "arn:aws:logs:us-east-1:123456789012"


def _statements(graph: Graph, service: str, prefix: str) -> list[dict[str, Any]]:
    statements = statements_allowing(graph.role_policy(f"{service}-policy"))
    return [s for s in statements if any(a.startswith(prefix) for a in as_list(s["Action"]))]


@pytest.mark.parametrize(("stack", "days"), [("prod", 90), ("dev", 7)])
def test_each_service_has_its_own_log_group_kept_as_long_as_the_stack_says(
    stack: str, days: int, request: pytest.FixtureRequest
) -> None:
    graph: Graph = request.getfixturevalue(stack)
    for service in SERVICES:
        group = graph.one(LOG_GROUP, f"{service}-logs")
        assert group.inputs["name"] == f"/reelstack-{stack}/{service}"
        assert group.inputs["retentionInDays"] == days
        component = graph.component_of(group)
        assert component is not None and component.name == service
        assert graph.outputs_of(component)["log_group_name"] == group.inputs["name"]


@pytest.mark.parametrize("service", SERVICES)
def test_the_agent_ships_every_units_log_file_to_the_services_log_group(prod: Graph, service: str) -> None:
    user_data = prod.one("aws:ec2/launchTemplate:LaunchTemplate", f"{service}-lt").inputs["userData"]
    collected = agent_config_from_user_data(user_data)["logs"]["logs_collected"]["files"]["collect_list"]
    group = prod.one(LOG_GROUP, f"{service}-logs").inputs["name"]
    assert {c["file_path"] for c in collected} == {unit_log_file(u) for u in units_from_user_data(user_data)}
    assert {c["log_group_name"] for c in collected} == {group}
    assert all(c["log_stream_name"].startswith("{instance_id}/") for c in collected)


@pytest.mark.parametrize("service", SERVICES)
def test_instances_may_write_only_their_own_log_group(prod: Graph, service: str) -> None:
    """The agent needs logs:CreateLogStream, logs:PutLogEvents and logs:DescribeLogStreams on its
    log group (AWS's CloudWatchAgentServerPolicy grants these among others,
    https://docs.aws.amazon.com/aws-managed-policy/latest/reference/CloudWatchAgentServerPolicy.html;
    log-group and log-stream ARNs as in
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/iam-identity-based-access-control-cwl.html).
    The component creates the group with its retention, so the instances get neither
    CreateLogGroup nor PutRetentionPolicy, and no other group."""
    group_arn = f"{ACCOUNT_ARN}:log-group:/reelstack-prod/{service}"
    granted = {
        (action, resource)
        for s in _statements(prod, service, "logs:")
        for action in as_list(s["Action"])
        for resource in as_list(s["Resource"])
    }
    assert granted == {
        ("logs:CreateLogStream", group_arn),
        ("logs:CreateLogStream", f"{group_arn}:*"),
        ("logs:DescribeLogStreams", group_arn),
        ("logs:DescribeLogStreams", f"{group_arn}:*"),
        ("logs:PutLogEvents", f"{group_arn}:log-stream:*"),
    }


@pytest.mark.parametrize("service", SERVICES)
def test_session_manager_is_granted_narrowed_to_this_accounts_instances(prod: Graph, service: str) -> None:
    """Session Manager needs ssm:UpdateInstanceInformation and the four ssmmessages channel actions
    on the instance (https://docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-create-iam-instance-profile.html).
    AWS defines no resource type for them (Service Authorization Reference,
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonmessagegatewayservice.html:
    "If there is no value for this column, you must specify all resources ("*")"), so the grant
    names "*" and narrows it by ec2:SourceInstanceARN, which those actions support. The managed
    AmazonSSMManagedInstanceCore is not attached: it also grants ssm:GetParameter(s) and the
    ec2messages actions on every resource, which Session Manager does not need."""
    [session] = _statements(prod, service, "ssm")
    assert session["Action"] == sorted(SESSION_MANAGER_ACTIONS)
    assert session["Resource"] == "*"
    assert session["Condition"] == {
        "ArnLike": {"ec2:SourceInstanceARN": "arn:aws:ec2:us-east-1:123456789012:instance/*"}
    }


@pytest.mark.parametrize("service", SERVICES)
def test_no_instance_is_reachable_by_ssh(prod: Graph, service: str) -> None:
    template = prod.one("aws:ec2/launchTemplate:LaunchTemplate", f"{service}-lt").inputs
    assert "keyName" not in template
    ingress = prod.one("aws:ec2/securityGroup:SecurityGroup", f"{service}-instances").inputs.get(
        "ingress", []
    )
    assert not [r for r in ingress if r["fromPort"] <= 22 <= r["toPort"]]


def test_a_star_resource_is_only_for_actions_without_a_resource_type_and_under_a_condition() -> None:
    narrowing = {"ArnLike": {"ec2:SourceInstanceARN": "arn:aws:ec2:us-east-1:1:instance/*"}}
    with pytest.raises(ValueError, match=r"\['logs:PutLogEvents'\]: name ARNs"):
        resourceless_statement("S", ["ssmmessages:OpenDataChannel", "logs:PutLogEvents"], condition=narrowing)
    with pytest.raises(ValueError, match="needs a condition"):
        resourceless_statement("S", ["ssmmessages:OpenDataChannel"], condition={})
    assert (
        resourceless_statement("S", ["ssmmessages:OpenDataChannel"], condition=narrowing)["Resource"] == "*"
    )


def test_the_policy_pack_allows_star_for_exactly_the_actions_the_components_grant_it() -> None:
    """The pack runs without the component library (its own requirements), so it lists them too."""
    assert set(WRITE_SCHEMA.properties["resourcelessActions"]["default"]) == set(SESSION_MANAGER_ACTIONS)
