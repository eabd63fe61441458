"""The local gateway applies the edge's rate-based rules: per client IP, stricter on /auth/*.

AWS WAF rate-based rules count a client IP's requests over a trailing evaluation window of
60, 120, 300 or 600 seconds, with a limit of at least 10
(https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html).
The clock is the test's own: nothing here waits or depends on timing.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.contracts.rate_limits import RateLimits
from app.local.gateway import Gateway, create_app
from app.local.rate_limit import SlidingWindowLimiter, add_rate_limit_arguments, rate_limits_of

ATTACKER = "203.0.113.7"
NEIGHBOUR = "198.51.100.2"
LIMITS = RateLimits(per_ip=20, auth_per_ip=10, window_seconds=60)


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limited(gateway: Gateway, clock: FakeClock) -> Flask:
    gateway.rate_limiter = SlidingWindowLimiter(LIMITS, clock)
    return create_app(gateway)


def from_ip(app: Flask, ip: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def login(http: FlaskClient) -> int:
    response = http.post("/auth/login", json={"email": "victim@example.com", "password": "Guess-1234!"})
    return response.status_code


def test_the_login_attempt_past_the_auth_limit_is_a_429_while_another_ip_still_passes(
    limited: Flask, clock: FakeClock
) -> None:
    attacker, neighbour = from_ip(limited, ATTACKER), from_ip(limited, NEIGHBOUR)
    attempts = [login(attacker) for _ in range(LIMITS.auth_per_ip)]
    assert 429 not in attempts, attempts  # wrong passwords, answered by the user service

    clock.now += 10
    refused = attacker.post("/auth/login", json={"email": "victim@example.com", "password": "Guess-1234!"})
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert set(refused.get_json()["error"]) == {"code", "message"}
    # The first attempt leaves the 60 s window 50 s from now.
    assert refused.headers["Retry-After"] == "50"

    assert login(neighbour) != 429
    # The attacker's other routes are still under the whole-site limit.
    assert attacker.get("/api/videos").status_code == 200

    clock.now += 50
    assert login(attacker) != 429


def test_past_the_whole_site_limit_every_path_of_that_ip_is_refused(limited: Flask) -> None:
    attacker, neighbour = from_ip(limited, ATTACKER), from_ip(limited, NEIGHBOUR)
    assert [attacker.get("/api/videos").status_code for _ in range(LIMITS.per_ip)] == [200] * LIMITS.per_ip
    assert attacker.get("/api/videos").status_code == 429
    assert attacker.get("/").status_code == 429
    assert login(attacker) == 429
    assert neighbour.get("/api/videos").status_code == 200


def test_uploads_and_local_only_routes_are_not_behind_the_edge_so_not_counted(limited: Flask) -> None:
    """On AWS browsers upload to S3 directly, past CloudFront and its web ACL; /_local is local-only."""
    client = from_ip(limited, ATTACKER)
    for _ in range(LIMITS.per_ip + 1):
        assert client.get("/_local/health").status_code == 200
        assert client.get("/_s3/").status_code != 429
    assert client.get("/api/videos").status_code == 200


def test_a_forwarded_for_header_does_not_change_whose_requests_count(limited: Flask) -> None:
    client = from_ip(limited, ATTACKER)
    for n in range(LIMITS.auth_per_ip):
        client.post("/auth/login", json={}, headers={"X-Forwarded-For": f"192.0.2.{n}"})
    assert client.post("/auth/login", json={}, headers={"X-Forwarded-For": "192.0.2.99"}).status_code == 429


def test_a_request_counts_until_it_leaves_the_trailing_window_not_until_a_fixed_boundary(
    clock: FakeClock,
) -> None:
    limiter = SlidingWindowLimiter(RateLimits(per_ip=10, auth_per_ip=10, window_seconds=60), clock)
    for _ in range(5):
        assert limiter.check(ATTACKER, "/api/videos") is None
    clock.now += 59
    for _ in range(5):
        assert limiter.check(ATTACKER, "/api/videos") is None
    # A fixed minute would have reset here; the trailing window still holds all ten.
    clock.now += 0.5
    assert limiter.check(ATTACKER, "/api/videos") == 1
    clock.now += 0.5
    assert limiter.check(ATTACKER, "/api/videos") is None


def test_the_gateway_limits_by_default_with_the_dev_stacks_numbers(gateway: Gateway) -> None:
    assert gateway.rate_limiter.limits == RateLimits()


def test_reelstack_up_takes_the_limits_and_refuses_a_pair_waf_would_refuse() -> None:
    parser = argparse.ArgumentParser()
    add_rate_limit_arguments(parser)
    assert rate_limits_of(parser.parse_args([])) == RateLimits()
    given = rate_limits_of(
        parser.parse_args(["--rate-limit-per-ip", "5000", "--auth-rate-limit-per-ip", "400"])
    )
    assert (given.per_ip, given.auth_per_ip) == (5000, 400)
    with pytest.raises(ValueError, match="authRateLimitPerIp"):
        rate_limits_of(parser.parse_args(["--rate-limit-per-ip", "100", "--auth-rate-limit-per-ip", "200"]))
