"""Acceptance 2: every policy catches a violating fixture and passes a compliant one.

Each case is (policy, resources, config, resources expected to be flagged). The resources are
camelCase inputs as the engine sends them; ``evaluate`` hands them to the policy's own validate
function exactly as ``reelstack policy`` does (stack policies get outputs and dependencies).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel

from policies.pack import POLICIES
from pulumi_offline.policy import PolicySetting, evaluate
from pulumi_offline.synth import MOCK_ACCOUNT, MOCK_REGION, SynthResource
from tests.policies.conftest import resource

BUCKET = "aws:s3/bucket:Bucket"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
DB = "aws:rds/instance:Instance"
TABLE = "aws:dynamodb/table:Table"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
GROUP = "aws:autoscaling/group:Group"
SUBNET = "aws:ec2/subnet:Subnet"
QUEUE = "aws:sqs/queue:Queue"
TOPIC = "aws:sns/topic:Topic"
FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
REST_API = "aws:apigateway/restApi:RestApi"
STAGE = "aws:apigateway/stage:Stage"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
USER_POOL = "aws:cognito/userPool:UserPool"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"

CLOUDFRONT_WEB_ACL = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/reelstack-prod-edge/0f1e2d3c"
TAGS = {"service": "storage", "stack": "test", "owner": "platform-team"}


@dataclass(frozen=True)
class Case:
    policy: str
    resources: list[SynthResource]
    flagged: list[str]
    config: dict[str, Any] = field(default_factory=dict)
    label: str = ""


def tls_only(bucket: str) -> str:
    arns = [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": arns,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [deny]})


def bucket_set(
    *,
    block: bool | None = True,
    sse: str | None = "AES256",
    tls: bool = True,
    versioning: str | None = "Enabled",
) -> list[SynthResource]:
    """An uploads bucket and its companions, each one optional or weakened."""
    name = "reelstack-uploads"
    bucket = resource(BUCKET, "uploads", bucket=name, tags=TAGS)
    of_bucket = {"links": {"bucket": [bucket]}, "bucket": name}
    found = [bucket]
    if block is not None:
        flags = {"blockPublicAcls": True, "blockPublicPolicy": True, "restrictPublicBuckets": True}
        found.append(resource(PAB, "uploads", **of_bucket, **flags, ignorePublicAcls=block))
    if sse:
        rule = {"applyServerSideEncryptionByDefault": {"sseAlgorithm": sse}}
        found.append(resource(SSE, "uploads", **of_bucket, rules=[rule]))
    policy = tls_only(name) if tls else json.dumps({"Statement": []})
    found.append(resource(BUCKET_POLICY, "uploads", **of_bucket, policy=policy))
    if versioning:
        found.append(
            resource(VERSIONING, "uploads", **of_bucket, versioningConfiguration={"status": versioning})
        )
    return found


def table(**overrides: Any) -> list[SynthResource]:
    inputs = {
        "billingMode": "PAY_PER_REQUEST",
        "hashKey": "sub",
        "serverSideEncryption": {"enabled": True},
        "pointInTimeRecovery": {"enabled": True},
        "deletionProtectionEnabled": True,
        "tags": TAGS,
    }
    return [resource(TABLE, "signouts", **{**inputs, **overrides})]


def database(**overrides: Any) -> list[SynthResource]:
    inputs = {
        "engine": "postgres",
        "instanceClass": "db.t4g.micro",
        "publiclyAccessible": False,
        "storageEncrypted": True,
        "backupRetentionPeriod": 7.0,
        "deletionProtection": True,
        "tags": TAGS,
    }
    return [resource(DB, "db", **{**inputs, **overrides})]


def role_policy(*statements: dict[str, Any]) -> list[SynthResource]:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    return [resource(ROLE_POLICY, "worker-policy", role="worker", policy=json.dumps(document))]


SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def ingress(protocol: str, low: int, high: int | None = None) -> dict[str, Any]:
    return {"protocol": protocol, "fromPort": float(low), "toPort": float(low if high is None else high)}


INSTANCES_ONLY = {"ArnLike": {"ec2:SourceInstanceARN": "arn:aws:ec2:us-east-1:1:instance/*"}}


def allow(action: Any, resource_: Any) -> dict[str, Any]:
    return {"Sid": "S", "Effect": "Allow", "Action": action, "Resource": resource_}


def launch_template(**overrides: Any) -> list[SynthResource]:
    inputs = {
        "instanceType": "t4g.small",
        "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required"},
        "networkInterfaces": [{"associatePublicIpAddress": "false"}],
        "blockDeviceMappings": [
            {"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "volumeSize": 16.0}}
        ],
        "tags": {**TAGS, "service": "backend"},
    }
    return [resource(LAUNCH_TEMPLATE, "backend-lt", **{**inputs, **overrides})]


def fleet(*, public_subnet: bool) -> list[SynthResource]:
    subnet = resource(
        SUBNET,
        "subnet-a",
        mapPublicIpOnLaunch=public_subnet,
        tags={"tier": "public" if public_subnet else "private"},
    )
    group = resource(
        GROUP,
        "workers",
        links={"vpcZoneIdentifiers": [subnet]},
        minSize=0.0,
        maxSize=2.0,
        vpcZoneIdentifiers=["subnet-a-id"],
    )
    return [subnet, group]


def queues(*, redrive: dict[str, Any] | None, sse: bool = True) -> list[SynthResource]:
    dlq = resource(QUEUE, "work-dlq", name="work-dlq", sqsManagedSseEnabled=sse)
    work: dict[str, Any] = {"name": "work", "sqsManagedSseEnabled": sse}
    if redrive is not None:
        work.update(redrivePolicy=json.dumps(redrive), links={"redrivePolicy": [dlq]})
    return [resource(QUEUE, "work", **work), dlq]


DLQ_ARN = f"arn:aws:sqs:{MOCK_REGION}:{MOCK_ACCOUNT}:work-dlq"


def function(timeout: float | None = 10.0, retention: float | None = 14.0) -> list[SynthResource]:
    fn: dict[str, Any] = {"name": "users", "runtime": "python3.11", "handler": "h.handler"}
    if timeout is not None:
        fn["timeout"] = timeout
    found = [resource(FUNCTION, "users-fn", **fn)]
    if retention is not None:
        found.append(resource(LOG_GROUP, "users-logs", name="/aws/lambda/users", retentionInDays=retention))
    return found


def gateway(
    *, access_logs: bool = True, throttle: tuple[float, float] | None = (100.0, 200.0)
) -> list[SynthResource]:
    api = resource(REST_API, "api", name="api")
    stage: dict[str, Any] = {
        "restApi": "api-id",
        "stageName": "v1",
        "deployment": "d-id",
        "links": {"restApi": [api]},
    }
    if access_logs:
        stage["accessLogSettings"] = {
            "destinationArn": "arn:aws:logs:us-east-1:1:log-group:api",
            "format": "{}",
        }
    found = [api, resource(STAGE, "stage", **stage)]
    if throttle:
        rate, burst = throttle
        found.append(
            resource(
                METHOD_SETTINGS,
                "throttling",
                links={"restApi": [api]},
                restApi="api-id",
                stageName="v1",
                methodPath="*/*",
                settings={"throttlingRateLimit": rate, "throttlingBurstLimit": burst},
            )
        )
    return found


def user_pool(**email: Any) -> list[SynthResource]:
    return [resource(USER_POOL, "pool", name="users", emailConfiguration=email)]


SES_IDENTITY = f"arn:aws:ses:{MOCK_REGION}:{MOCK_ACCOUNT}:identity/example.com"
ALARM_TOPIC = f"arn:aws:sns:{MOCK_REGION}:{MOCK_ACCOUNT}:alarms"


def alarm(**overrides: Any) -> list[SynthResource]:
    inputs = {
        "metricName": "ApproximateNumberOfMessagesVisible",
        "threshold": 0.0,
        "alarmActions": [ALARM_TOPIC],
    }
    return [resource(ALARM, "dlq-alarm", **{**inputs, **overrides})]


def distribution(**overrides: Any) -> list[SynthResource]:
    inputs: dict[str, Any] = {
        "defaultCacheBehavior": {"targetOriginId": "web", "viewerProtocolPolicy": "redirect-to-https"},
        "orderedCacheBehaviors": [
            {"pathPattern": "/api/*", "targetOriginId": "api", "viewerProtocolPolicy": "https-only"}
        ],
        "origins": [
            {
                "originId": "web",
                "domainName": "web.s3.us-east-1.amazonaws.com",
                "originAccessControlId": "oac",
            },
            {
                "originId": "api",
                "domainName": "x.execute-api.us-east-1.amazonaws.com",
                "customOriginConfig": {
                    "originProtocolPolicy": "https-only",
                    "originSslProtocols": ["TLSv1.2"],
                },
            },
        ],
        "viewerCertificate": {
            "acmCertificateArn": "arn:aws:acm:us-east-1:1:certificate/c",
            "minimumProtocolVersion": "TLSv1.2_2021",
            "sslSupportMethod": "sni-only",
        },
        "webAclId": CLOUDFRONT_WEB_ACL,
        "tags": TAGS,
    }
    return [resource(DISTRIBUTION, "cdn", **{**inputs, **overrides})]


def origins_with(**changes: Any) -> list[dict[str, Any]]:
    web = {"originId": "web", "domainName": "web.s3.us-east-1.amazonaws.com", "originAccessControlId": "oac"}
    return [{**web, **changes}]


CASES = [
    # S3
    Case("s3-public-access-blocked", bucket_set(), []),
    Case("s3-public-access-blocked", bucket_set(block=None), ["uploads"], label="missing"),
    Case("s3-public-access-blocked", bucket_set(block=False), ["uploads"], label="one flag off"),
    Case("s3-encryption", bucket_set(sse="aws:kms"), []),
    Case("s3-encryption", bucket_set(sse=None), ["uploads"]),
    Case("s3-tls-only", bucket_set(), []),
    Case("s3-tls-only", bucket_set(tls=False), ["uploads"]),
    Case("s3-uploads-versioned", bucket_set(), []),
    Case("s3-uploads-versioned", bucket_set(versioning="Suspended"), ["uploads"]),
    Case(
        "s3-uploads-versioned",
        bucket_set(versioning=None),
        [],
        {"bucketPatterns": ["*media*"]},
        "not matched",
    ),
    # RDS
    Case("rds-not-public", database(), []),
    Case("rds-not-public", database(publiclyAccessible=True), ["db"]),
    Case("rds-encrypted", database(), []),
    Case("rds-encrypted", database(storageEncrypted=False), ["db"]),
    Case("rds-backup-retention", database(), []),
    Case("rds-backup-retention", database(backupRetentionPeriod=1.0), ["db"]),
    Case("rds-backup-retention", database(backupRetentionPeriod=1.0), [], {"minimumDays": 1}, "dev minimum"),
    Case("rds-deletion-protection", database(), []),
    Case("rds-deletion-protection", database(deletionProtection=False), ["db"]),
    # DynamoDB
    Case("dynamodb-kms-encryption", table(), []),
    Case("dynamodb-kms-encryption", table(serverSideEncryption={"enabled": False}), ["signouts"]),
    Case("dynamodb-kms-encryption", table(serverSideEncryption=None), ["signouts"], label="unset"),
    Case("dynamodb-recoverable", table(), []),
    Case("dynamodb-recoverable", table(pointInTimeRecovery={"enabled": False}), ["signouts"]),
    Case("dynamodb-recoverable", table(deletionProtectionEnabled=False), ["signouts"], label="unprotected"),
    # IAM
    Case("iam-no-wildcard-action", role_policy(allow(["s3:GetObject"], "arn:aws:s3:::b/*")), []),
    Case("iam-no-wildcard-action", role_policy(allow("s3:*", "arn:aws:s3:::b/*")), ["worker-policy"]),
    Case(
        "iam-no-wildcard-action", role_policy(allow("*", "arn:aws:s3:::b/*")), ["worker-policy"], label="star"
    ),
    Case(
        "iam-no-wildcard-action",
        [resource(BUCKET_POLICY, "b", bucket="b", policy=tls_only("b"))],
        [],
        label="deny s3:* is fine",
    ),
    Case("iam-no-wildcard-resource-on-write", role_policy(allow(["logs:DescribeLogGroups"], "*")), []),
    Case(
        "iam-no-wildcard-resource-on-write", role_policy(allow(["sqs:SendMessage"], "*")), ["worker-policy"]
    ),
    Case(
        "iam-no-wildcard-resource-on-write",
        role_policy({**allow(["ssmmessages:OpenDataChannel"], "*"), "Condition": INSTANCES_ONLY}),
        [],
        label="no resource type, narrowed",
    ),
    Case(
        "iam-no-wildcard-resource-on-write",
        role_policy(allow(["ssmmessages:OpenDataChannel"], "*")),
        ["worker-policy"],
        label="no resource type, no condition",
    ),
    Case(
        "iam-no-wildcard-resource-on-write",
        role_policy(
            {**allow(["sqs:SendMessage", "ssmmessages:OpenDataChannel"], "*"), "Condition": INSTANCES_ONLY}
        ),
        ["worker-policy"],
        label="a scopable action beside them",
    ),
    Case(
        "iam-no-wildcard-resource-on-write",
        role_policy(allow(["s3:PutObject"], "arn:aws:s3:::*")),
        ["worker-policy"],
        label="arn wildcard",
    ),
    Case(
        "iam-no-wildcard-resource-on-write",
        role_policy(
            {"Effect": "Allow", "Action": "sqs:SendMessage", "NotResource": "arn:aws:sqs:us-east-1:1:q"}
        ),
        ["worker-policy"],
        label="not resource",
    ),
    Case(
        "iam-no-admin-policies",
        [resource(ATTACHMENT, "ro", role="r", policyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")],
        [],
    ),
    Case(
        "iam-no-admin-policies",
        [resource(ATTACHMENT, "admin", role="r", policyArn="arn:aws:iam::aws:policy/AdministratorAccess")],
        ["admin"],
    ),
    Case(
        "iam-no-admin-policies",
        [resource(ROLE, "r", managedPolicyArns=["arn:aws:iam::aws:policy/PowerUserAccess"])],
        ["r"],
        label="managed on role",
    ),
    # Compute
    Case("ec2-imdsv2-required", launch_template(), []),
    Case("ec2-imdsv2-required", launch_template(metadataOptions={"httpTokens": "optional"}), ["backend-lt"]),
    Case(
        "ec2-imdsv2-required", [resource(INSTANCE, "vm", instanceType="t4g.small")], ["vm"], label="instance"
    ),
    Case("ec2-no-ssh", launch_template(), []),
    Case("ec2-no-ssh", launch_template(keyName="ops"), ["backend-lt"]),
    Case("ec2-no-ssh", [resource(SG, "web", ingress=[ingress("tcp", 443)])], [], label="https only"),
    Case("ec2-no-ssh", [resource(SG, "ops", ingress=[ingress("tcp", 20, 30)])], ["ops"], label="range"),
    Case("ec2-no-ssh", [resource(SG, "any", ingress=[ingress("-1", 0)])], ["any"], label="all traffic"),
    Case(
        "ec2-no-ssh",
        [resource(INGRESS, "ssh", ipProtocol="tcp", fromPort=22.0, toPort=22.0)],
        ["ssh"],
        label="ingress rule",
    ),
    Case(
        "ec2-no-ssh",
        [resource(SG_RULE, "out", type="egress", protocol="tcp", fromPort=22.0, toPort=22.0)],
        [],
        label="egress is not ssh in",
    ),
    Case("ec2-no-public-ip", launch_template(), []),
    Case(
        "ec2-no-public-ip",
        launch_template(networkInterfaces=[{"associatePublicIpAddress": "true"}]),
        ["backend-lt"],
    ),
    Case(
        "ec2-no-public-ip",
        launch_template(networkInterfaces=[{"associatePublicIpAddress": "true"}]),
        [],
        {"publicServices": ["backend"]},
        "exempt service",
    ),
    Case("asg-private-subnets", fleet(public_subnet=False), []),
    Case("asg-private-subnets", fleet(public_subnet=True), ["workers"]),
    Case("ec2-encrypted-volumes", launch_template(), []),
    Case(
        "ec2-encrypted-volumes",
        launch_template(blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]),
        ["backend-lt"],
    ),
    Case(
        "ec2-encrypted-volumes",
        [resource(INSTANCE, "vm", rootBlockDevice={"volumeSize": 8.0})],
        ["vm"],
        label="instance root",
    ),
    # Queues
    Case("sqs-dead-letter-queue", queues(redrive={"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 3}), []),
    Case("sqs-dead-letter-queue", queues(redrive=None), ["work", "work-dlq"], label="no redrive"),
    Case(
        "sqs-dead-letter-queue",
        queues(redrive={"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 50}),
        ["work"],
        label="too many receives",
    ),
    Case("sqs-encryption", queues(redrive=None), []),
    Case("sqs-encryption", queues(redrive=None, sse=False), ["work", "work-dlq"]),
    Case("sns-encryption", [resource(TOPIC, "events", kmsMasterKeyId="arn:aws:kms:us-east-1:1:key/k")], []),
    Case("sns-encryption", [resource(TOPIC, "events", name="events")], ["events"]),
    # Mail and alarms
    Case("cognito-ses-email", user_pool(emailSendingAccount="DEVELOPER", sourceArn=SES_IDENTITY), []),
    Case("cognito-ses-email", user_pool(emailSendingAccount="COGNITO_DEFAULT"), ["pool"]),
    Case("cognito-ses-email", user_pool(emailSendingAccount="DEVELOPER"), ["pool"], label="no identity"),
    Case("alarms-notify", alarm(), []),
    Case("alarms-notify", alarm(alarmActions=[]), ["dlq-alarm"]),
    Case("alarms-notify", alarm(actionsEnabled=False), ["dlq-alarm"], label="actions disabled"),
    # Lambda
    Case("lambda-timeout-bounds", function(), []),
    Case("lambda-timeout-bounds", function(timeout=None), [], label="provider default"),
    Case("lambda-timeout-bounds", function(timeout=300.0), ["users-fn"]),
    Case("lambda-timeout-bounds", function(timeout=300.0), [], {"maximumSeconds": 600}, "raised bound"),
    Case("lambda-log-retention", function(), []),
    Case("lambda-log-retention", function(retention=None), ["users-fn"], label="no log group"),
    Case("lambda-log-retention", function(retention=0.0), ["users-logs"], label="kept forever"),
    # API Gateway
    Case("apigateway-access-logs", gateway(), []),
    Case("apigateway-access-logs", gateway(access_logs=False), ["stage"]),
    Case("apigateway-throttling", gateway(), []),
    Case("apigateway-throttling", gateway(throttle=None), ["stage"], label="none"),
    Case(
        "apigateway-throttling",
        gateway(throttle=(100.0, 200.0)),
        ["stage"],
        {"maximumRateLimit": 50},
        "too high",
    ),
    # CloudFront
    Case("cloudfront-https-only", distribution(), []),
    Case(
        "cloudfront-https-only",
        distribution(defaultCacheBehavior={"targetOriginId": "web", "viewerProtocolPolicy": "allow-all"}),
        ["cdn"],
    ),
    Case("cloudfront-origin-access-control", distribution(), []),
    Case(
        "cloudfront-origin-access-control",
        distribution(origins=origins_with(originAccessControlId="")),
        ["cdn"],
    ),
    Case(
        "cloudfront-origin-access-control",
        distribution(
            origins=origins_with(s3OriginConfig={"originAccessIdentity": "origin-access-identity/x"})
        ),
        ["cdn"],
        label="legacy OAI",
    ),
    Case("cloudfront-tls-1-2", distribution(), []),
    Case(
        "cloudfront-tls-1-2",
        distribution(viewerCertificate={"minimumProtocolVersion": "TLSv1_2016"}),
        ["cdn"],
    ),
    Case("cloudfront-custom-certificate", distribution(), []),
    Case(
        "cloudfront-custom-certificate",
        distribution(
            viewerCertificate={"cloudfrontDefaultCertificate": True, "minimumProtocolVersion": "TLSv1.2_2021"}
        ),
        ["cdn"],
    ),
    Case("cloudfront-web-acl", distribution(), []),
    Case("cloudfront-web-acl", distribution(webAclId=None), ["cdn"]),
    Case(
        "cloudfront-web-acl",
        distribution(webAclId="arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/api/0f1e2d3c"),
        ["cdn"],
        label="regional web ACL",
    ),
    Case(
        "cloudfront-web-acl", distribution(webAclId="0f1e2d3c-waf-classic"), ["cdn"], label="WAF Classic id"
    ),
    # Tags
    Case("tags-required", [resource(QUEUE, "q", tags=TAGS)], []),
    Case("tags-required", [resource(QUEUE, "q", tags={"service": "x"})], ["q"]),
    Case(
        "tags-required",
        [resource(QUEUE, "q", tags=TAGS)],
        ["q"],
        {"expectedValues": {"stack": "prod"}},
        "value",
    ),
    Case("tags-required", [resource(BUCKET_POLICY, "p", bucket="b", policy="{}")], [], label="not taggable"),
    Case(
        "tags-required",
        [
            resource(
                GROUP, "g", tags=[{"key": k, "value": v, "propagateAtLaunch": True} for k, v in TAGS.items()]
            )
        ],
        [],
        label="asg tag list",
    ),
    # Cost
    Case("cost-instance-types", launch_template(), []),
    Case("cost-instance-types", launch_template(instanceType="p5.48xlarge"), ["backend-lt"]),
    Case("cost-instance-types", database(instanceClass="db.r7g.16xlarge"), ["db"], label="database class"),
    Case(
        "cost-instance-types",
        [
            resource(
                GROUP,
                "g",
                mixedInstancesPolicy={"launchTemplate": {"overrides": [{"instanceType": "c7g.16xlarge"}]}},
            )
        ],
        ["g"],
        label="spot overrides",
    ),
]


def _case_id(case: Case) -> str:
    outcome = "catches" if case.flagged else "passes"
    return f"{case.policy}-{outcome}{'-' + case.label if case.label else ''}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_policy_flags_exactly_the_violating_resources(case: Case) -> None:
    policy = next(p for p in POLICIES if p.name == case.policy)
    settings = {case.policy: PolicySetting(EnforcementLevel.MANDATORY, case.config)}
    violations = evaluate(case.resources, settings, policies=[policy])
    assert sorted({v.resource_name for v in violations}) == sorted(case.flagged), violations
    assert all(v.policy == case.policy and v.level == "mandatory" and v.message for v in violations)


def test_every_policy_has_a_violating_and_a_compliant_case() -> None:
    caught = {c.policy for c in CASES if c.flagged}
    passed = {c.policy for c in CASES if not c.flagged}
    names = {p.name for p in POLICIES}
    assert caught == names
    assert passed == names
