from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from app.transcoder.probe import NotAVideo, parse_probe, probe
from tests.app.transcoder.conftest import Media


def _info(**video: object) -> dict[str, object]:
    stream = {"codec_type": "video", "width": 1280, "height": 720, "avg_frame_rate": "30000/1001", **video}
    return {"streams": [stream, {"codec_type": "audio"}], "format": {"duration": "4.5"}}


def test_display_matrix_rotation_swaps_the_displayed_size() -> None:
    result = parse_probe(_info(side_data_list=[{"side_data_type": "Display Matrix", "rotation": -90}]))
    assert result.rotation == 90
    assert (result.display_width, result.display_height) == (720, 1280)


def test_legacy_rotate_tag_is_understood() -> None:
    assert parse_probe(_info(tags={"rotate": "270"})).rotation == 270


@pytest.mark.parametrize(
    "stream",
    [
        {"tags": {"rotate": "\u00b2"}},  # a digit to str.isdigit(), not to int()
        {"tags": {"rotate": "9" * 5000}},
        {"side_data_list": [{"side_data_type": "Display Matrix", "rotation": "nan"}]},
        {"side_data_list": [{"side_data_type": "Display Matrix", "rotation": "inf"}]},
    ],
)
def test_a_rotation_that_is_not_a_plain_number_is_no_rotation(stream: dict[str, Any]) -> None:
    assert parse_probe(_info(**stream)).rotation == 0


def test_non_square_pixels_widen_the_displayed_frame() -> None:
    result = parse_probe(_info(width=720, height=576, sample_aspect_ratio="16:15"))
    assert result.sample_aspect == Fraction(16, 15)
    assert result.display_width == 768


def test_frame_rate_duration_and_audio_are_read() -> None:
    result = parse_probe(_info())
    assert result.fps == pytest.approx(29.97, abs=0.01)
    assert result.duration == 4.5
    assert result.has_audio


def test_a_source_with_only_a_cover_image_is_not_a_video() -> None:
    info = {
        "streams": [{"codec_type": "video", "width": 500, "height": 500, "disposition": {"attached_pic": 1}}],
        "format": {"duration": "200"},
    }
    with pytest.raises(NotAVideo, match="no video stream"):
        parse_probe(info)


def test_probe_reads_a_generated_clip(media: Media) -> None:
    result = probe(media.odd)
    assert (result.width, result.height, result.has_audio) == (854, 481, True)
    assert result.duration == pytest.approx(2.0, abs=0.1)
    assert not probe(media.silent).has_audio


def test_probe_reads_the_display_rotation_of_a_generated_clip(media: Media) -> None:
    result = probe(media.rotated)
    assert result.rotation in (90, 270)
    assert (result.display_width, result.display_height) == (360, 640)


@pytest.mark.parametrize("name", ["truncated", "random_bytes"])
def test_corrupt_sources_are_not_videos(media: Media, name: str) -> None:
    with pytest.raises(NotAVideo, match="not a video file we can read"):
        probe(getattr(media, name))


@pytest.mark.parametrize("name", ["truncated", "random_bytes"])
def test_the_reason_for_a_corrupt_source_never_shows_the_workers_scratch_path(
    media: Media, name: str
) -> None:
    """The reason reaches the uploader through the API; where the worker keeps files is not theirs to see."""
    source = getattr(media, name)
    with pytest.raises(NotAVideo) as refused:
        probe(source)
    reason = str(refused.value)
    assert str(source.parent) not in reason
    assert reason.startswith("the upload is not a video file we can read (")
    assert reason.count("the upload") == 1, reason  # it read "the source: the source: ..." before


def test_an_audio_only_file_is_not_a_video(tmp_path: Path) -> None:
    import subprocess

    audio = tmp_path / "tone.m4a"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(audio)],
        check=True,
    )
    with pytest.raises(NotAVideo, match="no video stream"):
        probe(audio)


@pytest.mark.parametrize(
    "content",
    [
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nneighbour.mp4\n#EXT-X-ENDLIST\n",
        "ffconcat version 1.0\nfile neighbour.mp4\n",
    ],
)
def test_an_upload_that_would_make_ffmpeg_open_other_files_is_not_a_video(
    media: Media, tmp_path: Path, content: str
) -> None:
    # Left to guess the format, ffprobe would follow these to the video next to them.
    (tmp_path / "neighbour.mp4").write_bytes(media.landscape.read_bytes())
    source = tmp_path / "source"
    source.write_text(content)
    with pytest.raises(NotAVideo, match="not a video file we can read"):
        probe(source)
