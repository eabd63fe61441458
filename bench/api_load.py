"""The API under load: feed and title-search requests per second against a static JSON answer of the
same size from the same server, at 1 and at 20 concurrent keep-alive clients, on PostgreSQL.

The server is ``reelstack backend``'s gunicorn with its own options (``gunicorn_options``) and
the real app on a migrated PostgreSQL (the tests' throwaway server) holding many videos (with
likes, views and tags), with the platform's resources on the emulator. One path beside the
app, ``/bench/static``, answers the bytes the feed (or the search) answered, so the ratio is
what the app costs over serving the same bytes from the same workers.

Anonymous readers get answers each worker keeps a few seconds (app/backend/answer_cache.py);
a signed-in reader's page is made for each request (its token verified, its likes marked), so
the feed and title search are measured for a signed-in reader too, as rows of their own: what
the kept answers do not help.

    .venv/bin/python -m bench.api_load [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

from bench._compare import Costs, interleave
from bench._report import Goal, Row, table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from app.local.provision import LocalResources

BENCHMARK = "5 API under load"
GOAL = Goal(">=", 0.5)
STATIC_PATH = "/bench/static"
SEARCH_WORD = "foxly"  # in about 1.5% of the titles (bench.feed_query.TITLE_WORDS)


@dataclass(frozen=True)
class Load:
    videos: int
    seconds: float
    """Length of one measurement."""
    rounds: int


FULL = Load(videos=100_000, seconds=3.0, rounds=5)
QUICK = Load(videos=3_000, seconds=0.7, rounds=2)


def serve(argv: list[str]) -> None:
    """In the server process: the backend's app and options, plus the static path (``--static FILE``)."""
    from app.backend.app import create_app
    from app.backend.serve import gunicorn_options
    from app.contracts import logs
    from app.contracts.settings import BackendSettings, load
    from app.serving import Server

    bind, static_file = argv
    settings = load(BackendSettings)
    logs.configure("backend", settings.log_level)

    def app() -> Any:
        backend = create_app(settings)

        def with_static(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            if environ["PATH_INFO"] == STATIC_PATH:
                body = Path(static_file).read_bytes()
                start_response(
                    "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
                )
                return [body]
            return backend(environ, start_response)

        return with_static

    options = gunicorn_options(bind=bind, workers=2, threads=4, graceful_timeout=5, log_level="WARNING")
    options["accesslog"] = None  # the load would be mostly the access log's lines on this machine
    Server(app, **options).run()


SIGNED_IN_EMAIL = "bench-reader@example.com"
SIGNED_IN_PASSWORD = "Bench-reader-0"  # noqa: S105 - a throwaway user of the emulator's pool


async def _client(host: str, port: int, request: bytes, until: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            sent = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            if status != b"200":
                raise RuntimeError(f"{request.split()[1].decode()} answered {status.decode()}")
            latencies.append(time.perf_counter() - sent)
    finally:
        writer.close()


def load(port: int, path: str, clients: int, seconds: float, token: str | None = None) -> Costs:
    """``clients`` keep-alive connections asking ``path`` back to back for ``seconds``, signed in
    with the access ``token`` if given."""
    authorization = f"Authorization: Bearer {token}\r\n" if token else ""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{authorization}\r\n".encode()
    latencies: list[float] = []

    async def run() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(*(_client("127.0.0.1", port, request, until, latencies) for _ in range(clients)))

    started = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - started
    p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) > 1 else latencies[0]
    return {"rps": len(latencies) / elapsed, "p95_ms": p95 * 1000}


# What readers did to the videos: each of the 100 users liked about 3 % of them, about 4 view
# rows each over the last days, about 1.5 tags each; the bench's reader liked every 7th of the
# newest thousand (its pages mark them liked_by_me).
STATS = (
    "INSERT INTO likes (video_id, user_id, created_at)"
    " SELECT v.id, 'user-' || u, v.created_at FROM videos v, generate_series(0, 99) u WHERE random() < 0.03",
    "INSERT INTO video_views (video_id, day, viewer_key)"
    " SELECT v.id, current_date - d, md5(v.id::text || d || k)"
    " FROM videos v, generate_series(0, 3) d, generate_series(0, 1) k WHERE random() < 0.5",
    "INSERT INTO video_tags (video_id, tag)"
    " SELECT v.id, t FROM videos v, unnest(array['music', 'travel', 'cats', 'howto', 'news']) t"
    " WHERE random() < 0.3",
)


def _sign_in(endpoint: str, resources: LocalResources, sessions: sessionmaker[Session]) -> str:
    """An access token of a new user of the emulator's pool, who liked some of the newest videos."""
    from sqlalchemy import insert, select

    from app.backend.models import Like, User, Video
    from app.local.provision import client

    cognito = client("cognito-idp", endpoint)
    sub = cognito.sign_up(
        ClientId=resources.user_pool_client_id, Username=SIGNED_IN_EMAIL, Password=SIGNED_IN_PASSWORD
    )["UserSub"]
    cognito.admin_confirm_sign_up(UserPoolId=resources.user_pool_id, Username=SIGNED_IN_EMAIL)
    tokens = cognito.initiate_auth(
        ClientId=resources.user_pool_client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": SIGNED_IN_EMAIL, "PASSWORD": SIGNED_IN_PASSWORD},
    )["AuthenticationResult"]
    with sessions() as session:
        session.add(User(id=sub, email=SIGNED_IN_EMAIL))
        newest = session.scalars(select(Video.id).order_by(Video.created_at.desc()).limit(1000)).all()
        session.execute(insert(Like), [{"video_id": v, "user_id": sub} for v in newest[::7]])
        session.commit()
    token: str = tokens["AccessToken"]
    return token


@contextmanager
def backend_on_postgres(videos: int) -> Iterator[tuple[int, Path, str]]:
    """The backend serving a PostgreSQL database of ``videos`` videos; its port, the static file
    and a signed-in reader's access token."""
    from app.backend.db import make_engine, session_factory
    from app.backend.migrate import upgrade
    from app.contracts.names import ResourceNames
    from app.local.moto_server import free_port, start_moto, stop, wait_for_http
    from app.local.provision import provision
    from bench.feed_query import populate
    from tests.support.postgres import running_postgres

    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp, running_postgres(Path(tmp)) as url:
        upgrade(url)
        engine = make_engine(url)
        populate(session_factory(engine), videos)
        with engine.begin() as connection:
            for statement in STATS:
                connection.exec_driver_sql(statement)
        moto, endpoint = start_moto(free_port())
        try:
            resources = provision(ResourceNames(f"b{uuid.uuid4().hex[:10]}"), endpoint)
            token = _sign_in(endpoint, resources, session_factory(engine))
            with engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")
            engine.dispose()
            env = {
                **os.environ,
                **resources.env_for(
                    "backend",
                    database_url=url,
                    media_base_url="http://127.0.0.1:8080/media",
                    media_revocation_store="http://127.0.0.1:8080/_local/revocations",
                    log_level="WARNING",
                ),
            }
            port = free_port()
            static = Path(tmp) / "static.json"
            static.write_text("{}")
            server = subprocess.Popen(
                [sys.executable, "-m", "bench.api_load", "--serve", f"127.0.0.1:{port}", str(static)], env=env
            )
            try:
                wait_for_http(f"http://127.0.0.1:{port}/api/health/ready", timeout=60, process=server)
                yield port, static, token
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(30)
        finally:
            stop(moto)


def measure(*, quick: bool, load_: Load | None = None) -> list[Row]:
    plan = load_ or (QUICK if quick else FULL)
    rows: list[Row] = []
    with backend_on_postgres(plan.videos) as (port, static, token):
        feed, search = "/api/videos?limit=20", f"/api/videos?limit=20&q={quote(SEARCH_WORD)}"
        for label, path, signed_in in (
            ("feed", feed, None),
            ("title search", search, None),
            # A number only a few titles hold: what walking the feed's index cannot find quickly.
            ("rare-title search", f"/api/videos?limit=20&q={plan.videos * 2 // 3}", None),
            ("feed, signed in", feed, token),
            ("title search, signed in", search, token),
        ):
            headers = {"Authorization": f"Bearer {signed_in}"} if signed_in else {}
            answer = requests.get(f"http://127.0.0.1:{port}{path}", headers=headers, timeout=30)
            answer.raise_for_status()
            items = len(answer.json()["items"])
            static.write_bytes(answer.content)  # the same bytes, served without the app
            load(port, path, 4, plan.seconds / 2, signed_in)  # warm every worker's connections and caches
            for clients in (1, 20):
                pairs = interleave(
                    functools.partial(load, port, STATIC_PATH, clients, plan.seconds),
                    functools.partial(load, port, path, clients, plan.seconds, signed_in),
                    plan.rounds,
                )
                static_runs = [a for a, _ in pairs]
                api_runs = [b for _, b in pairs]
                rows.append(
                    Row(
                        BENCHMARK,
                        f"{label} / static JSON, requests/s, {clients} client{'s' if clients > 1 else ''}",
                        GOAL,
                        [b["rps"] / a["rps"] for a, b in zip(static_runs, api_runs, strict=True)],
                        note=(
                            f"{plan.videos} videos on PostgreSQL, {items} items, {len(answer.content)} bytes; "
                            f"API {statistics.median(r['rps'] for r in api_runs):.0f}/s "
                            f"p95 {statistics.median(r['p95_ms'] for r in api_runs):.1f} ms, "
                            f"static {statistics.median(r['rps'] for r in static_runs):.0f}/s "
                            f"p95 {statistics.median(r['p95_ms'] for r in static_runs):.1f} ms"
                        ),
                        details={
                            "path": path,
                            "signed_in": signed_in is not None,
                            "api": [dict(r) for r in api_runs],
                            "static": [dict(r) for r in static_runs],
                        },
                    )
                )
    return rows


def main() -> int:
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--videos", type=int, help="videos in the database")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    if args.videos:
        plan = Load(args.videos, plan.seconds, plan.rounds)
    print(table(measure(quick=args.quick, load_=plan)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
