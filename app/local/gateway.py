"""The local gateway: one origin (http://127.0.0.1:8080) standing in for API Gateway and CloudFront.

Routes, as on AWS:
- ``/auth/*``: the user service's Lambda handler, called in-process with REST proxy events.
  The outbox lives here, outside the handler: codes Cognito would email are issued, printed
  and checked locally (moto accepts any code), and ``resend`` is answered here (moto lacks it).
- ``/api/*``: the backend; ``/events/*``: the progress instances (round-robin, streamed);
  ``/_s3/*``: the emulated S3 as a browser sees S3: presigned uploads only, verified here
  (``app.local.s3_gate``; the emulator checks no POST policy or presigned signature).
- ``/media/g/<grant>/<key>``: a media object of one video, for the holder of a grant for it
  that the video's revocation epoch does not cut. The epochs are CloudFront's KeyValueStore
  here: kept in this worker's memory, written by the backend as notices signed with the ticket
  key (``POST /_local/revocations``, app/backend/revocations.py).
- ``/``: the web app's static files; ``GET /_local/outbox?email=``: the mail, newest first.

Every request the web ACL would see on AWS first passes its rate-based rules
(``app.local.rate_limit``): too many from one client IP is a 429 in the shared error shape
with ``Retry-After``; every answer CloudFront would give carries the security headers its
response headers policies add (``app.contracts.security_headers``: only ``/embed.html`` may be
framed). ``/_s3`` (browsers upload straight to S3 on AWS, past CloudFront) and the local-only
``/_local`` routes are not behind CloudFront, so they are neither counted nor given the headers.

``python -m app.local.gateway_serve`` runs it under gunicorn with one gevent worker: the
outbox and the rate counts are in that worker's memory, and gevent keeps any number of
streams flowing at once.
"""

from __future__ import annotations

import itertools
import json
import logging
import mimetypes
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from flask import Blueprint, Flask, Response, current_app, request, send_from_directory
from pydantic import ValidationError

from app.contracts import bounded_json, logs, security_headers
from app.contracts.rate_limits import RATE_LIMITED_CODE, RATE_LIMITED_MESSAGE, RateLimits
from app.contracts.settings import UserServiceSettings, load
from app.contracts.tickets import (
    MEDIA_GRANT_MAX_SECONDS,
    TicketError,
    load_key,
    verify_media_grant,
    verify_revocation_notice,
)
from app.local.apigw import proxy_event, to_response
from app.local.gateway_credentials import stand_in_session
from app.local.outbox import CodeRejected, Outbox, Purpose
from app.local.provision import LOCAL_REGION
from app.local.proxy import Upstream
from app.local.rate_limit import SlidingWindowLimiter
from app.local.s3_gate import S3Gate
from app.serving import answer_in_the_error_shape, error_response
from app.users.handler import COGNITO_ERRORS, Confirmation, EmailOnly, PasswordReset, handler, resolver

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
AUTH_RESOURCE = "/auth/{proxy+}"
MEDIA_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".vtt": "text/vtt",
}
# Paths that on AWS do not pass CloudFront (nor its web ACL): uploads go to S3 directly; /_local is local-only.
NOT_BEHIND_THE_EDGE = ("/_s3", "/_local/")
mimetypes.add_type("text/javascript", ".mjs")
LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class RevocationEpochs:
    """The local stand-in for the media edge's KeyValueStore: each video's ``revoked-before`` epoch.

    Epochs older than the longest grant cut nothing any more and are dropped, as on AWS.
    """

    epochs: dict[uuid.UUID, int] = field(default_factory=dict)

    def record(self, video_id: uuid.UUID, revoked_before_ms: int) -> None:
        cutoff = time.time_ns() // 1_000_000 - MEDIA_GRANT_MAX_SECONDS * 1000
        for stale in [video for video, epoch in self.epochs.items() if epoch < cutoff]:
            del self.epochs[stale]
        self.epochs[video_id] = max(revoked_before_ms, self.epochs.get(video_id, revoked_before_ms))

    def revoked_before(self, video_id: uuid.UUID) -> int | None:
        return self.epochs.get(video_id)


@dataclass
class Gateway:
    """Everything the routes need, built once per worker."""

    users: UserServiceSettings
    lambda_handler: LambdaHandler
    cognito: Any
    s3: Any
    ticket_key: bytes
    backend_url: str
    progress_urls: list[str]
    s3_gate: S3Gate
    media_bucket: str
    web_dir: Path = WEB_DIR
    outbox: Outbox = field(default_factory=Outbox)
    upstream: Upstream = field(default_factory=Upstream)
    # The dev stack's limits: its config keeps RateLimits' defaults (tests/infra/test_edge_protection.py).
    rate_limiter: SlidingWindowLimiter = field(default_factory=lambda: SlidingWindowLimiter(RateLimits()))
    revocations: RevocationEpochs = field(default_factory=RevocationEpochs)

    def __post_init__(self) -> None:
        if not self.progress_urls:
            raise ValueError("the gateway needs at least one progress service URL")
        self._progress = itertools.cycle(self.progress_urls)
        self._progress_lock = threading.Lock()

    def next_progress_url(self) -> str:
        with self._progress_lock:
            return next(self._progress)


def _gateway() -> Gateway:
    gateway: Gateway = current_app.extensions["reelstack_gateway"]
    return gateway


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _rate_limited() -> Response | None:
    """The web ACL's rate-based rules, keyed by the client's own address (never a forwarded header)."""
    if request.path.startswith(NOT_BEHIND_THE_EDGE):
        return None
    wait = _gateway().rate_limiter.check(request.remote_addr or "", request.path)
    if wait is None:
        return None
    response = error_response(429, RATE_LIMITED_CODE, RATE_LIMITED_MESSAGE)
    response.headers["Retry-After"] = str(wait)
    return response


def _with_security_headers(response: Response) -> Response:
    """The headers CloudFront's response headers policies add, HSTS aside (plain HTTP here)."""
    if not request.path.startswith(NOT_BEHIND_THE_EDGE):
        response.headers.update(security_headers.for_path(request.path).headers())
    return response


# -- /auth and the outbox ---------------------------------------------------------------------

auth = Blueprint("auth", __name__)


def _invoke_lambda(proxy: str) -> Response:
    gateway = _gateway()
    event = proxy_event(request, AUTH_RESOURCE, proxy)
    return to_response(gateway.lambda_handler(event, None))


def _json_body() -> Any:
    try:
        return bounded_json.loads(request.get_data(cache=True) or b"")
    except ValueError:
        return None


def _user_status(email: str) -> str | None:
    """The Cognito status of the account for ``email``, or None when there is none."""
    gateway = _gateway()
    try:
        user = gateway.cognito.admin_get_user(UserPoolId=gateway.users.user_pool_id, Username=email)
    except gateway.cognito.exceptions.UserNotFoundException:
        return None
    return str(user["UserStatus"])


# Routes whose code the outbox checks before the handler sees them, and routes that mail a code.
_CODE_CHECKED: dict[str, tuple[type[Confirmation] | type[PasswordReset], Purpose]] = {
    "confirm": (Confirmation, Purpose.CONFIRM),
    "reset": (PasswordReset, Purpose.RESET),
}
_MAILING = {"signup": Purpose.CONFIRM, "forgot": Purpose.RESET}


def _as_cognito_answers(cognito_code: str) -> Response:
    """The answer the handler gives when Cognito raises ``cognito_code``: the same on AWS and here."""
    status, code, message = COGNITO_ERRORS[cognito_code]
    return error_response(status, code, message)


@auth.route("/auth/<path:proxy>", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def auth_route(proxy: str) -> Response:
    if request.method != "POST":
        return _invoke_lambda(proxy)  # as API Gateway's ANY method does
    if proxy == "resend":
        return _resend()
    if proxy in _CODE_CHECKED:
        return _code_checked(proxy)
    response = _invoke_lambda(proxy)
    if response.status_code in (200, 201) and proxy in _MAILING:
        email = EmailOnly.model_validate(_json_body()).email
        # Cognito mails only existing accounts; forgot answers alike for unknown ones.
        if proxy == "signup" or _user_status(email) is not None:
            _gateway().outbox.issue(email, _MAILING[proxy])
    return response


def _code_checked(proxy: str) -> Response:
    model, purpose = _CODE_CHECKED[proxy]
    try:
        req = model.model_validate(_json_body())
    except ValidationError:
        return _invoke_lambda(proxy)  # the handler answers bad bodies in its own words
    outbox = _gateway().outbox
    try:
        mail = outbox.check(req.email, purpose, req.code)
    except CodeRejected as rejected:
        return _as_cognito_answers("ExpiredCodeException" if rejected.expired else "CodeMismatchException")
    response = _invoke_lambda(proxy)
    if response.status_code == 200:
        outbox.mark_used(mail)
    return response


def _resend() -> Response:
    body = _json_body()
    if body is None:
        return error_response(400, "malformed_json", "the request body is not valid JSON")
    try:
        email = EmailOnly.model_validate(body).email
    except ValidationError:
        return error_response(422, "validation_error", "the request body is not valid")
    status = _user_status(email)
    if status == "CONFIRMED":
        # What Cognito's ResendConfirmationCode raises for a confirmed account.
        return _as_cognito_answers("InvalidParameterException")
    if status is not None:
        _gateway().outbox.issue(email, Purpose.CONFIRM)
    return _json(200, {"sent": True})


@auth.get("/_local/outbox")
def outbox() -> Response:
    email = request.args.get("email", "").strip()
    if not email:
        return error_response(422, "validation_error", "give the address: /_local/outbox?email=...")
    return _json(200, [mail.as_json() for mail in _gateway().outbox.messages(email)])


@auth.get("/_local/health")
def health() -> Response:
    return _json(200, {"status": "ok"})


# -- reverse proxies ------------------------------------------------------------------------

proxies = Blueprint("proxies", __name__)
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@proxies.route("/api", defaults={"rest": ""}, methods=_METHODS)
@proxies.route("/api/<path:rest>", methods=_METHODS)
def api(rest: str) -> Response:
    return _gateway().upstream.forward(request, _gateway().backend_url, request.path)


@proxies.route("/events/<path:rest>", methods=_METHODS)
def events(rest: str) -> Response:
    gateway = _gateway()
    return gateway.upstream.forward(request, gateway.next_progress_url(), request.path, stream_timeout=True)


@proxies.route("/_s3/", defaults={"rest": ""}, methods=_METHODS, strict_slashes=False)
@proxies.route("/_s3/<path:rest>", methods=_METHODS)
def s3(rest: str) -> Response:
    return _gateway().s3_gate.handle(request, request.path.removeprefix("/_s3"))


# -- media ----------------------------------------------------------------------------------

media = Blueprint("media", __name__)


@media.get("/media/g/<grant>/<path:key>")
def media_object(grant: str, key: str) -> Response:
    gateway = _gateway()
    parts = key.split("/")
    try:
        if len(parts) < 3 or parts[0] != "videos" or ".." in parts:
            raise ValueError(key)
        video_id = uuid.UUID(parts[1])
    except ValueError:
        return error_response(404, "not_found", "no such media object")
    try:
        verify_media_grant(
            gateway.ticket_key,
            grant,
            video_id,
            revoked_before_ms=gateway.revocations.revoked_before(video_id),
        )
    except TicketError as exc:
        return error_response(403, "forbidden", str(exc))
    # Byte ranges pass through to S3, as CloudFront forwards them (players seek in MP4 this way).
    byte_range = request.headers.get("Range")
    try:
        obj = gateway.s3.get_object(
            Bucket=gateway.media_bucket, Key=key, **({"Range": byte_range} if byte_range else {})
        )
    except ClientError as exc:
        error = exc.response.get("Error", {}).get("Code")
        if error in ("NoSuchKey", "404"):
            return error_response(404, "not_found", "no such media object")
        if error == "InvalidRange":
            return error_response(416, "invalid_range", f"the range {byte_range!r} is outside the object")
        raise
    suffix = Path(key).suffix.lower()
    headers = {
        "Content-Type": MEDIA_TYPES.get(suffix) or obj.get("ContentType") or "application/octet-stream",
        "Content-Length": str(obj["ContentLength"]),
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=60",
    }
    if "ContentRange" in obj:
        headers["Content-Range"] = obj["ContentRange"]
    # CloudFront passes the object's stored Content-Disposition on (the MP4 download's "attachment").
    if obj.get("ContentDisposition"):
        headers["Content-Disposition"] = obj["ContentDisposition"]

    stream = obj["Body"]
    status = 206 if "ContentRange" in obj else 200
    response = Response(stream.iter_chunks(64 * 1024), status=status, headers=headers)
    # Closed on every ending, a HEAD request (whose body is never read) and a client gone mid-way included.
    response.call_on_close(stream.close)
    return response


@media.post("/_local/revocations")
def revoke_grants() -> Response:
    """The backend cuts a video's grants (CloudFront KeyValueStore's UpdateKeys, on AWS)."""
    gateway = _gateway()
    try:
        video_id, revoked_before_ms = verify_revocation_notice(
            gateway.ticket_key, request.get_data(as_text=True)
        )
    except TicketError as exc:
        return error_response(403, "forbidden", str(exc))
    gateway.revocations.record(video_id, revoked_before_ms)
    return Response(status=204)


# -- static web app -------------------------------------------------------------------------

web = Blueprint("web", __name__)


@web.get("/", defaults={"path": "index.html"})
@web.get("/<path:path>")
def static_file(path: str) -> Response:
    web_dir = _gateway().web_dir
    if not (web_dir / "index.html").is_file():
        return error_response(404, "not_found", f"no web app at {web_dir}")
    return send_from_directory(web_dir, path, max_age=0)


def create_app(gateway: Gateway) -> Flask:
    app = Flask(__name__)
    app.extensions["reelstack_gateway"] = gateway
    app.before_request(_rate_limited)
    app.after_request(_with_security_headers)
    for blueprint in (auth, proxies, media, web):
        app.register_blueprint(blueprint)

    answer_in_the_error_shape(app, unexpected="the local gateway failed; see its log")
    return app


def build(
    *,
    backend_url: str,
    progress_urls: list[str],
    s3_endpoint_url: str,
    media_bucket: str,
    ticket_secret_arn: str,
    web_dir: Path = WEB_DIR,
    s3_signers: Sequence[Credentials] = (),
    s3_credentials: Credentials | None = None,
    rate_limits: RateLimits | None = None,
) -> Flask:
    """The gateway as ``reelstack up`` runs it: settings from the environment, clients made once.

    ``s3_signers``: whose presigned uploads ``/_s3`` honours (default: this process's
    credentials); ``s3_credentials``: what it forwards them with (default: the same);
    ``rate_limits``: the WAF rate rules' limits (default: the dev stack's).
    """
    users = load(UserServiceSettings)
    # The handler's cold start configures logging for a Lambda; do it first, then log as the gateway.
    resolver()
    logs.configure("gateway", users.log_level)
    own = stand_in_session()  # CloudFront's and Cognito's part (gateway_credentials.py)
    own_credentials = own.get_credentials()
    if own_credentials is None:
        raise RuntimeError("the gateway has no AWS credentials; `reelstack up` sets them in its environment")
    upstream = Upstream()
    gateway = Gateway(
        users=users,
        lambda_handler=handler,
        cognito=own.client("cognito-idp"),
        s3=own.client("s3"),
        ticket_key=load_key(own.client("secretsmanager"), ticket_secret_arn),
        backend_url=backend_url,
        progress_urls=progress_urls,
        s3_gate=S3Gate(
            endpoint_url=s3_endpoint_url,
            signers=list(s3_signers) or [own_credentials],
            credentials=s3_credentials or own_credentials,
            region=own.region_name or LOCAL_REGION,
            upstream=upstream,
        ),
        media_bucket=media_bucket,
        web_dir=web_dir,
        upstream=upstream,
        rate_limiter=SlidingWindowLimiter(rate_limits or RateLimits()),
    )
    return create_app(gateway)
