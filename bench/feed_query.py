"""The feed's keyset (cursor) pagination vs OFFSET pagination, at page 1 and at a deep page.

The cursor side is the product's own ``videos.feed`` on the real schema (alembic migrations,
SQLite) with ~20k videos; the OFFSET side is the same query, same order and same page size,
skipping rows instead. Both return the same rows (checked). Each measurement is a batch of
requests, each in its own session as the API opens one per request. No AWS is involved.

    .venv/bin/python -m bench.feed_query [--rounds 10] [--videos 20000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Select, insert, select
from sqlalchemy.orm import Session, sessionmaker

from app.backend.db import make_engine, session_factory
from app.backend.migrate import upgrade
from app.backend.models import User, Video, Visibility
from app.backend.schemas import FeedQuery
from app.backend.videos import feed
from app.contracts.messages import VideoState
from bench._compare import Costs, interleave, ratios, summary

PAGE_SIZE = 20
REQUESTS_PER_MEASUREMENT = 50


# Titles are three of these words and a number: each word is in about 1.5% of the titles.
TITLE_WORDS = [f"{stem}{suffix}" for stem in ("cat", "dog", "sea", "sky", "car", "pan", "owl", "elm", "fox", "ant")
               for suffix in ("", "s", "ly", "ing", "er", "ed", "ish", "ful", "dom", "let",
                              "ity", "ment", "ness", "ous", "ive", "al", "ic", "ize", "ward", "ster")]  # fmt: skip


def populate(sessions: sessionmaker[Session], count: int) -> None:
    """``count`` videos of 100 users; most public and ready (with the keys of a transcoded ladder);
    some share a creation time (ties on id)."""
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with sessions() as session:
        session.execute(
            insert(User), [{"id": f"user-{i}", "email": f"user-{i}@example.com"} for i in range(100)]
        )
        rows = []
        for i in range(count):
            created = start + timedelta(seconds=i - i % 3)
            video_id = uuid.uuid4()
            ready = rng.random() < 0.95
            rows.append(
                {
                    "id": video_id,
                    "owner_id": f"user-{rng.randrange(100)}",
                    "title": " ".join(rng.sample(TITLE_WORDS, 3)) + f" {i}",
                    "visibility": Visibility.PUBLIC if rng.random() < 0.9 else Visibility.PRIVATE,
                    "status": VideoState.READY if ready else VideoState.TRANSCODING,
                    "source_key": f"uploads/{i}",
                    "master_playlist_key": f"videos/{video_id}/t/master.m3u8" if ready else None,
                    "thumbnail_key": f"videos/{video_id}/t/poster.jpg" if ready else None,
                    "duration_seconds": 30.0 if ready else None,
                    "created_at": created,
                    "updated_at": created,
                }
            )
        session.execute(insert(Video), rows)
        session.commit()


def by_cursor(sessions: sessionmaker[Session], cursor: str) -> list[uuid.UUID]:
    with sessions() as session:
        videos, _next = feed(session, FeedQuery(cursor=cursor, limit=PAGE_SIZE))
        return [v.id for v in videos]


def feed_query() -> Select[Video]:
    return (
        select(Video)
        .where(Video.visibility == Visibility.PUBLIC, Video.status == VideoState.READY)
        .order_by(Video.created_at.desc(), Video.id.desc())
    )


def by_offset(sessions: sessionmaker[Session], offset: int) -> list[uuid.UUID]:
    """The alternative: the feed's query and order, skipping ``offset`` rows (one extra row, as ``page`` reads)."""
    with sessions() as session:
        return [v.id for v in session.scalars(feed_query().offset(offset).limit(PAGE_SIZE + 1))][:PAGE_SIZE]


def cursor_of_page(sessions: sessionmaker[Session], number: int) -> str:
    """The cursor a client holds when asking for page ``number``: walked from page 1, as a client would."""
    cursor = ""
    for _ in range(number - 1):
        with sessions() as session:
            _videos, next_cursor = feed(session, FeedQuery(cursor=cursor, limit=PAGE_SIZE))
        if next_cursor is None:
            raise SystemExit(f"the feed has fewer than {number} pages")
        cursor = next_cursor
    return cursor


def timed(request: Callable[[], list[uuid.UUID]]) -> Costs:
    started = time.perf_counter()
    for _ in range(REQUESTS_PER_MEASUREMENT):
        request()
    return {"wall": time.perf_counter() - started}


def compare_page(sessions: sessionmaker[Session], number: int, rounds: int) -> None:
    cursor, offset = cursor_of_page(sessions, number), (number - 1) * PAGE_SIZE
    rows = by_cursor(sessions, cursor)
    if len(rows) != PAGE_SIZE or rows != by_offset(sessions, offset):
        raise SystemExit(f"page {number}: the variants returned different rows")

    offset_pairs = interleave(
        lambda: timed(lambda: by_cursor(sessions, cursor)),
        lambda: timed(lambda: by_offset(sessions, offset)),
        rounds,
    )
    print(f"page {number:>4}, OFFSET / feed cursor: {summary(ratios(offset_pairs, 'wall'))}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--videos", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-feed-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'feed.db'}"
        upgrade(url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        populate(sessions, args.videos)
        with sessions() as session:
            listed = len(
                session.scalars(
                    select(Video.id).where(
                        Video.visibility == Visibility.PUBLIC, Video.status == VideoState.READY
                    )
                ).all()
            )
        pages = listed // PAGE_SIZE
        deep = pages * 9 // 10
        print(f"{args.videos} videos, {listed} in the feed: {pages} full pages of {PAGE_SIZE}")
        compare_page(sessions, 1, args.rounds)
        compare_page(sessions, deep, args.rounds)
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
