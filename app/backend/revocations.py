"""Where the backend records that a video's media grants are cut: the media edge's store.

On AWS the media edge is CloudFront, whose viewer-request function (infra/distribution.py) reads
``revoked-before:<video id>`` from the distribution's KeyValueStore. Locally it is the gateway
(app/local/gateway.py), which keeps the same keys in its memory and takes writes as signed
notices at ``/_local/revocations``. ``REELSTACK_MEDIA_REVOCATION_STORE`` names the store: the
KeyValueStore's ARN, or the gateway's URL; nothing else differs.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any, Protocol

import boto3
import requests

from app.contracts.tickets import (
    MEDIA_GRANT_MAX_SECONDS,
    REVOKED_BEFORE_PREFIX,
    issue_revocation_notice,
    revocation_key,
)

log = logging.getLogger(__name__)

KVS_ARN_PREFIX = "arn:aws:cloudfront::"
# Epochs older than the longest grant predate no unexpired grant: they are deleted.
KEEP_EPOCHS_MS = MEDIA_GRANT_MAX_SECONDS * 1000
# Keys deleted per UpdateKeys call, so one revocation's sweep stays one small request.
SWEEP_BATCH = 50
KVS_ATTEMPTS = 5
NOTICE_TIMEOUT_SECONDS = 5.0


class RevocationFailed(RuntimeError):
    """The store did not take the epoch; grants issued so far still work."""


class RevocationStore(Protocol):
    def revoke(self, video_id: uuid.UUID, revoked_before_ms: int) -> None:
        """Refuse, from now on, every grant of ``video_id`` issued at or before ``revoked_before_ms``."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class KeyValueStoreRevocations:
    """The CloudFront KeyValueStore the media function reads (``cloudfront-keyvaluestore`` API).

    Every write names the store's current ETag (``IfMatch``, from DescribeKeyValueStore); a
    concurrent writer makes it fail with ConflictException, and it is tried again on the new
    ETag. Each write also deletes up to ``SWEEP_BATCH`` epochs that no unexpired grant can
    predate, so the store (5 MB in all) holds about the revocations of the last 6 hours.
    """

    def __init__(self, kvs: Any, arn: str, keep_ms: int = KEEP_EPOCHS_MS) -> None:
        self._kvs = kvs
        self._arn = arn
        self._keep_ms = keep_ms

    def _epochs(self) -> Iterator[tuple[str, int]]:
        for listing in self._kvs.get_paginator("list_keys").paginate(KvsARN=self._arn):
            for item in listing.get("Items", []):
                if item["Key"].startswith(REVOKED_BEFORE_PREFIX) and item["Value"].isdigit():
                    yield item["Key"], int(item["Value"])

    def revoke(self, video_id: uuid.UUID, revoked_before_ms: int) -> None:
        key = revocation_key(video_id)
        for _ in range(KVS_ATTEMPTS):
            etag = self._kvs.describe_key_value_store(KvsARN=self._arn)["ETag"]
            epochs = dict(self._epochs())
            cutoff = now_ms() - self._keep_ms
            stale = [name for name, epoch in epochs.items() if epoch < cutoff and name != key]
            # A later epoch already there (a deletion's) stays: an epoch only ever moves forward.
            value = max(revoked_before_ms, epochs.get(key, revoked_before_ms))
            try:
                self._kvs.update_keys(
                    KvsARN=self._arn,
                    IfMatch=etag,
                    Puts=[{"Key": key, "Value": str(value)}],
                    Deletes=[{"Key": name} for name in stale[:SWEEP_BATCH]],
                )
            except self._kvs.exceptions.ConflictException:
                continue  # another writer changed the store since DescribeKeyValueStore
            return
        raise RevocationFailed(
            f"the key value store {self._arn} changed under {KVS_ATTEMPTS} writes in a row"
        )


class GatewayRevocations:
    """The local gateway's store: a notice signed with the ticket key, POSTed to ``url``."""

    def __init__(self, url: str, ticket_key: bytes, session: requests.Session | None = None) -> None:
        self._url = url
        self._ticket_key = ticket_key
        self._session = session or requests.Session()

    def revoke(self, video_id: uuid.UUID, revoked_before_ms: int) -> None:
        notice = issue_revocation_notice(
            self._ticket_key, video_id=video_id, revoked_before_ms=revoked_before_ms
        )
        try:
            response = self._session.post(
                self._url,
                data=notice,
                headers={"Content-Type": "application/jwt"},
                timeout=NOTICE_TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise RevocationFailed(f"the local gateway at {self._url} did not answer: {exc}") from None
        if response.status_code != 204:
            raise RevocationFailed(f"the local gateway at {self._url} answered {response.status_code}")


def revocation_store(location: str, ticket_key: bytes) -> RevocationStore:
    """The store ``location`` (REELSTACK_MEDIA_REVOCATION_STORE) names."""
    if location.startswith(KVS_ARN_PREFIX):
        return KeyValueStoreRevocations(boto3.client("cloudfront-keyvaluestore"), location)
    return GatewayRevocations(location, ticket_key)
