"""The mark-uploaded check recognises video containers by their first bytes (files made by ffmpeg)."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from app.backend.videos import looks_like_video


def _ffmpeg(path: Path, *output_args: str) -> bytes:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=32x32:rate=5", "-t", "0.4",
         *output_args, str(path)],
        check=True,
    )  # fmt: skip
    return path.read_bytes()[:64]


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("clip.mp4", ["-pix_fmt", "yuv420p", "-c:v", "libx264"]),
        ("clip.mov", ["-pix_fmt", "yuv420p", "-c:v", "libx264"]),
        ("clip.webm", ["-c:v", "libvpx"]),
        ("clip.mkv", ["-c:v", "libx264"]),
        ("clip.avi", ["-c:v", "mpeg4"]),
        ("clip.mpg", ["-c:v", "mpeg2video"]),
        ("clip.flv", ["-c:v", "flv"]),
    ],
)
def test_video_containers_are_recognised(tmp_path: Path, name: str, args: list[str]) -> None:
    assert looks_like_video(_ffmpeg(tmp_path / name, *args))


@pytest.mark.parametrize("name", ["frame.png", "frame.jpg", "frame.gif"])
def test_still_images_are_not_videos(tmp_path: Path, name: str) -> None:
    head = _ffmpeg(tmp_path / name, "-frames:v", "1", "-update", "1")
    assert not looks_like_video(head)


def test_text_random_and_empty_bytes_are_not_videos() -> None:
    assert not looks_like_video(b"<html><body>not a video</body></html>")
    assert not looks_like_video(b"")
    assert not looks_like_video(random.Random(7).randbytes(64))
