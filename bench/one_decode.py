"""The transcoder's one-decode ladder vs one ffmpeg process per rendition, each decoding the source.

Both variants are the product's own code: ``build_graph`` compiled and run by ``run_ffmpeg``,
as the worker does. The naive variant calls the same builder once per rendition with a
one-height ladder, so it writes the same renditions (plus a poster per process, one frame
each). Nothing talks to S3: the worker's download and upload are left out, so the emulator
is not in the measured path. Beside the times, each rendition's bitrate and SSIM against the
source scaled to its size (ffmpeg's ``ssim`` filter), for both variants, so a speed gain
never hides a quality loss. Both variants make the seek previews' storyboard as the worker does;
what that branch of the decode adds is measured beside them, the one-decode ladder with and
without it, in interleaved rounds of its own (in the row's details, not a goal).

    .venv/bin/python -m bench.one_decode [--rounds 4] [--quick]
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from app.contracts.messages import TaskMessageV1
from app.contracts.settings import TranscoderSettings
from app.transcoder.graph import OutputPaths, RenditionPlan, build_graph, build_stills, plan_transcode
from app.transcoder.probe import ProbeResult, probe
from app.transcoder.runner import run_ffmpeg
from bench._compare import Costs, interleave, ratios, summary
from bench._report import Goal, Row


@dataclass(frozen=True)
class Source:
    """A generated upload: size, frame rate, seconds, and the x264 preset it was encoded with."""

    width: int
    height: int
    fps: int
    seconds: float
    preset: str

    def __str__(self) -> str:
        return f"{self.seconds:g} s {self.width}x{self.height}@{self.fps} {self.preset}"


# The goal is set on a 10 s 1080p30 veryfast source and the worker's default ladder.
FULL = Source(1920, 1080, 30, 10, "veryfast")
QUICK = Source(640, 360, 30, 2, "ultrafast")
LADDER = TranscoderSettings.model_fields["ladder"].default
_SSIM_ALL = re.compile(r"SSIM .* All:([0-9.]+)")


def ladder_heights() -> list[int]:
    return sorted({int(h) for h in LADDER.split(",")}, reverse=True)


def make_clip(path: Path, source: Source) -> Path:
    """``source`` as H.264 with AAC audio, as an upload would be."""
    size, rate, seconds = f"{source.width}x{source.height}", source.fps, source.seconds
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libx264", "-preset", source.preset, "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
         str(path)],
        check=True,
    )  # fmt: skip
    return path


def _task(heights: list[int]) -> TaskMessageV1:
    return TaskMessageV1(
        video_id=uuid.uuid4(), owner_id="bench", source_bucket="bench", source_key="bench", ladder=heights
    )


def renditions(source: ProbeResult, heights: list[int]) -> tuple[RenditionPlan, ...]:
    return plan_transcode(source, _task(heights), heights).renditions


def transcode(
    source: ProbeResult, paths: OutputPaths, heights: list[int], *, storyboard: bool = True
) -> None:
    """What the worker does between probe and upload, for the renditions of ``heights``."""
    task = _task(heights)
    plan = plan_transcode(source, task, heights)
    paths.make_directories(plan)
    graph = build_graph(source, task, heights, paths, storyboard=storyboard)
    run_ffmpeg(ffmpeg.compile(graph), lambda _s: None, lambda: False)
    # The sprite sheets and candidate posters, from the stills the transcode wrote.
    stills = build_stills(paths, plan, storyboard=storyboard, candidates=True)
    run_ffmpeg(ffmpeg.compile(stills), lambda _s: None, lambda: False)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def renditions_written(root: Path) -> tuple[str, ...]:
    """The media playlists and segments under ``root``, relative: what both variants must agree on."""
    return tuple(
        sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.suffix != ".jpg")
    )


def measured(
    run: Callable[[Path], None], work: Path, written: set[tuple[str, ...]], kept: dict[str, Path], name: str
) -> Costs:
    """Costs of one run; its outputs replace the variant's previous ones in ``kept``."""
    root = Path(tempfile.mkdtemp(dir=work))
    cpu, wall = children_cpu(), time.perf_counter()
    run(root)
    costs = {"wall": time.perf_counter() - wall, "cpu": children_cpu() - cpu}
    written.add(renditions_written(root))
    if name in kept:
        shutil.rmtree(kept[name])
    kept[name] = root
    return costs


def quality(source: Path, seconds: float, root: Path, rendition: RenditionPlan) -> dict[str, float]:
    """The rendition's video bitrate (its segments' bytes over the duration) and its SSIM against the
    source scaled to the rendition's size, as a viewer's player would show the source there."""
    media = sum(p.stat().st_size for p in (root / rendition.name).iterdir() if p.suffix != ".m3u8")
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-i", str(root / rendition.playlist), "-i", str(source),
         "-lavfi", f"[1:v]scale={rendition.width}:{rendition.height}:flags=bicubic[ref];[0:v][ref]ssim",
         "-f", "null", "-"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    found = _SSIM_ALL.search(result.stderr)
    if found is None:
        raise RuntimeError(f"ffmpeg printed no SSIM for {rendition.name}: {result.stderr[-500:]}")
    return {"kbit_per_s": round(media * 8 / seconds / 1000, 1), "ssim": float(found.group(1))}


@dataclass(frozen=True)
class Comparison:
    source: Source
    heights: list[int]
    files: int
    pairs: list[tuple[Costs, Costs]]
    quality: dict[str, dict[str, dict[str, float]]]
    """Variant, then rendition name: bitrate and SSIM."""
    storyboard_pairs: list[tuple[Costs, Costs]]
    """The one-decode ladder without the storyboard, then with it, per round."""


def compare(source: Source, rounds: int) -> Comparison:
    with tempfile.TemporaryDirectory(prefix="bench-one-decode-") as tmp:
        work = Path(tmp)
        source_path = make_clip(work / "source.mp4", source)
        probed = probe(source_path)
        # The ladder's heights the source fills: a rung above it is not made (nor re-made per process).
        plans = renditions(probed, ladder_heights())
        heights = [r.height for r in plans]

        def one_decode(root: Path) -> None:
            transcode(probed, OutputPaths(source=source_path, root=root), heights)

        def without_storyboard(root: Path) -> None:
            transcode(probed, OutputPaths(source=source_path, root=root), heights, storyboard=False)

        def per_rendition(root: Path) -> None:
            for height in heights:
                transcode(probed, OutputPaths(source=source_path, root=root), [height])

        written: set[tuple[str, ...]] = set()
        kept: dict[str, Path] = {}
        pairs = interleave(
            lambda: measured(one_decode, work, written, kept, "one decode"),
            lambda: measured(per_rendition, work, written, kept, "per rendition"),
            rounds,
        )
        # Every run of either variant must have written the same files, or the ratio compares unlike work.
        if len(written) != 1:
            raise SystemExit(f"the variants wrote different renditions: {sorted(written)}")
        storyboard_pairs = interleave(
            lambda: measured(without_storyboard, work, set(), {}, "without storyboard"),
            lambda: measured(one_decode, work, set(), {}, "with storyboard"),
            rounds,
        )
        return Comparison(
            source,
            heights,
            len(written.pop()),
            pairs,
            {
                variant: {r.name: quality(source_path, source.seconds, root, r) for r in plans}
                for variant, root in kept.items()
            },
            storyboard_pairs,
        )


def measure(*, quick: bool, rounds: int | None = None) -> list[Row]:
    source = QUICK if quick else FULL
    result = compare(source, rounds or (2 if quick else 3))
    return [
        Row(
            "3 single-decode ladder",
            "one decode / one ffmpeg per rendition, wall time",
            Goal("<=", 0.65),
            [a["wall"] / b["wall"] for a, b in result.pairs],
            note=f"{source}, ladder {result.heights}; CPU time "
            + summary([a["cpu"] / b["cpu"] for a, b in result.pairs])
            + "; the storyboard adds, wall "
            + summary(ratios(result.storyboard_pairs, "wall"))
            + ", CPU "
            + summary(ratios(result.storyboard_pairs, "cpu")),
            details={
                "source": str(source),
                "cpu_ratios": [a["cpu"] / b["cpu"] for a, b in result.pairs],
                "seconds": [{"one_decode": a, "per_rendition": b} for a, b in result.pairs],
                "renditions": result.quality,
                "storyboard": {
                    "with_over_without_wall": ratios(result.storyboard_pairs, "wall"),
                    "with_over_without_cpu": ratios(result.storyboard_pairs, "cpu"),
                    "seconds": [{"without": a, "with": b} for a, b in result.storyboard_pairs],
                },
            },
        )
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help=f"a {QUICK} source instead of {FULL}")
    args = parser.parse_args()
    source = QUICK if args.quick else FULL
    result = compare(source, args.rounds)
    print(f"{source} source, ladder {result.heights}: {result.files} playlists and segments")
    for a, b in result.pairs:
        print(
            f"  one decode {a['wall']:.2f} s wall {a['cpu']:.2f} s cpu | "
            f"per rendition {b['wall']:.2f} s wall {b['cpu']:.2f} s cpu"
        )
    print(f"per-rendition / one-decode, wall time: {summary(ratios(result.pairs, 'wall'))}")
    print(f"per-rendition / one-decode, CPU time:  {summary(ratios(result.pairs, 'cpu'))}")
    print("one decode without | with the storyboard:")
    for a, b in result.storyboard_pairs:
        print(f"  {a['wall']:.2f} s wall {a['cpu']:.2f} s cpu | {b['wall']:.2f} s wall {b['cpu']:.2f} s cpu")
    print(f"with / without the storyboard, wall time: {summary(ratios(result.storyboard_pairs, 'wall'))}")
    print(f"with / without the storyboard, CPU time:  {summary(ratios(result.storyboard_pairs, 'cpu'))}")
    for variant, by_rendition in result.quality.items():
        shown = ", ".join(
            f"{n} {q['kbit_per_s']:.0f} kbit/s SSIM {q['ssim']:.4f}" for n, q in by_rendition.items()
        )
        print(f"  {variant}: {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
