import json
import uuid

import pytest
from pydantic import ValidationError

from app.contracts import messages, schema_files


def _task(**fields: object) -> messages.TaskMessageV1:
    base: dict[str, object] = {
        "video_id": uuid.uuid4(),
        "owner_id": "sub-1",
        "source_bucket": "uploads",
        "source_key": "src/x",
    }
    return messages.TaskMessageV1.model_validate({**base, **fields})


def test_task_message_round_trips_through_json() -> None:
    task = _task(filters=[{"type": "trim", "start": 1, "end": 3}, {"type": "rotate", "degrees": 90}])
    assert messages.parse_task(task.model_dump_json()) == task


@pytest.mark.parametrize(
    "filters",
    [
        [{"type": "drawtext", "text": "x"}],
        [{"type": "rotate", "degrees": 45}],
        [{"type": "trim", "start": 5, "end": 2}],
        [{"type": "grayscale", "extra": "-i /etc/passwd"}],
        [{"type": "grayscale"}] * (messages.MAX_FILTERS + 1),
    ],
)
def test_filters_outside_the_allow_list_are_rejected(filters: list[dict[str, object]]) -> None:
    with pytest.raises(ValidationError):
        _task(filters=filters)


def test_ready_event_must_carry_outputs_and_failed_event_a_reason() -> None:
    ids = {"task_id": uuid.uuid4(), "video_id": uuid.uuid4(), "sequence": 3, "percent": 100}
    with pytest.raises(ValidationError):
        messages.ProgressEventV1.model_validate({**ids, "state": "ready"})
    with pytest.raises(ValidationError):
        messages.ProgressEventV1.model_validate({**ids, "state": "failed"})


def test_committed_json_schemas_match_the_message_classes() -> None:
    for file_name, text in schema_files.render().items():
        assert (schema_files.SCHEMA_DIR / file_name).read_text() == text, (
            f"{file_name} is stale: run python -m app.contracts.schema_files"
        )


def test_a_ready_event_round_trips_its_storyboard_and_one_without_still_parses() -> None:
    outputs = {
        "prefix": "videos/v/t/",
        "master_playlist_key": "videos/v/t/master.m3u8",
        "thumbnail_key": "videos/v/t/poster.jpg",
        "duration_seconds": 52.0,
        "renditions": [
            {"height": 180, "width": 320, "bandwidth": 200_000, "playlist_key": "videos/v/t/180p/index.m3u8"}
        ],
    }
    storyboard = {
        "vtt_key": "videos/v/t/storyboard/storyboard.vtt",
        "sprite_count": 2,
        "interval_seconds": 2,
        "tile_width": 160,
        "tile_height": 90,
        "columns": 5,
        "rows": 5,
    }
    ids = {"task_id": uuid.uuid4(), "video_id": uuid.uuid4(), "sequence": 3, "percent": 100, "state": "ready"}
    event = messages.ProgressEventV1.model_validate({**ids, "outputs": {**outputs, "storyboard": storyboard}})
    parsed = messages.parse_progress(event.model_dump_json())
    assert parsed == event
    assert parsed.outputs is not None and parsed.outputs.storyboard == messages.Storyboard(**storyboard)
    # A worker from before storyboards, still running during a deploy, reports without one.
    older = messages.parse_progress(
        messages.ProgressEventV1.model_validate({**ids, "outputs": outputs}).model_dump_json()
    )
    assert older.outputs is not None and older.outputs.storyboard is None
    with pytest.raises(ValidationError):
        messages.ProgressEventV1.model_validate(
            {**ids, "outputs": {**outputs, "storyboard": {**storyboard, "sprite_count": 0}}}
        )


def test_posters_audio_and_download_ride_in_version_1_and_messages_without_them_still_parse() -> None:
    """Compatible within v1: a backend or worker of before (still running during a deploy) sends
    messages without the new fields, which parse as "none"; the new fields round-trip."""
    older_task = json.dumps(
        {"video_id": str(uuid.uuid4()), "owner_id": "s", "source_bucket": "uploads", "source_key": "k"}
    )
    assert messages.parse_task(older_task).mp4_download is False
    assert messages.parse_task(_task(mp4_download=True).model_dump_json()).mp4_download is True
    outputs = {
        "prefix": "videos/v/t/",
        "master_playlist_key": "videos/v/t/master.m3u8",
        "thumbnail_key": "videos/v/t/poster.jpg",
        "duration_seconds": 4.0,
        "renditions": [
            {"height": 180, "width": 320, "bandwidth": 200_000, "playlist_key": "videos/v/t/180p/index.m3u8"}
        ],
    }
    ids = {
        "task_id": str(uuid.uuid4()),
        "video_id": str(uuid.uuid4()),
        "sequence": 3,
        "percent": 100,
        "state": "ready",
    }
    older = messages.parse_progress(json.dumps({**ids, "outputs": outputs}))
    assert older.outputs is not None
    assert (older.outputs.thumbnail_candidates, older.outputs.audio, older.outputs.download_key) == (
        [],
        None,
        None,
    )
    newer = {
        **outputs,
        "thumbnail_key": "videos/v/t/candidates/candidate-1.jpg",
        "thumbnail_candidates": [f"videos/v/t/candidates/candidate-{n}.jpg" for n in (1, 2)],
        "audio": {"bandwidth": 70_000, "playlist_key": "videos/v/t/audio/index.m3u8"},
        "download_key": "videos/v/t/download.mp4",
    }
    event = messages.parse_progress(json.dumps({**ids, "outputs": newer}))
    assert messages.parse_progress(event.model_dump_json()) == event
    assert event.outputs is not None and event.outputs.audio == messages.AudioRendition(
        bandwidth=70_000, playlist_key="videos/v/t/audio/index.m3u8"
    )
    with pytest.raises(ValidationError):
        messages.parse_progress(json.dumps({**ids, "outputs": {**newer, "thumbnail_candidates": ["k"] * 17}}))


def test_a_transcoding_event_may_say_the_video_plays_early_and_no_other_state_may() -> None:
    ids = {"task_id": uuid.uuid4(), "video_id": uuid.uuid4(), "sequence": 3, "percent": 20}
    playable = {"master_playlist_key": "videos/v/t/master.m3u8", "heights": [240]}
    event = messages.ProgressEventV1.model_validate({**ids, "state": "transcoding", "playable": playable})
    assert messages.parse_progress(event.model_dump_json()).playable == event.playable
    # An event of a worker from before progressive publishing parses as before.
    assert messages.ProgressEventV1.model_validate({**ids, "state": "transcoding"}).playable is None
    with pytest.raises(ValidationError):
        messages.ProgressEventV1.model_validate(
            {**ids, "state": "failed", "error_reason": "x", "playable": playable}
        )
