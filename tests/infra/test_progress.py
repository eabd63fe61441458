from __future__ import annotations

from infra.progress import progress_policy
from pulumi_offline.graph import Graph

TOPIC = "arn:aws:sns:us-east-1:123456789012:reelstack-prod-progress"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:k"
SIGNOUTS = "arn:aws:dynamodb:us-east-1:123456789012:table/reelstack-prod-signouts"


def test_progress_may_manage_only_queues_under_its_prefix() -> None:
    policy = progress_policy(
        region="us-east-1",
        account="123456789012",
        queue_prefix="reelstack-prod-progress-",
        topic_arn=TOPIC,
        ticket_secret_arn=SECRET,
        signout_table_arn=SIGNOUTS,
    )
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["OwnQueues"]["Resource"] == ["arn:aws:sqs:us-east-1:123456789012:reelstack-prod-progress-*"]
    assert {"sqs:CreateQueue", "sqs:DeleteQueue", "sqs:ReceiveMessage"} <= set(by_sid["OwnQueues"]["Action"])
    assert by_sid["QueueSubscriptions"]["Resource"] == [TOPIC]
    assert set(by_sid["QueueSubscriptions"]["Action"]) == {
        "sns:Subscribe",
        "sns:Unsubscribe",
        "sns:ListSubscriptionsByTopic",
    }
    assert by_sid["TicketKey"]["Resource"] == [SECRET]
    assert (by_sid["ReadSignOuts"]["Action"], by_sid["ReadSignOuts"]["Resource"]) == (
        ["dynamodb:GetItem"],
        [SIGNOUTS],
    )
    assert len(policy["Statement"]) == 5


def test_listing_queues_is_the_one_grant_on_the_region_and_lists_only() -> None:
    """SQS: "With the exception of ListQueues, all Amazon SQS actions support resource-level
    permissions"; ListQueues is "a regional permission"
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-using-identity-based-policies.html,
    resources per action: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html).
    So the sweep's listing is granted on the region's queues, and nothing else is."""
    policy = progress_policy(
        region="eu-west-1",
        account="123456789012",
        queue_prefix="reelstack-prod-progress-",
        topic_arn=TOPIC,
        ticket_secret_arn=SECRET,
        signout_table_arn=SIGNOUTS,
    )
    regional = [s for s in policy["Statement"] if "arn:aws:sqs:eu-west-1:123456789012:*" in s["Resource"]]
    assert [(s["Action"], s["Resource"]) for s in regional] == [
        (["sqs:ListQueues"], ["arn:aws:sqs:eu-west-1:123456789012:*"])
    ]


def test_the_load_balancer_checks_liveness_not_the_queue(prod: Graph) -> None:
    """A check that follows the SQS poller marks every instance unhealthy when SQS fails
    everywhere at once, and the group replaces the fleet; liveness does not follow it."""
    health_check = prod.one("aws:lb/targetGroup:TargetGroup", "progress-tg").inputs["healthCheck"]
    assert health_check["path"] == "/events/health/live"


def test_synthesized_progress_policy_cannot_touch_the_task_or_status_queues(prod: Graph) -> None:
    policy = prod.role_policy("progress-policy")
    resources = [r for s in policy["Statement"] for r in s["Resource"]]
    assert "arn:aws:sqs:us-east-1:123456789012:reelstack-prod-progress-*" in resources
    assert not any(r.endswith(("-tasks", "-status")) for r in resources)


def test_topic_is_encrypted_with_its_own_rotating_key(prod: Graph) -> None:
    topic = prod.one("aws:sns/topic:Topic", "progress-topic").inputs
    assert topic["name"] == "reelstack-prod-progress"
    assert topic["kmsMasterKeyId"].startswith("arn:aws:kms:")
    assert prod.one("aws:kms/key:Key", "progress-topic-key").inputs["enableKeyRotation"] is True
    transcoder = prod.role_policy("transcoder-policy")
    key_grant = next(s for s in transcoder["Statement"] if s["Sid"] == "EncryptProgress")
    assert key_grant["Resource"] == [topic["kmsMasterKeyId"]]


def test_progress_instances_accept_sse_from_the_load_balancer_only(prod: Graph) -> None:
    ingress = prod.one("aws:ec2/securityGroup:SecurityGroup", "progress-instances").inputs["ingress"]
    assert [(r["securityGroups"], r["fromPort"]) for r in ingress] == [(["progress-alb-id"], 8001)]
    assert prod.one("aws:lb/loadBalancer:LoadBalancer", "progress-alb").inputs["idleTimeout"] == 900


def test_progress_fleet_scales_between_its_configured_bounds(prod: Graph, dev: Graph) -> None:
    for graph, bounds in ((prod, (2, 6)), (dev, (1, 1))):
        group = graph.one("aws:autoscaling/group:Group", "progress-asg").inputs
        assert (group["minSize"], group["maxSize"]) == bounds
        policy = graph.one("aws:autoscaling/policy:Policy", "progress-cpu").inputs
        assert policy["autoscalingGroupName"].startswith("progress-asg")
        assert policy["policyType"] == "TargetTrackingScaling"
        tracking = policy["targetTrackingConfiguration"]
        assert tracking["predefinedMetricSpecification"]["predefinedMetricType"] == "ASGAverageCPUUtilization"


def test_progress_holds_neither_the_status_queue_nor_the_signing_key(prod: Graph) -> None:
    """The status queue is the backend's (its consumer), the key the SigningKey's (issue 18)."""
    children = {r.type for r in prod.children(prod.one("reelstack:index:ProgressService", "progress"))}
    assert not children & {
        "aws:sqs/queue:Queue",
        "aws:sns/topicSubscription:TopicSubscription",
        "aws:secretsmanager/secret:Secret",
    }
