from __future__ import annotations

import base64
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from app.backend.webhook_delivery import MAX_VISIBILITY_SECONDS, RetryPolicy
from app.contracts.names import (
    MASTER_PLAYLIST_NAME,
    STATUS_MAX_RECEIVES,
    WEBHOOK_DELIVERY_ATTEMPTS,
    WEBHOOK_MAX_RECEIVES,
    caption_key_prefix,
    poster_key_prefix,
)
from app.contracts.queue_policies import topic_to_queue_policy
from app.contracts.tickets import media_key_prefix
from app.transcoder.graph import OutputPaths
from infra._common import env_from_user_data
from infra._fleet import ORIGIN_VERIFY_HEADER
from infra.backend import backend_policy
from pulumi_offline.graph import Graph, as_list, statements_allowing

TOPIC = "arn:aws:sns:us-east-1:123456789012:reelstack-prod-progress"

ARNS = {
    "uploads_bucket_arn": "arn:aws:s3:::u",
    "media_bucket_arn": "arn:aws:s3:::m",
    "task_queue_arn": "arn:aws:sqs:us-east-1:1:t",
    "status_queue_arn": "arn:aws:sqs:us-east-1:1:s",
    "webhook_queue_arn": "arn:aws:sqs:us-east-1:1:w",
    "media_revocation_store_arn": "arn:aws:cloudfront::1:key-value-store/k",
    "signout_table_arn": "arn:aws:dynamodb:us-east-1:1:table/signouts",
    "video_events_topic_arn": "arn:aws:sns:us-east-1:1:video-events",
    "video_events_key_arn": "arn:aws:kms:us-east-1:1:key/v",
    "user_pool_arn": "arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_p",
}


def test_backend_policy_touches_exactly_its_buckets_queues_and_secrets() -> None:
    policy = backend_policy(**ARNS, secret_arns=["arn:aws:secretsmanager:us-east-1:1:secret:a", ""])
    resources = {r for s in policy["Statement"] for r in s["Resource"]}
    assert resources == {
        "arn:aws:s3:::u",
        "arn:aws:s3:::u/*",
        "arn:aws:s3:::u/incoming/*",
        "arn:aws:s3:::u/uploads/*",
        "arn:aws:s3:::m",
        "arn:aws:s3:::m/*",
        "arn:aws:s3:::m/videos/*/master.m3u8",
        "arn:aws:s3:::m/videos/*/captions/*",
        "arn:aws:s3:::m/videos/*/posters/*",
        "arn:aws:sqs:us-east-1:1:t",
        "arn:aws:sqs:us-east-1:1:s",
        "arn:aws:sqs:us-east-1:1:w",
        "arn:aws:secretsmanager:us-east-1:1:secret:a",
        "arn:aws:cloudfront::1:key-value-store/k",
        "arn:aws:dynamodb:us-east-1:1:table/signouts",
        "arn:aws:sns:us-east-1:1:video-events",
        "arn:aws:kms:us-east-1:1:key/v",
        "arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_p",
    }
    send = next(s for s in policy["Statement"] if s["Sid"] == "SendTasks")
    assert "sqs:ReceiveMessage" not in send["Action"]


def test_the_stack_exports_a_video_events_topic_only_the_backend_publishes_to(prod: Graph) -> None:
    """Issue 15, item 4: the topic integrators subscribe to. Encrypted with a key of its own (the
    pack's sns-encryption rule); the backend's role may publish to it and use its key, nothing
    else of it; its policy lets the account subscribe and read it, and grants no publishing (a
    topic without a policy gets SNS's default one, which lets every principal of the account
    publish, change and delete it: https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html)."""
    topic = prod.one("aws:sns/topic:Topic", "backend-video-events")
    key = prod.one("aws:kms/key:Key", "backend-video-events-key")
    topic_arn = prod.exports["video_events_topic_arn"]
    assert topic.inputs["name"] == "reelstack-prod-video-events"
    assert topic.inputs["kmsMasterKeyId"] == key.computed["arn"]
    allowed = {
        (action, resource)
        for s in statements_allowing(prod.role_policy("backend-policy"))
        for action in as_list(s["Action"])
        for resource in as_list(s["Resource"])
        if resource in (topic_arn, key.computed["arn"])
    }
    assert allowed == {
        ("sns:Publish", topic_arn),
        ("kms:GenerateDataKey", key.computed["arn"]),
        ("kms:Decrypt", key.computed["arn"]),
    }
    environment = env_from_user_data(
        prod.one("aws:ec2/launchTemplate:LaunchTemplate", "backend-lt").inputs["userData"], "backend"
    )
    assert environment["REELSTACK_VIDEO_EVENTS_TOPIC_ARN"] == topic_arn
    topic_policy = prod.one("aws:sns/topicPolicy:TopicPolicy", "backend-video-events")
    assert topic_policy.inputs["arn"] == topic_arn
    [subscribe] = json.loads(topic_policy.inputs["policy"])["Statement"]
    assert subscribe["Effect"] == "Allow" and subscribe["Resource"] == topic_arn
    assert sorted(subscribe["Action"]) == [
        "sns:GetTopicAttributes",
        "sns:ListSubscriptionsByTopic",
        "sns:Subscribe",
    ]
    assert subscribe["Principal"]["AWS"].endswith(":root")


def test_backend_manages_only_its_pools_groups_and_users_sign_in() -> None:
    """Roles and suspensions: group membership, disable/enable, sign-out everywhere, on the one
    pool; never a user's attributes, password or deletion."""
    policy = backend_policy(**ARNS, secret_arns=["arn:aws:secretsmanager:us-east-1:1:secret:a"])
    cognito = [s for s in policy["Statement"] if any(a.startswith("cognito-idp:") for a in s["Action"])]
    assert [s["Resource"] for s in cognito] == [[ARNS["user_pool_arn"]]]
    assert sorted(cognito[0]["Action"]) == [
        "cognito-idp:AdminAddUserToGroup",
        "cognito-idp:AdminDisableUser",
        "cognito-idp:AdminEnableUser",
        "cognito-idp:AdminRemoveUserFromGroup",
        "cognito-idp:AdminUserGlobalSignOut",
    ]


def test_the_backend_may_write_the_media_edges_store_and_only_that_store(prod: Graph) -> None:
    """Exactly the calls app/backend/revocations.py makes, on the store SiteDistribution creates and
    the media function reads. The actions and the key-value-store resource type are those of
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudfrontkeyvaluestore.html
    (DescribeKeyValueStore gives the ETag that UpdateKeys's If-Match needs,
    https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_kvs_UpdateKeys.html)."""
    policy = prod.role_policy("backend-policy")
    [revoke] = [
        s for s in statements_allowing(policy) if any("cloudfront" in a for a in as_list(s["Action"]))
    ]
    function = prod.one("aws:cloudfront/function:Function", "site-media-grant").inputs
    environment = env_from_user_data(
        prod.one("aws:ec2/launchTemplate:LaunchTemplate", "backend-lt").inputs["userData"], "backend"
    )
    assert sorted(as_list(revoke["Action"])) == [
        "cloudfront-keyvaluestore:DescribeKeyValueStore",
        "cloudfront-keyvaluestore:ListKeys",
        "cloudfront-keyvaluestore:UpdateKeys",
    ]
    [store_arn] = function["keyValueStoreAssociations"]
    assert store_arn.startswith("arn:aws:cloudfront::") and ":key-value-store/" in store_arn
    assert as_list(revoke["Resource"]) == [store_arn] == [environment["REELSTACK_MEDIA_REVOCATION_STORE"]]


def test_synthesized_backend_role_reads_the_database_and_ticket_secrets(prod: Graph) -> None:
    policy = prod.role_policy("backend-policy")
    secrets = next(s for s in statements_allowing(policy) if s["Sid"] == "ReadSecrets")["Resource"]
    assert len(secrets) == 2
    assert any("rds!db-" in s for s in secrets) and any("events-ticket-key" in s for s in secrets)


def test_backend_instances_accept_traffic_from_the_load_balancer_only(prod: Graph) -> None:
    group = prod.one("aws:ec2/securityGroup:SecurityGroup", "backend-instances").inputs
    assert len(group["ingress"]) == 1
    rule = group["ingress"][0]
    assert rule["securityGroups"] == ["backend-alb-id"]
    assert (rule["fromPort"], rule["toPort"]) == (8000, 8000)
    assert "cidrBlocks" not in rule or rule["cidrBlocks"] == []


def test_load_balancer_forwards_only_requests_with_the_gateway_secret(prod: Graph) -> None:
    listener = prod.one("aws:lb/listener:Listener", "backend-http").inputs
    assert listener["defaultActions"][0]["fixedResponse"]["statusCode"] == "403"
    rule = prod.one("aws:lb/listenerRule:ListenerRule", "backend-from-gateway").inputs
    header = rule["conditions"][0]["httpHeader"]
    assert header["httpHeaderName"] == ORIGIN_VERIFY_HEADER
    integration = prod.one("aws:apigateway/integration:Integration", "gateway-api").inputs
    assert (
        integration["requestParameters"][f"integration.request.header.{ORIGIN_VERIFY_HEADER}"]
        == f"'{header['values'][0]}'"
    )


@pytest.mark.parametrize("service", ["backend", "transcoder", "progress"])
def test_launch_templates_require_imdsv2_encrypt_disks_and_have_no_public_ip(
    prod: Graph, service: str
) -> None:
    template = prod.one("aws:ec2/launchTemplate:LaunchTemplate", f"{service}-lt").inputs
    assert template["metadataOptions"]["httpTokens"] == "required"
    assert template["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert all(m["ebs"]["encrypted"] == "true" for m in template["blockDeviceMappings"])
    assert template["networkInterfaces"][0]["associatePublicIpAddress"] == "false"
    assert base64.b64decode(template["userData"]).startswith(b"#!/bin/bash")


def test_backend_instances_run_in_private_subnets_behind_the_target_group(prod: Graph) -> None:
    group = prod.one("aws:autoscaling/group:Group", "backend-asg").inputs
    assert sorted(group["vpcZoneIdentifiers"]) == [f"net-private-{i}-id" for i in range(3)]
    assert len(group["targetGroupArns"]) == 1
    assert group["targetGroupArns"][0].startswith(
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/backend-tg/"
    )
    assert (group["minSize"], group["maxSize"]) == (2, 8)


def test_backend_role_trusts_only_ec2(prod: Graph) -> None:
    trust = json.loads(prod.one("aws:iam/role:Role", "backend-role").inputs["assumeRolePolicy"])
    assert as_list(trust["Statement"])[0]["Principal"] == {"Service": "ec2.amazonaws.com"}


def test_backend_outputs_its_load_balancer_and_role(prod: Graph) -> None:
    outputs = prod.outputs_of(prod.one("reelstack:index:BackendService", "backend"))
    assert outputs["alb_dns_name"].endswith(".elb.amazonaws.com")
    assert outputs["instance_role_arn"].startswith("arn:aws:iam::123456789012:role/backend-role")


def test_only_backend_instances_may_open_connections_to_postgresql(prod: Graph) -> None:
    def egress_ports(name: str) -> set[int]:
        group = prod.one("aws:ec2/securityGroup:SecurityGroup", name).inputs
        return {rule["fromPort"] for rule in group["egress"]}

    assert egress_ports("backend-instances") == {443, 5432}
    assert egress_ports("transcoder-instances") == {443}
    assert egress_ports("progress-instances") == {443}


def _grants(policy: dict[str, Any]) -> dict[str, set[str]]:
    """Resource -> the actions allowed on it."""
    grants: dict[str, set[str]] = {}
    for s in statements_allowing(policy):
        for resource in as_list(s["Resource"]):
            grants.setdefault(resource, set()).update(as_list(s["Action"]))
    return grants


def test_backend_only_deletes_media_and_only_queues_and_settles_messages() -> None:
    """Nothing in the backend reads media but master playlists or writes it but caption tracks
    (both below), lists multipart uploads, reads a queue's attributes or changes a status
    message's visibility (an unrecorded one simply comes back); only a webhook event's
    visibility changes (it waits hidden for its next delivery attempt)."""
    grants = _grants(backend_policy(**ARNS, secret_arns=["arn:aws:secretsmanager:us-east-1:1:secret:a"]))
    assert grants["arn:aws:s3:::m/*"] == {"s3:DeleteObject"}
    assert grants["arn:aws:s3:::m/videos/*/master.m3u8"] == {"s3:GetObject"}
    assert grants["arn:aws:s3:::m/videos/*/captions/*"] == {"s3:PutObject"}
    assert grants["arn:aws:s3:::u/*"] == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
    }
    assert grants["arn:aws:s3:::m"] == {"s3:ListBucket"}
    assert grants["arn:aws:sqs:us-east-1:1:t"] == {"sqs:SendMessage"}
    assert grants["arn:aws:sqs:us-east-1:1:s"] == {"sqs:ReceiveMessage", "sqs:DeleteMessage"}
    assert grants["arn:aws:sqs:us-east-1:1:w"] == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
    }


def test_backend_writes_media_only_where_owners_uploaded_posters_and_captions_go() -> None:
    """The backend stores the posters owners upload (re-encoded) under ``videos/<id>/posters/``
    (and caption tracks under ``captions/``); every other media object is the transcoder's to write. An IAM resource ARN's ``*`` matches
    any characters, ``/`` included (IAM User Guide, "IAM JSON policy elements: Resource",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html),
    so the transcoder's own outputs stay out of ``posters/``: it writes candidates under
    ``candidates/``."""
    grants = _grants(backend_policy(**ARNS, secret_arns=["arn:aws:secretsmanager:us-east-1:1:secret:a"]))
    assert {
        r for r, actions in grants.items() if "s3:PutObject" in actions and r.startswith("arn:aws:s3:::m")
    } == {"arn:aws:s3:::m/videos/*/posters/*", "arn:aws:s3:::m/videos/*/captions/*"}
    assert grants["arn:aws:s3:::m/videos/*/posters/*"] == {"s3:PutObject"}
    assert str(OutputPaths(source=Path("s"), root=Path("out")).candidates) == "out/candidates"
    assert poster_key_prefix("v1") == "videos/v1/posters/"


def test_backend_may_delete_versions_of_uploaded_sources_only() -> None:
    """AWS rule: listing versions needs s3:ListBucketVersions (on the bucket) and deleting a
    version, s3:DeleteObjectVersion (on the object); s3:DeleteObject alone only adds a delete
    marker in a versioned bucket (S3 API Reference, ListObjectVersions,
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html; DeleteObject,
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html). Neither reaches the
    media bucket or keys outside ``incoming/`` (uploads) and ``uploads/`` (accepted sources)."""
    grants = _grants(backend_policy(**ARNS, secret_arns=["arn:aws:secretsmanager:us-east-1:1:secret:a"]))
    assert grants["arn:aws:s3:::u"] == {"s3:ListBucket", "s3:ListBucketVersions"}
    for prefix in ("incoming", "uploads"):
        assert grants[f"arn:aws:s3:::u/{prefix}/*"] == {
            "s3:DeleteObjectVersion",
            "s3:ListMultipartUploadParts",
        }
    versioned = {"s3:ListBucketVersions", "s3:DeleteObjectVersion"}
    assert {r for r, actions in grants.items() if actions & versioned} == {
        "arn:aws:s3:::u/incoming/*",
        "arn:aws:s3:::u/uploads/*",
        "arn:aws:s3:::u",
    }


def test_backend_lists_the_parts_of_uploaded_sources_only() -> None:
    """AWS rule: ListParts needs s3:ListMultipartUploadParts on the object (Amazon S3 User Guide,
    "Multipart upload API and permissions",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions);
    a resumed upload asks which parts S3 holds. Only source keys, never the media bucket."""
    grants = _grants(backend_policy(**ARNS, secret_arns=["arn:aws:secretsmanager:us-east-1:1:secret:a"]))
    assert {r for r, actions in grants.items() if "s3:ListMultipartUploadParts" in actions} == {
        "arn:aws:s3:::u/incoming/*",
        "arn:aws:s3:::u/uploads/*",  # uploads begun before they moved to incoming/
    }


def test_load_balancer_and_group_act_on_the_backends_liveness_only(prod: Graph) -> None:
    """AWS rule: a group with health check type ELB replaces every instance its target group
    reports unhealthy ("Add Elastic Load Balancing health checks to an Auto Scaling group",
    https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-add-elb-healthcheck.html), so a
    check that pings the database marks every backend unhealthy in a Multi-AZ failover and the
    group replaces the fleet. The check is liveness (``/api/health/live``); the group keeps ELB
    health so a hung server is still replaced, which EC2 status checks alone do not see
    (https://docs.aws.amazon.com/autoscaling/ec2/userguide/health-checks-overview.html)."""
    check = prod.one("aws:lb/targetGroup:TargetGroup", "backend-tg").inputs["healthCheck"]
    assert check["path"] == "/api/health/live"
    group = prod.one("aws:autoscaling/group:Group", "backend-asg").inputs
    assert group["healthCheckType"] == "ELB"
    assert group["healthCheckGracePeriod"] > 0


def test_only_the_topic_may_deliver_to_the_status_queue() -> None:
    policy = topic_to_queue_policy("arn:aws:sqs:us-east-1:1:q", TOPIC)
    assert policy["Statement"][0]["Condition"] == {"ArnEquals": {"aws:SourceArn": TOPIC}}


def test_status_queue_is_subscribed_raw_and_has_a_dlq(prod: Graph) -> None:
    subscription = prod.one("aws:sns/topicSubscription:TopicSubscription", "backend-status").inputs
    assert subscription["rawMessageDelivery"] is True
    assert subscription["endpoint"] == "arn:aws:sqs:us-east-1:123456789012:reelstack-prod-status"
    queue = prod.one("aws:sqs/queue:Queue", "backend-status").inputs
    assert json.loads(queue["redrivePolicy"])["maxReceiveCount"] == STATUS_MAX_RECEIVES
    queue_policy = json.loads(prod.one("aws:sqs/queuePolicy:QueuePolicy", "backend-status").inputs["policy"])
    assert queue_policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"] == TOPIC


def test_the_status_consumer_reads_the_backends_own_queue(prod: Graph) -> None:
    backend = prod.outputs_of(prod.one("reelstack:index:BackendService", "backend"))
    assert backend["status_queue_url"].endswith("/reelstack-prod-status")
    consume = next(s for s in prod.role_policy("backend-policy")["Statement"] if s["Sid"] == "ConsumeStatus")
    assert consume["Resource"] == [backend["status_queue_arn"]]


def test_the_webhook_queue_gets_the_video_events_raw_from_that_topic_alone_and_has_a_dlq(prod: Graph) -> None:
    """Issue 15, item 4 (webhooks): the deliverer's queue is subscribed to the video events topic
    with raw message delivery, so its messages are the published ``VideoEventV1`` JSON itself,
    the bytes the webhooks are sent and signed over ("When you enable raw message delivery for
    Amazon SQS endpoints, any Amazon SNS metadata is stripped from the published message and the
    message is sent as is": https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html).
    SNS may send to the queue only if the queue's policy allows the ``sns.amazonaws.com``
    principal ``sqs:SendMessage`` (here conditioned on the topic's ARN,
    https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html).
    A message waits between attempts hidden, one receive per attempt, so the DLQ takes it only
    after more receives than the attempts need; and its longest wait stays under the 12 hours
    ``ChangeMessageVisibility`` allows
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html)."""
    topic_arn = prod.exports["video_events_topic_arn"]
    subscription = prod.one("aws:sns/topicSubscription:TopicSubscription", "backend-webhooks").inputs
    assert subscription["rawMessageDelivery"] is True
    assert subscription["protocol"] == "sqs"
    assert subscription["topic"] == topic_arn
    assert subscription["endpoint"] == "arn:aws:sqs:us-east-1:123456789012:reelstack-prod-webhooks"
    queue = prod.one("aws:sqs/queue:Queue", "backend-webhooks")
    redrive = json.loads(queue.inputs["redrivePolicy"])
    assert redrive["maxReceiveCount"] == WEBHOOK_MAX_RECEIVES > WEBHOOK_DELIVERY_ATTEMPTS
    assert (
        redrive["deadLetterTargetArn"]
        == prod.one("aws:sqs/queue:Queue", "backend-webhooks-dlq").computed["arn"]
    )
    [allow] = json.loads(prod.one("aws:sqs/queuePolicy:QueuePolicy", "backend-webhooks").inputs["policy"])[
        "Statement"
    ]
    assert allow["Principal"] == {"Service": "sns.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Resource"] == queue.computed["arn"]
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": topic_arn}}
    policy = RetryPolicy()
    waits = [policy.delay_after(n) for n in range(1, WEBHOOK_DELIVERY_ATTEMPTS)]
    assert all(w is not None and w <= MAX_VISIBILITY_SECONDS for w in waits)
    assert MAX_VISIBILITY_SECONDS == 43200


def test_the_deliverer_may_receive_delete_and_hide_only_its_own_queue(prod: Graph) -> None:
    backend = prod.outputs_of(prod.one("reelstack:index:BackendService", "backend"))
    assert backend["webhook_queue_url"].endswith("/reelstack-prod-webhooks")
    deliver = next(
        s for s in prod.role_policy("backend-policy")["Statement"] if s["Sid"] == "DeliverWebhooks"
    )
    assert deliver["Resource"] == [prod.one("aws:sqs/queue:Queue", "backend-webhooks").computed["arn"]]
    environment = env_from_user_data(
        prod.one("aws:ec2/launchTemplate:LaunchTemplate", "backend-lt").inputs["userData"], "backend"
    )
    assert environment["REELSTACK_WEBHOOK_QUEUE_URL"] == backend["webhook_queue_url"]
    assert "REELSTACK_WEBHOOK_ALLOW_INSECURE_TARGETS" not in environment


# What ProgressService "progress" held in stacks created before the backend owned its queue.
FORMER_URNS = {
    ("aws:sqs/queue:Queue", "backend-status"): "aws:sqs/queue:Queue::progress-status",
    ("aws:sqs/queue:Queue", "backend-status-dlq"): "aws:sqs/queue:Queue::progress-status-dlq",
    ("aws:sqs/queuePolicy:QueuePolicy", "backend-status"): "aws:sqs/queuePolicy:QueuePolicy::progress-status",
    ("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", "backend-status-dlq"): (
        "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy::progress-status-dlq"
    ),
    ("aws:sns/topicSubscription:TopicSubscription", "backend-status"): (
        "aws:sns/topicSubscription:TopicSubscription::progress-status"
    ),
}


@pytest.mark.parametrize(("resource", "former"), FORMER_URNS.items(), ids=lambda v: str(v))
def test_pulumi_up_moves_the_status_queue_from_progress_instead_of_replacing_it(
    prod: Graph, resource: tuple[str, str], former: str
) -> None:
    """Without an alias naming its former URN, a resource whose parent changed is replaced
    (https://www.pulumi.com/docs/iac/concepts/options/aliases/), and a replaced queue loses the
    progress events waiting in it."""
    expected = f"urn:pulumi:prod::reelstack::reelstack:index:ProgressService${former}"
    assert expected in prod.one(*resource).aliases


def _iam_match(pattern: str, arn: str) -> bool:
    """IAM's resource wildcards: ``*`` any run of characters (``/`` included), ``?`` one."""
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), arn) is not None


def test_backend_reads_only_master_playlists_and_writes_only_caption_files_of_the_media_bucket() -> None:
    """Captions (issue 17, item 2): the backend reads the master playlist a transcoder wrote and
    writes the caption tracks and the master playlist listing them under the video's captions
    prefix, nothing else of a task's outputs. IAM matches ``*`` across ``/`` ("IAM JSON policy
    elements: Resource", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html);
    the keys are those the transcoder and app/backend/captions.py write."""
    policy = backend_policy(**ARNS, secret_arns=["arn:aws:secretsmanager:us-east-1:1:secret:a"])
    video, task = uuid.uuid4(), uuid.uuid4()
    task_dir = media_key_prefix(video, task)

    def allowed(action: str, key: str) -> bool:
        return any(
            _iam_match(resource, f"arn:aws:s3:::m/{key}")
            for s in statements_allowing(policy)
            if action in as_list(s["Action"])
            for resource in as_list(s["Resource"])
        )

    paths = OutputPaths(source=Path("/in/source"), root=Path("/out"))
    assert paths.master_playlist.name == MASTER_PLAYLIST_NAME
    assert allowed("s3:GetObject", task_dir + MASTER_PLAYLIST_NAME)
    assert not allowed("s3:GetObject", task_dir + "720/index.m3u8")
    for name in ("en-0123456789abcdef.vtt", "en-0123456789abcdef.m3u8", "master-0123456789abcdef.m3u8"):
        assert allowed("s3:PutObject", caption_key_prefix(video) + name)
    for key in (
        task_dir + MASTER_PLAYLIST_NAME,
        task_dir + "720/segment-0.m4s",
        f"videos/{video}/poster.jpg",
    ):
        assert not allowed("s3:PutObject", key)
