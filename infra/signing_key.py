"""SigningKey: the HS256 key of SSE tickets and media grants, in a Secrets Manager secret.

Three components use it, none of which can own it: the backend signs tickets and grants
with it (and needs the site's media URL, so it comes after ``SiteDistribution``), the
distribution's function verifies grants with it (so the key comes before the distribution),
and the progress service verifies tickets with it. A key owned by the backend would make
the backend and the distribution each wait for the other; a component of its own, created
first, hands the key to all three.
"""

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from app.contracts.names import ResourceNames
from infra._common import args_of, declared_outputs, standard_tags
from infra._moves import FormerParent, moved_child


@dataclass(frozen=True)
class SigningKeyArgs:
    """Every knob of the signing key."""

    names: ResourceNames
    """Shared names; the secret is ``names.ticket_secret``."""
    length: int = 48
    """Characters of the random key (letters and digits; HS256 wants at least 32 bytes)."""
    recovery_window_days: int = 7
    """Days Secrets Manager keeps the secret after deletion (its name stays taken meanwhile)."""
    moved_from_progress: str | None = None
    """Name of the ``ProgressService`` that held this key in stacks created before it had a
    component of its own: ``pulumi up`` then moves the key and its secret here instead of
    replacing them (a replaced secret's name is still held for its recovery window). None for
    a new program."""
    owner: str = "platform"
    """The ``owner`` tag."""

    def __post_init__(self) -> None:
        if self.length < 32:
            raise ValueError(f"length {self.length} is too short for an HS256 key: use at least 32")


class SigningKey(pulumi.ComponentResource):
    """A random key and the secret holding it."""

    secret_arn: pulumi.Output[str]
    key: pulumi.Output[str]
    secret: aws.secretsmanager.Secret
    """The secret holding the key (grant ``secretsmanager:GetSecretValue`` on it to readers)."""

    def __init__(self, name: str, args: SigningKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args = args_of(SigningKeyArgs, args)
        super().__init__("reelstack:index:SigningKey", name, None, opts)
        tags = standard_tags("signing-key", args.owner)
        former = (
            FormerParent("reelstack:index:ProgressService", args.moved_from_progress)
            if args.moved_from_progress
            else None
        )
        moved = moved_child(self, former, f"{args.moved_from_progress}-ticket-key")

        key = random.RandomPassword(f"{name}-key", length=args.length, special=False, opts=moved)
        secret = aws.secretsmanager.Secret(
            f"{name}-key",
            name=args.names.ticket_secret,
            description="signing key of SSE tickets and media grants (HS256)",
            recovery_window_in_days=args.recovery_window_days,
            tags=dict(tags),
            opts=moved,
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-key", secret_id=secret.id, secret_string=key.result, opts=moved
        )

        self.secret_arn = secret.arn
        self.key = pulumi.Output.secret(key.result)
        self.secret = secret
        self.register_outputs(declared_outputs(self))
