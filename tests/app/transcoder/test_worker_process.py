"""`reelstack transcoder` as a real process: killed mid-task, and stopped with SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

from app.backend.videos import delete_prefix, delete_versions, media_prefix
from app.contracts.messages import TaskMessageV1, TaskOutputs, VideoState
from app.contracts.names import upload_key_prefix
from app.contracts.tickets import media_key_prefix
from tests.app.transcoder.conftest import EXIT_WAIT_SECONDS, Media, Pipeline, StartWorker, clip
from tests.support.processes import children, running


def _wait_until_transcoding(pipeline: Pipeline, task: TaskMessageV1) -> None:
    pipeline.wait_for(
        lambda e: e.task_id == task.task_id and e.state == VideoState.TRANSCODING and e.percent > 0
    )


def _expected_keys(pipeline: Pipeline, prefix: str, tmp_path: Path, outputs: TaskOutputs | None) -> set[str]:
    """The keys one complete set of outputs consists of, read from its own playlists and storyboard
    track, and the candidate posters its ready event names (at least one: the source is sharp)."""
    assert outputs is not None and outputs.thumbnail_candidates
    pipeline.download(prefix, tmp_path)
    keys = {prefix + "master.m3u8", prefix + "poster.jpg", prefix + "storyboard/storyboard.vtt"}
    keys |= set(outputs.thumbnail_candidates)
    track = (tmp_path / "storyboard" / "storyboard.vtt").read_text()
    keys |= {prefix + "storyboard/" + sprite for sprite in re.findall(r"^(sprite-\d+\.jpg)#", track, re.M)}
    for line in (tmp_path / "master.m3u8").read_text().splitlines():
        if line and not line.startswith("#"):
            variant = tmp_path / line
            directory = prefix + line.rsplit("/", 1)[0] + "/"
            keys |= {prefix + line, directory + "init.mp4"}
            keys |= {
                directory + entry for entry in variant.read_text().splitlines() if entry.endswith(".m4s")
            }
    return keys


def test_a_worker_killed_mid_transcode_leaves_the_task_to_another_that_completes_it(
    pipeline: Pipeline, start_worker: StartWorker, media: Media, tmp_path: Path
) -> None:
    task = pipeline.submit(media.long)
    first = start_worker(visibility_timeout_seconds="10")
    _wait_until_transcoding(pipeline, task)
    ffmpeg = children(first.pid)
    assert ffmpeg
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    # ffmpeg runs in its own session, yet dies with its worker instead of transcoding on.
    for _ in range(100):
        if not running(ffmpeg):
            break
        time.sleep(0.1)
    assert not running(ffmpeg)

    second = start_worker(visibility_timeout_seconds="10")
    ready = pipeline.terminal(task.task_id)
    assert ready.state == VideoState.READY, ready.error_reason
    assert ready.sequence // 1_000_000 == 2  # the redelivery, not the killed attempt
    sequences = [e.sequence for e in pipeline.events_of(task.task_id)]
    assert sequences == sorted(set(sequences))

    prefix = media_key_prefix(task.video_id, task.task_id)
    assert pipeline.media_keys(f"videos/{task.video_id}/") == _expected_keys(
        pipeline, prefix, tmp_path, ready.outputs
    )
    second.send_signal(signal.SIGTERM)
    assert second.wait(EXIT_WAIT_SECONDS) == 0
    assert pipeline.messages_left() == {"tasks": 0, "dlq": 0}


def test_sigterm_while_idle_exits_cleanly(start_worker: StartWorker) -> None:
    worker = start_worker()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(EXIT_WAIT_SECONDS) == 0


def test_sigterm_lets_a_task_finish_within_the_grace_period(
    pipeline: Pipeline, start_worker: StartWorker, media: Media
) -> None:
    task = pipeline.submit(media.landscape)
    worker = start_worker(grace=300)
    _wait_until_transcoding(pipeline, task)
    # To the whole process group, as a terminal's Ctrl-C or a service manager would.
    os.killpg(worker.pid, signal.SIGTERM)
    assert worker.wait(EXIT_WAIT_SECONDS) == 0
    assert pipeline.terminal(task.task_id).state == VideoState.READY
    assert pipeline.messages_left() == {"tasks": 0, "dlq": 0}


def test_sigterm_releases_a_task_that_cannot_finish_within_the_grace_period(
    pipeline: Pipeline, start_worker: StartWorker, media: Media
) -> None:
    task = pipeline.submit(media.endless)
    worker = start_worker(grace=0.1)
    _wait_until_transcoding(pipeline, task)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(EXIT_WAIT_SECONDS) == 0
    # Released, not left invisible until its lease runs out: the next receive gets it at once.
    released = pipeline.sqs.receive_message(
        QueueUrl=pipeline.resources.task_queue_url,
        MessageSystemAttributeNames=["ApproximateReceiveCount"],
        WaitTimeSeconds=1,
    )["Messages"]
    assert TaskMessageV1.model_validate_json(released[0]["Body"]).task_id == task.task_id
    assert released[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert not any(e.state.terminal for e in pipeline.events_of(task.task_id))
    # At most what it published while ffmpeg ran (publish.py), which a viewer may be playing and
    # the next attempt writes again under the same keys: segments and unfinished EVENT
    # playlists, none of the finished set (posters, storyboard, VOD playlists).
    prefix = media_key_prefix(task.video_id, task.task_id)
    left = pipeline.media_keys(f"videos/{task.video_id}/")
    assert all(
        re.fullmatch(r"(\w+/)?(init\.mp4|seg_\d+\.m4s|index\.m3u8)|master\.m3u8", k.removeprefix(prefix))
        for k in left
    ), left
    for key in (k for k in left if k.endswith(".m3u8")):
        body = pipeline.s3.get_object(Bucket=pipeline.resources.media_bucket, Key=key)["Body"].read().decode()
        assert "#EXT-X-ENDLIST" not in body, key


def test_a_task_whose_ffmpeg_is_stopped_along_with_the_worker_is_released(
    pipeline: Pipeline, start_worker: StartWorker, media: Media
) -> None:
    task = pipeline.submit(media.endless)
    worker = start_worker(grace=300)
    _wait_until_transcoding(pipeline, task)
    # A service manager stopping the whole control group signals every process in it.
    for pid in [worker.pid, *children(worker.pid)]:
        os.kill(pid, signal.SIGTERM)
    assert worker.wait(EXIT_WAIT_SECONDS) == 0
    released = pipeline.sqs.receive_message(
        QueueUrl=pipeline.resources.task_queue_url,
        MessageSystemAttributeNames=["ApproximateReceiveCount"],
        WaitTimeSeconds=1,
    )["Messages"]
    assert released[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert not any(e.state.terminal for e in pipeline.events_of(task.task_id))


def test_deleting_a_transcoding_video_stops_its_ffmpeg_within_seconds_and_keeps_nothing(
    pipeline: Pipeline, start_worker: StartWorker, media: Media, tmp_path: Path
) -> None:
    """The worker notices the deletion (its source is gone) within seconds, kills ffmpeg, uploads
    nothing, reports nothing (not failed: nobody failed) and deletes the task's message."""
    task = pipeline.submit(media.endless)
    work_dir = tmp_path / "work"
    worker = start_worker(work_dir=work_dir)
    _wait_until_transcoding(pipeline, task)
    ffmpeg = children(worker.pid)
    assert ffmpeg

    # What the backend's delete_video does to a video's objects.
    delete_versions(pipeline.s3, pipeline.resources.uploads_bucket, upload_key_prefix(task.video_id))
    delete_prefix(pipeline.s3, pipeline.resources.media_bucket, media_prefix(task.video_id))
    deleted_at = time.monotonic()
    while running(ffmpeg) and time.monotonic() - deleted_at < EXIT_WAIT_SECONDS:
        time.sleep(0.1)
    assert time.monotonic() - deleted_at < 6, "ffmpeg ran on after its video was deleted"

    while pipeline.messages_left() != {"tasks": 0, "dlq": 0}:
        assert time.monotonic() - deleted_at < EXIT_WAIT_SECONDS, pipeline.messages_left()
        time.sleep(0.2)
    assert worker.poll() is None  # still serving: a deletion is not a crash
    pipeline.drain()
    assert not any(e.state.terminal for e in pipeline.events_of(task.task_id))
    assert pipeline.media_keys(media_prefix(task.video_id)) == set()
    assert not [p for p in work_dir.iterdir() if p.name.startswith(str(task.task_id))]


def test_a_long_transcode_killed_after_its_first_checkpoint_resumes_from_it(
    pipeline: Pipeline, start_worker: StartWorker, tmp_path: Path
) -> None:
    """Issue 15, item 5: a worker killed (as by a deploy) after the top rendition's run was
    stored; the redelivered task reuses those objects (not written again: same ETag and
    LastModified, fewer bytes written than stored) and transcodes only the rest; the outputs are
    one complete set whose playlists name only stored objects, without the checkpoint manifests."""
    source = clip(tmp_path / "resumable.mp4", "854x480", 20, audio=False, crf=40)
    task = pipeline.submit(source)
    prefix = media_key_prefix(task.video_id, task.task_id)
    manifest = f"{prefix}checkpoints/480p.json"
    first = start_worker(visibility_timeout_seconds="10", resumable_from_seconds="5")
    deadline = time.monotonic() + EXIT_WAIT_SECONDS
    while manifest not in pipeline.media_keys(prefix):
        assert time.monotonic() < deadline and first.poll() is None, "the first run left no checkpoint"
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    events = pipeline.events_of(task.task_id)
    assert all(e.state != VideoState.READY for e in events), "the first attempt finished before the kill"
    checkpointed = _objects(pipeline, prefix)
    top = {key: tag for key, tag in checkpointed.items() if key.startswith(f"{prefix}480p/")}
    assert top and f"{prefix}poster.jpg" in checkpointed

    second = start_worker(visibility_timeout_seconds="10", resumable_from_seconds="5")
    ready = pipeline.terminal(task.task_id)
    assert ready.state == VideoState.READY and ready.outputs is not None, ready.error_reason
    assert ready.sequence // 1_000_000 == 2
    after = _objects(pipeline, prefix)
    assert {key: after[key] for key in top} == top  # reused as stored, not transcoded and written again
    usage = ready.outputs.usage
    assert usage is not None and usage.bytes_written < usage.bytes_stored
    assert usage.bytes_stored == sum(size for _, size in after.values())
    # Complete, no manifests left.
    assert set(after) == _expected_keys(pipeline, prefix, tmp_path / "out", ready.outputs)
    assert [r.height for r in ready.outputs.renditions] == [480, 360]
    second.send_signal(signal.SIGTERM)
    assert second.wait(EXIT_WAIT_SECONDS) == 0


def _objects(pipeline: Pipeline, prefix: str) -> dict[str, tuple[str, int]]:
    """Key → (ETag and LastModified, size) of every object under ``prefix``."""
    listing = pipeline.s3.list_objects_v2(Bucket=pipeline.resources.media_bucket, Prefix=prefix)
    return {
        o["Key"]: (f"{o['ETag']} {o['LastModified'].isoformat()}", o["Size"])
        for o in listing.get("Contents", [])
    }


def test_a_video_deleted_after_a_checkpoint_keeps_none_of_it(
    pipeline: Pipeline, start_worker: StartWorker, tmp_path: Path
) -> None:
    """The checkpoint an interrupted run leaves is the task's output too: a deletion noticed in
    the next run removes it along with everything else the task wrote."""
    task = pipeline.submit(clip(tmp_path / "deleted.mp4", "854x480", 60, audio=False, crf=40))
    prefix = media_key_prefix(task.video_id, task.task_id)
    worker = start_worker(resumable_from_seconds="5")
    deadline = time.monotonic() + EXIT_WAIT_SECONDS
    while f"{prefix}checkpoints/480p.json" not in pipeline.media_keys(prefix):
        assert time.monotonic() < deadline and worker.poll() is None, "the first run left no checkpoint"
        time.sleep(0.05)

    # What the backend's delete_video does to a video's objects (the checkpoint is stored after it).
    delete_versions(pipeline.s3, pipeline.resources.uploads_bucket, upload_key_prefix(task.video_id))
    deleted_at = time.monotonic()
    while pipeline.messages_left() != {"tasks": 0, "dlq": 0}:
        assert time.monotonic() - deleted_at < EXIT_WAIT_SECONDS, pipeline.messages_left()
        time.sleep(0.2)
    assert worker.poll() is None
    assert not any(e.state.terminal for e in pipeline.events_of(task.task_id))
    assert pipeline.media_keys(media_prefix(task.video_id)) == set()
