"""The database URL comes from settings, with credentials from an RDS-managed secret when one is named,
read when a connection is made so that RDS can rotate the password under a running service."""

from __future__ import annotations

import json
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session

from app.backend import AwsClients, create_app
from app.backend.context import EXTENSION
from app.backend.db import SecretCredentials, database_engine, database_url, make_engine, session_factory
from app.backend.migrate import upgrade
from app.backend.models import Video
from app.backend.status_consumer import StatusConsumer
from app.contracts.messages import ProgressEventV1, VideoState
from app.contracts.settings import BackendSettings
from app.local.provision import LocalResources, client
from tests.app.backend.conftest import (
    add_queued_video,
    backend_settings,
    fresh_postgres_database,
    ready_event,
)
from tests.support.postgres import require_password


def test_without_a_secret_the_url_is_used_as_is(local_resources: LocalResources) -> None:
    settings = backend_settings(local_resources, "postgresql+psycopg://app:pw@db.internal:5432/reelstack")
    assert database_url(settings).render_as_string(hide_password=False) == settings.database_url


def test_credentials_come_from_the_rds_secret_and_connect(
    local_resources: LocalResources, postgres_url: str
) -> None:
    server = make_url(postgres_url)
    password = "p@ss:w/rd%" + uuid.uuid4().hex[:6]  # characters a URL would otherwise mangle
    role = f"app_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(
        host=server.host, port=server.port, user=server.username, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    target = make_url(fresh_postgres_database(postgres_url)).set(username="placeholder", password=None)
    secrets = client("secretsmanager", local_resources.endpoint_url)
    arn = secrets.create_secret(
        Name=f"{local_resources.names.prefix}/db-{uuid.uuid4().hex[:6]}",
        SecretString=json.dumps({"username": role, "password": password, "engine": "postgres"}),
    )["ARN"]
    settings = backend_settings(
        local_resources, target.render_as_string(hide_password=False), database_secret_arn=arn
    )

    url = database_url(settings, secrets)

    assert (url.username, url.password) == (role, password)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT current_user")).scalar_one() == role
    finally:
        engine.dispose()


@dataclass
class RotatingRole:
    """A login role whose password PostgreSQL checks, held in a Secrets Manager secret as RDS does."""

    server_url: str
    role: str
    secret_arn: str
    settings: BackendSettings
    secrets: Any

    def rotate(self) -> None:
        """What an RDS rotation does: a new password on the server, then in the secret."""
        password = "rotated-" + uuid.uuid4().hex
        server = make_url(self.server_url)
        with psycopg.connect(
            host=server.host, port=server.port, user=server.username, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f"ALTER ROLE {self.role} PASSWORD '{password}'")
        self.secrets.put_secret_value(
            SecretId=self.secret_arn, SecretString=json.dumps({"username": self.role, "password": password})
        )


@pytest.fixture
def rotating_role(local_resources: LocalResources, postgres_url: str) -> RotatingRole:
    server = make_url(postgres_url)
    role = f"app_{uuid.uuid4().hex[:8]}"
    password = "first-" + uuid.uuid4().hex
    with psycopg.connect(
        host=server.host, port=server.port, user=server.username, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'")
    require_password(postgres_url, role)
    database = fresh_postgres_database(postgres_url)
    upgrade(database)
    secrets = client("secretsmanager", local_resources.endpoint_url)
    arn = secrets.create_secret(
        Name=f"{local_resources.names.prefix}/db-{uuid.uuid4().hex[:6]}",
        SecretString=json.dumps({"username": role, "password": password}),
    )["ARN"]
    url = make_url(database).set(username=role, password=None).render_as_string(hide_password=False)
    settings = backend_settings(local_resources, url, database_secret_arn=arn)
    return RotatingRole(postgres_url, role, arn, settings, secrets)


@pytest.mark.postgres
def test_the_backend_keeps_serving_after_the_database_password_is_rotated(
    rotating_role: RotatingRole, aws: AwsClients
) -> None:
    """RDS rotates the master password it manages in Secrets Manager; an app that read it once
    at start fails every new connection after the first rotation."""
    app = create_app(rotating_role.settings, aws=aws)
    http = app.test_client()
    engine = app.extensions[EXTENSION].engine
    try:
        assert http.get("/api/videos").status_code == 200

        rotating_role.rotate()
        engine.dispose()  # a recycled pool: every connection from here on is new

        assert http.get("/api/videos").status_code == 200
        assert http.get("/api/health/ready").status_code == 200

        rotating_role.rotate()
        with ExitStack() as held:  # more connections at once than the pool keeps: new ones again
            connections = [held.enter_context(engine.connect()) for _ in range(engine.pool.size() + 2)]
            assert {c.execute(text("SELECT current_user")).scalar_one() for c in connections} == {
                rotating_role.role
            }
        assert http.get("/api/videos").status_code == 200
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_the_status_consumer_keeps_recording_after_the_database_password_is_rotated(
    rotating_role: RotatingRole, local_resources: LocalResources, aws: AwsClients
) -> None:
    engine = database_engine(rotating_role.settings, aws.secretsmanager)
    sqs = client("sqs", local_resources.endpoint_url)
    consumer = StatusConsumer(
        sqs,
        local_resources.status_queue_url,
        session_factory(engine),
        s3=aws.s3,
        media_bucket=local_resources.media_bucket,
        sns=aws.sns,
        video_events_topic_arn=local_resources.video_events_topic_arn,
        wait_seconds=0,
    )
    task = uuid.uuid4()
    try:
        video_id = add_queued_video(engine, task)
        transcoding = ProgressEventV1(
            task_id=task, video_id=video_id, state=VideoState.TRANSCODING, percent=50, sequence=1
        )
        for event in (transcoding, ready_event(str(video_id), task, 2)):
            sqs.send_message(QueueUrl=local_resources.status_queue_url, MessageBody=event.model_dump_json())
            assert consumer.poll_once() == 1
            with Session(engine) as session:
                video = session.get(Video, video_id)
                assert video is not None and (video.status, video.last_sequence) == (
                    event.state,
                    event.sequence,
                )
            rotating_role.rotate()
            engine.dispose()
    finally:
        engine.dispose()


def test_secret_credentials_are_read_again_once_they_are_older_than_their_max_age(
    local_resources: LocalResources,
) -> None:
    secrets = client("secretsmanager", local_resources.endpoint_url)
    arn = secrets.create_secret(
        Name=f"{local_resources.names.prefix}/db-{uuid.uuid4().hex[:6]}",
        SecretString=json.dumps({"username": "app", "password": "one"}),
    )["ARN"]
    now = [0.0]
    credentials = SecretCredentials(secrets, arn, max_age_seconds=60, clock=lambda: now[0])
    assert credentials.current().password == "one"
    secrets.put_secret_value(SecretId=arn, SecretString=json.dumps({"username": "app", "password": "two"}))

    now[0] = 59.0
    assert credentials.current().password == "one"  # cached: no Secrets Manager call per connection
    now[0] = 60.0
    assert credentials.current().password == "two"
    assert credentials.changed() is None  # read again, nothing new
