"""One definition of the per-client rate limits, shared by the edge's web ACL and the local gateway.

The stack config fills ``RateLimits`` (``reelstack:rateLimitPerIp``, ``authRateLimitPerIp``,
``rateLimitWindowSeconds``) and the ``EdgeProtection`` component turns it into AWS WAF
rate-based rules; ``reelstack up`` gives the local gateway the same ``RateLimits`` (the dev
stack's, which are the defaults here), and it applies the same rules in the same order.

The numbers are what AWS WAF counts: requests from one client IP address within a trailing
evaluation window. AWS WAF takes a limit of 10 or more (up to 2,000,000,000) and a window of
60, 120, 300 or 600 seconds
(https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html).
"""

from dataclasses import dataclass

WAF_MINIMUM_LIMIT = 10
WAF_MAXIMUM_LIMIT = 2_000_000_000
WAF_EVALUATION_WINDOWS_SECONDS = (60, 120, 300, 600)
AUTH_PATH_PREFIX = "/auth/"
RATE_LIMITED_CODE = "rate_limited"
RATE_LIMITED_MESSAGE = "too many requests from this address; retry after the time in Retry-After"


@dataclass(frozen=True)
class RateRule:
    """One rate-based rule: at most ``limit`` requests per client IP in the window, on ``path_prefix``."""

    name: str
    limit: int
    path_prefix: str | None
    """Only requests whose path starts with this count (WAF: a scope-down statement); None: all."""

    def applies_to(self, path: str) -> bool:
        return self.path_prefix is None or path.startswith(self.path_prefix)


@dataclass(frozen=True)
class RateLimits:
    """Requests per client IP address per window, for the whole site and, stricter, for ``/auth/*``."""

    per_ip: int = 2000
    """All requests of one IP address (pages, media, API, auth) per window."""
    auth_per_ip: int = 300
    """Requests of one IP address to ``/auth/*`` (login, signup, reset, ...) per window: brute force."""
    window_seconds: int = 300
    """The evaluation window: how far back each count looks."""

    def __post_init__(self) -> None:
        for key, limit in (("rateLimitPerIp", self.per_ip), ("authRateLimitPerIp", self.auth_per_ip)):
            if not WAF_MINIMUM_LIMIT <= limit <= WAF_MAXIMUM_LIMIT:
                raise ValueError(
                    f"reelstack:{key} {limit} is outside what AWS WAF accepts "
                    f"({WAF_MINIMUM_LIMIT} to {WAF_MAXIMUM_LIMIT:,} requests per window)"
                )
        if self.auth_per_ip > self.per_ip:
            raise ValueError(
                f"reelstack:authRateLimitPerIp {self.auth_per_ip} is above reelstack:rateLimitPerIp "
                f"{self.per_ip}: /auth/* requests count toward both, so the stricter limit must be lower"
            )
        if self.window_seconds not in WAF_EVALUATION_WINDOWS_SECONDS:
            raise ValueError(
                f"reelstack:rateLimitWindowSeconds {self.window_seconds} is not an AWS WAF evaluation "
                f"window; choose one of {', '.join(map(str, WAF_EVALUATION_WINDOWS_SECONDS))}"
            )

    def rules(self) -> tuple[RateRule, ...]:
        """The rate rules in evaluation order: the stricter ``/auth/*`` rule first."""
        return (
            RateRule("auth-rate", self.auth_per_ip, AUTH_PATH_PREFIX),
            RateRule("ip-rate", self.per_ip, None),
        )
