"""The transcoder's one-decode ladder vs one ffmpeg process per rendition, each decoding the source.

Both variants are the product's own code: ``build_graph`` compiled and run by ``run_ffmpeg``,
as the worker does. The naive variant calls the same builder once per rendition with a
one-height ladder, so it writes the same renditions (plus a poster per process, one frame
each). Nothing talks to S3: the worker's download and upload are left out, so the emulator
is not in the measured path.

    .venv/bin/python -m bench.one_decode [--rounds 4]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import ffmpeg

from app.contracts.messages import TaskMessageV1
from app.transcoder.graph import OutputPaths, build_graph, plan_transcode
from app.transcoder.probe import ProbeResult, probe
from app.transcoder.runner import run_ffmpeg
from bench._compare import Costs, interleave, ratios, summary

LADDER = [720, 480, 360, 240]
CLIP_SECONDS = 10


def make_clip(path: Path) -> Path:
    """10 s of 1280x720 30 fps H.264 with AAC audio, as an upload would be."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=30:duration={CLIP_SECONDS}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={CLIP_SECONDS}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
         str(path)],
        check=True,
    )  # fmt: skip
    return path


def transcode(source: ProbeResult, paths: OutputPaths, heights: list[int]) -> None:
    """What the worker does between probe and upload, for the renditions of ``heights``."""
    task = TaskMessageV1(
        video_id=uuid.uuid4(), owner_id="bench", source_bucket="bench", source_key="bench", ladder=heights
    )
    for rendition in plan_transcode(source, task, heights).renditions:
        paths.playlist(rendition).parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg(ffmpeg.compile(build_graph(source, task, heights, paths)), lambda _s: None, threading.Event())


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def renditions_written(root: Path) -> tuple[str, ...]:
    """The media playlists and segments under ``root``, relative: what both variants must agree on."""
    return tuple(
        sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.suffix != ".jpg")
    )


def measured(run: Callable[[Path], None], work: Path, written: set[tuple[str, ...]]) -> Costs:
    root = Path(tempfile.mkdtemp(dir=work))
    cpu, wall = children_cpu(), time.perf_counter()
    run(root)
    costs = {"wall": time.perf_counter() - wall, "cpu": children_cpu() - cpu}
    written.add(renditions_written(root))
    shutil.rmtree(root)
    return costs


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-one-decode-") as tmp:
        work = Path(tmp)
        source_path = make_clip(work / "source.mp4")
        source = probe(source_path)

        def one_decode(root: Path) -> None:
            transcode(source, OutputPaths(source=source_path, root=root), LADDER)

        def per_rendition(root: Path) -> None:
            for height in LADDER:
                transcode(source, OutputPaths(source=source_path, root=root), [height])

        written: set[tuple[str, ...]] = set()
        pairs = interleave(
            lambda: measured(one_decode, work, written),
            lambda: measured(per_rendition, work, written),
            args.rounds,
        )
        # Every run of either variant must have written the same files, or the ratio compares unlike work.
        if len(written) != 1:
            raise SystemExit(f"the variants wrote different renditions: {sorted(written)}")
        print(
            f"{CLIP_SECONDS} s 1280x720 source, ladder {LADDER}: {len(written.pop())} playlists and segments"
        )
        for a, b in pairs:
            print(
                f"  one decode {a['wall']:.2f} s wall {a['cpu']:.2f} s cpu | "
                f"per rendition {b['wall']:.2f} s wall {b['cpu']:.2f} s cpu"
            )
        print(f"per-rendition / one-decode, wall time: {summary(ratios(pairs, 'wall'))}")
        print(f"per-rendition / one-decode, CPU time:  {summary(ratios(pairs, 'cpu'))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
