"""``reelstack admin``: an operator gives a user a role, or takes it away, at the user pool itself.

This is how a stack gets its first admin (no one can make themselves one through the API):
``reelstack admin grant --stack prod alice@example.com`` with the operator's AWS credentials, or
``--state-dir .reelstack`` to reach the pool of the local platform ``reelstack up`` runs. The user
has the role from their next login. Later roles are assigned by admins through ``/api/admin``,
which keeps them in the audit log; this command prints what it did instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import boto3

from app.contracts.names import ResourceNames
from app.contracts.roles import Role

PROJECT = "reelstack"
# app/local/platform.py writes this in its state directory.
LOCAL_RESOURCES_FILE = "local-aws.json"


class PoolNotFound(RuntimeError):
    pass


def find_user_pool(cognito: Any, pool_name: str) -> str:
    """The id of the user pool named ``pool_name`` (UserService names it from the stack)."""
    for listing in cognito.get_paginator("list_user_pools").paginate(MaxResults=60):
        for pool in listing["UserPools"]:
            if pool["Name"] == pool_name:
                return str(pool["Id"])
    raise PoolNotFound(f"no user pool named {pool_name}: is the stack deployed in this account and region?")


def set_role(cognito: Any, pool_id: str, email: str, role: Role, *, granted: bool) -> None:
    """Add the user with ``email`` to the role's group, or remove them from it."""
    call = cognito.admin_add_user_to_group if granted else cognito.admin_remove_user_from_group
    call(UserPoolId=pool_id, Username=email, GroupName=role.value)


def _cognito(state_dir: Path | None) -> Any:
    if state_dir is None:
        return boto3.client("cognito-idp")
    local = json.loads((state_dir / LOCAL_RESOURCES_FILE).read_text())
    return boto3.client(
        "cognito-idp",
        endpoint_url=local["endpoint_url"],
        region_name="us-east-1",
        aws_access_key_id=local["credentials"]["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=local["credentials"]["AWS_SECRET_ACCESS_KEY"],
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reelstack admin", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("action", choices=["grant", "revoke"])
    parser.add_argument("email", help="the user's email address (they have signed up)")
    parser.add_argument("--stack", required=True, help="the stack whose user pool to change (dev, prod)")
    parser.add_argument("--role", choices=[r.value for r in Role], default=Role.ADMIN.value)
    parser.add_argument(
        "--state-dir", type=Path, help="the local platform's state directory (reelstack up --state-dir)"
    )
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    cognito = _cognito(args.state_dir)
    try:
        pool_id = find_user_pool(cognito, ResourceNames.for_stack(PROJECT, args.stack).user_pool)
        set_role(cognito, pool_id, args.email, Role(args.role), granted=args.action == "grant")
    except PoolNotFound as exc:
        print(f"reelstack admin: {exc}", file=sys.stderr)
        return 1
    except cognito.exceptions.UserNotFoundException:
        print(f"reelstack admin: no user {args.email} in the pool; they sign up first", file=sys.stderr)
        return 1
    done = "now has" if args.action == "grant" else "no longer has"
    print(f"{args.email} {done} the {args.role} role in stack {args.stack} (from their next login)")
    return 0
