"""UserService: the Cognito user pool and app client, its groups (one per role), the Lambda behind
``/auth/*``, and the table of sign-outs.

The Lambda runs ``app/users``' handler; its role may write to its own log group and put items in
the sign-out table, and with a first admin configured add users to the pool's groups, nothing
else: every other Cognito operation the handler calls is a public (unauthenticated) or
token-authorized one, for which Cognito evaluates no IAM policy. Its code is
the handler and the ``app`` modules it imports, nothing more (third-party packages come from a
layer). The sign-out table (``app/contracts/signouts.py``) is written here at logout and read
(GetItem only) by the backend and the progress service, whose components grant themselves that.
"""

import ast
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from app.contracts.names import ResourceNames
from app.contracts.roles import ROLE_DESCRIPTIONS, ROLE_PRECEDENCE, Role
from app.contracts.settings import UserServiceSettings
from app.contracts.signouts import EXPIRES_AT, KEY
from infra._common import (
    args_of,
    declared_outputs,
    policy_document,
    service_role,
    settings_environment,
    standard_tags,
    statement,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
RUNTIME = "python3.11"
ARCHITECTURE = "arm64"

FIRST_PARTY = "app"


def _module_file(module: str, root: Path) -> Path | None:
    """The source file of a first-party module or package, or None when ``module`` names none."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path, package: str) -> set[str]:
    """Every module an ``import`` in ``path`` may name (``from p import x``: ``p`` and ``p.x``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def handler_sources(module: str, root: Path = REPO_ROOT) -> list[Path]:
    """The first-party files importing ``module`` runs: it, every ``app`` module it imports in turn,
    and each of their packages' ``__init__.py``; sorted. Data files are not followed."""
    files: set[Path] = set()
    pending = [module]
    while pending:
        name = pending.pop()
        parts = name.split(".")
        if parts[0] != FIRST_PARTY:
            continue
        for depth in range(1, len(parts) + 1):  # the packages on the way run first
            prefix = ".".join(parts[:depth])
            path = _module_file(prefix, root)
            if path is None or path in files:
                continue
            files.add(path)
            package = prefix if path.name == "__init__.py" else prefix.rpartition(".")[0]
            pending.extend(_imported_modules(path, package))
    return sorted(files)


def handler_archive(handler: str, root: Path = REPO_ROOT) -> pulumi.AssetArchive:
    """The function's code: the files of ``handler_sources`` for the handler's module, at their
    paths under ``root`` (dependencies come from ``layers``)."""
    module = handler.rpartition(".")[0]
    return pulumi.AssetArchive(
        {
            path.relative_to(root).as_posix(): pulumi.FileAsset(str(path))
            for path in handler_sources(module, root)
        }
    )


@dataclass(frozen=True)
class UserServiceArgs:
    """Every knob of the user service."""

    names: ResourceNames
    """Shared names (pool, client)."""
    handler: str = "app.users.handler.handler"
    """The Lambda handler (module.function)."""
    code: pulumi.Archive | None = None
    """Function code; None: ``handler_archive(handler)``, the handler's module and the ``app``
    modules it imports."""
    dependencies: pulumi.Archive | None = None
    """Zip of the handler's third-party packages (``python/`` at its root, built by
    ``images/users-layer.sh``), published as a layer of the function; None: ``layers`` only."""
    layers: Sequence[str] = ()
    """Further layer ARNs (e.g. dependencies published elsewhere)."""
    memory_mb: int = 256
    """Lambda memory."""
    timeout_seconds: int = 10
    """Lambda timeout (API Gateway waits at most 29 s)."""
    log_retention_days: int = 14
    """CloudWatch log retention."""
    log_level: str = "INFO"
    """Logging level of the service (UserServiceSettings.log_level)."""
    user_pool_id: pulumi.Input[str] | None = None
    """An existing Cognito user pool to serve instead of making one (None: the component makes it).
    The handler signs users in by email with codes sent by email, so the pool must use email as
    the user name, verify email and recover accounts by verified email; ``password_min_length``,
    the ``email_*`` fields and ``deletion_protection`` then do not apply (they are the pool's).
    The component adds its app client to the pool."""
    password_min_length: int = 12
    """Cognito password policy: minimum length (upper, lower, digits required too)."""
    email_source_arn: str | None = None
    """Verified SES identity Cognito sends codes through; None: Cognito's own sender (about 50 emails a day)."""
    email_from: str | None = None
    """From address with ``email_source_arn`` (an address of that identity)."""
    deletion_protection: bool = False
    """Cognito deletion protection (prod)."""
    protect: bool = False
    """Pulumi ``protect`` on the user pool and the sign-out table, the table's deletion protection
    and point-in-time recovery (prod)."""
    first_admin_email: str | None = None
    """The stack's first admin: the account of this address joins the admin group once its sign-up
    is confirmed with the mailed code (the function may then add users to groups); None: no one,
    and ``reelstack admin grant`` gives the first admin the role."""
    owner: str = "platform"
    """The ``owner`` tag."""
    extra_environment: dict[str, str] = field(default_factory=dict)
    """Extra variables of the function's environment (each must be declared by UserServiceSettings)."""


def users_policy(
    log_group_arn: Any, signout_table_arn: Any, first_admin_pool_arn: str | None = None
) -> dict[str, Any]:
    """The Lambda's permissions: its own log group, and recording sign-outs. Every other operation
    the handler calls is one Cognito authorizes without IAM (public ones, and GetUser and
    GlobalSignOut by the user's token), but for one: with a first admin configured, adding them to
    the admin group in ``first_admin_pool_arn`` (AdminAddUserToGroup, an IAM-authorized call)."""
    statements = [
        statement(
            "OwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [log_group_arn, f"{log_group_arn}:*"]
        ),
        statement("RecordSignOuts", ["dynamodb:PutItem"], [signout_table_arn]),
    ]
    if first_admin_pool_arn is not None:
        statements.append(
            statement("GrantFirstAdmin", ["cognito-idp:AdminAddUserToGroup"], [first_admin_pool_arn])
        )
    return policy_document(*statements)


def signout_reader_statement(signout_table_arn: str) -> dict[str, Any]:
    """What the backend and the progress service need of the sign-out table: one item by key."""
    return statement("ReadSignOuts", ["dynamodb:GetItem"], [signout_table_arn])


def user_pool_arn(region: str, account: str, user_pool_id: str) -> str:
    """The ARN of a user pool, from its id: ``arn:aws:cognito-idp:<region>:<account>:userpool/<id>``."""
    return f"arn:aws:cognito-idp:{region}:{account}:userpool/{user_pool_id}"


def cognito_user_pool(
    name: str, args: UserServiceArgs, tags: dict[str, str], parent: pulumi.Resource
) -> aws.cognito.UserPool:
    """The pool the handler is written for: email as the user name (case-insensitive), codes by
    email to confirm a sign-up and recover an account, ``args.password_min_length``."""
    return aws.cognito.UserPool(
        f"{name}-pool",
        name=args.names.user_pool,
        username_attributes=["email"],
        # AWS's default is case-sensitive, and the setting cannot change once the pool exists.
        username_configuration=aws.cognito.UserPoolUsernameConfigurationArgs(case_sensitive=False),
        auto_verified_attributes=["email"],
        password_policy=aws.cognito.UserPoolPasswordPolicyArgs(
            minimum_length=args.password_min_length,
            require_lowercase=True,
            require_uppercase=True,
            require_numbers=True,
            require_symbols=False,
            temporary_password_validity_days=3,
        ),
        account_recovery_setting=aws.cognito.UserPoolAccountRecoverySettingArgs(
            recovery_mechanisms=[
                aws.cognito.UserPoolAccountRecoverySettingRecoveryMechanismArgs(
                    name="verified_email", priority=1
                )
            ]
        ),
        verification_message_template=aws.cognito.UserPoolVerificationMessageTemplateArgs(
            default_email_option="CONFIRM_WITH_CODE"
        ),
        email_configuration=(
            aws.cognito.UserPoolEmailConfigurationArgs(
                email_sending_account="DEVELOPER",
                source_arn=args.email_source_arn,
                from_email_address=args.email_from,
            )
            if args.email_source_arn
            else aws.cognito.UserPoolEmailConfigurationArgs(email_sending_account="COGNITO_DEFAULT")
        ),
        deletion_protection="ACTIVE" if args.deletion_protection else "INACTIVE",
        mfa_configuration="OFF",
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, protect=args.protect),
    )


class UserService(pulumi.ComponentResource):
    """Cognito user pool with email sign-up, a public app client, and the auth Lambda."""

    user_pool_id: pulumi.Output[str]
    user_pool_arn: pulumi.Output[str]
    user_pool_client_id: pulumi.Output[str]
    signout_table_name: pulumi.Output[str]
    signout_table_arn: pulumi.Output[str]
    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    invoke_arn: pulumi.Output[str]
    jwt_issuer: pulumi.Output[str]
    jwks_url: pulumi.Output[str]
    user_pool: aws.cognito.UserPool | None
    """The Cognito user pool; None when the Args brought one (``user_pool_id``)."""
    function: aws.lambda_.Function
    """The ``/auth`` Lambda."""

    def __init__(self, name: str, args: UserServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args = args_of(UserServiceArgs, args)
        super().__init__("reelstack:index:UserService", name, None, opts)
        tags = standard_tags("users", args.owner)
        child = pulumi.ResourceOptions(parent=self)
        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region

        pool: aws.cognito.UserPool | None = None
        pool_id: pulumi.Input[str]
        if args.user_pool_id is None:
            pool = cognito_user_pool(name, args, dict(tags), self)
            pool_id, pool_arn = pool.id, pool.arn
        else:
            account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
            pool_id = args.user_pool_id
            pool_arn = pulumi.Output.all(region, account, pool_id).apply(lambda v: user_pool_arn(*v))
        client = aws.cognito.UserPoolClient(
            f"{name}-client",
            name=args.names.user_pool_client,
            user_pool_id=pool_id,
            generate_secret=False,
            explicit_auth_flows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True,
            access_token_validity=60,
            id_token_validity=60,
            refresh_token_validity=30,
            token_validity_units=aws.cognito.UserPoolClientTokenValidityUnitsArgs(
                access_token="minutes",  # noqa: S106 - units, not secrets
                id_token="minutes",  # noqa: S106
                refresh_token="days",  # noqa: S106
            ),
            opts=child,
        )

        # One group per role (app/contracts/roles.py): Cognito names them in access tokens.
        for group_role in Role:
            aws.cognito.UserGroup(
                f"{name}-group-{group_role.value}",
                name=group_role.value,
                user_pool_id=pool_id,
                description=ROLE_DESCRIPTIONS[group_role],
                precedence=ROLE_PRECEDENCE[group_role],
                opts=child,
            )

        # One item per user who logged out; TTL deletes it once their last older token has expired.
        signouts = aws.dynamodb.Table(
            f"{name}-signouts",
            name=args.names.signout_table,
            billing_mode="PAY_PER_REQUEST",
            hash_key=KEY,
            attributes=[aws.dynamodb.TableAttributeArgs(name=KEY, type="S")],
            ttl=aws.dynamodb.TableTtlArgs(attribute_name=EXPIRES_AT, enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=args.protect),
            deletion_protection_enabled=args.protect,
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )

        function_name = f"{args.names.prefix}-users"
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=args.log_retention_days,
            tags=dict(tags),
            opts=child,
        )
        role = service_role(
            self,
            role_name=f"{name}-role",
            policy_name=f"{name}-policy",
            service_principal="lambda.amazonaws.com",
            policy=pulumi.Output.all(
                log_group.arn, signouts.arn, pool_arn if args.first_admin_email else None
            ).apply(lambda v: users_policy(v[0], v[1], v[2])),
            description="the user service Lambda",
            tags=tags,
        )
        layers: list[pulumi.Input[str]] = list(args.layers)
        if args.dependencies is not None:
            dependencies = aws.lambda_.LayerVersion(
                f"{name}-deps",
                layer_name=f"{args.names.prefix}-users-deps",
                description="third-party packages of the user service handler",
                code=args.dependencies,
                compatible_runtimes=[RUNTIME],
                compatible_architectures=[ARCHITECTURE],
                opts=child,
            )
            layers.insert(0, dependencies.arn)
        environment = {
            # No AWS_REGION: Lambda reserves it and sets it itself.
            **settings_environment(
                UserServiceSettings,
                user_pool_id=pool_id,
                user_pool_client_id=client.id,
                signout_table=signouts.name,
                log_level=args.log_level,
                **({"first_admin_email": args.first_admin_email} if args.first_admin_email else {}),
            ),
            **{k: v for k, v in args.extra_environment.items()},
        }
        function = aws.lambda_.Function(
            f"{name}-fn",
            name=function_name,
            role=role.arn,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=args.handler,
            code=args.code or handler_archive(args.handler),
            layers=layers,
            memory_size=args.memory_mb,
            timeout=args.timeout_seconds,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=log_group.name),
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group]),
        )

        self.user_pool_id = pulumi.Output.from_input(pool_id)
        self.user_pool_arn = pool_arn
        self.user_pool_client_id = client.id
        self.signout_table_name = signouts.name
        self.signout_table_arn = signouts.arn
        self.function_name = function.name
        self.function_arn = function.arn
        self.invoke_arn = function.invoke_arn
        self.jwt_issuer = pulumi.Output.all(region, pool_id).apply(
            lambda v: f"https://cognito-idp.{v[0]}.amazonaws.com/{v[1]}"
        )
        self.jwks_url = self.jwt_issuer.apply(lambda issuer: f"{issuer}/.well-known/jwks.json")
        self.user_pool = pool
        self.function = function
        self.register_outputs(declared_outputs(self))
