"""``python -m app.local.emulator``: moto's server, with the IAM checks the local platform relies on.

moto 5.2.5 enforces identity policies (with ``INITIAL_NO_AUTH_ACTION_COUNT`` set) but, measured,
leaves five gaps that would make the generated policies unusable or unreadable locally:

- it authorizes SNS, DynamoDB and Secrets Manager calls, SQS ``CreateQueue``/``GetQueueUrl`` of a queue
  that does not exist yet and ``ListQueues`` against the resource ``*``, so a grant scoped to an
  ARN (the only kind the components write) never matches and every such call is denied. Here those
  calls are checked against the ARN they name (``ListQueues``: the region's queues), as AWS does;
- it answers 500 (it looks for an ``Authorization`` header) to the Cognito operations botocore sends
  unsigned (``GlobalSignOut``, ``ConfirmForgotPassword``...), which AWS authorizes by token, not IAM.
  Here every operation botocore's model marks unauthenticated is public, as moto already treats some;
- it authorizes S3 ``DeleteObjects`` on the bucket's ARN, which an object grant never matches,
  and then refuses every key; here each key is checked as AWS does (``s3:DeleteObject``);
- it checks an SQS batch action (``DeleteMessageBatch``) as an action of its own, which no policy
  can grant; AWS checks the single action's permission (``sqs:DeleteMessage``);
- its AccessDenied names the action only; here it names the resource too, in AWS's words, so a
  denial in a service's log says what the policy is missing.

Nothing else changes: what moto does not evaluate (conditions, resource policies) stays unevaluated
(docs/local-platform.md).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import botocore.session
import xmltodict
from moto.core import exceptions as moto_exceptions
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.responses import ActionResult
from moto.dynamodb.responses import DynamoHandler
from moto.iam import access_control
from moto.s3 import exceptions as s3_exceptions
from moto.s3.responses import S3Response
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.sns.responses import SNSResponse
from moto.sqs.responses import SQSResponse


def unsigned_operations(service: str) -> list[str]:
    """Operations of ``service`` that botocore sends without a signature (``X-Amz-Target`` names)."""
    model = botocore.session.get_session().get_service_model(service)
    prefix = model.metadata["targetPrefix"]
    return [
        f"{prefix}.{name}"
        for name in model.operation_names
        if model.operation_model(name).auth_type == "none"
        or "smithy.api#noAuth" in (model.operation_model(name).auth or [])
    ]


def sqs_resource(original: Callable[[Any], str]) -> Callable[[Any], str]:
    def determine(response: Any) -> str:
        action = response._get_action()
        if action in ("CreateQueue", "GetQueueUrl"):
            name = response._get_param("QueueName")
            return f"arn:aws:sqs:{response.region}:{response.current_account}:{name}"
        if action == "ListQueues":  # no resource-level permission: AWS authorizes it on the region
            return f"arn:aws:sqs:{response.region}:{response.current_account}:*"
        return original(response)

    return determine


def sns_resource(response: Any) -> str:
    topic_arn = response._get_param("TopicArn")
    if topic_arn:
        return str(topic_arn)
    subscription_arn = response._get_param("SubscriptionArn")
    if subscription_arn:  # <topic ARN>:<subscription id>; AWS authorizes Unsubscribe on the topic
        return str(subscription_arn).rpartition(":")[0]
    return "*"


def dynamodb_resource(response: Any) -> str:
    table = response._get_param("TableName")
    return f"arn:aws:dynamodb:{response.region}:{response.current_account}:table/{table}" if table else "*"


def secretsmanager_resource(response: Any) -> str:
    secret_id = response._get_param("SecretId")
    secret = response.backend.secrets.get(secret_id) if secret_id else None
    return str(secret.arn) if secret is not None else "*"


class AccessDeniedOnResource(moto_exceptions._RESTError):
    """moto's AccessDenied (403), worded as AWS words it: the action and the resource."""

    code = 403

    def __init__(self, user_arn: str, action: str, resource: str) -> None:
        super().__init__(
            "AccessDenied",
            f"User: {user_arn} is not authorized to perform: {action} on resource: {resource} "
            "because no identity-based policy allows the action",
        )


# "You cannot set permissions explicitly for SendMessageBatch, DeleteMessageBatch, or
# ChangeMessageVisibilityBatch": the single action's permission covers its batch
# (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-batch-api.html).
SQS_BATCH_ACTIONS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}


def _name_the_resource() -> None:
    check = access_control.IAMRequestBase.check_action_permitted

    def check_action_permitted(self: Any, resource: str) -> None:
        self._action = SQS_BATCH_ACTIONS.get(self._action, self._action)
        self._checked_resource = resource
        check(self, resource)

    def raise_access_denied(self: Any) -> None:
        raise AccessDeniedOnResource(
            self._access_key.arn, self._action, getattr(self, "_checked_resource", "*")
        )

    access_control.IAMRequestBase.check_action_permitted = check_action_permitted  # type: ignore[method-assign]
    access_control.IAMRequest._raise_access_denied = raise_access_denied  # type: ignore[method-assign]


def _delete_objects_per_key(original: Callable[..., Any]) -> Callable[..., Any]:
    """DeleteObjects (``POST ?delete``) checked key by key, as AWS checks ``s3:DeleteObject`` (or
    ``s3:DeleteObjectVersion``) on each object; moto checks the bucket's ARN, which an object grant
    never matches, and then refuses every key."""

    def delete_keys(response: Any, bucket_name: str, authenticated: bool = True) -> Any:
        if authenticated:
            return original(response, bucket_name, authenticated)
        objects = xmltodict.parse(response.body, strip_whitespace=False)["Delete"].get("Object", [])
        objects = objects if isinstance(objects, list) else [objects]
        allowed, errors = [], []
        for obj in objects:
            response.data["Action"] = "DeleteObjectVersion" if obj.get("VersionId") else "DeleteObject"
            try:
                response._authenticate_and_authorize_s3_action(bucket_name=bucket_name, key_name=obj["Key"])
                allowed.append(obj)
            except (s3_exceptions.BucketAccessDeniedError, s3_exceptions.S3AccessDeniedError):
                errors.append({"Key": obj["Key"], "Code": "AccessDenied", "Message": "Access Denied"})
        bypass = response.headers.get("x-amz-bypass-governance-retention", "").lower() == "true"
        deleted, locked = (
            response.backend.delete_objects(bucket_name, allowed, bypass) if allowed else ([], [])
        )
        errors += [
            {"Key": k, "Code": "AccessDenied", "Message": "object protected by object lock"} for k in locked
        ]
        response.data["Action"] = "DeleteObjects"
        return response.serialized(
            ActionResult(
                {
                    "Deleted": [
                        {
                            "Key": k,
                            "VersionId": v or None,
                            "DeleteMarkerVersionId": dv or None,
                            "DeleteMarker": True if dv else None,
                        }
                        for k, v, dv in deleted
                    ],
                    "Errors": errors,
                }
            )
        )

    return delete_keys


def complete_authorization() -> None:
    """Patch moto (this process only) as the module docstring says."""
    for operation in unsigned_operations("cognito-idp"):
        if operation not in ActionAuthenticatorMixin.PUBLIC_OPERATIONS:
            ActionAuthenticatorMixin.PUBLIC_OPERATIONS.append(operation)
    SQSResponse._determine_resource = sqs_resource(SQSResponse._determine_resource)  # type: ignore[method-assign,assignment]
    SNSResponse._determine_resource = sns_resource  # type: ignore[attr-defined]
    DynamoHandler._determine_resource = dynamodb_resource  # type: ignore[attr-defined]
    SecretsManagerResponse._determine_resource = secretsmanager_resource  # type: ignore[attr-defined]
    S3Response._bucket_response_delete_keys = _delete_objects_per_key(S3Response._bucket_response_delete_keys)  # type: ignore[method-assign]
    _name_the_resource()


def main(argv: list[str]) -> None:
    complete_authorization()
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
