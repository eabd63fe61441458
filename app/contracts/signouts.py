"""Sign-outs: what makes a logout hold at ``/api`` and ``/events``, not only at Cognito.

``POST /auth/logout`` signs the user out everywhere (Cognito GlobalSignOut). Cognito then
refuses the user's refresh tokens, but an access token is a signed JWT that the backend and the
progress service verify on their own: Cognito's GlobalSignOut documentation says "other
requests might be valid until your user's token expires", and its token-revocation page that
revoked tokens "will still be valid if they are verified using any JWT library"
(https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GlobalSignOut.html,
https://docs.aws.amazon.com/cognito/latest/developerguide/token-revocation.html).

So the user service records each sign-out (``app.contracts.signout_records.record_sign_out``;
the backend too, when an admin suspends a user or takes a role away) in a
DynamoDB table, one item per user:
``sub`` -> ``signed_out_at`` (the sign-out's time, epoch seconds) and ``expires_at`` (when the
last access token issued before it expires: the table's TTL attribute, so the table cleans
itself). A token whose ``iat`` is at or before ``signed_out_at`` is refused. DynamoDB deletes
expired items in the background, typically within a few days, and until then they still show
in reads (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html):
readers compare ``expires_at`` themselves.

Readers keep a per-process cache. A sign-out found is kept until its ``expires_at`` (a later
sign-out only moves ``signed_out_at`` forward, so what a cached one refuses stays refused); a
user's answer, found or not, is asked again after ``recheck_seconds``. A logout therefore
reaches every process within ``recheck_seconds`` (plus DynamoDB's eventual consistency,
usually under a second), at one GetItem per active user per process per interval.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

KEY = "sub"
SIGNED_OUT_AT = "signed_out_at"
EXPIRES_AT = "expires_at"
"""The table's TTL attribute (epoch seconds, a Number)."""

RECHECK_SECONDS = 5.0
"""How long a process trusts its last answer about a user: the revocation latency."""
MAX_CACHED_USERS = 100_000
"""Users whose answers a process keeps (least recently asked dropped): a few MB at most."""


class SignOutsUnavailable(RuntimeError):
    """The table could not be read: a caller must not be let in unchecked."""


@dataclass(frozen=True)
class _Answer:
    signed_out_at: int | None
    expires_at: float
    asked_at: float


class SignOuts:
    """Whether a token was issued before its user signed out; thread-safe, cached (see the module)."""

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        *,
        recheck_seconds: float = RECHECK_SECONDS,
        max_users: int = MAX_CACHED_USERS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._dynamodb = dynamodb
        self._table = table
        self._recheck_seconds = recheck_seconds
        self._max_users = max_users
        self._clock = clock
        self._lock = threading.Lock()
        self._answers: OrderedDict[str, _Answer] = OrderedDict()

    def _fetch(self, sub: str, now: float) -> _Answer:
        try:
            item = self._dynamodb.get_item(
                TableName=self._table,
                Key={KEY: {"S": sub}},
                ProjectionExpression="#at, #exp",
                ExpressionAttributeNames={"#at": SIGNED_OUT_AT, "#exp": EXPIRES_AT},
            ).get("Item")
        except (BotoCoreError, ClientError) as exc:
            raise SignOutsUnavailable(f"the sign-out table {self._table} cannot be read: {exc}") from exc
        if item is None or int(item[EXPIRES_AT]["N"]) <= now:  # none, or expired but not yet deleted
            return _Answer(None, 0.0, now)
        return _Answer(int(item[SIGNED_OUT_AT]["N"]), float(item[EXPIRES_AT]["N"]), now)

    def _remember(self, sub: str, answer: _Answer) -> None:
        with self._lock:
            self._answers[sub] = answer
            self._answers.move_to_end(sub)
            while len(self._answers) > self._max_users:
                self._answers.popitem(last=False)

    def signed_out(self, sub: str, issued_at: int) -> bool:
        """Whether ``sub`` signed out at or after ``issued_at`` (a token's ``iat``); raises
        SignOutsUnavailable when the table cannot be read and the cache cannot answer."""
        now = self._clock()
        with self._lock:
            cached = self._answers.get(sub)
        if cached is not None:
            if (
                cached.signed_out_at is not None
                and now < cached.expires_at
                and issued_at <= cached.signed_out_at
            ):
                return True
            if now - cached.asked_at < self._recheck_seconds:
                return False
        answer = self._fetch(sub, now)
        self._remember(sub, answer)
        return answer.signed_out_at is not None and issued_at <= answer.signed_out_at
