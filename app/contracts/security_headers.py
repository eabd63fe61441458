"""The security headers of every answer the site gives, in one place.

On AWS, CloudFront adds them (``SiteDistribution``'s response headers policies, one per kind of
document below, attached to the cache behaviours); locally the gateway adds the same values
(``app/local/gateway.py``). Neither writes a value of its own.

Framing (clickjacking): a page of the app inside another site's invisible iframe turns that
site's clicks into the viewer's "Delete", "Like" or "Save visibility". So nothing may frame the
app, except the embeddable player, which exists to be framed by any site. Every hash route of
the app shares ``index.html``, and a header cannot tell ``#/videos/<id>`` from anything else, so
the player has a document of its own, ``embed.html`` (the only answer that allows framing);
it loads the player's code alone, with no control that changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass

EMBED_DOCUMENT = "embed.html"
"""The player's own document (``app/web/embed.html``), published at the web bucket's root."""
EMBED_PATH = f"/{EMBED_DOCUMENT}"
"""Its path on the site: the CloudFront cache behaviour's path pattern, the gateway's route."""

CONTENT_TYPE_OPTIONS = "nosniff"
"""``X-Content-Type-Options``: a browser runs a script or applies a stylesheet only when its
Content-Type says it is one, never guessing from the bytes (an uploaded file stays data)."""
REFERRER_POLICY = "strict-origin-when-cross-origin"
"""``Referrer-Policy``: other sites learn the site's origin only, never a path or query."""


@dataclass(frozen=True)
class StrictTransportSecurity:
    """``Strict-Transport-Security``: the browser uses HTTPS only for the site from then on.

    Only an HTTPS origin may send it (RFC 6797, section 7.2), so CloudFront does and the local
    gateway, plain HTTP on 127.0.0.1, does not. ``preload`` stays off: the browsers' preload
    list is the domain owner's choice, made for the whole registrable domain.
    """

    max_age_seconds: int = 31_536_000  # one year
    include_subdomains: bool = True
    preload: bool = False

    @property
    def value(self) -> str:
        subdomains = "; includeSubDomains" if self.include_subdomains else ""
        return f"max-age={self.max_age_seconds}{subdomains}{'; preload' if self.preload else ''}"


STRICT_TRANSPORT_SECURITY = StrictTransportSecurity()


@dataclass(frozen=True)
class DocumentHeaders:
    """Who may frame a kind of answer, and the baseline headers every answer carries."""

    name: str
    """What the CloudFront response headers policy is called after (``<prefix>-<name>``)."""
    frame_ancestors: str
    """The CSP ``frame-ancestors`` sources: ``'none'`` (nobody) or ``*`` (any site)."""
    frame_options: str | None
    """``X-Frame-Options`` for browsers without CSP level 2; None: not sent (it has no value
    that allows every site, and a modern browser obeys ``frame-ancestors`` over it)."""

    @property
    def content_security_policy(self) -> str:
        return f"frame-ancestors {self.frame_ancestors}"

    def headers(self) -> dict[str, str]:
        """As HTTP headers, HSTS aside (``STRICT_TRANSPORT_SECURITY``, HTTPS origins only)."""
        headers = {
            "Content-Security-Policy": self.content_security_policy,
            "X-Content-Type-Options": CONTENT_TYPE_OPTIONS,
            "Referrer-Policy": REFERRER_POLICY,
        }
        if self.frame_options is not None:
            headers["X-Frame-Options"] = self.frame_options
        return headers


NO_FRAMING = DocumentHeaders(name="no-framing", frame_ancestors="'none'", frame_options="DENY")
"""Every answer but the embeddable player: the app, its assets, the API, media."""
ANY_SITE_MAY_FRAME = DocumentHeaders(name="embed", frame_ancestors="*", frame_options=None)
"""The embeddable player's document (``EMBED_PATH``) alone."""


def for_path(path: str) -> DocumentHeaders:
    """The headers of the answer to a request for ``path``, as CloudFront's behaviours choose them."""
    return ANY_SITE_MAY_FRAME if path == EMBED_PATH else NO_FRAMING
