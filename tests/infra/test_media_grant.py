"""The CloudFront function guarding ``/media/*``, run in Node against grants the backend issues.

The function's code comes from the synthesized graph, and the grants from
``app/contracts/tickets.py``, so both sides of the contract are the real ones. Node is
the one Playwright ships (a pinned test dependency); ``cloudfront`` (the KeyValueStore
module CloudFront provides) is a small stand-in holding the key.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import jwt
import pytest
from playwright._impl._driver import compute_driver_executable

from app.contracts.names import caption_key_prefix
from app.contracts.tickets import issue_events_ticket, issue_media_grant, revocation_key
from infra.distribution import GRANT_KEY_NAME
from pulumi_offline.graph import Graph

KEY = b"k" * 48
VIDEO = uuid.UUID("0b8f4c8e-5d1e-4b3f-9a6e-2f1c3d4e5f60")
OTHER = uuid.UUID("7d0c1f2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f")
TASK = uuid.UUID("11111111-2222-4333-8444-555555555555")
OBJECT = f"/videos/{VIDEO}/{TASK}/hls/720p/segment_00001.ts"
# What app/backend/captions.py writes under the video's captions prefix.
CAPTION_FILES = [
    f"/{caption_key_prefix(VIDEO)}{name}"
    for name in ("en-US-0123456789abcdef.vtt", "en-US-0123456789abcdef.m3u8", "master-0123456789abcdef.m3u8")
]

# CloudFront's module as documented: get() rejects for a missing key, exists() answers a boolean
# (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-custom-methods.html).
CLOUDFRONT_STANDIN = """
const store = JSON.parse(process.env.STORE);
export default {
  kvs: () => ({
    get: async (name) => {
      if (!(name in store)) throw new Error('no such key ' + name);
      return store[name];
    },
    exists: async (name) => name in store,
  }),
};
"""
RUNNER = """
import { handler } from './function.mjs';
const results = {};
for (const [label, uri] of Object.entries(JSON.parse(process.argv[2]))) {
  const out = await handler({ request: { method: 'GET', uri, querystring: {}, headers: {} } });
  results[label] = out.statusCode ? { status: out.statusCode } : { uri: out.uri };
}
console.log(JSON.stringify(results));
"""


def _grant(video: uuid.UUID = VIDEO, key: bytes = KEY, ttl: int = 300) -> str:
    return issue_media_grant(key, video_id=video, ttl_seconds=ttl)


def _object(video: uuid.UUID) -> str:
    return f"/videos/{video}/{TASK}/hls/720p/segment_00001.ts"


def _issued_ms(grant: str) -> int:
    return round(jwt.decode(grant, options={"verify_signature": False})["iat"] * 1000)


def revocation_cases() -> tuple[dict[str, str], dict[str, str]]:
    """Grants of videos with a revocation epoch, and the store holding those epochs."""
    uris: dict[str, str] = {}
    store: dict[str, str] = {}
    for label, offset_ms in [("issued_before_epoch", 1), ("issued_at_epoch", 0), ("issued_after_epoch", -1)]:
        video = uuid.uuid4()
        grant = _grant(video)
        store[revocation_key(video)] = str(_issued_ms(grant) + offset_ms)
        uris[label] = f"/media/g/{grant}{_object(video)}"
    garbled = uuid.uuid4()
    store[revocation_key(garbled)] = "not-a-time"
    uris["epoch_garbled"] = f"/media/g/{_grant(garbled)}{_object(garbled)}"
    return uris, store


def cases() -> dict[str, str]:
    """Issued when the function runs: grants made at collection time expire in a long session."""
    return {
        "valid": f"/media/g/{_grant()}{OBJECT}",
        "no_grant": f"/media{OBJECT}",
        "other_video": f"/media/g/{_grant(OTHER)}{OBJECT}",
        "forged": f"/media/g/{_grant(key=b'x' * 48)}{OBJECT}",
        "expired": f"/media/g/{_grant(ttl=-10)}{OBJECT}",
        "events_ticket": "/media/g/"
        + issue_events_ticket(KEY, user_id="u", video_id=VIDEO, snapshot={}, ttl_seconds=300)
        + OBJECT,
        "outside_videos": f"/media/g/{_grant()}/index.html",
        "garbage": f"/media/g/a.b.c{OBJECT}",
        "climbs_out": f"/media/g/{_grant()}/videos/{VIDEO}/../{OTHER}/{TASK}/master.m3u8",
        **{f"caption_file_{i}": f"/media/g/{_grant()}{key}" for i, key in enumerate(CAPTION_FILES)},
        "other_videos_captions": f"/media/g/{_grant(OTHER)}{CAPTION_FILES[0]}",
    }


@pytest.fixture(scope="module")
def answers(prod: Graph, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    code = prod.one("aws:cloudfront/function:Function", "site-media-grant").inputs["code"]
    root: Path = tmp_path_factory.mktemp("cloudfront-function")
    (root / "function.mjs").write_text(code + "\nexport { handler };\n")
    (root / "run.mjs").write_text(RUNNER)
    standin = root / "node_modules" / "cloudfront"
    standin.mkdir(parents=True)
    (standin / "package.json").write_text('{"name": "cloudfront", "type": "module", "main": "index.js"}')
    (standin / "index.js").write_text(CLOUDFRONT_STANDIN)
    node, _ = compute_driver_executable()
    revocations, epochs = revocation_cases()
    done = subprocess.run(
        [node, "run.mjs", json.dumps({**cases(), **revocations})],
        cwd=root,
        env={"STORE": json.dumps({GRANT_KEY_NAME: KEY.decode(), **epochs})},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, dict[str, object]] = json.loads(done.stdout)
    return result


def test_a_valid_grant_reads_the_object_under_its_bucket_key(answers: dict[str, dict[str, object]]) -> None:
    assert answers["valid"] == {"uri": OBJECT}


def test_a_grant_reads_its_videos_caption_files(answers: dict[str, dict[str, object]]) -> None:
    """Captions (issue 17, item 2): the tracks, their playlists and the master playlist listing
    them live under the video's prefix, so the media edge serves them under its grant, as S3
    keys of their own."""
    assert [answers[f"caption_file_{i}"] for i in range(len(CAPTION_FILES))] == [
        {"uri": key} for key in CAPTION_FILES
    ]


@pytest.mark.parametrize(
    "case",
    [
        "other_videos_captions",
        "no_grant",
        "other_video",
        "forged",
        "expired",
        "events_ticket",
        "outside_videos",
        "garbage",
        "climbs_out",
    ],
)
def test_media_without_a_valid_grant_for_that_video_is_forbidden(
    case: str, answers: dict[str, dict[str, object]]
) -> None:
    assert answers[case] == {"status": 403}


def test_a_grant_issued_after_its_videos_revocation_epoch_plays(
    answers: dict[str, dict[str, object]],
) -> None:
    [(outcome, uri)] = answers["issued_after_epoch"].items()
    assert outcome == "uri" and str(uri).startswith("/videos/") and str(uri).endswith("/segment_00001.ts")


@pytest.mark.parametrize("case", ["issued_before_epoch", "issued_at_epoch", "epoch_garbled"])
def test_a_grant_issued_at_or_before_its_videos_revocation_epoch_is_forbidden(
    case: str, answers: dict[str, dict[str, object]]
) -> None:
    """The backend writes ``revoked-before:<video id>`` when a video is made private or deleted.

    CloudFront KeyValueStore limits the design respects
    (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/kvs-with-functions-create-s3-kvp.html):
    key 512 characters (``revoked-before:`` + a UUID is 51), value 1024 (a millisecond time is
    13), 5 MB in all: about 70,000 epochs, and the backend deletes those older than the longest
    grant (6 hours), which no unexpired grant can predate. A function reads one store
    (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/kvs-with-functions.html),
    so the epochs live beside the grant key. AWS states no propagation bound for updates;
    measured reports give seconds to low tens of seconds
    (https://oneuptime.com/blog/post/2026-02-12-cloudfront-keyvaluestore-edge-configuration/view),
    which is the "within seconds" a revocation takes at the edge.
    An unreadable epoch refuses: a revocation is never read as "none".
    """
    assert answers[case] == {"status": 403}


def test_the_function_reads_the_backends_ticket_key_from_its_key_value_store(prod: Graph) -> None:
    function_resource = prod.one("aws:cloudfront/function:Function", "site-media-grant")
    function = function_resource.inputs
    store = prod.one("aws:cloudfront/keyValueStore:KeyValueStore", "site-grant-key")
    entry = prod.one("aws:cloudfront/keyvaluestoreKey:KeyvaluestoreKey", "site-grant-key").inputs
    secret = prod.one("aws:secretsmanager/secretVersion:SecretVersion", "ticket-key").inputs
    assert function["runtime"] == "cloudfront-js-2.0"
    assert function["keyValueStoreAssociations"] == [entry["keyValueStoreArn"]]
    assert prod.component_of(store) == prod.component_of(function_resource)
    assert entry["key"] == GRANT_KEY_NAME
    assert entry["value"] == secret["secretString"]  # the key the backend signs grants with
