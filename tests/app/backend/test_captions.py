"""Caption tracks over HTTP: stored as WebVTT beside the video's outputs, published as HLS
subtitle renditions, replaced and deleted by the owner only, refused with clear 4xx codes."""

from __future__ import annotations

import posixpath
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError
from flask import Flask
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.backend import captions, status_consumer
from app.backend.caption_files import parse_webvtt
from app.backend.context import EXTENSION
from app.backend.db import session_factory
from app.backend.models import CaptionTrack, Video
from app.backend.status_consumer import StatusConsumer
from app.contracts.messages import VideoState
from app.contracts.names import caption_key_prefix
from app.local.provision import client
from tests.app.backend.conftest import (
    Caller,
    Platform,
    post_at_once,
    put_master_playlist,
    ready_event,
    s3,
)

SRT = "1\n00:00:01,000 --> 00:00:03,500\nHello & welcome\n\n2\n00:00:04,000 --> 00:00:06,000\n<i>Bye</i>\n"
VTT = "WEBVTT\n\n00:00.500 --> 00:02.000\nBonjour\n"


def _put(platform: Platform, caller: Caller, video_id: str, language: str, **body: Any) -> Any:
    payload = {"label": "English", "format": "srt", "content": SRT, **body}
    return platform.http.put(
        f"/api/videos/{video_id}/captions/{language}", json=payload, headers=caller.headers
    )


def _object(platform: Platform, key: str) -> str:
    return str(
        s3(platform.resources)
        .get_object(Bucket=platform.resources.media_bucket, Key=key)["Body"]
        .read()
        .decode()
    )


def _exists(platform: Platform, key: str) -> bool:
    try:
        s3(platform.resources).head_object(Bucket=platform.resources.media_bucket, Key=key)
    except ClientError:
        return False
    return True


def _playback_key(platform: Platform, caller: Caller, video_id: str) -> str:
    url = platform.http.get(f"/api/videos/{video_id}", headers=caller.headers).json["playback_url"]
    return urlsplit(url).path.split("/g/", 1)[1].split("/", 1)[1]


def _consume_ready_event(platform: Platform, video_id: str, task_id: uuid.UUID) -> None:
    """The task's outputs stored and its ready event recorded by the status consumer."""
    event = ready_event(video_id, task_id, sequence=3)
    put_master_playlist(platform.resources, event)
    sqs = client("sqs", platform.resources.endpoint_url)
    queue = sqs.create_queue(QueueName=f"{platform.resources.names.prefix}-captions-{uuid.uuid4().hex[:8]}")[
        "QueueUrl"
    ]
    sqs.send_message(QueueUrl=queue, MessageBody=event.model_dump_json())
    consumer = StatusConsumer(
        sqs,
        queue,
        session_factory(platform.engine),
        s3=s3(platform.resources),
        media_bucket=platform.resources.media_bucket,
        sns=client("sns", platform.resources.endpoint_url),
        video_events_topic_arn=platform.resources.video_events_topic_arn,
        wait_seconds=0,
    )
    assert consumer.poll_once() == 1


def _attributes(tag_line: str) -> dict[str, str]:
    """An HLS attribute list (RFC 8216 section 4.2) as a dict, quotes removed."""
    attributes = tag_line.split(":", 1)[1]
    return {k: v.strip('"') for k, v in re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', attributes)}


def test_an_owners_srt_file_is_stored_as_webvtt_and_published_as_a_subtitles_rendition(
    platform: Platform, alice: Caller
) -> None:
    """RFC 8216 (https://www.rfc-editor.org/rfc/rfc8216) section 4.3.4.1: an EXT-X-MEDIA tag of
    TYPE=SUBTITLES with GROUP-ID, NAME, LANGUAGE (RFC 5646) and the URI of the rendition's media
    playlist; section 4.3.4.2: every EXT-X-STREAM-INF names the group in SUBTITLES; section 3.5:
    a WebVTT segment. Apple's "Delivering WebVTT subtitles and captions in HLS"
    (https://developer.apple.com/documentation/http-live-streaming/delivering-subtitles-and-captions)
    asks the same of the multivariant playlist. The playlist is parsed back and every URI resolved."""
    video_id = platform.ready(alice)
    transcoded = platform.row(video_id).master_playlist_key  # type: ignore[union-attr]
    answer = _put(platform, alice, video_id, "en-us", label="English (CC)")
    assert answer.status_code == 201, answer.json
    assert answer.json["language"] == "en-US"
    assert answer.json["label"] == "English (CC)"
    assert answer.json["cue_count"] == 2
    assert "/g/" in answer.json["url"]

    master_key = _playback_key(platform, alice, video_id)
    assert master_key != transcoded and master_key.startswith(caption_key_prefix(video_id))
    lines = _object(platform, master_key).splitlines()
    media = [_attributes(line) for line in lines if line.startswith("#EXT-X-MEDIA:")]
    assert media == [
        {
            "TYPE": "SUBTITLES",
            "GROUP-ID": "subs",
            "NAME": "English (CC)",
            "LANGUAGE": "en-US",
            "DEFAULT": "NO",
            "AUTOSELECT": "YES",
            "FORCED": "NO",
            "URI": media[0]["URI"],
        }
    ]
    variants = [i for i, line in enumerate(lines) if line.startswith("#EXT-X-STREAM-INF:")]
    assert len(variants) == 2
    assert all(_attributes(lines[i])["SUBTITLES"] == "subs" for i in variants)
    assert lines.index(next(line for line in lines if line.startswith("#EXT-X-MEDIA:"))) < variants[0]
    # Variant URIs, rebased, still name the transcoder's media playlists.
    here = posixpath.dirname(master_key)
    resolved = [posixpath.normpath(posixpath.join(here, lines[i + 1])) for i in variants]
    prefix = posixpath.dirname(transcoded)
    assert resolved == [f"{prefix}/720/index.m3u8", f"{prefix}/360/index.m3u8"]
    assert "SUBTITLES" not in _object(platform, transcoded)  # the transcoder's stays as it was

    subtitle_playlist = _object(platform, posixpath.join(here, media[0]["URI"]))
    assert subtitle_playlist.splitlines()[:6] == [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-TARGETDURATION:10",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXTINF:10.000,",
    ]
    assert subtitle_playlist.rstrip().endswith("#EXT-X-ENDLIST")
    vtt_name = subtitle_playlist.splitlines()[6]
    vtt = parse_webvtt(_object(platform, posixpath.join(here, vtt_name)))
    assert [(c.start_ms, c.end_ms, c.text) for c in vtt] == [
        (1000, 3500, "Hello &amp; welcome"),
        (4000, 6000, "<i>Bye</i>"),
    ]
    head = s3(platform.resources).head_object(
        Bucket=platform.resources.media_bucket, Key=posixpath.join(here, vtt_name)
    )
    assert head["ContentType"].startswith("text/vtt")

    listed = platform.http.get(f"/api/videos/{video_id}/captions", headers=alice.headers).json
    assert [(t["language"], t["label"]) for t in listed["items"]] == [("en-US", "English (CC)")]
    assert listed["max_bytes"] == captions.MAX_CAPTION_BYTES


def test_replacing_a_track_publishes_the_new_file_and_removes_the_old_ones(
    platform: Platform, alice: Caller
) -> None:
    video_id = platform.ready(alice)
    assert (
        _put(platform, alice, video_id, "fr", label="Français", format="vtt", content=VTT).status_code == 201
    )
    assert _put(platform, alice, video_id, "en").status_code == 201
    first_master = _playback_key(platform, alice, video_id)
    with Session(platform.engine) as session:
        old = session.get(CaptionTrack, (uuid.UUID(video_id), "en"))
        assert old is not None
        old_keys = (old.vtt_key, old.playlist_key)

    answer = _put(platform, alice, video_id, "EN", label="English", content=SRT.replace("Bye", "Goodbye"))
    assert answer.status_code == 200, answer.json
    master = _playback_key(platform, alice, video_id)
    assert master != first_master
    assert not _exists(platform, first_master)
    assert not any(_exists(platform, key) for key in old_keys)
    text = _object(platform, master)
    assert [
        _attributes(line)["LANGUAGE"] for line in text.splitlines() if line.startswith("#EXT-X-MEDIA:")
    ] == [
        "en",
        "fr",
    ]
    items = platform.http.get(f"/api/videos/{video_id}/captions", headers=alice.headers).json["items"]
    assert [t["language"] for t in items] == ["en", "fr"]


def test_deleting_the_last_track_plays_the_transcoders_playlist_again_and_removes_the_files(
    platform: Platform, alice: Caller
) -> None:
    video_id = platform.ready(alice)
    transcoded = _playback_key(platform, alice, video_id)
    assert _put(platform, alice, video_id, "de", label="Deutsch").status_code == 201
    captioned = _playback_key(platform, alice, video_id)
    assert (
        platform.http.delete(f"/api/videos/{video_id}/captions/de", headers=alice.headers).status_code == 204
    )
    assert _playback_key(platform, alice, video_id) == transcoded
    assert not _exists(platform, captioned)
    listing = s3(platform.resources).list_objects_v2(
        Bucket=platform.resources.media_bucket, Prefix=caption_key_prefix(video_id)
    )
    assert listing.get("KeyCount", 0) == 0
    gone = platform.http.delete(f"/api/videos/{video_id}/captions/de", headers=alice.headers)
    assert (gone.status_code, gone.json["error"]["code"]) == (404, "caption_not_found")


def test_a_deleted_video_takes_its_caption_files_with_it(platform: Platform, alice: Caller) -> None:
    video_id = platform.ready(alice)
    assert _put(platform, alice, video_id, "en").status_code == 201
    assert platform.http.delete(f"/api/videos/{video_id}", headers=alice.headers).status_code == 204
    listing = s3(platform.resources).list_objects_v2(
        Bucket=platform.resources.media_bucket, Prefix=f"videos/{video_id}/"
    )
    assert listing.get("KeyCount", 0) == 0


@pytest.mark.parametrize(
    ("language", "body", "status", "code"),
    [
        ("en_GB", {}, 422, "invalid_language"),
        ("en-US-x", {}, 422, "invalid_language"),
        ("en", {"content": "1\n00:00:01,000 -> 00:00:02,000\nx\n"}, 422, "caption_invalid"),
        ("en", {"format": "vtt"}, 422, "caption_invalid"),
        (
            "en",
            {"content": "1\n00:00:01,000 --> 00:00:02,000\n" + "x" * (captions.MAX_CAPTION_BYTES + 1)},
            413,
            "caption_too_large",
        ),
        ("en", {"content": "1\n00:00:01,000 --> 00:00:02,000\n\ud83d\n"}, 422, "caption_invalid"),
        ("en", {"label": 'say "hi"'}, 422, "validation_error"),
        ("en", {"label": "  "}, 422, "validation_error"),
        ("en", {"format": "ass"}, 422, "validation_error"),
    ],
)
def test_bad_caption_uploads_are_refused_with_a_clear_code(
    platform: Platform, alice: Caller, language: str, body: dict[str, Any], status: int, code: str
) -> None:
    video_id = platform.ready(alice)
    answer = _put(platform, alice, video_id, language, **body)
    assert (answer.status_code, answer.json["error"]["code"]) == (status, code), answer.json
    assert platform.row(video_id).captions_master_key is None  # type: ignore[union-attr]


def test_an_invalid_file_names_its_line(platform: Platform, alice: Caller) -> None:
    video_id = platform.ready(alice)
    answer = _put(platform, alice, video_id, "en", content=SRT + "\n3\n00:00:07,000 --> 00:00:06,000\nx\n")
    assert answer.status_code == 422
    assert "line 10: the cue ends before or when it starts" in answer.json["error"]["message"]


def test_labels_differ_within_a_video_and_tracks_are_limited(
    platform: Platform, alice: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 8216 section 4.3.4.1.1: all EXT-X-MEDIA tags of one group have different NAMEs."""
    video_id = platform.ready(alice)
    assert _put(platform, alice, video_id, "en", label="Subtitles").status_code == 201
    taken = _put(platform, alice, video_id, "fr", label="Subtitles")
    assert (taken.status_code, taken.json["error"]["code"]) == (409, "caption_label_taken")
    assert _put(platform, alice, video_id, "en", label="Subtitles").status_code == 200  # its own label
    monkeypatch.setattr(captions, "MAX_TRACKS_PER_VIDEO", 2)
    assert _put(platform, alice, video_id, "fr", label="Français").status_code == 201
    full = _put(platform, alice, video_id, "de", label="Deutsch")
    assert (full.status_code, full.json["error"]["code"]) == (409, "too_many_captions")
    assert _put(platform, alice, video_id, "fr", label="French").status_code == 200  # a replacement fits


def test_only_the_owner_of_a_video_manages_its_captions(
    platform: Platform, alice: Caller, bob: Caller
) -> None:
    video_id = platform.ready(alice)
    assert _put(platform, alice, video_id, "en").status_code == 201
    for method in ("get", "put", "delete"):
        path = f"/api/videos/{video_id}/captions" + ("" if method == "get" else "/en")
        kwargs: dict[str, Any] = (
            {"json": {"label": "x", "format": "srt", "content": SRT}} if method == "put" else {}
        )
        anonymous = getattr(platform.http, method)(path, **kwargs)
        assert anonymous.status_code == 401
        stranger = getattr(platform.http, method)(path, headers=bob.headers, **kwargs)
        assert (stranger.status_code, stranger.json["error"]["code"]) == (403, "forbidden")


def test_captions_added_with_the_upload_are_published_when_the_video_becomes_ready(
    platform: Platform, alice: Caller
) -> None:
    """A track put on a queued video is stored, unpublished (no URL, no captioned playlist), and
    the status consumer publishes it when it records the first ready event; its media playlist
    then spans the video's duration, not its last cue's end (RFC 8216 section 4.3.3.1)."""
    video_id = platform.queue(alice)
    stored = _put(platform, alice, video_id, "en")
    assert stored.status_code == 201, stored.json
    assert stored.json["url"] is None and stored.json["cue_count"] == 2
    assert platform.row(video_id).captions_master_key is None  # type: ignore[union-attr]
    assert (
        _put(platform, alice, video_id, "fr", label="Français", format="vtt", content=VTT).status_code == 201
    )
    assert _put(platform, alice, video_id, "fr", label="Français").status_code == 200  # replaced before ready

    _consume_ready_event(platform, video_id, platform.task_id(video_id))

    master_key = _playback_key(platform, alice, video_id)
    assert master_key.startswith(caption_key_prefix(video_id))
    lines = _object(platform, master_key).splitlines()
    media = [_attributes(line) for line in lines if line.startswith("#EXT-X-MEDIA:")]
    assert [(m["LANGUAGE"], m["NAME"]) for m in media] == [("en", "English"), ("fr", "Français")]
    track_playlist = _object(platform, caption_key_prefix(video_id) + media[0]["URI"])
    assert "#EXTINF:10.000," in track_playlist and "#EXT-X-TARGETDURATION:10" in track_playlist
    items = platform.http.get(f"/api/videos/{video_id}/captions", headers=alice.headers).json["items"]
    assert all(item["url"] for item in items)


def test_a_video_is_never_recorded_ready_without_the_captions_it_has(
    platform: Platform, alice: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ready event's record and the captioned playlist are one commit: the web page asks for
    the video the moment its progress stream says ready, which races the status consumer, and
    must get the captioned playlist then, not the transcoder's until a reload."""
    video_id = platform.queue(alice)
    assert _put(platform, alice, video_id, "en").status_code == 201
    seen: list[str] = []
    record = status_consumer.record_event

    def record_then_ask(*args: Any) -> bool:
        applied = record(*args)
        seen.append(_playback_key(platform, alice, video_id))
        return applied

    monkeypatch.setattr(status_consumer, "record_event", record_then_ask)
    _consume_ready_event(platform, video_id, platform.task_id(video_id))
    assert len(seen) == 1 and seen[0].startswith(caption_key_prefix(video_id)), seen


def _published_languages(platform: Platform, caller: Caller, video_id: str) -> list[str]:
    master_key = _playback_key(platform, caller, video_id)
    lines = _object(platform, master_key).splitlines()
    return [_attributes(line)["LANGUAGE"] for line in lines if line.startswith("#EXT-X-MEDIA:")]


def test_a_track_put_after_the_consumer_listed_the_tracks_is_published_with_the_ready_video(
    platform: Platform, alice: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PUT sees the video not ready and leaves publishing to the ready event's record; the
    consumer listed the tracks before the PUT committed, so it republishes once recorded."""
    video_id = platform.queue(alice)
    assert _put(platform, alice, video_id, "en").status_code == 201
    record = status_consumer.record_event

    def put_then_record(*args: Any) -> bool:
        late = _put(platform, alice, video_id, "fr", label="Français", format="vtt", content=VTT)
        assert (late.status_code, late.json["url"]) == (201, None)
        return record(*args)

    monkeypatch.setattr(status_consumer, "record_event", put_then_record)
    _consume_ready_event(platform, video_id, platform.task_id(video_id))
    assert _published_languages(platform, alice, video_id) == ["en", "fr"]


def test_a_track_put_on_a_video_recorded_ready_while_the_put_ran_is_published(
    platform: Platform, alice: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PUT read the video not ready; the ready event was recorded (tracks listed, none)
    before the PUT committed. The PUT checks the video again after its commit and publishes."""
    video_id = platform.queue(alice)
    convert = captions._converted
    consumed: list[bool] = []

    def ready_meanwhile(*args: Any) -> Any:
        if not consumed:
            consumed.append(True)
            _consume_ready_event(platform, video_id, platform.task_id(video_id))
        return convert(*args)

    monkeypatch.setattr(captions, "_converted", ready_meanwhile)
    assert _put(platform, alice, video_id, "en").status_code == 201
    assert _published_languages(platform, alice, video_id) == ["en"]


def test_concurrent_uploads_of_one_language_leave_one_track_and_no_5xx(
    platform: Platform, app: Flask, alice: Caller
) -> None:
    """The first to commit creates the track; the others replace it, or answer 409
    ``caption_conflict`` when they lost the race to insert it."""
    video_id = platform.ready(alice)
    body = {"label": "English", "format": "srt", "content": SRT}
    statuses = post_at_once(
        app, f"/api/videos/{video_id}/captions/en", alice.headers, method="PUT", json=body
    )
    assert set(statuses) <= {200, 201, 409} and statuses.count(201) == 1, statuses
    items = platform.http.get(f"/api/videos/{video_id}/captions", headers=alice.headers).json["items"]
    assert [t["language"] for t in items] == ["en"]
    master = _object(platform, _playback_key(platform, alice, video_id))
    assert master.count("#EXT-X-MEDIA:TYPE=SUBTITLES") == 1


def test_a_storage_failure_answers_503_and_changes_nothing(
    platform: Platform, app: Flask, alice: Caller
) -> None:
    video_id = platform.ready(alice)
    aws = app.extensions[EXTENSION].aws
    real_put = aws.s3.put_object

    def refuse(**kwargs: Any) -> Any:
        if "/master-" in kwargs["Key"]:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutObject")
        return real_put(**kwargs)

    aws.s3.put_object = refuse
    try:
        answer = _put(platform, alice, video_id, "en")
    finally:
        aws.s3.put_object = real_put
    assert (answer.status_code, answer.json["error"]["code"]) == (503, "storage_unavailable")
    assert platform.http.get(f"/api/videos/{video_id}/captions", headers=alice.headers).json["items"] == []
    assert _put(platform, alice, video_id, "en").status_code == 201  # a retry succeeds


def test_a_video_transcoded_again_keeps_its_captions_over_its_new_outputs(
    platform: Platform, alice: Caller
) -> None:
    """A new task's ready event (a re-transcode) has the status consumer publish the tracks over
    the new master playlist: the captioned one names the new task's renditions."""
    video_id = platform.ready(alice)
    assert _put(platform, alice, video_id, "en").status_code == 201
    new_task = uuid.uuid4()
    with Session(platform.engine) as session:  # what queueing a new transcode records
        session.execute(
            update(Video)
            .where(Video.id == uuid.UUID(video_id))
            .values(status=VideoState.QUEUED, task_id=new_task, last_sequence=-1)
        )
        session.commit()
    _consume_ready_event(platform, video_id, new_task)

    master_key = _playback_key(platform, alice, video_id)
    assert master_key.startswith(caption_key_prefix(video_id))
    lines = _object(platform, master_key).splitlines()
    variants = [lines[i + 1] for i, line in enumerate(lines) if line.startswith("#EXT-X-STREAM-INF:")]
    assert variants == [f"../{new_task}/720/index.m3u8", f"../{new_task}/360/index.m3u8"]
    assert [_attributes(line)["LANGUAGE"] for line in lines if line.startswith("#EXT-X-MEDIA:")] == ["en"]


def test_a_new_transcode_plays_its_own_playlist_until_captions_are_published_over_it() -> None:
    """The captioned playlist names the transcoder's variants of one task: over another task's
    outputs it would play the old ladder, so it is used only while built over the current one."""
    video = Video(master_playlist_key="videos/v/t2/master.m3u8")
    video.captions_master_key, video.captions_base_key = (
        "videos/v/captions/master-1.m3u8",
        "videos/v/t1/master.m3u8",
    )
    assert captions.playback_key(video) == "videos/v/t2/master.m3u8"
    video.captions_base_key = "videos/v/t2/master.m3u8"
    assert captions.playback_key(video) == "videos/v/captions/master-1.m3u8"


def test_the_master_playlist_rewrite_keeps_other_tags_and_rebases_uri_attributes() -> None:
    """RFC 8216 section 4.3.4.3: I-frame variants take no SUBTITLES attribute; a URI attribute
    (an audio rendition, an I-frame playlist) is rebased like a variant's URI line."""
    master = "\n".join(
        [
            "#EXTM3U",
            "#EXT-X-VERSION:7",
            '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Audio",URI="audio/index.m3u8"',
            '#EXT-X-STREAM-INF:BANDWIDTH=1000,CODECS="avc1.64001f",AUDIO="aud"',
            "720/index.m3u8",
            '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100,URI="720/iframes.m3u8"',
            "https://cdn.example/abs.m3u8",
        ]
    )
    out = captions.master_with_subtitles(
        master,
        "videos/v/t/master.m3u8",
        "videos/v/captions/",
        [captions.TrackEntry("en", "English", "en-1.m3u8")],
    ).splitlines()
    assert out == [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Audio",URI="../t/audio/index.m3u8"',
        '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,'
        'FORCED=NO,URI="en-1.m3u8"',
        '#EXT-X-STREAM-INF:BANDWIDTH=1000,CODECS="avc1.64001f",AUDIO="aud",SUBTITLES="subs"',
        "../t/720/index.m3u8",
        '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100,URI="../t/720/iframes.m3u8"',
        "https://cdn.example/abs.m3u8",
    ]
