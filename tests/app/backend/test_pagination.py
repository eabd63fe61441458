"""Keyset pagination: every row once, in order, ties included; deep pages seek in the index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.backend.db import make_engine
from app.backend.migrate import upgrade
from app.backend.models import User, Video, Visibility
from app.backend.schemas import FeedQuery
from app.backend.videos import feed
from app.contracts.messages import VideoState

START = datetime(2026, 1, 1, tzinfo=UTC)


def _database(tmp_path: Path, count: int) -> Engine:
    url = f"sqlite:///{tmp_path / 'feed.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        session.add(User(id="owner", email="owner@example.com"))
        session.add_all(
            Video(
                owner_id="owner",
                title=f"video {n}",
                visibility=Visibility.PUBLIC,
                status=VideoState.READY,
                source_key=f"uploads/{n}",
                # Three videos share each second: the cursor must break ties by id.
                created_at=START + timedelta(seconds=n // 3),
            )
            for n in range(count)
        )
        session.commit()
    return engine


def test_paging_the_feed_returns_every_video_once_newest_first_ties_included(tmp_path: Path) -> None:
    engine = _database(tmp_path, 50)
    seen: list[Video] = []
    cursor = ""
    with Session(engine) as session:
        while True:
            rows, next_cursor = feed(session, FeedQuery(limit=7, cursor=cursor))
            seen.extend(rows)
            if next_cursor is None:
                break
            cursor = next_cursor
    assert len({video.id for video in seen}) == len(seen) == 50
    keys = [(video.created_at, str(video.id)) for video in seen]
    assert keys == sorted(keys, reverse=True)


def test_a_deep_page_seeks_to_the_cursor_in_the_feed_index(tmp_path: Path) -> None:
    engine = _database(tmp_path, 30)
    statements: list[tuple[str, Any]] = []
    with Session(engine) as session:
        _, cursor = feed(session, FeedQuery(limit=10))
        assert cursor

        def capture(conn: Any, cur: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            statements.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", capture)
        try:
            feed(session, FeedQuery(limit=10, cursor=cursor))
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        statement, parameters = statements[-1]
        plan = " ".join(
            str(row[-1])
            for row in session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        )
    # Without the row-value comparison SQLite searches on (visibility, status) only and
    # walks every newer row: deep pages cost like OFFSET.
    assert "ix_videos_feed (visibility=? AND status=? AND (created_at,id)<(?,?))" in plan, plan
