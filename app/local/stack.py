"""The synthesized dev stack, made real on this machine: every resource is created in the emulator
or named with the local stand-in that serves it.

``reelstack up`` runs the stack program under Pulumi's mocks (``pulumi_offline.synth``) and hands the
graph to ``create``: one translation per resource type the emulator serves (``TRANSLATIONS``) turns
the graph's own inputs into the emulator's API calls; every other type is declared in
``STAND_INS`` with what serves it locally, or why nothing needs to. A type in neither fails loudly,
so nothing in the graph goes unaccounted for (docs/local-platform.md lists both tables).

The mocks answer with made-up identifiers (a user pool id, a secret's ARN suffix, a KMS key id, a
queue URL on amazonaws.com) where the emulator makes its own. As resources are created, each
made-up value is mapped to the real one, and later resources' inputs (policies naming ARNs, the
services' environments) are read through that map (``Substitutions``).
"""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_offline.synth import SynthResource

# Every AWS service that assumes a role in the graph; locally the launcher does it for them.
TRUSTED_SERVICES = ("ec2.amazonaws.com", "lambda.amazonaws.com", "apigateway.amazonaws.com")


@dataclass
class Substitutions:
    """Made-up values of the mocks mapped to what the emulator (or a stand-in) made."""

    values: dict[str, str] = field(default_factory=dict)

    def add(self, made_up: Any, real: Any) -> None:
        if isinstance(made_up, str) and made_up and str(real) != made_up:
            self.values[made_up] = str(real)

    def apply(self, value: Any) -> Any:
        """``value`` with every made-up string replaced, in nested data and inside strings (policies)."""
        if isinstance(value, str):
            if not self.values:
                return value
            # Longest first: a queue's ARN is a prefix of its DLQ's.
            pattern = re.compile("|".join(re.escape(k) for k in sorted(self.values, key=len, reverse=True)))
            return pattern.sub(lambda m: self.values[m.group(0)], value)
        if isinstance(value, Mapping):
            return {k: self.apply(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.apply(v) for v in value]
        return value


def _number(value: Any) -> Any:
    """The mocks carry every number as a float; AWS APIs want integers."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Where the API's name is not the input's with its first letter capitalized.
_API_NAMES = {"id": "ID", "sseAlgorithm": "SSEAlgorithm", "kmsMasterKeyId": "KMSMasterKeyID"}


def aws_shape(value: Any) -> Any:
    """Pulumi's camelCase input (``corsRules``, ``daysAfterInitiation``) in the API's PascalCase."""
    if isinstance(value, Mapping):
        return {_API_NAMES.get(k, k[0].upper() + k[1:]): aws_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [aws_shape(v) for v in value]
    return _number(value)


def _tags(inputs: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted((inputs.get("tags") or {}).items())]


def local_trust_policy(document: str, launcher_arn: str) -> str:
    """The role's trust policy with each AWS service principal replaced by the launcher.

    On AWS, EC2 (the instance profile) or Lambda assumes the role; here ``reelstack up`` assumes it
    for each process it starts. Only the principal changes: the permissions are the role policy's.
    """
    policy = json.loads(document)
    for statement in policy["Statement"]:
        principal = statement.get("Principal")
        if isinstance(principal, dict) and principal.get("Service") in TRUSTED_SERVICES:
            statement["Principal"] = {"AWS": launcher_arn}
    return json.dumps(policy)


def evaluable_statements(document: str) -> list[dict[str, Any]]:
    """A resource policy's statements without a ``Condition``: the emulator ignores conditions, so a
    conditional Deny (TLS only) would deny everything and a conditional Allow would allow too much."""
    return [s for s in json.loads(document)["Statement"] if "Condition" not in s]


@dataclass
class Emulator:
    """Clients of the emulator, made with the launcher's credentials."""

    client: Callable[[str], Any]
    launcher_arn: str


Translation = Callable[[SynthResource, Mapping[str, Any], Emulator], Mapping[str, Any]]
"""Create one resource from its (substituted) inputs; return what the emulator computed, keyed as
the mocks' ``computed`` is (``id``, ``arn``, ``url``...)."""


def _random_password(r: SynthResource, inputs: Mapping[str, Any], _: Emulator) -> Mapping[str, Any]:
    alphabet = (
        string.ascii_letters + string.digits + ("!#$%&*()-_=+[]{}<>:?" if inputs.get("special") else "")
    )
    return {"result": "".join(secrets.choice(alphabet) for _ in range(int(inputs["length"])))}


def _kms_key(r: SynthResource, inputs: Mapping[str, Any], emulator: Emulator) -> Mapping[str, Any]:
    key = emulator.client("kms").create_key(
        Description=inputs.get("description", ""),
        Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in _tags(inputs)],
    )["KeyMetadata"]
    return {"arn": key["Arn"], "keyId": key["KeyId"], "id": key["KeyId"]}


def _bucket(r: SynthResource, inputs: Mapping[str, Any], emulator: Emulator) -> Mapping[str, Any]:
    s3 = emulator.client("s3")
    name = r.computed["bucket"]
    s3.create_bucket(Bucket=name)
    if inputs.get("tags"):
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tags(inputs)})
    return {}


def _bucket_setting(method: str, argument: str, shape: Callable[[Mapping[str, Any]], Any]) -> Translation:
    def create(r: SynthResource, inputs: Mapping[str, Any], emulator: Emulator) -> Mapping[str, Any]:
        getattr(emulator.client("s3"), method)(Bucket=inputs["bucket"], **{argument: shape(inputs)})
        return {}

    return create


def _bucket_policy(r: SynthResource, inputs: Mapping[str, Any], emulator: Emulator) -> Mapping[str, Any]:
    document = json.loads(inputs["policy"])
    kept = evaluable_statements(inputs["policy"])
    if kept:
        emulator.client("s3").put_bucket_policy(
            Bucket=inputs["bucket"], Policy=json.dumps({**document, "Statement": kept})
        )
    return {}


_QUEUE_ATTRIBUTES = {
    "visibilityTimeoutSeconds": "VisibilityTimeout",
    "messageRetentionSeconds": "MessageRetentionPeriod",
    "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "delaySeconds": "DelaySeconds",
    "maxMessageSize": "MaximumMessageSize",
    "redrivePolicy": "RedrivePolicy",
    "sqsManagedSseEnabled": "SqsManagedSseEnabled",
    "fifoQueue": "FifoQueue",
}


def queue_attributes(inputs: Mapping[str, Any]) -> dict[str, str]:
    """A queue's inputs as SQS attributes (every value a string, booleans lower-case)."""
    attributes = {}
    for key, attribute in _QUEUE_ATTRIBUTES.items():
        if key in inputs and inputs[key] is not None:
            value = _number(inputs[key])
            attributes[attribute] = str(value).lower() if isinstance(value, bool) else str(value)
    return attributes


def _queue(r: SynthResource, inputs: Mapping[str, Any], emulator: Emulator) -> Mapping[str, Any]:
    url = emulator.client("sqs").create_queue(
        QueueName=inputs["name"], Attributes=queue_attributes(inputs), tags=inputs.get("tags") or {}
    )["QueueUrl"]
    return {"url": url, "id": url}


def _queue_attribute(attribute: str, key: str) -> Translation:
    def create(r: SynthResource, inputs: Mapping[str, Any], emulator: Emulator) -> Mapping[str, Any]:
        emulator.client("sqs").set_queue_attributes(
            QueueUrl=inputs["queueUrl"], Attributes={attribute: inputs[key]}
        )
        return {}

    return create


def _topic(r: SynthResource, inputs: Mapping[str, Any], emulator: Emulator) -> Mapping[str, Any]:
    attributes = {"KmsMasterKeyId": inputs["kmsMasterKeyId"]} if inputs.get("kmsMasterKeyId") else {}
    arn = emulator.client("sns").create_topic(Name=inputs["name"], Attributes=attributes, Tags=_tags(inputs))[
        "TopicArn"
    ]
    return {"arn": arn, "id": arn}


def _topic_policy(r: SynthResource, inputs: Mapping[str, Any], emulator: Emulator) -> Mapping[str, Any]:
    emulator.client("sns").set_topic_attributes(
        TopicArn=inputs["arn"], AttributeName="Policy", AttributeValue=inputs["policy"]
    )
    return {"id": inputs["arn"]}


def _subscription(r: SynthResource, inputs: Mapping[str, Any], emulator: Emulator) -> Mapping[str, Any]:
    attributes = {"RawMessageDelivery": str(bool(inputs.get("rawMessageDelivery"))).lower()}
    if inputs.get("filterPolicy"):
        attributes["FilterPolicy"] = inputs["filterPolicy"]
        attributes["FilterPolicyScope"] = inputs.get("filterPolicyScope") or "MessageAttributes"
    arn = emulator.client("sns").subscribe(
        TopicArn=inputs["topic"],
        Protocol=inputs["protocol"],
        Endpoint=inputs["endpoint"],
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return {"arn": arn, "id": arn}


_POOL_ARGUMENTS = (
    "usernameAttributes",
    "autoVerifiedAttributes",
    "usernameConfiguration",
    "accountRecoverySetting",
    "verificationMessageTemplate",
    "emailConfiguration",
    "deletionProtection",
    "mfaConfiguration",
)


def user_pool_arguments(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """CreateUserPool's arguments from the pool's inputs (the password policy goes under Policies)."""
    arguments: dict[str, Any] = {"PoolName": inputs["name"], "UserPoolTags": inputs.get("tags") or {}}
    for key in _POOL_ARGUMENTS:
        if inputs.get(key) is not None:
            arguments[key[0].upper() + key[1:]] = aws_shape(inputs[key])
    if inputs.get("passwordPolicy"):
        arguments["Policies"] = {"PasswordPolicy": aws_shape(inputs["passwordPolicy"])}
    return arguments


def _user_pool(r: SynthResource, inputs: Mapping[str, Any], emulator: Emulator) -> Mapping[str, Any]:
    pool = emulator.client("cognito-idp").create_user_pool(**user_pool_arguments(inputs))["UserPool"]
    return {"id": pool["Id"], "arn": pool["Arn"]}


_CLIENT_ARGUMENTS = (
    "generateSecret",
    "explicitAuthFlows",
    "preventUserExistenceErrors",
    "enableTokenRevocation",
    "accessTokenValidity",
    "idTokenValidity",
    "refreshTokenValidity",
    "tokenValidityUnits",
)


def user_pool_client_arguments(inputs: Mapping[str, Any]) -> dict[str, Any]:
    arguments: dict[str, Any] = {"UserPoolId": inputs["userPoolId"], "ClientName": inputs["name"]}
    for key in _CLIENT_ARGUMENTS:
        if inputs.get(key) is not None:
            arguments[key[0].upper() + key[1:]] = aws_shape(inputs[key])
    return arguments


def _user_pool_client(r: SynthResource, inputs: Mapping[str, Any], emulator: Emulator) -> Mapping[str, Any]:
    created = emulator.client("cognito-idp").create_user_pool_client(**user_pool_client_arguments(inputs))
    return {"id": created["UserPoolClient"]["ClientId"]}


def _user_group(r: SynthResource, inputs: Mapping[str, Any], emulator: Emulator) -> Mapping[str, Any]:
    arguments = {"UserPoolId": inputs["userPoolId"], "GroupName": inputs["name"]}
    for key in ("description", "precedence", "roleArn"):
        if inputs.get(key) is not None:
            arguments[key[0].upper() + key[1:]] = _number(inputs[key])
    emulator.client("cognito-idp").create_group(**arguments)
    return {}


def _table(r: SynthResource, inputs: Mapping[str, Any], emulator: Emulator) -> Mapping[str, Any]:
    dynamodb = emulator.client("dynamodb")
    name = inputs["name"]
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs["attributes"]
        ],
        KeySchema=[{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
        + ([{"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"}] if inputs.get("rangeKey") else []),
        BillingMode=inputs.get("billingMode", "PAY_PER_REQUEST"),
        Tags=_tags(inputs),
    )
    ttl = inputs.get("ttl") or {}
    if ttl.get("enabled"):
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]}
        )
    return {}


def _secret(r: SynthResource, inputs: Mapping[str, Any], emulator: Emulator) -> Mapping[str, Any]:
    arn = emulator.client("secretsmanager").create_secret(
        Name=inputs["name"], Description=inputs.get("description", ""), Tags=_tags(inputs)
    )["ARN"]
    return {"arn": arn, "id": arn}


def _secret_version(r: SynthResource, inputs: Mapping[str, Any], emulator: Emulator) -> Mapping[str, Any]:
    emulator.client("secretsmanager").put_secret_value(
        SecretId=inputs["secretId"], SecretString=inputs["secretString"]
    )
    return {}


def _role(r: SynthResource, inputs: Mapping[str, Any], emulator: Emulator) -> Mapping[str, Any]:
    iam = emulator.client("iam")
    name = r.computed["name"]
    trust = inputs["assumeRolePolicy"]
    if emulator.launcher_arn:
        trust = local_trust_policy(trust, emulator.launcher_arn)
    try:
        arn = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=trust,
            Description=inputs.get("description", ""),
            Tags=_tags(inputs),
        )["Role"]["Arn"]
    except (
        iam.exceptions.EntityAlreadyExistsException
    ):  # tests provision the graph again under other prefixes
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    return {"arn": arn, "name": name, "id": name}


# The emulator authorizes a cognito-idp call against the resource "*", never the pool's ARN
# (measured with moto 5.2.5: "not authorized to perform cognito-idp:AdminDisableUser on resource:
# *"), so a statement scoped to the pool, as on AWS, would deny every call.
_UNSCOPED_BY_THE_EMULATOR = ("cognito-idp:",)


def emulator_policy(document: str) -> str:
    """The role policy as the emulator can evaluate it: statements of services it authorizes only
    against "*" (cognito-idp) name "*"; every other statement unchanged. On AWS the pool-scoped
    statement holds; tests/infra/test_backend.py checks its scope over the graph."""
    policy = json.loads(document)
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if all(a.startswith(_UNSCOPED_BY_THE_EMULATOR) for a in actions):
            statement["Resource"] = ["*"]
    return json.dumps(policy)


def _role_policy(r: SynthResource, inputs: Mapping[str, Any], emulator: Emulator) -> Mapping[str, Any]:
    emulator.client("iam").put_role_policy(
        RoleName=inputs["role"], PolicyName=r.name, PolicyDocument=emulator_policy(inputs["policy"])
    )
    return {}


def _instance_profile(r: SynthResource, inputs: Mapping[str, Any], emulator: Emulator) -> Mapping[str, Any]:
    iam = emulator.client("iam")
    name = r.computed["name"]
    try:
        iam.create_instance_profile(InstanceProfileName=name)
    except iam.exceptions.EntityAlreadyExistsException:
        return {}
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=inputs["role"])
    return {}


def _cors(inputs: Mapping[str, Any]) -> Any:
    return {"CORSRules": aws_shape(inputs["corsRules"])}


# In creation order: what a resource's inputs name is created before it.
TRANSLATIONS: dict[str, Translation] = {
    "random:index/randomPassword:RandomPassword": _random_password,
    "aws:kms/key:Key": _kms_key,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _bucket_setting(
        "put_public_access_block",
        "PublicAccessBlockConfiguration",
        lambda i: aws_shape({k: v for k, v in i.items() if k != "bucket"}),
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _bucket_setting(
        "put_bucket_ownership_controls", "OwnershipControls", lambda i: {"Rules": [aws_shape(i["rule"])]}
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _bucket_setting(
        "put_bucket_encryption",
        "ServerSideEncryptionConfiguration",
        lambda i: {"Rules": aws_shape(i["rules"])},
    ),
    "aws:s3/bucketVersioning:BucketVersioning": _bucket_setting(
        "put_bucket_versioning",
        "VersioningConfiguration",
        lambda i: {"Status": i["versioningConfiguration"]["status"]},
    ),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _bucket_setting(
        "put_bucket_lifecycle_configuration",
        "LifecycleConfiguration",
        lambda i: {"Rules": aws_shape(i["rules"])},
    ),
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": _bucket_setting(
        "put_bucket_cors", "CORSConfiguration", _cors
    ),
    "aws:s3/bucketPolicy:BucketPolicy": _bucket_policy,
    "aws:sqs/queue:Queue": _queue,
    "aws:sqs/queuePolicy:QueuePolicy": _queue_attribute("Policy", "policy"),
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": _queue_attribute(
        "RedriveAllowPolicy", "redriveAllowPolicy"
    ),
    "aws:sns/topic:Topic": _topic,
    "aws:sns/topicPolicy:TopicPolicy": _topic_policy,
    "aws:sns/topicSubscription:TopicSubscription": _subscription,
    "aws:cognito/userPool:UserPool": _user_pool,
    "aws:cognito/userPoolClient:UserPoolClient": _user_pool_client,
    "aws:cognito/userGroup:UserGroup": _user_group,
    "aws:dynamodb/table:Table": _table,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:secretsmanager/secretVersion:SecretVersion": _secret_version,
    "aws:iam/role:Role": _role,
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
    "aws:iam/instanceProfile:InstanceProfile": _instance_profile,
}

GATEWAY = "the local gateway (app/local/gateway.py) at http://127.0.0.1:<port>"
ON_LOCALHOST = "not needed locally: every process listens on 127.0.0.1"
SUPERVISOR = "reelstack up's supervisor (app/local/platform.py): one local process per worker or instance"
NOTHING_SCALES = "not needed locally: nothing scales or alarms on a laptop"

# Every other type of the graph, with what serves it locally.
STAND_INS: dict[str, str] = {
    "reelstack:index:BackendService": "a component: its children are accounted for one by one",
    "reelstack:index:Database": "a component: its children are accounted for one by one",
    "reelstack:index:Gateway": "a component: its children are accounted for one by one",
    "reelstack:index:MediaStorage": "a component: its children are accounted for one by one",
    "reelstack:index:Network": "a component: its children are accounted for one by one",
    "reelstack:index:ProgressService": "a component: its children are accounted for one by one",
    "reelstack:index:SigningKey": "a component: its children are accounted for one by one",
    "reelstack:index:SiteDistribution": "a component: its children are accounted for one by one",
    "reelstack:index:TranscoderFleet": "a component: its children are accounted for one by one",
    "reelstack:index:UserService": "a component: its children are accounted for one by one",
    "reelstack:index:WebApp": "a component: its children are accounted for one by one",
    "reelstack:index:EdgeProtection": "a component: its children are accounted for one by one",
    "reelstack:stack:Operations": "a component: its children are accounted for one by one",
    "aws:wafv2/webAcl:WebAcl": "not needed locally: nothing filters requests in front of the gateway "
    "(the rules are AWS's managed ones; their configuration is tested over the graph)",
    "aws:s3/bucketObjectv2:BucketObjectv2": f"{GATEWAY}: serves the same files from app/web, as CloudFront "
    "serves them from the web bucket (edits show without a deploy)",
    "aws:apigateway/account:Account": f"{GATEWAY}; its access log goes to the console",
    "aws:apigateway/deployment:Deployment": GATEWAY,
    "aws:apigateway/integration:Integration": f"{GATEWAY}: /auth to the handler, /api and /events to the services",
    "aws:apigateway/method:Method": GATEWAY,
    "aws:apigateway/methodSettings:MethodSettings": f"{GATEWAY} (no throttling locally)",
    "aws:apigateway/resource:Resource": f"{GATEWAY}: the /auth, /api and /events routes",
    "aws:apigateway/restApi:RestApi": GATEWAY,
    "aws:apigateway/stage:Stage": GATEWAY,
    "aws:apigatewayv2/vpcLink:VpcLink": ON_LOCALHOST,
    "aws:autoscaling/group:Group": SUPERVISOR,
    "aws:autoscaling/policy:Policy": NOTHING_SCALES,
    "aws:cloudfront/distribution:Distribution": f"{GATEWAY}: the web app, /media and the API at one origin",
    "aws:cloudfront/function:Function": f"{GATEWAY}: /media/g/<grant> verifies the grant as the function does",
    "aws:cloudfront/keyValueStore:KeyValueStore": f"{GATEWAY}: reads the grant key from the ticket secret, "
    "keeps revocations in memory (POST /_local/revocations)",
    "aws:cloudfront/keyvaluestoreKey:KeyvaluestoreKey": f"{GATEWAY}: reads the grant key from the ticket secret",
    "aws:cloudfront/originAccessControl:OriginAccessControl": f"{GATEWAY}: reads the buckets with the launcher's credentials",
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": f"{GATEWAY}: adds the same security "
    "headers (app/contracts/security_headers.py), HSTS aside",
    "aws:cloudwatch/logGroup:LogGroup": "not needed locally: every service logs JSON lines to the console",
    "aws:cloudwatch/metricAlarm:MetricAlarm": NOTHING_SCALES,
    "aws:cloudwatch/dashboard:Dashboard": "not needed locally: the metric lines are on the console",
    "aws:ec2/eip:Eip": ON_LOCALHOST,
    "aws:ec2/internetGateway:InternetGateway": ON_LOCALHOST,
    "aws:ec2/launchTemplate:LaunchTemplate": f"{SUPERVISOR}; its user data's environment is the process's",
    "aws:ec2/natGateway:NatGateway": ON_LOCALHOST,
    "aws:ec2/routeTable:RouteTable": ON_LOCALHOST,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ON_LOCALHOST,
    "aws:ec2/securityGroup:SecurityGroup": ON_LOCALHOST,
    "aws:ec2/subnet:Subnet": ON_LOCALHOST,
    "aws:ec2/vpc:Vpc": ON_LOCALHOST,
    "aws:ec2/vpcEndpoint:VpcEndpoint": ON_LOCALHOST,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ON_LOCALHOST,
    "aws:lambda/function:Function": f"{GATEWAY}: calls the handler in-process with API Gateway proxy events",
    "aws:lambda/layerVersion:LayerVersion": "the local virtualenv holds the handler's packages",
    "aws:lambda/permission:Permission": f"not needed locally: {GATEWAY} calls the handler itself",
    "aws:lb/listener:Listener": f"{GATEWAY}: forwards to each service's local port",
    "aws:lb/listenerRule:ListenerRule": f"{GATEWAY}: forwards to each service's local port",
    "aws:lb/loadBalancer:LoadBalancer": f"{GATEWAY}: forwards to each service's local port (round-robin for /events)",
    "aws:lb/targetGroup:TargetGroup": f"{GATEWAY}: forwards to each service's local port",
    "aws:rds/instance:Instance": "SQLite in the state directory, or PostgreSQL with --database-url",
    "aws:rds/parameterGroup:ParameterGroup": "SQLite in the state directory, or PostgreSQL with --database-url",
    "aws:rds/subnetGroup:SubnetGroup": ON_LOCALHOST,
}


class Unaccounted(RuntimeError):
    """The graph holds a resource type with neither a translation nor a stand-in."""


def how_served(resource_type: str) -> str:
    """What serves ``resource_type`` locally: the emulator, or a named stand-in."""
    if resource_type in TRANSLATIONS:
        return "created in the emulator"
    if resource_type in STAND_INS:
        return STAND_INS[resource_type]
    raise Unaccounted(
        f"{resource_type} has no translation (app/local/stack.py TRANSLATIONS) and no local stand-in "
        "(STAND_INS); add one so the local platform accounts for it"
    )


def _creation_order(resources: Iterable[SynthResource]) -> list[SynthResource]:
    order = list(TRANSLATIONS)
    created = [r for r in resources if r.type in TRANSLATIONS]
    # Dead-letter queues (no redrive policy) before the queues that name them.
    return sorted(created, key=lambda r: (order.index(r.type), bool(r.inputs.get("redrivePolicy")), r.urn))


@dataclass
class Created:
    """What ``create`` made: each resource's real outputs, and the map from made-up values."""

    outputs: dict[str, dict[str, Any]]
    substitutions: Substitutions


def create(
    resources: list[SynthResource], emulator: Emulator, stand_in_values: Mapping[str, str] | None = None
) -> Created:
    """Create every resource of a translated type; check every other type has a stand-in.

    ``stand_in_values`` maps made-up values to a stand-in's (the CloudFront URL to the gateway's).
    """
    for resource in resources:
        how_served(resource.type)
    substitutions = Substitutions(dict(stand_in_values or {}))
    outputs: dict[str, dict[str, Any]] = {}
    for resource in _creation_order(resources):
        inputs = substitutions.apply(resource.inputs)
        real = dict(TRANSLATIONS[resource.type](resource, inputs, emulator))
        for key, value in real.items():
            substitutions.add(resource.computed.get(key), value)
        outputs[resource.urn] = {**substitutions.apply(resource.computed), **real}
    return Created(outputs, substitutions)
