"""The shapes several components' ``*Args`` share: where a service sits in the network, which
bucket it uses, whose tokens it accepts, how many instances of what type it runs.

Each is one type of the package schema (``reelstack:index:Placement`` ...), so a TypeScript or
YAML program passes the same object to every component that takes it. Annotations stay
evaluated (no ``from __future__ import annotations``): Pulumi's analyzer reads them as types.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class Placement:
    """Where a component's network resources go: a VPC and private subnets of it."""

    vpc_id: pulumi.Input[str]
    """The VPC (``Network.vpc_id``, or one of your own)."""
    vpc_cidr: pulumi.Input[str]
    """The VPC's address range: load balancers admit it, and instances reach PostgreSQL in it."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets (``Network.private_subnet_ids``), in at least two Availability Zones."""


@dataclass(frozen=True)
class BucketReference:
    """An S3 bucket a component uses but does not own (``MediaStorage``'s, or one of your own)."""

    name: pulumi.Input[str]
    """The bucket's name, as the service's code addresses it."""
    arn: pulumi.Input[str]
    """The bucket's ARN, as the service's IAM policy grants it."""


@dataclass(frozen=True)
class TokenIssuer:
    """The Cognito user pool whose tokens a service accepts (``UserService``'s outputs), and the
    sign-out table whose records refuse tokens issued before a user's sign-out."""

    user_pool_client_id: pulumi.Input[str]
    """The app client id: the tokens' audience (``UserService.user_pool_client_id``)."""
    jwt_issuer: pulumi.Input[str]
    """The tokens' expected ``iss`` (``UserService.jwt_issuer``)."""
    jwks_url: pulumi.Input[str]
    """Where the pool's signing keys are fetched from (``UserService.jwks_url``)."""
    signout_table: pulumi.Input[str]
    """Name of the sign-out table (``UserService.signout_table_name``)."""
    signout_table_arn: pulumi.Input[str]
    """Its ARN, which the service may read one item of (``UserService.signout_table_arn``)."""


@dataclass(frozen=True)
class Scaling:
    """An Auto Scaling group's size and instance type (each component has its own default)."""

    instance_type: str
    """EC2 instance type; the images are arm64, so a Graviton type (``t4g``, ``c7g`` ...)."""
    min_size: int
    """Fewest instances the group keeps."""
    max_size: int
    """Most instances the group launches."""

    def __post_init__(self) -> None:
        if not 0 <= self.min_size <= self.max_size:
            raise ValueError(
                f"Scaling: need 0 <= min_size <= max_size, got min_size={self.min_size}, max_size={self.max_size}"
            )
