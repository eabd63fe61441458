"""Which runs a transcode is split into, and when an earlier attempt's checkpoint is whole enough to reuse."""

from __future__ import annotations

import json
from pathlib import Path

from app.transcoder.checkpoints import Checkpoints, run_heights
from app.transcoder.graph import TranscodePlan, plan_ladder
from app.transcoder.posters import plan_candidates
from app.transcoder.storyboard import plan_storyboard
from tests.app.transcoder.conftest import Pipeline


def _plan(duration: float, heights: list[int]) -> TranscodePlan:
    return TranscodePlan(
        width=1920,
        height=1080,
        duration=duration,
        renditions=plan_ladder(1920, 1080, heights, 30.0),
        thumbnail_at=1.0,
        storyboard=plan_storyboard(1920, 1080, duration),
        candidates=plan_candidates(duration),
    )


def test_a_long_source_runs_its_top_rendition_first_and_a_short_one_runs_once() -> None:
    assert run_heights(_plan(600, [1080, 720, 360]), resumable_from_seconds=120) == [[1080], [720, 360]]
    assert run_heights(_plan(60, [1080, 720, 360]), resumable_from_seconds=120) == [[1080, 720, 360]]
    assert run_heights(_plan(600, [720]), resumable_from_seconds=120) == [[720]]


def test_only_a_checkpoint_whose_every_file_is_stored_at_its_size_is_restored(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    s3, bucket, prefix = pipeline.s3, pipeline.resources.media_bucket, "videos/v/t/"
    files = {"480p/init.mp4": b"init", "480p/seg_00000.m4s": b"segment", "480p/index.m3u8": b"#EXTM3U"}
    for name, body in files.items():
        s3.put_object(Bucket=bucket, Key=prefix + name, Body=body)
    sizes = {name: len(body) for name, body in files.items()}
    s3.put_object(Bucket=bucket, Key=f"{prefix}checkpoints/480p.json", Body=json.dumps(sizes))
    # Run 1's manifest names a segment that was cut short (or never stored).
    s3.put_object(
        Bucket=bucket, Key=f"{prefix}checkpoints/360p.json", Body=json.dumps({"360p/seg_00000.m4s": 9})
    )
    s3.put_object(Bucket=bucket, Key=f"{prefix}360p/seg_00000.m4s", Body=b"short")

    checkpoints = Checkpoints(s3, bucket, prefix)

    assert checkpoints.restore([480], tmp_path)
    assert {
        p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()
    } == files
    assert not checkpoints.restore([360], tmp_path)
    assert not checkpoints.restore([480, 360], tmp_path)  # another ladder's run: never stored
    assert checkpoints.saved == {prefix + name for name in files}
    assert checkpoints.bytes_written == 0  # restored, not written
