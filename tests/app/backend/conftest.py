"""Backend fixtures: a migrated database per test (SQLite and PostgreSQL), the app on moto, real Cognito users."""

from __future__ import annotations

import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, make_url
from sqlalchemy.orm import Session

from app.backend import AwsClients, create_app
from app.backend.db import make_engine
from app.backend.migrate import upgrade
from app.backend.models import User, Video, Visibility
from app.backend.status_consumer import record_event
from app.contracts.messages import (
    ProgressEventV1,
    Rendition,
    Storyboard,
    TaskOutputs,
    VideoEventV1,
    VideoState,
)
from app.contracts.names import ResourceNames
from app.contracts.settings import ENV_PREFIX, BackendSettings
from app.local.provision import LocalResources, client, provision
from app.transcoder.hls import Variant, master_playlist

MAX_UPLOAD_BYTES = 64 * 1024
PASSWORD = "Passw0rd-long"


@pytest.fixture(scope="session")
def sample_mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A one-second 64x64 H.264 clip made by ffmpeg, small enough for the tests' upload limit."""
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=10",
            "-t", "1", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", str(path),
        ],
        check=True,
    )  # fmt: skip
    data = path.read_bytes()
    assert len(data) < MAX_UPLOAD_BYTES
    return data


def fresh_postgres_database(server_url: str, template: str | None = None) -> str:
    """A new database on the test server (empty, or a copy of ``template``); its URL."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = make_url(server_url)
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def backend_resources(moto_endpoint: str) -> Iterator[LocalResources]:
    """The platform's resources for one test module (like ``local_resources``, shared to save time),
    with the AWS environment the backend gets from ``env_for`` (boto3 needs AWS_DEFAULT_REGION)."""
    resources = provision(ResourceNames(f"t{uuid.uuid4().hex[:12]}"), moto_endpoint)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in resources.aws_env().items():
            patch.setenv(name, value)
        yield resources


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def template_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database of each kind, copied for every test; the whole HTTP suite runs on both."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'template.sqlite'}"
    else:
        url = fresh_postgres_database(request.getfixturevalue("postgres_url"))
    upgrade(url)
    return url


@pytest.fixture
def database_url(template_database: str, tmp_path: Path) -> str:
    """A fresh, migrated database for one test: a copy of the module's template."""
    template = make_url(template_database)
    if template.get_backend_name() == "sqlite":
        assert template.database is not None
        copy = tmp_path / "backend.sqlite"
        shutil.copyfile(template.database, copy)
        return f"sqlite:///{copy}"
    return fresh_postgres_database(template_database, template=template.database)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def local_resources(backend_resources: LocalResources) -> LocalResources:
    """This module's resources, with the queues emptied of what earlier tests left."""
    for queue_url in (backend_resources.task_queue_url, backend_resources.status_queue_url):
        drain(backend_resources, queue_url)
    return backend_resources


def backend_settings(resources: LocalResources, database_url: str, **overrides: str) -> BackendSettings:
    env = resources.env_for(
        "backend",
        database_url=database_url,
        media_base_url="http://127.0.0.1:8080/media",
        media_revocation_store="http://127.0.0.1:8080/_local/revocations",
        max_upload_bytes=str(MAX_UPLOAD_BYTES),
        **overrides,
    )
    return BackendSettings(
        **{k.removeprefix(ENV_PREFIX).lower(): v for k, v in env.items() if k.startswith(ENV_PREFIX)}
    )


@pytest.fixture
def settings(local_resources: LocalResources, database_url: str) -> BackendSettings:
    return backend_settings(local_resources, database_url)


@pytest.fixture(scope="module")
def aws(backend_resources: LocalResources) -> AwsClients:
    """Clients shared by the module's apps (creating boto3 clients is the slow part of create_app)."""
    return AwsClients.from_settings(backend_settings(backend_resources, "sqlite://"))


@dataclass
class RecordedRevocations:
    """The media edge's store as the backend sees it, keeping each epoch written."""

    epochs: dict[uuid.UUID, list[int]] = field(default_factory=dict)

    def revoke(self, video_id: uuid.UUID, revoked_before_ms: int) -> None:
        self.epochs.setdefault(video_id, []).append(revoked_before_ms)


@pytest.fixture
def revocations() -> RecordedRevocations:
    return RecordedRevocations()


@pytest.fixture
def app(
    settings: BackendSettings, engine: Engine, aws: AwsClients, revocations: RecordedRevocations
) -> Flask:
    # Answers kept for anonymous callers would hide from a test the change it just made;
    # test_answer_cache.py tests keeping them.
    return create_app(settings, aws=aws, engine=engine, revocations=revocations, anonymous_answer_seconds=0)


@pytest.fixture
def http(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass(frozen=True)
class Caller:
    """A confirmed Cognito user of the test pool and its tokens."""

    sub: str
    email: str
    access_token: str
    id_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def sign_up(resources: LocalResources, email: str) -> Caller:
    cognito = client("cognito-idp", resources.endpoint_url)
    sub = cognito.sign_up(ClientId=resources.user_pool_client_id, Username=email, Password=PASSWORD)[
        "UserSub"
    ]
    cognito.admin_confirm_sign_up(UserPoolId=resources.user_pool_id, Username=email)
    tokens = cognito.initiate_auth(
        ClientId=resources.user_pool_client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    return Caller(sub=sub, email=email, access_token=tokens["AccessToken"], id_token=tokens["IdToken"])


@pytest.fixture(scope="module")
def alice(backend_resources: LocalResources) -> Caller:
    return sign_up(backend_resources, "alice@example.com")


@pytest.fixture(scope="module")
def bob(backend_resources: LocalResources) -> Caller:
    return sign_up(backend_resources, "bob@example.com")


def s3(resources: LocalResources) -> Any:
    return client("s3", resources.endpoint_url)


def put_source(
    resources: LocalResources, video_id: str, body: bytes, content_type: str = "video/mp4"
) -> None:
    """What a browser's presigned POST leaves in the uploads bucket."""
    s3(resources).put_object(
        Bucket=resources.uploads_bucket,
        Key=f"incoming/{video_id}/source",
        Body=body,
        ContentType=content_type,
    )


def add_queued_video(engine: Engine, task_id: uuid.UUID) -> uuid.UUID:
    """A public video, straight into the database, whose current task is ``task_id``."""
    video_id = uuid.uuid4()
    with Session(engine) as session:
        session.add(User(id="owner", email="owner@example.com"))
        session.add(
            Video(
                id=video_id,
                owner_id="owner",
                title="t",
                visibility=Visibility.PUBLIC,
                status=VideoState.QUEUED,
                task_id=task_id,
                source_key=f"incoming/{video_id}/source",
            )
        )
        session.commit()
    return video_id


def drain(resources: LocalResources, queue_url: str) -> list[str]:
    """Every message body now on ``queue_url``, removed from it."""
    sqs = client("sqs", resources.endpoint_url)
    bodies: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def post_at_once(
    app: Flask,
    path: str,
    headers: dict[str, str],
    callers: int = 4,
    method: str = "POST",
    json: Any = None,
) -> list[int]:
    """The statuses of ``callers`` POSTs (or ``method`` requests, with the body ``json``) to
    ``path`` released together, each from its own client."""
    statuses: list[int] = []
    barrier = threading.Barrier(callers)

    def call() -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.open(path, method=method, headers=headers, json=json).status_code)

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@dataclass
class Platform:
    """The app, its database and AWS resources, and helpers that walk a video through its life."""

    http: FlaskClient
    engine: Engine
    resources: LocalResources
    sample: bytes

    def create(self, caller: Caller, title: str = "a clip", **fields: Any) -> str:
        response = self.http.post("/api/videos", json={"title": title, **fields}, headers=caller.headers)
        assert response.status_code == 201, response.json
        return str(response.json["id"])

    def queue(self, caller: Caller, title: str = "a clip", **fields: Any) -> str:
        video_id = self.create(caller, title, **fields)
        put_source(self.resources, video_id, self.sample)
        response = self.http.post(f"/api/videos/{video_id}/uploaded", headers=caller.headers)
        assert response.status_code == 202, response.json
        return video_id

    def row(self, video_id: str) -> Video | None:
        with Session(self.engine) as session:
            return session.get(Video, uuid.UUID(video_id))

    def task_id(self, video_id: str) -> uuid.UUID:
        video = self.row(video_id)
        assert video is not None and video.task_id is not None
        return video.task_id

    def ready(self, caller: Caller, title: str = "a clip", **fields: Any) -> str:
        video_id = self.queue(caller, title, **fields)
        event = ready_event(video_id, self.task_id(video_id), sequence=5)
        put_master_playlist(self.resources, event)
        with Session(self.engine) as session:
            assert record_event(session, event)
        return video_id


def put_master_playlist(resources: LocalResources, event: ProgressEventV1) -> None:
    """The master playlist a transcoder writes last (app/transcoder/hls.py), over the event's renditions."""
    outputs = event.outputs
    assert outputs is not None
    variants = [
        Variant(
            playlist=r.playlist_key.removeprefix(outputs.prefix),
            width=r.width,
            height=r.height,
            peak_bandwidth=r.bandwidth,
            average_bandwidth=r.bandwidth * 3 // 4,
            codecs="avc1.64001f,mp4a.40.2",
            frame_rate=30.0,
        )
        for r in outputs.renditions
    ]
    s3(resources).put_object(
        Bucket=resources.media_bucket,
        Key=outputs.master_playlist_key,
        Body=master_playlist(variants).encode(),
        ContentType="application/vnd.apple.mpegurl",
    )


def ready_event(video_id: str, task_id: uuid.UUID, sequence: int) -> ProgressEventV1:
    """A ready event as a worker sends it: three candidate posters, the first of them shown."""
    prefix = f"videos/{video_id}/{task_id}/"
    candidates = [f"{prefix}candidates/candidate-{n}.jpg" for n in (1, 2, 3)]
    return ProgressEventV1(
        task_id=task_id,
        video_id=uuid.UUID(video_id),
        state=VideoState.READY,
        percent=100,
        sequence=sequence,
        outputs=TaskOutputs(
            prefix=prefix,
            master_playlist_key=prefix + "master.m3u8",
            thumbnail_key=candidates[0],
            thumbnail_candidates=candidates,
            duration_seconds=10.0,
            renditions=[
                Rendition(
                    height=720, width=1280, bandwidth=3_000_000, playlist_key=prefix + "720/index.m3u8"
                ),
                Rendition(height=360, width=640, bandwidth=800_000, playlist_key=prefix + "360/index.m3u8"),
            ],
            storyboard=Storyboard(
                vtt_key=prefix + "storyboard/storyboard.vtt",
                sprite_count=1,
                interval_seconds=2,
                tile_width=160,
                tile_height=90,
                columns=5,
                rows=5,
            ),
        ),
    )


@pytest.fixture
def platform(
    http: FlaskClient, engine: Engine, local_resources: LocalResources, sample_mp4: bytes
) -> Platform:
    return Platform(http=http, engine=engine, resources=local_resources, sample=sample_mp4)


def video_events_observer(resources: LocalResources) -> str:
    """A queue subscribed (raw delivery) to the video events topic, as an integrator's would be."""
    sqs = client("sqs", resources.endpoint_url)
    url: str = sqs.create_queue(QueueName=f"{resources.names.prefix}-integrator-{uuid.uuid4().hex[:8]}")[
        "QueueUrl"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    client("sns", resources.endpoint_url).subscribe(
        TopicArn=resources.video_events_topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return url


def video_events_received(resources: LocalResources, queue_url: str) -> list[VideoEventV1]:
    """Every video event now on the observer queue, removed from it."""
    return [VideoEventV1.model_validate_json(body) for body in drain(resources, queue_url)]
