"""Writing a sign-out (``app/contracts/signouts.py`` reads them): the user service at logout, the
backend when an admin suspends a user or takes a role away."""

from __future__ import annotations

from typing import Any

from app.contracts.signouts import EXPIRES_AT, KEY, SIGNED_OUT_AT


def record_sign_out(dynamodb: Any, table: str, *, sub: str, signed_out_at: int, expires_at: int) -> None:
    """Refuse, from now on, every access token of ``sub`` issued at or before ``signed_out_at``."""
    dynamodb.put_item(
        TableName=table,
        Item={
            KEY: {"S": sub},
            SIGNED_OUT_AT: {"N": str(signed_out_at)},
            EXPIRES_AT: {"N": str(expires_at)},
        },
    )
