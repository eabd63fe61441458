"""The account program (``stacks/account``): what every reelstack stack in one AWS account and
region shares, deployed once there by the platform team, before the app stacks.

Today that is API Gateway's CloudWatch role, an account-and-region setting (docs/platform-teams.md,
"Account setup"). One stack of this project per account and region, named after the region.
"""

import pulumi

from infra.apigateway_account import ApiGatewayAccount, ApiGatewayAccountArgs

config = pulumi.Config()
apigateway = ApiGatewayAccount("apigateway", ApiGatewayAccountArgs(owner=config.get("owner") or "platform"))
pulumi.export("apigateway_cloudwatch_role_arn", apigateway.role_arn)
