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

Content: every document may load scripts, styles, images and media from the site alone (the web
app, ``/media``, ``/api``, ``/events`` are one origin), plus the one inline script each page has
(its import map, allowed by hash), and may send data only to the site and to the uploads bucket
browsers put sources into. An injected ``<script>``, inline handler or ``style`` attribute, a
plug-in, a ``<base>`` rewrite or a form posting elsewhere is refused by the browser, whatever
text reached the page.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

EMBED_DOCUMENT = "embed.html"
"""The player's own document (``app/web/embed.html``), published at the web bucket's root."""
EMBED_PATH = f"/{EMBED_DOCUMENT}"
"""Its path on the site: the CloudFront cache behaviour's path pattern, the gateway's route."""
WEB_ROOT = Path(__file__).resolve().parents[1] / "web"
"""The web app's files (``app/web``), whose pages' inline scripts the policy allows by hash."""
PAGES = ("index.html", EMBED_DOCUMENT)


class _InlineScripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.inline: list[str] = []
        self._open: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and not any(name == "src" for name, _ in attrs):
            self._open = []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._open is not None:
            self.inline.append("".join(self._open))
            self._open = None


@cache
def inline_script_hashes(web_root: Path = WEB_ROOT) -> tuple[str, ...]:
    """CSP hash sources of the pages' inline scripts: SHA-256 of each script's exact text
    (CSP level 3, section 8.4, "Does element match source list for type and source?")."""
    found: set[str] = set()
    for page in PAGES:
        parser = _InlineScripts()
        parser.feed((web_root / page).read_text(encoding="utf-8"))
        for text in parser.inline:
            digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()
            found.add(f"'sha256-{digest}'")
    return tuple(sorted(found))


def csp_directives(policy: str) -> dict[str, str]:
    """A policy's directives by name (what a test or an operator reads back)."""
    return dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())


def upload_origin(uploads_bucket: str, region: str) -> str:
    """Where browsers put sources on AWS: the uploads bucket's Regional endpoint, virtual-hosted
    (the backend signs its upload URLs for it, ``app/backend/aws.py``)."""
    return f"https://{uploads_bucket}.s3.{region}.amazonaws.com"


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

    def content_security_policy(self, upload_to: str = "") -> str:
        """The policy; ``upload_to``: the origin sources are uploaded to, when not the site's own
        (``upload_origin``; locally the gateway's ``/_s3`` is on the site)."""
        directives = {
            "default-src": "'self'",
            "script-src": " ".join(("'self'", *inline_script_hashes())),
            "style-src": "'self'",
            "img-src": "'self' data:",  # data: for the pages' empty favicon
            # hls.js plays through Media Source blob: URLs and stubs subtitle tracks with data:,WEBVTT
            "media-src": "'self' blob: data:",
            "connect-src": " ".join(filter(None, ("'self'", upload_to))),
            "object-src": "'none'",
            "base-uri": "'none'",
            "form-action": "'self'",
            "frame-ancestors": self.frame_ancestors,
        }
        return "; ".join(f"{name} {sources}" for name, sources in directives.items())

    def headers(self, upload_to: str = "") -> dict[str, str]:
        """As HTTP headers, HSTS aside (``STRICT_TRANSPORT_SECURITY``, HTTPS origins only)."""
        headers = {
            "Content-Security-Policy": self.content_security_policy(upload_to),
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
