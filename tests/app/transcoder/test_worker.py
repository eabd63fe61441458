"""The worker against moto and real ffmpeg: submit a task, watch the progress topic, probe the outputs."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from app.contracts.messages import (
    FilterSpec,
    GrayscaleFilter,
    ProgressEventV1,
    TaskMessageV1,
    TaskOutputs,
    TrimFilter,
    VideoState,
)
from app.contracts.names import TASK_MAX_RECEIVES
from app.contracts.tickets import media_key_prefix
from app.transcoder.deletion import CHECK_SECONDS
from app.transcoder.worker import MISSING_SOURCE_REASON, Heartbeat, Host, Worker
from tests.app.transcoder.conftest import Media, Pipeline, clip, ffprobe, run_one

MakeWorker = Callable[..., Worker]


def _transcode(pipeline: Pipeline, worker: Worker, task: TaskMessageV1) -> ProgressEventV1:
    run_one(worker)
    return pipeline.terminal(task.task_id)


def _ready_outputs(
    pipeline: Pipeline, worker: Worker, source: Path, target: Path, filters: list[FilterSpec] | None = None
) -> TaskOutputs:
    task = pipeline.submit(source, filters)
    event = _transcode(pipeline, worker, task)
    assert event.state == VideoState.READY, event.error_reason
    assert event.outputs is not None
    pipeline.download(event.outputs.prefix, target)
    return event.outputs


def _variant_streams(root: Path, outputs: TaskOutputs) -> list[dict[str, object]]:
    streams = []
    for rendition in outputs.renditions:
        info = ffprobe(root / rendition.playlist_key.removeprefix(outputs.prefix))
        streams.append(next(s for s in info["streams"] if s["codec_type"] == "video"))
    return streams


def test_720p_with_audio_becomes_an_hls_ladder_with_live_progress(
    pipeline: Pipeline, make_worker: MakeWorker, media: Media, tmp_path: Path
) -> None:
    task = pipeline.submit(media.landscape)
    event = _transcode(pipeline, make_worker(), task)
    assert event.state == VideoState.READY, event.error_reason
    outputs = event.outputs
    assert outputs is not None and outputs.prefix == media_key_prefix(task.video_id, task.task_id)
    content_types = pipeline.download(outputs.prefix, tmp_path)

    events = pipeline.events_of(task.task_id)
    percents = [e.percent for e in events if e.state == VideoState.TRANSCODING]
    assert percents[0] == 0 and percents[-1] == 100 and percents == sorted(percents)
    assert len(percents) > 2
    assert [e.state for e in events][-1] == VideoState.READY
    assert events[-1].state == VideoState.READY and events.count(events[-1]) == 1

    master = (tmp_path / "master.m3u8").read_text()
    # The audio-only variant has a test of its own.
    variants = [v for v in re.findall(r"#EXT-X-STREAM-INF:(.*)\n(.*)\n", master) if "RESOLUTION=" in v[0]]
    assert len(variants) >= 3
    for attributes, uri in variants:
        assert re.search(r"BANDWIDTH=\d+", attributes) and 'CODECS="avc1.' in attributes
        assert "mp4a.40.2" in attributes
        resolution = re.search(r"RESOLUTION=(\d+)x(\d+)", attributes)
        assert resolution is not None
        width, height = resolution.groups()
        info = ffprobe(tmp_path / uri)
        video = next(s for s in info["streams"] if s["codec_type"] == "video")
        assert (video["width"], video["height"]) == (int(width), int(height))
        assert any(s["codec_type"] == "audio" for s in info["streams"])
        assert float(info["format"]["duration"]) == pytest.approx(4.0, abs=0.2)
        # Published as a growing EVENT playlist while ffmpeg ran, stored as the VOD playlist it ended as.
        playlist = (tmp_path / uri).read_text()
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and "#EXT-X-ENDLIST" in playlist
    assert [r.height for r in outputs.renditions] == [720, 480, 360, 240]
    assert outputs.duration_seconds == pytest.approx(4.0, abs=0.2)

    poster = tmp_path / "poster.jpg"
    assert poster.read_bytes()[:3] == b"\xff\xd8\xff"
    assert ffprobe(poster)["streams"][0]["codec_name"] == "mjpeg"
    assert content_types[outputs.master_playlist_key] == "application/vnd.apple.mpegurl"
    assert content_types[outputs.thumbnail_key] == "image/jpeg"
    assert {t for k, t in content_types.items() if k.endswith(".m4s")} == {"video/iso.segment"}
    assert pipeline.messages_left() == {"tasks": 0, "dlq": 0}


def test_a_ready_transcode_reports_what_it_used_for_its_cost(
    pipeline: Pipeline, make_worker: MakeWorker, media: Media
) -> None:
    """Issue 15, item 6: CPU-seconds of ffmpeg (more than the wall-clock time of nothing), the
    host it ran on, and the bytes its outputs take in the media bucket."""
    worker = make_worker()
    worker.host = Host(instance_type="c7g.large", purchase_option="spot")
    task = pipeline.submit(media.landscape)
    event = _transcode(pipeline, worker, task)
    assert event.state == VideoState.READY and event.outputs is not None, event.error_reason
    usage = event.outputs.usage
    assert usage is not None
    assert usage.cpu_seconds > 0.1  # four seconds of 720p into four rungs is not free
    assert (usage.instance_type, usage.purchase_option) == ("c7g.large", "spot")
    listing = pipeline.s3.list_objects_v2(Bucket=pipeline.resources.media_bucket, Prefix=event.outputs.prefix)
    stored = sum(o["Size"] for o in listing["Contents"])
    assert usage.bytes_stored == stored and usage.bytes_written == stored


@pytest.mark.parametrize(
    ("clip", "expected"),
    [
        ("portrait", [(608, 1080), (406, 720), (270, 480), (202, 360), (136, 240)]),
        ("odd", [(852, 480), (640, 360), (426, 240)]),
    ],
)
def test_portrait_and_odd_sized_sources_keep_their_aspect_in_even_sizes(
    pipeline: Pipeline,
    make_worker: MakeWorker,
    media: Media,
    tmp_path: Path,
    clip: str,
    expected: list[tuple[int, int]],
) -> None:
    outputs = _ready_outputs(pipeline, make_worker(), getattr(media, clip), tmp_path)
    sizes = [(s["width"], s["height"]) for s in _variant_streams(tmp_path, outputs)]
    assert sizes == expected


def test_a_source_without_audio_gives_video_only_variants(
    pipeline: Pipeline, make_worker: MakeWorker, media: Media, tmp_path: Path
) -> None:
    outputs = _ready_outputs(pipeline, make_worker(), media.silent, tmp_path)
    assert [r.height for r in outputs.renditions] == [360, 240]
    for rendition in outputs.renditions:
        info = ffprobe(tmp_path / rendition.playlist_key.removeprefix(outputs.prefix))
        assert [s["codec_type"] for s in info["streams"]] == ["video"]
    assert "mp4a" not in (tmp_path / "master.m3u8").read_text()


def test_the_ladder_ends_with_an_audio_only_variant_for_listeners_on_bad_networks(
    pipeline: Pipeline, make_worker: MakeWorker, media: Media, tmp_path: Path
) -> None:
    """An audio-only variant stream is an EXT-X-STREAM-INF without RESOLUTION whose CODECS lists the
    audio codec alone (RFC 8216, section 4.3.4.2: BANDWIDTH required, RESOLUTION only where the
    variant has video; https://www.rfc-editor.org/rfc/rfc8216#section-4.3.4.2), which "the client
    can play back instead of video in low-bandwidth scenarios" (AWS MediaConvert's HLS audio track
    types, https://docs.aws.amazon.com/sdk-for-sap-abap/v1/api/latest/mdc/model/_AWS1_MDCHLSAUDIOTRACKTYPE.html).
    It comes last: a client starts with the first variant listed."""
    outputs = _ready_outputs(pipeline, make_worker(), media.landscape, tmp_path)
    variants = re.findall(r"#EXT-X-STREAM-INF:(.*)\n(.*)\n", (tmp_path / "master.m3u8").read_text())
    attributes, uri = variants[-1]
    assert uri == "audio/index.m3u8" and "RESOLUTION=" not in attributes
    assert attributes.endswith('CODECS="mp4a.40.2"')
    peak = int(re.search(r"(?:^|,)BANDWIDTH=(\d+)", attributes).group(1))  # type: ignore[union-attr]
    lowest_video = min(r.bandwidth for r in outputs.renditions)
    assert peak < lowest_video / 2
    info = ffprobe(tmp_path / uri)
    assert [(s["codec_type"], s["codec_name"]) for s in info["streams"]] == [("audio", "aac")]
    assert float(info["format"]["duration"]) == pytest.approx(4.0, abs=0.2)
    assert outputs.audio is not None
    assert (outputs.audio.playlist_key, outputs.audio.bandwidth) == (outputs.prefix + uri, peak)


def _blur(image: Path) -> float:
    """blurdetect's measure of one picture (0 sharp, larger blurrier)."""
    printed = subprocess.run(
        ["ffmpeg", "-hide_banner", "-i", str(image), "-vf", "blurdetect", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    return float(re.findall(r"blur mean: ([\d.]+)", printed)[-1])


def test_candidate_posters_skip_the_black_opening_and_the_blurred_scene(
    pipeline: Pipeline, make_worker: MakeWorker, tmp_path: Path
) -> None:
    # 3 s black, 3 s heavily blurred, 4 s sharp: only the last part may give a candidate.
    source = tmp_path / "opening.mp4"
    size = "640x360"
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"color=black:size={size}:rate=30:duration=3",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30:duration=3,gblur=sigma=25",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30:duration=4",
            "-f", "lavfi", "-i", "sine=frequency=440:duration=10",
            "-filter_complex", "[0][1][2]concat=n=3:v=1:a=0,format=yuv420p[v]",
            "-map", "[v]", "-map", "3:a", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
            str(source),
        ],
        check=True,
    )  # fmt: skip
    out = tmp_path / "out"
    outputs = _ready_outputs(pipeline, make_worker(), source, out)
    candidates = outputs.thumbnail_candidates
    assert 1 <= len(candidates) <= 4
    assert candidates == sorted(candidates, key=lambda k: int(re.findall(r"candidate-(\d+)", k)[0]))
    assert outputs.thumbnail_key == candidates[0]
    content_types = pipeline.download(outputs.prefix, out)
    for key in candidates:
        assert key.startswith(outputs.prefix + "candidates/candidate-") and content_types[key] == "image/jpeg"
        image = out / key.removeprefix(outputs.prefix)
        assert _mean_luma(image, 0, 0, 640, 360) > 60  # testsrc2 is bright; black is 16
        assert _blur(image) < 10  # the sharp pattern measures about 5, the blurred scene about 60
    # The frame at the fixed time, kept for a video black or blurred throughout, is black here.
    assert _mean_luma(out / "poster.jpg", 0, 0, 640, 360) < 25


def test_a_video_black_throughout_has_no_candidates_and_keeps_the_fixed_time_poster(
    pipeline: Pipeline, make_worker: MakeWorker, tmp_path: Path
) -> None:
    source = tmp_path / "black.mp4"
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-v", "error", "-y",
            "-f", "lavfi", "-i", "color=black:size=320x240:rate=30:duration=2",
            "-c:v", "libx264", "-preset", "ultrafast", str(source),
        ],
        check=True,
    )  # fmt: skip
    outputs = _ready_outputs(pipeline, make_worker(), source, tmp_path / "out")
    assert outputs.thumbnail_candidates == []
    assert outputs.thumbnail_key == outputs.prefix + "poster.jpg"


def test_the_owner_asked_mp4_download_is_the_top_rendition_remuxed_with_a_download_disposition(
    pipeline: Pipeline, make_worker: MakeWorker, media: Media, tmp_path: Path
) -> None:
    task = pipeline.submit(media.landscape, mp4_download=True)
    event = _transcode(pipeline, make_worker(), task)
    assert event.state == VideoState.READY and event.outputs is not None
    outputs = event.outputs
    assert outputs.download_key == outputs.prefix + "download.mp4"
    content_types = pipeline.download(outputs.prefix, tmp_path)
    assert content_types[outputs.download_key] == "video/mp4"
    assert pipeline.dispositions[outputs.download_key] == 'attachment; filename="video.mp4"'
    mp4 = tmp_path / "download.mp4"
    info = ffprobe(mp4)
    assert info["format"]["format_name"].startswith("mov,mp4")
    streams = {s["codec_type"]: s for s in info["streams"]}
    assert (streams["video"]["codec_name"], streams["video"]["height"]) == ("h264", 720)
    assert streams["audio"]["codec_name"] == "aac"
    assert float(info["format"]["duration"]) == pytest.approx(4.0, abs=0.2)
    # faststart: the index (moov) comes before the media data, so a player starts before the end.
    head = mp4.read_bytes()
    assert 0 < head.index(b"moov") < head.index(b"mdat")


def test_without_the_owner_asking_there_is_no_download(
    pipeline: Pipeline, make_worker: MakeWorker, media: Media, tmp_path: Path
) -> None:
    outputs = _ready_outputs(pipeline, make_worker(), media.silent, tmp_path)
    assert outputs.download_key is None and outputs.audio is None
    assert not (tmp_path / "download.mp4").exists() and not (tmp_path / "audio").exists()


def _psnr(variant: Path, reference: Path, width: int, height: int, *reference_filters: str) -> float:
    """Mean PSNR of ``variant`` against ``reference`` as ffmpeg displays it, scaled to the same size."""
    chain = ",".join([*reference_filters, f"scale={width}:{height}", "setsar=1"])
    printed = subprocess.run(
        [
            "ffmpeg",
            "-i",
            str(variant),
            "-i",
            str(reference),
            "-lavfi",
            f"[1:v]{chain}[ref];[0:v][ref]psnr",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        check=True,
        text=True,
    ).stderr
    found = re.search(r"PSNR .* average:([\d.]+|inf)", printed)
    assert found is not None, printed
    return float(found.group(1))


def test_a_source_with_rotation_metadata_is_transcoded_upright(
    pipeline: Pipeline, make_worker: MakeWorker, media: Media, tmp_path: Path
) -> None:
    outputs = _ready_outputs(pipeline, make_worker(ladder="360"), media.rotated, tmp_path)
    assert [(r.width, r.height) for r in outputs.renditions] == [(202, 360)]
    variant = tmp_path / outputs.renditions[0].playlist_key.removeprefix(outputs.prefix)
    assert "side_data_list" not in ffprobe(variant)["streams"][0]  # players must not turn it again
    assert _psnr(variant, media.rotated, 202, 360) > 25
    # The same frames squeezed without turning them do not match: the check can tell.
    assert _psnr(variant, media.silent, 202, 360) < 20


def _mean_luma(image: Path, x: int, y: int, width: int, height: int) -> int:
    """The average brightness (0-255) of one rectangle of ``image``."""
    return subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(image),
            "-vf",
            f"crop={width}:{height}:{x}:{y},scale=1:1:flags=area,format=gray",
            "-f",
            "rawvideo",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout[0]


def test_storyboard_sprites_and_their_webvtt_track_match_the_real_frames(
    pipeline: Pipeline, make_worker: MakeWorker, tmp_path: Path
) -> None:
    # 52 s every 2 s: 26 tiles, so a full 5x5 sheet and a second holding one tile.
    source = clip(tmp_path / "long.mp4", "320x180", 52, audio=False, fps=5)
    outputs = _ready_outputs(pipeline, make_worker(), source, tmp_path / "out")
    board = outputs.storyboard
    assert board is not None
    assert (board.interval_seconds, board.tile_width, board.tile_height) == (2, 160, 90)
    assert (board.columns, board.rows, board.sprite_count) == (5, 5, 2)
    assert board.vtt_key == outputs.prefix + "storyboard/storyboard.vtt"
    content_types = pipeline.download(outputs.prefix, tmp_path / "out")
    assert content_types[board.vtt_key] == "text/vtt"
    sprites = sorted((tmp_path / "out" / "storyboard").glob("sprite-*.jpg"))
    assert [p.name for p in sprites] == ["sprite-1.jpg", "sprite-2.jpg"]
    for sprite in sprites:
        assert content_types[outputs.prefix + "storyboard/" + sprite.name] == "image/jpeg"
        stream = ffprobe(sprite)["streams"][0]
        assert (stream["codec_name"], stream["width"], stream["height"]) == ("mjpeg", 800, 450)

    vtt = (tmp_path / "out" / "storyboard" / "storyboard.vtt").read_text()
    cues = re.findall(r"(\S+) --> (\S+)\n(sprite-\d+\.jpg)#xywh=(\d+),(\d+),(\d+),(\d+)", vtt)
    assert len(cues) == 26
    assert cues[0] == ("00:00:00.000", "00:00:02.000", "sprite-1.jpg", "0", "0", "160", "90")
    assert cues[24][2:] == ("sprite-1.jpg", "640", "360", "160", "90")
    assert cues[25][2:] == ("sprite-2.jpg", "0", "0", "160", "90")
    # Every cue names a tile ffmpeg drew (testsrc2 is bright); the cell after the last is padding.
    for _, _, name, x, y, w, h in cues:
        assert _mean_luma(tmp_path / "out" / "storyboard" / name, int(x), int(y), int(w), int(h)) > 40
    assert _mean_luma(sprites[1], 160, 0, 160, 90) < 20


def _chroma_averages(path: Path) -> list[tuple[float, float]]:
    printed = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(path),
            "-vf",
            "signalstats,metadata=mode=print:file=-",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    u = [float(v) for v in re.findall(r"lavfi.signalstats.UAVG=([\d.]+)", printed)]
    v = [float(v) for v in re.findall(r"lavfi.signalstats.VAVG=([\d.]+)", printed)]
    assert u and len(u) == len(v)
    return list(zip(u, v, strict=True))


def test_trim_and_grayscale_shorten_the_video_and_remove_its_chroma(
    pipeline: Pipeline, make_worker: MakeWorker, media: Media, tmp_path: Path
) -> None:
    assert any(abs(u - 128) > 5 or abs(v - 128) > 5 for u, v in _chroma_averages(media.landscape))
    outputs = _ready_outputs(
        pipeline,
        make_worker(ladder="360,240"),
        media.landscape,
        tmp_path,
        filters=[TrimFilter(start=0.5, end=2.5), GrayscaleFilter()],
    )
    assert outputs.duration_seconds == pytest.approx(2.0, abs=0.2)
    for rendition in outputs.renditions:
        variant = tmp_path / rendition.playlist_key.removeprefix(outputs.prefix)
        info = ffprobe(variant)
        assert float(info["format"]["duration"]) == pytest.approx(2.0, abs=0.2)
        assert all(abs(u - 128) < 1 and abs(v - 128) < 1 for u, v in _chroma_averages(variant))


@pytest.mark.parametrize("clip", ["truncated", "random_bytes"])
def test_corrupt_sources_fail_once_with_a_reason_and_leave_nothing_queued(
    pipeline: Pipeline, make_worker: MakeWorker, media: Media, clip: str
) -> None:
    task = pipeline.submit(getattr(media, clip))
    event = _transcode(pipeline, make_worker(), task)
    assert event.state == VideoState.FAILED
    assert event.error_reason and "not a video file we can read" in event.error_reason
    assert [e.state for e in pipeline.events_of(task.task_id)] == [VideoState.TRANSCODING, VideoState.FAILED]
    assert event.sequence // 1_000_000 == 1  # the first and only receive
    assert pipeline.messages_left() == {"tasks": 0, "dlq": 0}
    assert pipeline.media_keys(f"videos/{task.video_id}/") == set()


@pytest.mark.parametrize(
    ("clip", "overrides", "reason"),
    [
        ("tiny", {}, "the video is 16x16 pixels; each side must be at least 64 pixels"),
        ("fast", {}, "the video has 240 frames per second; at most 120 are accepted"),
        ("silent", {"max_source_seconds": "1.5"}, "the video is 2 s long; the longest accepted is 1.5 s"),
        ("silent", {"max_source_side": "320"}, "no side may be more than 320 pixels"),
        ("silent", {"max_source_pixel_frames": "10000000"}, "too much work to transcode: 640x360 pixels"),
    ],
)
def test_a_source_outside_the_limits_is_refused_before_any_encoding(
    pipeline: Pipeline,
    make_worker: MakeWorker,
    media: Media,
    monkeypatch: pytest.MonkeyPatch,
    clip: str,
    overrides: dict[str, str],
    reason: str,
) -> None:
    """A 16x16 video used to be published as a "16p" rendition, and an hour of it kept a worker busy."""

    def no_encoding(*_: object, **__: object) -> None:
        raise AssertionError("ffmpeg ran on a source outside the limits")

    monkeypatch.setattr("app.transcoder.worker.run_ffmpeg", no_encoding)
    task = pipeline.submit(getattr(media, clip))
    event = _transcode(pipeline, make_worker(**overrides), task)
    assert event.state == VideoState.FAILED
    assert event.error_reason and reason in event.error_reason
    assert event.sequence // 1_000_000 == 1  # permanent: the first and only receive
    assert pipeline.messages_left() == {"tasks": 0, "dlq": 0}
    assert pipeline.media_keys(f"videos/{task.video_id}/") == set()


def test_a_transcode_over_its_wall_clock_budget_fails_permanently(
    pipeline: Pipeline, make_worker: MakeWorker, media: Media
) -> None:
    """A source whose headers understate its work cannot hold a worker past the budget, nor come back."""
    task = pipeline.submit(media.long)
    event = _transcode(pipeline, make_worker(transcode_timeout_seconds="1"), task)
    assert event.state == VideoState.FAILED
    assert event.error_reason == "transcoding took longer than 1 s, the most one video may take"
    assert pipeline.messages_left() == {"tasks": 0, "dlq": 0}
    assert pipeline.media_keys(f"videos/{task.video_id}/") == set()


def _task_for(bucket: str) -> TaskMessageV1:
    return TaskMessageV1(
        video_id=uuid.uuid4(), owner_id="user-1", source_bucket=bucket, source_key="uploads/x"
    )


def test_an_invalid_message_is_reported_failed_and_deleted(
    pipeline: Pipeline, make_worker: MakeWorker
) -> None:
    task = _task_for(pipeline.resources.uploads_bucket)
    body = task.model_dump(mode="json")
    body["filters"] = [{"type": "sharpen", "amount": "-vf evil"}]
    pipeline.send(json.dumps(body))
    worker = make_worker()
    event = _transcode(pipeline, worker, task)
    assert event.state == VideoState.FAILED
    assert event.error_reason and event.error_reason.startswith("invalid task message")
    pipeline.send("{this is not json")
    run_one(worker)
    assert pipeline.messages_left() == {"tasks": 0, "dlq": 0}


def test_a_source_outside_the_uploads_bucket_is_refused(pipeline: Pipeline, make_worker: MakeWorker) -> None:
    task = _task_for(pipeline.resources.media_bucket)
    pipeline.send(task.model_dump_json())
    event = _transcode(pipeline, make_worker(), task)
    assert event.state == VideoState.FAILED and "uploads bucket" in (event.error_reason or "")
    assert pipeline.messages_left() == {"tasks": 0, "dlq": 0}


def test_a_missing_source_fails_permanently(pipeline: Pipeline, make_worker: MakeWorker) -> None:
    task = _task_for(pipeline.resources.uploads_bucket)
    pipeline.send(task.model_dump_json())
    event = _transcode(pipeline, make_worker(), task)
    assert event.state == VideoState.FAILED and "no longer exists" in (event.error_reason or "")
    assert pipeline.messages_left() == {"tasks": 0, "dlq": 0}


class _S3DenyingUnlistedKeys:
    """The emulator's S3, answering a GET of a missing key 403 as AWS S3 does for a caller whose
    s3:ListBucket grant does not cover it (GetObject, Permissions:
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html); ``denied`` keys get a 403
    whether they exist or not, as for a caller without s3:GetObject on them."""

    def __init__(self, s3: Any, denied: frozenset[str] = frozenset()) -> None:
        self._s3, self._denied = s3, denied

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)

    def download_file(self, bucket: str, key: str, filename: str) -> None:
        forbidden = ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")
        if key in self._denied:
            raise forbidden
        try:
            self._s3.download_file(bucket, key, filename)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "404":
                raise forbidden from None
            raise


def test_a_missing_source_s3_will_not_call_missing_fails_at_once_once_a_listing_shows_it_gone(
    pipeline: Pipeline, make_worker: MakeWorker
) -> None:
    worker = make_worker()
    worker.aws = dataclasses.replace(worker.aws, s3=_S3DenyingUnlistedKeys(worker.aws.s3))
    task = _task_for(pipeline.resources.uploads_bucket)
    pipeline.send(task.model_dump_json())
    event = _transcode(pipeline, worker, task)
    assert event.state == VideoState.FAILED and event.error_reason == MISSING_SOURCE_REASON
    assert pipeline.messages_left() == {"tasks": 0, "dlq": 0}


def test_a_source_that_exists_but_is_denied_is_left_for_redelivery(
    pipeline: Pipeline, make_worker: MakeWorker, media: Media
) -> None:
    task = pipeline.submit(media.silent)
    worker = make_worker()
    worker.aws = dataclasses.replace(
        worker.aws, s3=_S3DenyingUnlistedKeys(worker.aws.s3, denied=frozenset({task.source_key}))
    )
    run_one(worker)
    pipeline.drain()
    assert [e.state for e in pipeline.events_of(task.task_id)] == [VideoState.TRANSCODING]
    assert pipeline.messages_left() == {"tasks": 1, "dlq": 0}


def test_a_transient_failure_is_retried_then_reported_and_dead_lettered(
    pipeline: Pipeline, make_worker: MakeWorker, media: Media
) -> None:
    # Uploads to a bucket that does not exist fail like an S3 outage would, on every attempt.
    worker = make_worker(
        media_bucket=f"{pipeline.resources.names.prefix}-gone", visibility_timeout_seconds="10"
    )
    task = pipeline.submit(media.silent)
    for _ in range(TASK_MAX_RECEIVES):
        run_one(worker)
    failed = pipeline.terminal(task.task_id)
    assert failed.state == VideoState.FAILED
    assert failed.error_reason and failed.error_reason.startswith(
        f"gave up after {TASK_MAX_RECEIVES} attempts"
    )
    assert "-gone" not in failed.error_reason, "the infrastructure's names are not the uploader's to see"
    assert failed.sequence // 1_000_000 == TASK_MAX_RECEIVES
    attempts = [
        e for e in pipeline.events_of(task.task_id) if e.state == VideoState.TRANSCODING and e.percent == 0
    ]
    assert len(attempts) == TASK_MAX_RECEIVES
    # The next receive past the limit moves the message to the DLQ instead of handing it out.
    for _ in range(10):
        if pipeline.messages_left()["dlq"]:
            break
        assert worker.poll_once() == 0
    assert pipeline.messages_left() == {"tasks": 0, "dlq": 1}


def test_the_heartbeat_keeps_a_message_hidden_while_the_work_goes_on(pipeline: Pipeline) -> None:
    queue = pipeline.resources.task_queue_url
    pipeline.send("{}")
    message = pipeline.sqs.receive_message(QueueUrl=queue, VisibilityTimeout=1, WaitTimeSeconds=5)[
        "Messages"
    ][0]
    with Heartbeat(pipeline.sqs, queue, message["ReceiptHandle"], timeout_seconds=1):
        for _ in range(3):  # three times the lease, each a long poll that would catch the message
            assert not pipeline.sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages")
    # Once the heartbeat stops, the lease runs out and another worker can have the message.
    assert pipeline.sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5)["Messages"][0]["Body"] == "{}"


def test_a_queue_that_cannot_be_read_is_retried_until_shutdown(
    pipeline: Pipeline, make_worker: MakeWorker, caplog: pytest.LogCaptureFixture
) -> None:
    worker = make_worker(task_queue_url=pipeline.resources.task_queue_url + "-missing")
    loop = threading.Thread(target=worker.run)
    loop.start()
    try:
        for _ in range(100):
            if "could not receive tasks" in caplog.text:
                break
            loop.join(timeout=0.1)
        assert loop.is_alive() and "could not receive tasks" in caplog.text
    finally:
        worker.shutdown()
        loop.join(timeout=30)
    assert not loop.is_alive()


def test_a_video_deleted_while_its_outputs_upload_keeps_none_of_them(
    pipeline: Pipeline, make_worker: MakeWorker, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleted once ffmpeg is done: the backend may already have emptied the video's media
    prefix, so the worker uploads no more, deletes what it wrote itself and reports nothing."""
    task = pipeline.submit(media.landscape)
    worker = make_worker()
    upload = worker._put
    uploaded: list[str] = []

    def upload_then_delete_the_video(bucket: str, key: str, path: Path) -> None:
        upload(bucket, key, path)
        uploaded.append(key)
        if len(uploaded) == 1:
            pipeline.s3.delete_object(Bucket=task.source_bucket, Key=task.source_key)
            time.sleep(2 * CHECK_SECONDS + 1)  # the worker's watch has looked at the source since

    monkeypatch.setattr(worker, "_put", upload_then_delete_the_video)
    run_one(worker)

    assert len(uploaded) == 1
    assert pipeline.media_keys(f"videos/{task.video_id}/") == set()
    assert pipeline.messages_left() == {"tasks": 0, "dlq": 0}
    pipeline.drain()
    assert not any(e.state.terminal for e in pipeline.events_of(task.task_id))


def test_the_lowest_rung_plays_from_the_media_bucket_while_ffmpeg_still_runs(
    pipeline: Pipeline, make_worker: MakeWorker, media: Media, tmp_path: Path
) -> None:
    """Progressive publishing (``publish.py``): once the lowest rung has a complete segment, the
    master playlist listing it, its EVENT playlist and the segments that lists are in the media
    bucket, and a transcoding event says so, while ffmpeg is still at work on the source (its
    playlist has no end yet)."""
    task = pipeline.submit(media.endless)
    # One run (no checkpoints) and one rung: the 10-minute source takes ffmpeg far longer than this test looks.
    worker = make_worker(ladder="240", resumable_from_seconds="100000")
    loop = threading.Thread(target=run_one, args=(worker,))
    loop.start()
    try:
        event = pipeline.wait_for(lambda e: e.task_id == task.task_id and e.playable is not None)
        assert event.state == VideoState.TRANSCODING and event.playable is not None
        prefix = media_key_prefix(task.video_id, task.task_id)
        assert event.playable.master_playlist_key == prefix + "master.m3u8"
        assert event.playable.heights == [240]

        def read(key: str) -> bytes:
            body: bytes = pipeline.s3.get_object(Bucket=pipeline.resources.media_bucket, Key=key)[
                "Body"
            ].read()
            return body

        master = read(prefix + "master.m3u8").decode()
        assert re.findall(r"#EXT-X-STREAM-INF:.*\n(.*)\n", master) == ["240p/index.m3u8"]
        playlist = read(prefix + "240p/index.m3u8").decode()
        assert "#EXT-X-PLAYLIST-TYPE:EVENT" in playlist and "#EXT-X-ENDLIST" not in playlist
        listed = [line for line in playlist.splitlines() if line and not line.startswith("#")]
        assert listed
        first = tmp_path / "first.mp4"
        first.write_bytes(read(prefix + "240p/init.mp4") + read(prefix + "240p/" + listed[0]))
        video = next(s for s in ffprobe(first)["streams"] if s["codec_type"] == "video")
        assert video["height"] == 240
    finally:
        worker.cancel.set()  # stops ffmpeg; the task is released
        loop.join(timeout=60)
    assert not loop.is_alive()
