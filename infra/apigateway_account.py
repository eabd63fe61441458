"""ApiGatewayAccount: the API Gateway CloudWatch role of one AWS account and region.

API Gateway writes every REST API's CloudWatch logs (access logs included) through one role,
``cloudWatchRoleArn``, which is a setting of the account in a region, not of an API or a
stack: whoever sets it last wins. So it is set once per account and region, by the account
program (``stacks/account/``) or by a stack that opts in (``manageApiGatewayAccount``), with a
role that may write log groups under ``/aws/apigateway/`` (where the Gateway component's access
logs go) and nothing else.
"""

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra._common import args_of, declared_outputs, policy_document, service_role, standard_tags, statement

LOG_GROUP_PREFIX = "/aws/apigateway/"


@dataclass(frozen=True)
class ApiGatewayAccountArgs:
    """Every knob of the account setting."""

    owner: str = "platform"
    """The ``owner`` tag."""


def apigateway_logging_policy(region: str, account: str) -> dict[str, Any]:
    """API Gateway's account role: create and write log groups under ``/aws/apigateway/`` only.

    ``DescribeLogGroups`` lists groups and takes no narrower resource than the region's groups;
    it reads names, writes nothing.
    """
    groups = f"arn:aws:logs:{region}:{account}:log-group:"
    return policy_document(
        statement(
            "WriteApiGatewayLogs",
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            [f"{groups}{LOG_GROUP_PREFIX}*"],
        ),
        statement("FindLogGroups", ["logs:DescribeLogGroups"], [f"{groups}*"]),
    )


class ApiGatewayAccount(pulumi.ComponentResource):
    """The role API Gateway logs through, and the account's setting that names it."""

    role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ApiGatewayAccountArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = args_of(ApiGatewayAccountArgs, args)
        super().__init__("reelstack:index:ApiGatewayAccount", name, None, opts)
        invoke = pulumi.InvokeOptions(parent=self)
        region = aws.get_region_output(opts=invoke).region
        account = aws.get_caller_identity_output(opts=invoke).account_id
        role = service_role(
            self,
            role_name=f"{name}-cloudwatch",
            policy_name=f"{name}-cloudwatch",
            service_principal="apigateway.amazonaws.com",
            policy=pulumi.Output.all(region, account).apply(lambda v: apigateway_logging_policy(v[0], v[1])),
            description="API Gateway writes CloudWatch logs under /aws/apigateway/ (account-wide)",
            tags=standard_tags("apigateway-account", args.owner),
        )
        aws.apigateway.Account(
            f"{name}-settings", cloudwatch_role_arn=role.arn, opts=pulumi.ResourceOptions(parent=self)
        )
        self.role_arn = role.arn
        self.register_outputs(declared_outputs(self))
