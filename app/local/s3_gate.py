"""The local gateway's ``/_s3/*``: only what a browser may do on S3, verified as S3 verifies it.

On AWS the browser talks to S3 itself, and S3 lets an anonymous caller do nothing on a private
bucket but the two things the backend signs for it: a presigned POST (a form whose signed
policy bounds the key, the size and the type) and a presigned UploadPart (a query-string
signed PUT of one part of a multipart upload). The emulator checks neither a POST policy nor
a presigned signature, and under IAM enforcement it answers presigned requests with a 500, so
this gate does S3's part:

- a POST form: the SigV4 fields, the signature over the base64 policy with the signing key of
  the signer named in ``x-amz-credential``, the expiration, every condition (``eq``,
  ``starts-with``, ``content-length-range`` on the file's real size, counted as it streams in
  and refused at the limit), and that every form field is covered by a condition;
- an UploadPart: the query-string SigV4 signature (recomputed with botocore's own signer),
  its expiry, and S3's 5 GiB part limit;
- anything else is refused as S3 refuses an anonymous request to a private bucket.

Refusals are S3's XML errors (the web app reads ``Error > Code``). An accepted upload is sent
on to the emulator signed with the gateway's own credentials, never the browser's.

AWS's rules: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-authentication-HTTPPOST.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html (part and object limits).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4Auth, S3SigV4PostAuth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials, ReadOnlyCredentials
from flask import Request, Response
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from app.local.provision import LOCAL_REGION
from app.local.proxy import CHUNK_BYTES, Upstream, body_chunks

ALGORITHM = "AWS4-HMAC-SHA256"
# "The form data and boundaries (excluding the contents of the file) cannot exceed 20KB."
MAX_PRE_DATA_BYTES = 20 * 1024
# "Part size: 5 MiB to 5 GiB" (qfacts); 5 GiB is also the most a single PUT may carry, and no
# POST policy may allow more.
MAX_UPLOAD_BYTES = 5 * 1024**3
# X-Amz-Expires: at most seven days, 604800 seconds (sigv4-query-string-auth).
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
# Fields no POST policy condition needs to cover (besides names with the x-ignore- prefix).
UNCOVERED_FIELDS = frozenset({"x-amz-signature", "file", "policy"})
# The signer's authentication; S3 consumes these, they are not the object's.
AUTH_FIELDS = frozenset(
    {"policy", "x-amz-signature", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-security-token"}
)
_SPOOL_MEMORY_BYTES = 1024**2
_PRE_DATA_READ_BYTES = 4 * 1024  # small reads before the file, so the pre-data limit holds closely
_UNSIGNED_PAYLOAD = Config(s3={"payload_signing_enabled": False})


class S3Refusal(Exception):
    """An answer S3 gives instead of doing the request: status, code, message, extra elements."""

    def __init__(self, status: int, code: str, message: str, **elements: object) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.elements = elements

    def response(self) -> Response:
        extra = "".join(f"<{name}>{escape(str(value))}</{name}>" for name, value in self.elements.items())
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>{extra}"
            f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
        )
        return Response(body, status=self.status, content_type="application/xml")


def access_denied() -> S3Refusal:
    return S3Refusal(403, "AccessDenied", "Access Denied")


def _policy_refusal(reason: str) -> S3Refusal:
    return S3Refusal(403, "AccessDenied", f"Invalid according to Policy: {reason}")


def _invalid_policy(reason: str) -> S3Refusal:
    return S3Refusal(400, "InvalidPolicyDocument", f"Invalid Policy: {reason}")


def _missing_field(name: str) -> S3Refusal:
    return S3Refusal(
        400,
        "InvalidArgument",
        f"Bucket POST must contain a field named '{name}'.  If it is specified, please check the order of the fields.",
        ArgumentName=name,
        ArgumentValue="",
    )


# -- credentials ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """``<access key>/<yyyymmdd>/<region>/<service>/aws4_request``, as a SigV4 credential names it."""

    access_key: str
    date: str
    region: str
    service: str

    @classmethod
    def parse(cls, credential: str, region: str) -> Scope:
        parts = credential.split("/")
        if len(parts) != 5 or not parts[0] or len(parts[1]) != 8 or parts[4] != "aws4_request":
            raise S3Refusal(
                400,
                "InvalidArgument",
                'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
                ArgumentName="X-Amz-Credential",
                ArgumentValue=credential,
            )
        scope = cls(*parts[:4])
        if scope.region != region:
            raise S3Refusal(
                400,
                "InvalidArgument",
                f"the region '{scope.region}' is wrong; expecting '{region}'",
                ArgumentName="X-Amz-Credential",
                ArgumentValue=credential,
                Region=region,
            )
        if scope.service != "s3":
            raise S3Refusal(
                400,
                "InvalidArgument",
                f'incorrect service "{scope.service}". This endpoint belongs to "s3".',
                ArgumentName="X-Amz-Credential",
                ArgumentValue=credential,
            )
        return scope


def _frozen(credentials: Credentials | ReadOnlyCredentials) -> ReadOnlyCredentials:
    if isinstance(credentials, ReadOnlyCredentials):
        return credentials
    return credentials.get_frozen_credentials()


def _same(expected: str, provided: str) -> bool:
    """Constant-time comparison of signatures (bytes: the provided one may be any text)."""
    return hmac.compare_digest(expected.encode(), provided.encode("utf-8", errors="replace"))


def _signature_mismatch(access_key: str, string_to_sign: str, provided: str) -> S3Refusal:
    return S3Refusal(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        AWSAccessKeyId=access_key,
        StringToSign=string_to_sign,
        SignatureProvided=provided,
    )


# How ``reelstack up`` tells the gateway whose presigned requests to honour: the signer's
# AWS_* credential variables under this prefix (the signer is the backend).
SIGNER_ENV_PREFIX = "REELSTACK_LOCAL_S3_SIGNER_"
_CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def signer_environment(signer_env: Mapping[str, str]) -> dict[str, str]:
    """The variables that hand the credentials of the environment ``signer_env`` to the gateway."""
    return {
        SIGNER_ENV_PREFIX + name.removeprefix("AWS_"): signer_env[name]
        for name in _CREDENTIAL_VARIABLES
        if signer_env.get(name)
    }


def signer_from_environment(environ: Mapping[str, str]) -> Credentials | None:
    """The signer's credentials ``signer_environment`` put in ``environ``; None if there are none."""
    access_key = environ.get(SIGNER_ENV_PREFIX + "ACCESS_KEY_ID")
    secret_key = environ.get(SIGNER_ENV_PREFIX + "SECRET_ACCESS_KEY")
    if not access_key or not secret_key:
        return None
    return Credentials(access_key, secret_key, environ.get(SIGNER_ENV_PREFIX + "SESSION_TOKEN") or None)


# -- the POST policy ------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One ``eq`` or ``starts-with`` condition over a form field (names compare case-insensitively)."""

    operation: str  # "eq" or "starts-with"
    name: str  # lower-case, without the "$"; "" when the policy forgot the "$" (never matches)
    value: str
    text: str  # as S3 quotes it in a refusal

    def holds(self, fields: Mapping[str, str]) -> bool:
        if not self.name or self.name not in fields:
            return False
        actual = fields[self.name]
        if self.operation == "eq":
            return actual == self.value
        if self.name == "content-type":
            # "Content-Types values for a starts-with condition that include commas are
            # interpreted as lists. Each value in the list must meet the condition".
            return all(part.strip().startswith(self.value) for part in actual.split(","))
        return actual.startswith(self.value)


@dataclass(frozen=True)
class PostPolicy:
    expiration: datetime
    conditions: tuple[Condition, ...]
    min_bytes: int
    max_bytes: int

    @classmethod
    def decode(cls, policy_b64: str) -> PostPolicy:
        """The policy document of a form's ``policy`` field; 400 InvalidPolicyDocument if it is none."""
        try:
            document = json.loads(base64.b64decode(policy_b64, validate=True).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError):
            raise _invalid_policy("invalid Base64 encoding.") from None
        except ValueError:
            raise _invalid_policy("Invalid JSON.") from None
        if not isinstance(document, dict):
            raise _invalid_policy("Invalid JSON.")
        for member in document:
            if member not in ("expiration", "conditions"):
                raise _invalid_policy(f"Unexpected: '{str(member).lower()}'")
        if "expiration" not in document:
            raise _invalid_policy("Policy missing expiration.")
        if "conditions" not in document:
            raise _invalid_policy("Policy missing conditions.")
        if not isinstance(document["conditions"], list):
            raise _invalid_policy("Invalid 'conditions' value: must be a List.")
        conditions: list[Condition] = []
        min_bytes, max_bytes = 0, MAX_UPLOAD_BYTES
        for item in document["conditions"]:
            if isinstance(item, list) and item and str(item[0]).lower() == "content-length-range":
                low, high = _length_range(item)
                min_bytes, max_bytes = max(min_bytes, low), min(max_bytes, high)
            else:
                conditions.append(_condition(item))
        return cls(_expiration(document["expiration"]), tuple(conditions), min_bytes, max_bytes)

    def check(self, fields: Mapping[str, str], now: datetime) -> None:
        """Expiration, each condition, and every field covered: S3's 403 for the first that fails.

        ``fields`` are the form's fields, names lower-case, ``${filename}`` expanded, with
        ``bucket`` the bucket of the URL.
        """
        if now > self.expiration:
            raise _policy_refusal("Policy expired.")
        for condition in self.conditions:
            if not condition.holds(fields):
                raise _policy_refusal(f"Policy Condition failed: {condition.text}")
        covered = {condition.name for condition in self.conditions}
        for name in fields:
            if name not in covered and name not in UNCOVERED_FIELDS and not name.startswith("x-ignore-"):
                raise _policy_refusal(f"Extra input fields: {name}")


def _expiration(value: object) -> datetime:
    for layout in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(str(value), layout).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise _invalid_policy(f"Invalid 'expiration' value: '{value}'")


def _condition(item: object) -> Condition:
    if isinstance(item, dict):
        if len(item) != 1:
            raise _invalid_policy(
                "Invalid Simple-Condition: Simple-Conditions must have exactly one property specified."
            )
        [(name, value)] = item.items()
        if not isinstance(value, str):
            raise _invalid_policy("Invalid Simple-Condition: value must be a string.")
        text = json.dumps(["eq", f"${name}", value])
        return Condition("eq", str(name).lower(), value, text)
    if not isinstance(item, list):
        raise _invalid_policy("Invalid condition test: must be a List or Object.")
    if not item:
        raise _invalid_policy("Invalid Condition: missing operation identifier.")
    operation = str(item[0]).lower()
    if operation not in ("eq", "starts-with"):
        raise _invalid_policy(f"Invalid Condition: unknown operation '{item[0]}'.")
    if len(item) != 3:
        raise _invalid_policy(f"Invalid {operation}: wrong number of arguments.")
    if not all(isinstance(part, str) for part in item[1:]):
        raise _invalid_policy("Invalid JSON.")
    subject, value = item[1], item[2]
    name = subject[1:].lower() if subject.startswith("$") else ""
    return Condition(operation, name, value, json.dumps(item))


def _length_range(item: list[Any]) -> tuple[int, int]:
    if len(item) != 3:
        raise _invalid_policy("Invalid content-length-range: wrong number of arguments.")
    try:
        low, high = (int(bound) for bound in item[1:])
    except (TypeError, ValueError):
        raise _policy_refusal(f"Policy Condition failed: {json.dumps(item)}") from None
    if isinstance(item[1], float) or isinstance(item[2], float):
        raise _invalid_policy("Invalid JSON.")
    if low < 0 or high < low:
        raise _policy_refusal(f"Policy Condition failed: {json.dumps(item)}")
    return low, high


# -- reading the form -----------------------------------------------------------------------


@dataclass
class PostForm:
    """A POST form read up to its file: the fields before it (names lower-case) and the file's name.

    S3 ignores every field after the file, so the file's bytes are the last thing read.
    """

    fields: dict[str, str]
    filename: str | None
    _decoder: MultipartDecoder
    _stream: IO[bytes]
    _consumed: int = 0

    @classmethod
    def read(cls, request: Request) -> PostForm:
        mimetype, options = parse_options_header(request.headers.get("Content-Type", ""))
        if mimetype != "multipart/form-data":
            raise S3Refusal(
                412,
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
                Condition="Bucket POST must be of the enclosure-type multipart/form-data",
            )
        if not options.get("boundary"):
            raise _malformed_post()
        form = cls({}, None, MultipartDecoder(options["boundary"].encode("latin-1")), request.stream)
        form._read_fields()
        return form

    def _next(self, read_bytes: int, read_limit: int | None = None) -> Any:
        """The decoder's next event, reading ``read_bytes`` at a time (at most ``read_limit`` in all)."""
        while True:
            try:
                event = self._decoder.next_event()
            except ValueError:
                raise _malformed_post() from None
            if not isinstance(event, NeedData):
                return event
            if read_limit is not None and self._consumed >= read_limit:
                raise S3Refusal(
                    400,
                    "MaxPostPreDataLengthExceeded",
                    "Your POST request fields preceeding the upload file was too large.",
                    MaxPostPreDataLengthBytes=MAX_PRE_DATA_BYTES,
                )
            chunk = self._stream.read(read_bytes)
            self._consumed += len(chunk)
            self._decoder.receive_data(chunk or None)

    def _read_fields(self) -> None:
        name: str | None = None
        value = bytearray()
        while True:
            # Small reads until the file starts, so what was read bounds the fields closely.
            event = self._next(_PRE_DATA_READ_BYTES, read_limit=MAX_PRE_DATA_BYTES)
            if isinstance(event, (Field, File)):
                name = (event.name or "").lower()
                if name == "file":
                    if isinstance(event, File):
                        # Only the text after the last slash or backslash of a path is the name.
                        self.filename = event.filename.replace("\\", "/").rsplit("/", 1)[-1]
                    return
                value.clear()
            elif isinstance(event, Data) and name is not None:
                value += event.data
                if not event.more_data:
                    text = value.decode("utf-8", errors="replace")
                    # Fields sent twice count as one, their values joined by commas.
                    self.fields[name] = f"{self.fields[name]},{text}" if name in self.fields else text
            elif isinstance(event, Epilogue):
                raise S3Refusal(
                    400,
                    "InvalidArgument",
                    "POST requires exactly one file upload per request.",
                    ArgumentName="file",
                    ArgumentValue="0",
                )

    def copy_file(self, into: IO[bytes], max_bytes: int) -> int:
        """Copy the file's bytes into ``into``; stop, refused, as soon as there are more than ``max_bytes``."""
        size = 0
        while True:
            event = self._next(CHUNK_BYTES)
            if not isinstance(event, Data):
                continue
            size += len(event.data)
            if size > max_bytes:
                raise S3Refusal(
                    400,
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size",
                    MaxSizeAllowed=max_bytes,
                )
            into.write(event.data)
            if not event.more_data:
                return size


def _malformed_post() -> S3Refusal:
    return S3Refusal(
        400, "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data."
    )


# -- the gate -------------------------------------------------------------------------------


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class S3Gate:
    """Verifies browser requests as S3 would and forwards the accepted ones to ``endpoint_url``.

    ``signers``: the credentials whose presigned requests are honoured (the backend's; the gate
    learns their secrets as S3 knows its users'). ``credentials``: what the gate signs the
    forwarded requests with (its own, never the browser's).
    """

    endpoint_url: str
    signers: Sequence[Credentials | ReadOnlyCredentials]
    credentials: Credentials | ReadOnlyCredentials
    region: str = LOCAL_REGION
    upstream: Upstream = field(default_factory=Upstream)
    clock: Callable[[], datetime] = _utcnow

    def handle(self, request: Request, path: str) -> Response:
        """Answer ``request`` for ``path`` (``/<bucket>[/<key>]``, path-style) as S3 would."""
        try:
            return self._dispatch(request, path)
        except S3Refusal as refusal:
            return refusal.response()

    def _dispatch(self, request: Request, path: str) -> Response:
        bucket, _, key = path.lstrip("/").partition("/")
        signed_query = any(name.lower().startswith("x-amz-") for name in request.args)
        if request.method == "POST" and bucket and not key and not request.args:
            return self._post_object(request, bucket)
        if (
            request.method == "PUT"
            and key
            and signed_query
            and "partNumber" in request.args
            and "uploadId" in request.args
            and "Authorization" not in request.headers
        ):
            return self._upload_part(request, bucket, key)
        # Listing, reading, plain PUTs, deletes, other subresources: an anonymous caller gets
        # none of them on a private bucket, and the browser is handed no presigned URL for them.
        raise access_denied()

    def _signer(self, access_key: str) -> ReadOnlyCredentials:
        for signer in self.signers:
            frozen = _frozen(signer)
            if frozen.access_key == access_key:
                return frozen
        raise S3Refusal(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            AWSAccessKeyId=access_key,
        )

    @staticmethod
    def _check_token(signer: ReadOnlyCredentials, token: str | None) -> None:
        if (signer.token or None) != (token or None):
            raise S3Refusal(400, "InvalidToken", "The provided token is malformed or otherwise invalid.")

    # -- POST Object --------------------------------------------------------------------------

    def _post_object(self, request: Request, bucket: str) -> Response:
        form = PostForm.read(request)
        fields = form.fields
        if not any(name in fields for name in ("policy", "x-amz-signature", "x-amz-credential")):
            raise access_denied()  # an anonymous POST: only a publicly writable bucket takes it
        for name in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Signature", "Policy", "key"):
            if name.lower() not in fields:
                raise _missing_field(name)
        if fields["x-amz-algorithm"] != ALGORITHM:
            raise S3Refusal(
                400,
                "InvalidArgument",
                f'X-Amz-Algorithm only supports "{ALGORITHM}"',
                ArgumentName="X-Amz-Algorithm",
                ArgumentValue=fields["x-amz-algorithm"],
            )
        scope = Scope.parse(fields["x-amz-credential"], self.region)
        signer = self._signer(scope.access_key)
        # The string to sign is the base64 policy as sent; the key, the signer's for the scope's day.
        signing = AWSRequest()
        signing.context["timestamp"] = f"{scope.date}T000000Z"
        expected = S3SigV4PostAuth(signer, scope.service, scope.region).signature(fields["policy"], signing)
        if not _same(expected, fields["x-amz-signature"]):
            raise _signature_mismatch(scope.access_key, fields["policy"], fields["x-amz-signature"])
        self._check_token(signer, fields.get("x-amz-security-token"))
        policy = PostPolicy.decode(fields["policy"])
        if form.filename is not None:
            # "${filename}" is replaced by the uploaded file's name in every field before matching.
            fields = {name: value.replace("${filename}", form.filename) for name, value in fields.items()}
        policy.check({**fields, "bucket": bucket}, self.clock())
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY_BYTES) as spool:
            size = form.copy_file(spool, policy.max_bytes)
            if size < policy.min_bytes:
                raise S3Refusal(
                    400,
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed size",
                    ProposedSize=size,
                    MinSizeAllowed=policy.min_bytes,
                )
            spool.seek(0)
            stored = {
                name: value
                for name, value in fields.items()
                if name not in AUTH_FIELDS and name != "bucket" and not name.startswith("x-ignore-")
            }
            # The whole body is sent before the answer comes back, so the spool may close after.
            return self._forward_post(bucket, stored, form.filename, spool, size)

    def _forward_post(
        self, bucket: str, fields: Mapping[str, str], filename: str | None, spool: IO[bytes], size: int
    ) -> Response:
        boundary = f"reelstack-{secrets.token_hex(16)}"
        head = b"".join(
            _form_part(boundary, name, None) + value.encode("utf-8") + b"\r\n"
            for name, value in fields.items()
        )
        head += _form_part(boundary, "file", filename or "file")
        tail = f"\r\n--{boundary}--\r\n".encode()
        url = f"{self.endpoint_url.rstrip('/')}/{quote(bucket, safe='')}"
        headers = self._signed_headers("POST", url)
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        headers["Content-Length"] = str(len(head) + size + len(tail))
        return self.upstream.send("POST", url, headers, _form_body(head, spool, tail))

    # -- UploadPart ---------------------------------------------------------------------------

    def _upload_part(self, request: Request, bucket: str, key: str) -> Response:
        self._verify_presigned(request)
        length = request.content_length
        if length is None:
            raise S3Refusal(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
        if length > MAX_UPLOAD_BYTES:
            raise S3Refusal(
                400,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                ProposedSize=length,
                MaxSizeAllowed=MAX_UPLOAD_BYTES,
            )
        query = "&".join(
            f"{quote(name, safe='')}={quote(value, safe='')}"
            for name, value in request.args.items(multi=True)
            if not name.lower().startswith("x-amz-")
        )
        url = f"{self.endpoint_url.rstrip('/')}/{quote(bucket, safe='')}/{quote(key, safe='/~')}?{query}"
        headers = self._signed_headers("PUT", url)
        headers["Content-Length"] = str(length)
        return self.upstream.send("PUT", url, headers, body_chunks(request))

    def _verify_presigned(self, request: Request) -> None:
        """A query-string SigV4 signature, as S3 checks it: parameters, signer, signature, expiry."""
        args = request.args
        if args.get("X-Amz-Algorithm") != ALGORITHM:
            raise S3Refusal(
                400, "AuthorizationQueryParametersError", f'X-Amz-Algorithm only supports "{ALGORITHM}"'
            )
        required = (
            "X-Amz-Credential",
            "X-Amz-Signature",
            "X-Amz-Date",
            "X-Amz-SignedHeaders",
            "X-Amz-Expires",
        )
        if any(name not in args for name in required):
            raise S3Refusal(
                400,
                "AuthorizationQueryParametersError",
                "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
            )
        scope = Scope.parse(args["X-Amz-Credential"], self.region)
        try:
            signed_at = datetime.strptime(args["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise S3Refusal(
                400,
                "AuthorizationQueryParametersError",
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
            ) from None
        try:
            expires = int(args["X-Amz-Expires"])
        except ValueError:
            expires = -1
        if expires < 0:
            raise S3Refusal(400, "AuthorizationQueryParametersError", "X-Amz-Expires must be non-negative")
        if expires > MAX_PRESIGN_SECONDS:
            raise S3Refusal(
                400,
                "AuthorizationQueryParametersError",
                f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGN_SECONDS}",
            )
        signer = self._signer(scope.access_key)
        # Recompute with botocore's presigner over the request as the signer addressed it: the
        # same host, path and every query parameter but the signature, canonicalized by botocore.
        signed_names = args["X-Amz-SignedHeaders"].lower().split(";")
        signing = AWSRequest(
            method=request.method,
            url=f"{request.scheme}://{request.host}{quote(request.path, safe='/~')}",
            headers={name: request.headers.get(name, "") for name in signed_names},
            params=[(name, value) for name, value in args.items(multi=True) if name != "X-Amz-Signature"],
        )
        signing.context["timestamp"] = args["X-Amz-Date"]
        auth = S3SigV4QueryAuth(signer, scope.service, scope.region, expires=expires)
        string_to_sign = auth.string_to_sign(signing, auth.canonical_request(signing))
        provided = args["X-Amz-Signature"]
        if not _same(auth.signature(string_to_sign, signing), provided):
            raise _signature_mismatch(scope.access_key, string_to_sign, provided)
        self._check_token(signer, args.get("X-Amz-Security-Token"))
        now = self.clock()
        if now > signed_at + timedelta(seconds=expires):
            raise S3Refusal(
                403,
                "AccessDenied",
                "Request has expired",
                **{
                    "X-Amz-Expires": expires,
                    "Expires": (signed_at + timedelta(seconds=expires)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
            )

    # -- forwarding ---------------------------------------------------------------------------

    def _signed_headers(self, method: str, url: str) -> dict[str, str]:
        """The gate's own SigV4 headers for ``method url`` (payload unsigned: bodies stream)."""
        signing = AWSRequest(method=method, url=url)
        signing.context["client_config"] = _UNSIGNED_PAYLOAD
        S3SigV4Auth(_frozen(self.credentials), "s3", self.region).add_auth(signing)
        return dict(signing.headers.items())


def _form_part(boundary: str, name: str, filename: str | None) -> bytes:
    # Quotes and line breaks in names escaped as browsers do (WHATWG multipart/form-data encoding).
    def quoted(text: str) -> str:
        return text.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")

    disposition = f'form-data; name="{quoted(name)}"'
    if filename is not None:
        disposition += f'; filename="{quoted(filename)}"'
    return f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()


def _form_body(head: bytes, spool: IO[bytes], tail: bytes) -> Iterator[bytes]:
    yield head
    while chunk := spool.read(CHUNK_BYTES):
        yield chunk
    yield tail
