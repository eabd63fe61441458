"""Upload to watchable: ``/uploaded`` to the ``ready`` event through the local platform, against the
worker's own ffmpeg graph run alone on the same file, interleaved on the same machine.

The platform is ``reelstack up`` with one transcoder, started as the end-to-end tests start it;
a viewer signs up, uploads the source through the presigned POST (not timed), opens the
video's event stream, then marks the upload done: the clock runs from that request to the
``ready`` event on the stream, as the web app sees it. The stream also says where the time
goes: until the first ``transcoding`` event (a worker took the task from the queue), until the
first event above 0% (download, probe, ffmpeg's start), until 99% (ffmpeg; the segments go up
meanwhile), and until ``ready`` (what is left
uploaded: the last segments, posters, storyboard, playlists, master playlist last). The other
side is ``bench.one_decode.transcode``: the worker's graph for the same ladder, source on local disk.

Watchable early, in the same rounds: from ``/uploaded`` until the lowest rung plays, over the
time to ``ready`` (the full ladder). The worker publishes segments as ffmpeg completes them and
the master playlist listing the lowest rung once that rung has one (``app/transcoder/publish.py``),
and says so on a transcoding event (``playable``); the clock stops once, through the video's
playback URL from the API, the master playlist, the rung's playlist, its init segment and its
first segment have all been fetched, as a player's first requests would.

    .venv/bin/python -m bench.upload_watchable [--quick]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from app.transcoder.graph import SEGMENT_SECONDS, OutputPaths
from app.transcoder.probe import probe
from bench._compare import interleave
from bench._report import Goal, Row, table
from bench.one_decode import Source, ladder_heights, make_clip, renditions, transcode

BENCHMARK = "1 upload to watchable"
MEASURE = "platform / worker's ffmpeg graph alone, wall time"
GOAL = Goal("<=", 1.02)
FULL = Source(1920, 1080, 30, 20, "veryfast")
# 8 s: two 4 s segments, so the quick run still has a first segment before the last.
QUICK = Source(640, 360, 30, 8, "ultrafast")
EARLY = "2 watchable early"
EARLY_MEASURE = "first rung playable / full ladder, wall time"
EARLY_GOAL = Goal("<=", 0.3)
PLAYBACK_POLLS = 50
PLAYBACK_POLL_SECONDS = 0.1
READY_TIMEOUT_SECONDS = 600
# The worker reports ffmpeg's progress up to 99% and sends ready once the outputs are uploaded
# (app/transcoder/worker.py, _TRANSCODE_PERCENT).
FFMPEG_DONE_PERCENT = 99.0


@dataclass(frozen=True)
class Watched:
    """Seconds from ``/uploaded`` to: the task's first event (a worker took it), ffmpeg's first
    progress, the lowest rung playing, ffmpeg's end, and ready."""

    started: float
    progressing: float
    playable: float
    encoded: float
    ready: float


def first_rung_fetched(base: str, session: requests.Session, video_id: str) -> None:
    """Fetch what a player fetches first, through the playback URL the API gives: the master
    playlist, its first variant's playlist, that variant's init segment and first segment."""
    url = None
    for _ in range(PLAYBACK_POLLS):  # the API's record may trail the stream by a moment
        url = session.get(f"{base}/api/videos/{video_id}", timeout=30).json()["playback_url"]
        if url:
            break
        time.sleep(PLAYBACK_POLL_SECONDS)
    if not url:
        raise RuntimeError("the stream said the video plays, but the API gave no playback URL")
    master = requests.get(url, timeout=30)
    master.raise_for_status()
    variant = urljoin(
        url, next(line for line in master.text.splitlines() if line and not line.startswith("#"))
    )
    playlist = requests.get(variant, timeout=30)
    playlist.raise_for_status()
    init = re.search(r'#EXT-X-MAP:URI="([^"]+)"', playlist.text)
    first = next(line for line in playlist.text.splitlines() if line and not line.startswith("#"))
    for uri in ([init.group(1)] if init else []) + [first]:
        requests.get(urljoin(variant, uri), timeout=30).raise_for_status()


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
            if event.data.get("playable") and "playable" not in marks:
                first_rung_fetched(base, session, created["id"])
                marks["playable"] = time.perf_counter() - t0
            if state == "transcoding":
                marks.setdefault("started", time.perf_counter() - t0)
                if percent > 0:
                    marks.setdefault("progressing", time.perf_counter() - t0)
                if percent >= FFMPEG_DONE_PERCENT:
                    marks.setdefault("encoded", time.perf_counter() - t0)
            if state in ("ready", "failed"):
                if state == "failed":
                    raise RuntimeError(f"the platform failed the upload: {event.data}")
                marks["ready"] = time.perf_counter() - t0
                break
    if "playable" not in marks:  # a worker without progressive publishing: playable once ready
        first_rung_fetched(base, session, created["id"])
        marks["playable"] = time.perf_counter() - t0
    ready = marks["ready"]
    encoded = marks.get("encoded", ready)
    return Watched(
        marks.get("started", ready), marks.get("progressing", encoded), marks["playable"], encoded, ready
    )


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
        "download, probe (to ffmpeg's first progress)": statistics.median(
            w.progressing - w.started for w in watched
        ),
        "ffmpeg (to 99%)": statistics.median(w.encoded - w.progressing for w in watched),
        "outputs uploaded (99% to ready)": statistics.median(w.ready - w.encoded for w in watched),
    }
    playable = statistics.median(w.playable for w in watched)
    ready = statistics.median(w.ready for w in watched)
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
            EARLY,
            EARLY_MEASURE,
            EARLY_GOAL,
            [w.playable / w.ready for w in watched],
            note=f"{source}; from /uploaded, lowest rung fetchable through the playback URL {playable:.1f} s,"
            f" ready (full ladder) {ready:.1f} s; segments of {SEGMENT_SECONDS} s",
            details={
                "source": str(source),
                "seconds": [{"playable": w.playable, "ready": w.ready} for w in watched],
            },
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
