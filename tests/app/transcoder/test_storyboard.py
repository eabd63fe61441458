"""The storyboard's plan and WebVTT track: pure geometry, checked without ffmpeg."""

from __future__ import annotations

import re

import pytest

from app.transcoder.storyboard import MAX_TILES, StoryboardPlan, plan_storyboard, storyboard_vtt


@pytest.mark.parametrize(
    ("width", "height", "tile"),
    [(1280, 720, (160, 90)), (720, 1280, (90, 160)), (854, 480, (160, 90)), (640, 480, (160, 120))],
)
def test_tiles_keep_the_frame_aspect_with_the_longer_side_in_the_box(
    width: int, height: int, tile: tuple[int, int]
) -> None:
    plan = plan_storyboard(width, height, 60.0)
    assert (plan.tile_width, plan.tile_height) == tile


@pytest.mark.parametrize(
    ("duration", "interval"), [(1.0, 2), (60.0, 2), (400.0, 2), (401.0, 3), (3600.0, 18)]
)
def test_tiles_come_every_two_seconds_until_a_long_video_would_need_too_many(
    duration: float, interval: int
) -> None:
    plan = plan_storyboard(1280, 720, duration)
    assert plan.interval == interval
    assert plan.tile_count(duration) <= MAX_TILES


def _cues(vtt: str) -> list[tuple[str, str, str, int, int, int, int]]:
    found = re.findall(r"(\S+) --> (\S+)\n(sprite-\d+\.jpg)#xywh=(\d+),(\d+),(\d+),(\d+)\n", vtt)
    return [(a, b, name, int(x), int(y), int(w), int(h)) for a, b, name, x, y, w, h in found]


def test_the_track_maps_each_interval_to_its_tile_row_by_row_then_sheet_by_sheet() -> None:
    plan = StoryboardPlan(interval=2, tile_width=160, tile_height=90, columns=3, rows=2)
    vtt = storyboard_vtt(plan, 13.5)
    assert vtt.startswith("WEBVTT\n\n")
    assert _cues(vtt) == [
        ("00:00:00.000", "00:00:02.000", "sprite-1.jpg", 0, 0, 160, 90),
        ("00:00:02.000", "00:00:04.000", "sprite-1.jpg", 160, 0, 160, 90),
        ("00:00:04.000", "00:00:06.000", "sprite-1.jpg", 320, 0, 160, 90),
        ("00:00:06.000", "00:00:08.000", "sprite-1.jpg", 0, 90, 160, 90),
        ("00:00:08.000", "00:00:10.000", "sprite-1.jpg", 160, 90, 160, 90),
        ("00:00:10.000", "00:00:12.000", "sprite-1.jpg", 320, 90, 160, 90),
        # The last, partial interval has its tile and ends with the video.
        ("00:00:12.000", "00:00:13.500", "sprite-2.jpg", 0, 0, 160, 90),
    ]
    assert plan.tile_count(13.5) == 7 and plan.sprite_count(13.5) == 2


def test_timestamps_carry_hours_and_a_video_shorter_than_one_interval_has_one_cue() -> None:
    plan = StoryboardPlan(interval=20, tile_width=160, tile_height=90)
    assert _cues(storyboard_vtt(plan, 3661.25))[-1][:2] == ("01:01:00.000", "01:01:01.250")
    assert _cues(storyboard_vtt(plan, 0.4)) == [
        ("00:00:00.000", "00:00:00.400", "sprite-1.jpg", 0, 0, 160, 90)
    ]
    assert plan.sprite_count(0.4) == 1
