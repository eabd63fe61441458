"""The edge's rate-based rules, applied by the local gateway: requests per client IP in a trailing window.

Same rules, same numbers and same order as the web ACL in front of CloudFront
(``app.contracts.rate_limits``), with two deliberate differences from AWS WAF:

- AWS WAF counts in a trailing window too, but checks the counts periodically and "applies
  rate limiting near the limit", so a burst can pass the limit for a while before it is blocked
  (https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html).
  Here every request is checked against an exact sliding log, so the N+1th request within the
  window is refused at once: what passes locally passes on AWS, never the other way round.
- Here a refused request is not counted, so ``Retry-After`` says exactly when the oldest
  counted request leaves the window; the web ACL sends the window length instead.

The counts live in this process's memory: the local gateway runs one gunicorn worker
(``app.local.gateway_serve``), so they cover every request it serves.
"""

from __future__ import annotations

import argparse
import math
import threading
import time
from collections import deque
from collections.abc import Callable

from app.contracts.rate_limits import RateLimits


class SlidingWindowLimiter:
    """Counts each client's requests per rule; ``check`` admits a request or says how long to wait."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._rules = limits.rules()
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], deque[float]] = {}

    def check(self, client_ip: str, path: str) -> int | None:
        """None when the request may pass (it is then counted), else the whole seconds until it may."""
        now = self._clock()
        horizon = now - self.limits.window_seconds
        applicable = [rule for rule in self._rules if rule.applies_to(path)]
        with self._lock:
            for rule in applicable:
                seen = self._seen.get((rule.name, client_ip))
                if seen is None:
                    continue
                while seen and seen[0] <= horizon:
                    seen.popleft()
                if len(seen) >= rule.limit:
                    return max(1, math.ceil(seen[0] - horizon))
            for rule in applicable:
                self._seen.setdefault((rule.name, client_ip), deque()).append(now)
        return None


def add_rate_limit_arguments(parser: argparse.ArgumentParser) -> None:
    """The WAF rate rules' limits the gateway applies; the defaults are the dev stack's."""
    defaults = RateLimits()
    parser.add_argument("--rate-limit-per-ip", type=int, default=defaults.per_ip, help="requests per window")
    parser.add_argument(
        "--auth-rate-limit-per-ip", type=int, default=defaults.auth_per_ip, help="/auth/* requests per window"
    )


def rate_limits_of(args: argparse.Namespace) -> RateLimits:
    return RateLimits(per_ip=args.rate_limit_per_ip, auth_per_ip=args.auth_rate_limit_per_ip)
