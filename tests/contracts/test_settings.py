import pytest

from app.contracts.settings import BackendSettings, SettingsError, TranscoderSettings, load


def test_missing_variable_is_named_with_who_sets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REELSTACK_UPLOADS_BUCKET", "u")
    with pytest.raises(SettingsError) as excinfo:
        load(TranscoderSettings)
    message = str(excinfo.value)
    assert "REELSTACK_TASK_QUEUE_URL is not set" in message
    assert "REELSTACK_UPLOADS_BUCKET" not in message
    assert "TranscoderFleet" in message


def test_malformed_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in TranscoderSettings.required_env():
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("REELSTACK_LADDER", "720,big")
    with pytest.raises(SettingsError, match="REELSTACK_LADDER is invalid"):
        load(TranscoderSettings)


def test_ladder_is_parsed_highest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in TranscoderSettings.required_env():
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("REELSTACK_LADDER", "360, 1080,720")
    assert load(TranscoderSettings).ladder_heights == [1080, 720, 360]


def test_backend_requires_its_queues_and_buckets() -> None:
    required = BackendSettings.required_env()
    assert {"REELSTACK_TASK_QUEUE_URL", "REELSTACK_UPLOADS_BUCKET", "REELSTACK_DATABASE_URL"} <= required
    assert "REELSTACK_MAX_UPLOAD_BYTES" not in required
