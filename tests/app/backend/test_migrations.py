"""Alembic migrations upgrade to head, downgrade to base and upgrade again, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.backend import view_counts
from app.backend.db import make_engine
from app.backend.migrate import downgrade, upgrade
from app.backend.models import (
    Base,
    Comment,
    Report,
    ReportStatus,
    ReportTarget,
    Subscription,
    User,
    Video,
    Visibility,
    declared_on,
    utcnow,
)
from app.contracts.messages import VideoState
from tests.app.backend.conftest import fresh_postgres_database

TABLES = {
    "users",
    "videos",
    "comments",
    "likes",
    "playlists",
    "playlist_items",
    "reports",
    "audit_log",
    "subscriptions",
    "caption_tracks",
    "video_tags",
    "video_views",
    "webhooks",
    "webhook_deliveries",
}


def _user_columns(engine: Engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("users")}


def _step_back_to_0001_and_forward(url: str, engine: Engine) -> None:
    """0002 (display_name) goes down and up again without touching the rows that reference users."""
    with Session(engine) as session:
        session.add(User(id="u1", email="u1@example.com", display_name="U One"))
        video = Video(
            owner_id="u1",
            title="t",
            visibility=Visibility.PUBLIC,
            status=VideoState.UPLOADING,
            source_key="k",
        )
        session.add(video)
        session.flush()
        session.add(Comment(video_id=video.id, author_id="u1", body="b"))
        session.commit()
    downgrade(url, "0001")
    assert "display_name" not in _user_columns(engine)
    upgrade(url)
    assert "display_name" in _user_columns(engine)
    with Session(engine) as session:
        assert session.scalar(select(User.display_name).where(User.id == "u1")) is None
        assert session.scalar(select(func.count()).select_from(Comment)) == 1


def _round_trip(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(url)
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.connect() as connection:
            # The migrations build exactly what the models declare.
            context = MigrationContext.configure(
                connection, opts={"include_object": declared_on(connection.dialect.name)}
            )
            assert compare_metadata(context, Base.metadata) == []
        _step_back_to_0001_and_forward(url, engine)
        downgrade(url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(url)
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_migrations_round_trip_on_sqlite(tmp_path) -> None:
    _round_trip(f"sqlite:///{tmp_path / 'm.sqlite'}")


def test_migrations_round_trip_on_postgresql(postgres_url: str) -> None:
    _round_trip(fresh_postgres_database(postgres_url))


def test_0003_keeps_the_earliest_of_look_alike_names_and_resets_the_rest(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    engine = make_engine(url)
    try:
        upgrade(url, "0002")
        with engine.begin() as connection:
            for n, name in enumerate(["Alice", "ＡＬＩＣＥ", "Bob"]):
                connection.exec_driver_sql(
                    "INSERT INTO users (id, email, display_name, created_at) VALUES (?, '', ?, ?)",
                    (f"u{n}", name, f"2026-01-0{n + 1}00:00:00"),
                )
        upgrade(url)
        with Session(engine) as session:
            names = {row.id: row.display_name for row in session.execute(select(User.id, User.display_name))}
        assert names == {"u0": "Alice", "u1": None, "u2": "Bob"}
    finally:
        engine.dispose()


def _one_open_report_per_reporter_and_target(url: str) -> None:
    """0006's partial unique index: a second open report of the same target is refused, a
    resolved one does not count."""
    engine = make_engine(url)
    try:
        upgrade(url)
        target = uuid.uuid4()
        with Session(engine) as session:
            session.add(User(id="u1", email=""))
            session.flush()
            session.add(
                Report(
                    reporter_id="u1",
                    target_type=ReportTarget.VIDEO,
                    target_id=target,
                    reason="r",
                    status=ReportStatus.RESOLVED,
                )
            )
            session.add(
                Report(
                    reporter_id="u1",
                    target_type=ReportTarget.VIDEO,
                    target_id=target,
                    reason="r",
                    status=ReportStatus.OPEN,
                )
            )
            session.commit()
            session.add(
                Report(
                    reporter_id="u1",
                    target_type=ReportTarget.VIDEO,
                    target_id=target,
                    reason="r",
                    status=ReportStatus.OPEN,
                )
            )
            with pytest.raises(IntegrityError):
                session.commit()
        downgrade(url, "0005")
        assert {"reports", "audit_log"}.isdisjoint(inspect(engine).get_table_names())
        assert "suspended_at" not in _user_columns(engine)
    finally:
        engine.dispose()


def test_0006_keeps_one_open_report_per_reporter_and_target_on_sqlite(tmp_path) -> None:
    _one_open_report_per_reporter_and_target(f"sqlite:///{tmp_path / 'm.sqlite'}")


def test_0006_keeps_one_open_report_per_reporter_and_target_on_postgresql(postgres_url: str) -> None:
    _one_open_report_per_reporter_and_target(fresh_postgres_database(postgres_url))


def _one_subscription_per_pair_and_none_to_oneself(url: str) -> None:
    """0008's constraints: a second subscription to the same channel and one to oneself are
    refused; downgrading to 0007 drops the table and keeps the users."""
    engine = make_engine(url)
    try:
        upgrade(url)
        with Session(engine) as session:
            session.add_all([User(id="viewer", email=""), User(id="creator", email="")])
            session.flush()
            session.add(Subscription(subscriber_id="viewer", channel_id="creator"))
            session.commit()
            for subscriber in ("viewer", "creator"):
                session.add(Subscription(subscriber_id=subscriber, channel_id="creator"))
                with pytest.raises(IntegrityError):
                    session.commit()
                session.rollback()
        downgrade(url, "0007")
        assert "subscriptions" not in inspect(engine).get_table_names()
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(User)) == 2
    finally:
        engine.dispose()


USAGE_COLUMNS = {
    "transcode_cpu_seconds",
    "transcode_instance_type",
    "transcode_purchase_option",
    "transcode_bytes_written",
    "transcode_bytes_stored",
}


def _usage_columns_come_and_go_keeping_the_videos(url: str) -> None:
    """0011: a video ready before it has no recorded usage (null, not zero: its cost is unknown),
    and going back to 0010 drops the columns, not the videos."""
    engine = make_engine(url)
    try:
        upgrade(url, "0010")
        with engine.begin() as connection:
            connection.execute(
                Base.metadata.tables["users"].insert().values(id="u1", email="", created_at=utcnow())
            )
        upgrade(url)
        with Session(engine) as session:
            session.add(
                Video(
                    owner_id="u1",
                    title="t",
                    visibility=Visibility.PUBLIC,
                    status=VideoState.READY,
                    source_key="k",
                )
            )
            session.commit()
            assert session.scalar(select(Video.transcode_cpu_seconds)) is None
        downgrade(url, "0010")
        assert USAGE_COLUMNS.isdisjoint(c["name"] for c in inspect(engine).get_columns("videos"))
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM videos").scalar() == 1
        upgrade(url)
        assert {c["name"] for c in inspect(engine).get_columns("videos")} >= USAGE_COLUMNS
    finally:
        engine.dispose()


def test_0008_keeps_one_subscription_per_pair_and_none_to_oneself_on_sqlite(tmp_path) -> None:
    _one_subscription_per_pair_and_none_to_oneself(f"sqlite:///{tmp_path / 'm.sqlite'}")


def test_0008_keeps_one_subscription_per_pair_and_none_to_oneself_on_postgresql(postgres_url: str) -> None:
    _one_subscription_per_pair_and_none_to_oneself(fresh_postgres_database(postgres_url))


def test_0011_adds_and_drops_the_usage_columns_on_sqlite(tmp_path) -> None:
    _usage_columns_come_and_go_keeping_the_videos(f"sqlite:///{tmp_path / 'm.sqlite'}")


def test_0011_adds_and_drops_the_usage_columns_on_postgresql(postgres_url: str) -> None:
    _usage_columns_come_and_go_keeping_the_videos(fresh_postgres_database(postgres_url))


def _a_viewer_counts_once_a_day(url: str) -> None:
    """0009's primary key of video_views: the dialect's insert-or-ignore counts a viewer's repeat
    of the day as nothing, another day as a view; downgraded, the tables are gone."""
    engine = make_engine(url)
    try:
        upgrade(url)
        with Session(engine) as session:
            session.add(User(id="u1", email=""))
            video = Video(
                owner_id="u1",
                title="t",
                visibility=Visibility.PUBLIC,
                status=VideoState.READY,
                source_key="k",
            )
            session.add(video)
            session.commit()
            day = date(2026, 12, 3)
            counted = [
                view_counts.record_view(session, video, day, "viewer"),
                view_counts.record_view(session, video, day, "viewer"),
                view_counts.record_view(session, video, date(2026, 12, 4), "viewer"),
            ]
            assert counted == [True, False, True]
            assert view_counts.view_totals(session, [video.id]) == {video.id: 2}
        downgrade(url, "0008")
        assert {"video_tags", "video_views"}.isdisjoint(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_0009_counts_a_viewer_once_a_day_on_sqlite(tmp_path) -> None:
    _a_viewer_counts_once_a_day(f"sqlite:///{tmp_path / 'm.sqlite'}")


def test_0009_counts_a_viewer_once_a_day_on_postgresql(postgres_url: str) -> None:
    _a_viewer_counts_once_a_day(fresh_postgres_database(postgres_url))
