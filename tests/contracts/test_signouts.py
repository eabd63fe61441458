"""The sign-out record and its cached reader (app/contracts/signouts.py), over an in-memory table."""

from __future__ import annotations

import pytest

from app.contracts.signout_records import record_sign_out
from app.contracts.signouts import RECHECK_SECONDS, SignOuts, SignOutsUnavailable
from tests.support.signouts import TABLE, FakeTable


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def table() -> FakeTable:
    return FakeTable()


@pytest.fixture
def clock() -> Clock:
    return Clock(1_000_000.0)


@pytest.fixture
def signouts(table: FakeTable, clock: Clock) -> SignOuts:
    return SignOuts(table, TABLE, clock=clock)


def test_a_token_issued_at_or_before_the_sign_out_is_refused_and_a_later_one_is_not(
    table: FakeTable, signouts: SignOuts
) -> None:
    record_sign_out(table, TABLE, sub="u", signed_out_at=999_990, expires_at=1_003_590)
    assert signouts.signed_out("u", 999_000)
    assert signouts.signed_out("u", 999_990)  # the same second: it may predate the sign-out
    assert not signouts.signed_out("u", 999_991)
    assert not signouts.signed_out("someone-else", 999_000)


def test_an_expired_record_that_ttl_has_not_deleted_yet_is_ignored(
    table: FakeTable, signouts: SignOuts, clock: Clock
) -> None:
    """DynamoDB deletes expired items in the background, typically within a few days, and reads
    return them until then (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html,
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ttl-expired-items.html)."""
    record_sign_out(table, TABLE, sub="u", signed_out_at=990_000, expires_at=int(clock.now))
    assert not signouts.signed_out("u", 989_000)


def test_a_found_sign_out_is_answered_from_the_cache_until_it_expires(
    table: FakeTable, signouts: SignOuts, clock: Clock
) -> None:
    record_sign_out(table, TABLE, sub="u", signed_out_at=999_990, expires_at=1_003_590)
    assert signouts.signed_out("u", 999_000)
    table.failing = True  # no more reads are needed for what the cached sign-out refuses
    clock.now += 3000
    assert signouts.signed_out("u", 999_500)
    assert table.reads == 1


def test_a_miss_is_trusted_for_the_recheck_interval_then_asked_again(
    table: FakeTable, signouts: SignOuts, clock: Clock
) -> None:
    assert not signouts.signed_out("u", 999_000)
    record_sign_out(table, TABLE, sub="u", signed_out_at=1_000_000, expires_at=1_003_600)
    clock.now += RECHECK_SECONDS - 0.1
    assert not signouts.signed_out("u", 999_000)  # the stated revocation latency
    clock.now += 0.2
    assert signouts.signed_out("u", 999_000)
    assert table.reads == 2


def test_a_later_sign_out_is_seen_after_the_recheck_interval(
    table: FakeTable, signouts: SignOuts, clock: Clock
) -> None:
    record_sign_out(table, TABLE, sub="u", signed_out_at=990_000, expires_at=1_003_600)
    assert not signouts.signed_out("u", 995_000)  # a login after the first sign-out
    record_sign_out(table, TABLE, sub="u", signed_out_at=999_000, expires_at=1_003_600)
    clock.now += RECHECK_SECONDS
    assert signouts.signed_out("u", 995_000)


def test_an_unreadable_table_is_an_error_not_a_pass(table: FakeTable, signouts: SignOuts) -> None:
    table.failing = True
    with pytest.raises(SignOutsUnavailable):
        signouts.signed_out("u", 999_000)


def test_the_cache_keeps_at_most_max_users(table: FakeTable, clock: Clock) -> None:
    signouts = SignOuts(table, TABLE, clock=clock, max_users=2)
    for sub in ("a", "b", "c"):
        signouts.signed_out(sub, 1)
    signouts.signed_out("a", 1)  # dropped as the least recently asked: read again
    assert table.reads == 4
