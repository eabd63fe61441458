"""Database: RDS PostgreSQL in private subnets, the master password managed by RDS in Secrets Manager.

Nothing can reach it until a client grants itself access with ``allow_from`` (the
backend does); the connection URL it exports carries no password.
"""

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from app.contracts.names import ResourceNames
from infra._common import args_of, declared_outputs, standard_tags
from infra.operations import AlarmSpec, AlarmThresholds, Graph, Metric, Section
from infra.types import Placement

PORT = 5432

# Room to grow by default, well above the 26 % headroom below which RDS warns of a ceiling near.
STORAGE_CEILING_FACTOR = 5


def min_storage_ceiling_gib(allocated_gib: int) -> int:
    """The smallest storage autoscaling ceiling RDS accepts: 10 % above the allocation."""
    return (allocated_gib * 11 + 9) // 10


@dataclass(frozen=True)
class DatabaseArgs:
    """Every knob of the database."""

    names: ResourceNames
    """Shared names (database name, identifier prefix)."""
    placement: Placement
    """The VPC and private subnets (at least two AZs) of the instance; it admits no address
    range, only the security groups ``allow_from`` names."""
    security_group_id: pulumi.Input[str] | None = None
    """An existing security group for the instance instead of one of its own (None: the component
    makes it, admitting nothing); ``allow_from`` adds its rules to the group either way."""
    instance_class: str = "db.t4g.micro"
    """RDS instance class."""
    allocated_storage_gib: int = 20
    """Initial storage."""
    max_allocated_storage_gib: int | None = None
    """Storage autoscaling ceiling; ``None``: ``STORAGE_CEILING_FACTOR`` times the allocation."""
    engine_version: str = "16"
    """PostgreSQL major version."""
    multi_az: bool = False
    """A standby in a second AZ (prod)."""
    deletion_protection: bool = False
    """Refuse deletion (prod)."""
    backup_retention_days: int = 1
    """Automated backup retention (prod: 7 or more)."""
    protect: bool = False
    """Pulumi ``protect`` (prod)."""
    username: str = "reelstack"
    """Master user name; its password lives in the RDS-managed secret."""
    owner: str = "platform"
    """The ``owner`` tag."""

    def __post_init__(self) -> None:
        lowest = min_storage_ceiling_gib(self.allocated_storage_gib)
        if self.storage_ceiling_gib < lowest:
            raise ValueError(
                f"max_allocated_storage_gib ({self.storage_ceiling_gib}) must be at least {lowest}, 10 % above "
                f"allocated_storage_gib ({self.allocated_storage_gib}, stack config dbAllocatedStorageGib): "
                "RDS refuses a storage autoscaling ceiling closer to the allocation"
            )

    @property
    def storage_ceiling_gib(self) -> int:
        """The storage autoscaling ceiling RDS gets: the one given, or one derived from the allocation."""
        if self.max_allocated_storage_gib is not None:
            return self.max_allocated_storage_gib
        return STORAGE_CEILING_FACTOR * self.allocated_storage_gib


def database_url(username: str, host: str, port: int, database: str) -> str:
    """SQLAlchemy URL without password; the service reads it from the managed secret."""
    return f"postgresql+psycopg://{username}@{host}:{port}/{database}?sslmode=require"


class Database(pulumi.ComponentResource):
    """An encrypted, private PostgreSQL instance with its subnet group and security group."""

    address: pulumi.Output[str]
    port: pulumi.Output[int]
    url: pulumi.Output[str]
    secret_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    instance: aws.rds.Instance
    """The RDS instance."""
    security_group: aws.ec2.SecurityGroup | None
    """Its security group (``allow_from`` adds ingress rules to it); None when the Args brought one."""

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args = args_of(DatabaseArgs, args)
        super().__init__("reelstack:index:Database", name, None, opts)
        tags = standard_tags("database", args.owner)
        child = pulumi.ResourceOptions(parent=self)
        self._name = name
        self._tags = tags
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=list(args.placement.subnet_ids),
            description=f"{args.names.prefix} private subnets",
            tags=dict(tags),
            opts=child,
        )
        security_group: aws.ec2.SecurityGroup | None = None
        security_group_id: pulumi.Input[str]
        if args.security_group_id is None:
            security_group = aws.ec2.SecurityGroup(
                f"{name}-sg",
                vpc_id=args.placement.vpc_id,
                description=f"{args.names.prefix} PostgreSQL: only from granted security groups",
                tags={**tags, "Name": f"{name}-sg"},
                opts=child,
            )
            security_group_id = security_group.id
        else:
            security_group_id = args.security_group_id
        self._security_group_id = security_group_id
        parameters = aws.rds.ParameterGroup(
            f"{name}-params",
            family=f"postgres{args.engine_version}",
            description="TLS required",
            parameters=[aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1")],
            tags=dict(tags),
            opts=child,
        )
        instance = aws.rds.Instance(
            f"{name}-db",
            identifier_prefix=f"{args.names.prefix}-",
            engine="postgres",
            engine_version=args.engine_version,
            instance_class=args.instance_class,
            allocated_storage=args.allocated_storage_gib,
            max_allocated_storage=args.storage_ceiling_gib,
            storage_type="gp3",
            storage_encrypted=True,
            db_name=args.names.database_name,
            username=args.username,
            manage_master_user_password=True,
            port=PORT,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[security_group_id],
            parameter_group_name=parameters.name,
            publicly_accessible=False,
            multi_az=args.multi_az,
            deletion_protection=args.deletion_protection,
            backup_retention_period=args.backup_retention_days,
            copy_tags_to_snapshot=True,
            skip_final_snapshot=not args.deletion_protection,
            final_snapshot_identifier=f"{args.names.prefix}-final" if args.deletion_protection else None,
            auto_minor_version_upgrade=True,
            iam_database_authentication_enabled=True,
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.address = instance.address
        self.port = instance.port
        self.url = pulumi.Output.all(instance.address, instance.port).apply(
            lambda v: database_url(args.username, v[0], int(v[1]), args.names.database_name)
        )
        self.secret_arn = instance.master_user_secrets.apply(
            lambda secrets: (secrets[0].secret_arn or "") if secrets else ""
        )
        self.security_group_id = pulumi.Output.from_input(security_group_id)
        self.instance = instance
        self.security_group = security_group
        self._allocated_storage_gib = args.allocated_storage_gib
        self.register_outputs(declared_outputs(self))

    def _metric(self, metric: str, stat: str, period: int = 300) -> Metric:
        return Metric(
            "AWS/RDS", metric, {"DBInstanceIdentifier": self.instance.identifier}, stat, period=period
        )

    def widgets(self) -> Section:
        """CPU, connections and free storage of the instance."""
        return Section(
            "Database",
            [
                Graph("database CPU (%)", {"cpu": self._metric("CPUUtilization", "Average", 60)}),
                Graph(
                    "database connections",
                    {"connections": self._metric("DatabaseConnections", "Maximum", 60)},
                ),
                Graph(
                    "database free storage (bytes)", {"free": self._metric("FreeStorageSpace", "Minimum", 60)}
                ),
            ],
        )

    def alarms(self, thresholds: AlarmThresholds) -> list[AlarmSpec]:
        """CPU high for 15 minutes; free storage low (storage autoscaling has not kept up, or hit its ceiling)."""
        free_gib = thresholds.db_free_storage_gib
        if free_gib is None:
            free_gib = self._allocated_storage_gib / 10
        return [
            AlarmSpec(
                f"{self._name}-cpu",
                f"database CPU above {thresholds.db_cpu_percent} % for 15 minutes",
                {"cpu": self._metric("CPUUtilization", "Average")},
                watched="cpu",
                threshold=thresholds.db_cpu_percent,
                evaluation_periods=3,
            ),
            AlarmSpec(
                f"{self._name}-free-storage",
                f"database free storage below {free_gib:g} GiB",
                {"free": self._metric("FreeStorageSpace", "Minimum")},
                watched="free",
                threshold=free_gib * 2**30,
                comparison="LessThanThreshold",
            ),
        ]

    def allow_from(
        self, client: str, security_group_id: pulumi.Input[str]
    ) -> aws.vpc.SecurityGroupIngressRule:
        """Let one client security group connect (a child of the database, named after the client)."""
        return aws.vpc.SecurityGroupIngressRule(
            f"{self._name}-from-{client}",
            security_group_id=self._security_group_id,
            referenced_security_group_id=security_group_id,
            ip_protocol="tcp",
            from_port=PORT,
            to_port=PORT,
            description=f"PostgreSQL from {client}",
            tags=dict(self._tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
