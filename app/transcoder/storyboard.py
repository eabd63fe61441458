"""Seek previews: where the storyboard's tiles come from and the WebVTT track that indexes them.

A branch of the transcode's single decode picks one frame every ``interval`` seconds and writes
it, scaled to a tile, as it comes (a sheet that waited to fill would hold ffmpeg's progress
back: ``graph.py``); once ffmpeg ends, ``graph.build_stills`` packs ``columns`` x ``rows`` tiles
per JPEG sprite sheet (``sprite-1.jpg``, ...).
The WebVTT thumbnails track maps each interval of the video to its tile as a media fragment
(``sprite-N.jpg#xywh=x,y,w,h``), the form players and the web app read. Everything here is pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Tiles every few seconds, and at most this many in all: a long video gets a longer interval.
MIN_INTERVAL_SECONDS = 2
MAX_TILES = 200
# A tile fits in this box (its longer side), enough to recognise a scene above the seek bar.
TILE_BOX = 160
COLUMNS = 5
ROWS = 5
SPRITE_PATTERN = "sprite-%d.jpg"
VTT_NAME = "storyboard.vtt"


def _even(value: float) -> int:
    return max(2, int(value / 2 + 0.5) * 2)


@dataclass(frozen=True)
class StoryboardPlan:
    interval: int
    """Seconds between tiles; the tile at ``i * interval`` previews up to the next one."""
    tile_width: int
    tile_height: int
    columns: int = COLUMNS
    rows: int = ROWS

    @property
    def tiles_per_sprite(self) -> int:
        return self.columns * self.rows

    def tile_count(self, duration: float) -> int:
        """One tile per started interval (ffmpeg's ``fps`` with ``eof_action=pass`` emits as many)."""
        return max(1, math.ceil(duration / self.interval))

    def sprite_count(self, duration: float) -> int:
        return math.ceil(self.tile_count(duration) / self.tiles_per_sprite)


def plan_storyboard(width: int, height: int, duration: float) -> StoryboardPlan:
    """Tiles of the frame's aspect with the longer side ``TILE_BOX``, every few seconds."""
    if width >= height:
        tile_width, tile_height = TILE_BOX, _even(TILE_BOX * height / width)
    else:
        tile_width, tile_height = _even(TILE_BOX * width / height), TILE_BOX
    interval = max(MIN_INTERVAL_SECONDS, math.ceil(duration / MAX_TILES))
    return StoryboardPlan(interval=interval, tile_width=tile_width, tile_height=tile_height)


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def storyboard_vtt(plan: StoryboardPlan, duration: float) -> str:
    """The WebVTT thumbnails track: one cue per tile, its interval → its sprite sheet and rectangle."""
    lines = ["WEBVTT", ""]
    for index in range(plan.tile_count(duration)):
        sprite, cell = divmod(index, plan.tiles_per_sprite)
        row, column = divmod(cell, plan.columns)
        start = index * plan.interval
        end = min((index + 1) * plan.interval, max(duration, start + 0.001))
        x, y = column * plan.tile_width, row * plan.tile_height
        lines += [
            f"{_timestamp(start)} --> {_timestamp(end)}",
            f"{SPRITE_PATTERN % (sprite + 1)}#xywh={x},{y},{plan.tile_width},{plan.tile_height}",
            "",
        ]
    return "\n".join(lines)
