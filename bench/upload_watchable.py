"""Upload to watchable: ``/uploaded`` to the ``ready`` event through the local platform, against the
worker's own ffmpeg graph run alone on the same file, interleaved on the same machine.

The platform is ``reelstack up`` with one transcoder, started as the end-to-end tests start it;
a viewer signs up, uploads the source through the presigned POST (not timed), opens the
video's event stream, then marks the upload done: the clock runs from that request to the
``ready`` event on the stream, as the web app sees it. The stream also says where the time
goes: until the first ``transcoding`` event (a worker took the task from the queue), until
99% (download, probe, ffmpeg), and until ``ready`` (outputs uploaded, master playlist last). The other side is
``bench.one_decode.transcode``: the worker's graph for the same ladder, source on local disk.

Watchable early (the lowest rung playing before the ladder is done) is reported as not
implemented: the worker uploads its outputs once ffmpeg has finished, master playlist last.

    .venv/bin/python -m bench.upload_watchable [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from app.transcoder.graph import OutputPaths
from app.transcoder.probe import probe
from bench._compare import interleave
from bench._report import Goal, Row, table
from bench.one_decode import Source, ladder_heights, make_clip, renditions, transcode

BENCHMARK = "1 upload to watchable"
MEASURE = "platform / worker's ffmpeg graph alone, wall time"
GOAL = Goal("<=", 1.02)
FULL = Source(1920, 1080, 30, 20, "veryfast")
QUICK = Source(640, 360, 30, 3, "ultrafast")
READY_TIMEOUT_SECONDS = 600
# The worker reports ffmpeg's progress up to 99% and sends ready once the outputs are uploaded
# (app/transcoder/worker.py, _TRANSCODE_PERCENT).
FFMPEG_DONE_PERCENT = 99.0


@dataclass(frozen=True)
class Watched:
    """Seconds from ``/uploaded`` to: the task's first event (a worker took it), ffmpeg's end, and ready."""

    started: float
    encoded: float
    ready: float


def through_platform(base: str, session: requests.Session, source: Path) -> Watched:
    from tests.e2e.client import upload_via_presigned_post
    from tests.e2e.sse import iter_events

    response = session.post(f"{base}/api/videos", json={"title": "bench upload"}, timeout=30)
    response.raise_for_status()
    created = response.json()
    upload_via_presigned_post(created["upload"], source, "video/mp4")
    ticket = session.post(f"{base}/api/videos/{created['id']}/events-ticket", timeout=30)
    ticket.raise_for_status()
    marks: dict[str, float] = {}
    with requests.get(
        f"{base}{ticket.json()['url']}", stream=True, timeout=(5, READY_TIMEOUT_SECONDS)
    ) as stream:
        stream.raise_for_status()
        t0 = time.perf_counter()
        session.post(f"{base}/api/videos/{created['id']}/uploaded", timeout=30).raise_for_status()
        for event in iter_events(stream):
            state, percent = event.data["state"], event.data["percent"]
            if state == "transcoding":
                marks.setdefault("started", time.perf_counter() - t0)
                if percent >= FFMPEG_DONE_PERCENT:
                    marks.setdefault("encoded", time.perf_counter() - t0)
            if state in ("ready", "failed"):
                if state == "failed":
                    raise RuntimeError(f"the platform failed the upload: {event.data}")
                marks["ready"] = time.perf_counter() - t0
                break
    return Watched(marks.get("started", marks["ready"]), marks.get("encoded", marks["ready"]), marks["ready"])


def measure(*, quick: bool, rounds: int | None = None) -> list[Row]:
    from tests.e2e.client import new_address, signup_confirm_login
    from tests.e2e.conftest import start_platform

    source = QUICK if quick else FULL
    rounds = rounds or (2 if quick else 3)
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        work = Path(tmp)
        source_path = make_clip(work / "source.mp4", source)
        probed = probe(source_path)
        heights = [r.height for r in renditions(probed, ladder_heights())]
        platform = start_platform(work / "platform", transcoders=1)
        try:
            session = signup_confirm_login(platform, new_address(platform, "bench"), "Bench-Passw0rd-long")
            watched: list[Watched] = []

            def platform_side() -> dict[str, float]:
                result = through_platform(platform.base_url, session, source_path)
                watched.append(result)
                return {"wall": result.ready}

            def ffmpeg_side() -> dict[str, float]:
                root = work / "alone"
                started = time.perf_counter()
                transcode(probed, OutputPaths(source=source_path, root=root), heights)
                elapsed = time.perf_counter() - started
                shutil.rmtree(root)
                return {"wall": elapsed}

            pairs = interleave(ffmpeg_side, platform_side, rounds)
        finally:
            platform.stop()
    alone = statistics.median(a["wall"] for a, _ in pairs)
    where: dict[str, Any] = {
        "queue (to the task's first event)": statistics.median(w.started for w in watched),
        "download, probe, ffmpeg (to 99%)": statistics.median(w.encoded - w.started for w in watched),
        "outputs uploaded (99% to ready)": statistics.median(w.ready - w.encoded for w in watched),
    }
    return [
        Row(
            BENCHMARK,
            MEASURE,
            GOAL,
            [b["wall"] / a["wall"] for a, b in pairs],
            note=f"{source}, ladder {heights}; ffmpeg alone {alone:.1f} s; platform: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in where.items()),
            details={
                "source": str(source),
                "ladder": heights,
                "seconds": [{"ffmpeg_alone": a["wall"], "platform": b["wall"]} for a, b in pairs],
                "platform_breakdown_s": where,
            },
        ),
        Row(
            "2 watchable early",
            "first rung playable / full ladder, wall time",
            Goal("<=", 0.3),
            note="not implemented: the worker uploads its outputs after ffmpeg ends, master playlist last",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int)
    args = parser.parse_args()
    print(table(measure(quick=args.quick, rounds=args.rounds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
