"""The backend's writes to the media edge's store: CloudFront KeyValueStore on AWS.

The emulator does not serve ``cloudfront-keyvaluestore`` (and boto3 signs it with SigV4A,
which needs ``awscrt``), so the store is a stand-in that keeps the API's contract: every
write names the store's current ETag (``If-Match``) or fails with ConflictException, and
UpdateKeys puts and deletes in one all-or-nothing call
(https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_kvs_UpdateKeys.html);
ListKeys pages hold at most 50 items
(https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_kvs_ListKeys.html).
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from app.backend.revocations import (
    KEEP_EPOCHS_MS,
    SWEEP_BATCH,
    KeyValueStoreRevocations,
    RevocationFailed,
    now_ms,
    revocation_store,
)
from app.contracts.tickets import revocation_key

ARN = "arn:aws:cloudfront::123456789012:key-value-store/0e6a3b2c-5d4e-4f60-8a7b-9c8d7e6f5a4b"


class ConflictException(Exception):
    pass


class StoreStandIn:
    """The cloudfront-keyvaluestore API over a dict, with ETags; ``interfere`` writers race each write."""

    class exceptions:
        ConflictException = ConflictException

    def __init__(self, items: dict[str, str], interfere: int = 0) -> None:
        self.items = dict(items)
        self.version = itertools.count(1)
        self.etag = "E0"
        self.interfere = interfere
        self.updates: list[dict[str, Any]] = []

    def describe_key_value_store(self, KvsARN: str) -> dict[str, Any]:
        assert KvsARN == ARN
        return {"ETag": self.etag, "ItemCount": len(self.items)}

    def get_paginator(self, operation: str) -> Any:
        assert operation == "list_keys"
        store = self

        class Pages:
            def paginate(self, KvsARN: str) -> Any:
                keys = sorted(store.items)
                for start in range(0, len(keys), 50):
                    yield {"Items": [{"Key": k, "Value": store.items[k]} for k in keys[start : start + 50]]}

        return Pages()

    def update_keys(self, KvsARN: str, IfMatch: str, Puts: list[Any], Deletes: list[Any]) -> dict[str, Any]:
        if self.interfere:
            self.interfere -= 1
            self.etag = f"E{next(self.version)}"  # another backend wrote in between
        if IfMatch != self.etag:
            raise ConflictException("the store changed")
        self.updates.append({"Puts": Puts, "Deletes": Deletes})
        for put in Puts:
            self.items[put["Key"]] = put["Value"]
        for delete in Deletes:
            del self.items[delete["Key"]]
        self.etag = f"E{next(self.version)}"
        return {"ETag": self.etag}


def test_a_revocation_puts_the_videos_epoch_on_the_stores_current_etag() -> None:
    store = StoreStandIn({"media-grant-key": "secret"})
    video = uuid.uuid4()
    KeyValueStoreRevocations(store, ARN).revoke(video, 1_700_000_000_123)
    assert store.items == {"media-grant-key": "secret", revocation_key(video): "1700000000123"}


def test_an_epoch_only_moves_forward() -> None:
    video = uuid.uuid4()
    store = StoreStandIn({revocation_key(video): str(now_ms() + 60_000)})
    later = store.items[revocation_key(video)]
    KeyValueStoreRevocations(store, ARN).revoke(video, now_ms())
    assert store.items[revocation_key(video)] == later


def test_a_concurrent_writer_is_answered_by_trying_again_on_the_new_etag() -> None:
    store = StoreStandIn({}, interfere=2)
    video = uuid.uuid4()
    KeyValueStoreRevocations(store, ARN).revoke(video, 5)
    assert store.items == {revocation_key(video): "5"}


def test_a_store_that_keeps_changing_fails_the_revocation_loudly() -> None:
    store = StoreStandIn({}, interfere=100)
    with pytest.raises(RevocationFailed):
        KeyValueStoreRevocations(store, ARN).revoke(uuid.uuid4(), 5)
    assert store.items == {}


def test_epochs_older_than_the_longest_grant_are_swept_and_nothing_else() -> None:
    """The store holds 5 MB in all, key 512 and value 1024 characters at most
    (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/kvs-with-functions-create-s3-kvp.html):
    an epoch takes 51 + 13 characters, so about 70,000 fit. An epoch older than the longest
    grant (6 hours) predates no unexpired grant, so each write deletes up to 50 of those: the
    store holds about the last 6 hours' revocations, and the grant key is never touched."""
    cutoff = now_ms() - KEEP_EPOCHS_MS
    stale = {revocation_key(uuid.uuid4()): str(cutoff - 1000 - n) for n in range(SWEEP_BATCH + 10)}
    recent = {revocation_key(uuid.uuid4()): str(cutoff + 60_000)}
    store = StoreStandIn({"media-grant-key": "1", **stale, **recent})
    video = uuid.uuid4()

    KeyValueStoreRevocations(store, ARN).revoke(video, now_ms())

    [update] = store.updates
    assert len(update["Deletes"]) == SWEEP_BATCH
    assert {d["Key"] for d in update["Deletes"]} <= set(stale)
    assert set(recent) | {"media-grant-key", revocation_key(video)} <= set(store.items)
    assert len(store.items) == 1 + len(stale) - SWEEP_BATCH + len(recent) + 1


def test_the_setting_names_the_store_an_arn_on_aws_the_gateway_locally(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # the BackendService component sets it
    assert isinstance(revocation_store(ARN, b"k" * 32), KeyValueStoreRevocations)
    assert not isinstance(
        revocation_store("http://127.0.0.1:8080/_local/revocations", b"k" * 32), KeyValueStoreRevocations
    )


def test_the_key_value_store_client_signs_its_requests_with_sigv4a() -> None:
    """The CloudFront KeyValueStore API is signed with SigV4A, which botocore can only do with
    awscrt installed (``botocore[crt]``); without it every write raises MissingDependencyException
    and, on AWS, making a video private answers 503. (CloudFront KeyValueStore API: requests use
    Signature Version 4A, https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_Operations_Amazon_CloudFront_KeyValueStore.html)"""
    signed: list[str] = []

    def answer(request: Any, **_: Any) -> AWSResponse:
        signed.append(
            request.headers["Authorization"].decode()
            if isinstance(request.headers["Authorization"], bytes)
            else request.headers["Authorization"]
        )
        raw = type("Raw", (), {"stream": lambda self, **_: iter([b"{}"])})()
        return AWSResponse(request.url, 200, {"ETag": "e"}, raw)

    kvs = boto3.client(
        "cloudfront-keyvaluestore",
        region_name="us-east-1",
        aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key="secret",
    )
    kvs.meta.events.register("before-send", answer)
    kvs.describe_key_value_store(KvsARN="arn:aws:cloudfront::123456789012:key-value-store/abc")
    assert signed and signed[0].startswith("AWS4-ECDSA-P256-SHA256")
