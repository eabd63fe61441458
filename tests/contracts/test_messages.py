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
