"""The database engine, built from settings in one place."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from app.contracts.settings import BackendSettings

log = logging.getLogger(__name__)

# A failover or a dropped route leaves connects hanging for the kernel's SYN retries (minutes);
# bounded, a request fails fast and its worker thread is free again.
CONNECT_TIMEOUT_SECONDS = 5
# How long credentials read from the secret are used for new connections before reading it
# again; a connection the server refuses reads it at once.
SECRET_MAX_AGE_SECONDS = 60.0


@dataclass(frozen=True)
class Credentials:
    username: str | None
    password: str


class SecretCredentials:
    """The database credentials in an RDS-managed secret, read when a connection is made.

    RDS rotates the master password it manages: credentials read once at start work until
    the first rotation and then every new connection fails. So they are cached for
    ``max_age_seconds`` and read again when the server refuses a connection.
    RDS-managed master secrets hold JSON ``{"username": ..., "password": ...}``.
    """

    def __init__(
        self,
        secretsmanager: Any,
        secret_arn: str,
        *,
        max_age_seconds: float = SECRET_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secretsmanager = secretsmanager
        self._secret_arn = secret_arn
        self._max_age_seconds = max_age_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: Credentials | None = None
        self._read_at = 0.0

    def current(self) -> Credentials:
        """The cached credentials, read again once they are older than ``max_age_seconds``."""
        with self._lock:
            if self._cached is None:
                self._read()
            elif self._clock() - self._read_at >= self._max_age_seconds:
                self._read_or_keep()
            assert self._cached is not None
            return self._cached

    def changed(self) -> Credentials | None:
        """Read the secret now; the new credentials if they differ from the cached ones, else None."""
        with self._lock:
            before = self._cached
            self._read_or_keep()
            return self._cached if self._cached != before else None

    def _read(self) -> None:
        secret = json.loads(self._secretsmanager.get_secret_value(SecretId=self._secret_arn)["SecretString"])
        self._cached = Credentials(username=secret.get("username"), password=secret["password"])
        self._read_at = self._clock()

    def _read_or_keep(self) -> None:
        # Secrets Manager being away is no reason to stop connecting with what still works.
        try:
            self._read()
        except (BotoCoreError, ClientError):
            log.warning(
                "could not read the database secret; keeping the credentials read before", exc_info=True
            )


def _connect_with(secret: SecretCredentials) -> Callable[..., Any]:
    """A ``do_connect`` hook: each new connection logs in with the secret's credentials; a refused
    one is tried once more if the secret has changed since (it was rotated)."""

    def connect(dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        def attempt(credentials: Credentials) -> Any:
            login = {"password": credentials.password}
            if credentials.username:
                login["user"] = credentials.username
            return dialect.connect(*cargs, **{**cparams, **login})

        try:
            return attempt(secret.current())
        except dialect.loaded_dbapi.OperationalError:
            rotated = secret.changed()
            if rotated is None:
                raise
            log.info("the database secret has changed (rotated): connecting with its new credentials")
            return attempt(rotated)

    return connect


def database_engine(settings: BackendSettings, secretsmanager: Any | None = None) -> Engine:
    """The engine of ``database_url``; with ``database_secret_arn``, every new connection takes
    its credentials from that secret (``SecretCredentials``)."""
    if not settings.database_secret_arn:
        return make_engine(settings.database_url)
    return make_engine(settings.database_url, _secret(settings, secretsmanager))


def database_url(settings: BackendSettings, secretsmanager: Any | None = None) -> URL:
    """``database_url`` with the secret's credentials as they are now, for one-off commands
    (``reelstack migrate``); servers use ``database_engine``, which follows rotations."""
    url = make_url(settings.database_url)
    if not settings.database_secret_arn:
        return url
    credentials = _secret(settings, secretsmanager).current()
    return url.set(username=credentials.username or url.username, password=credentials.password)


def _secret(settings: BackendSettings, secretsmanager: Any | None) -> SecretCredentials:
    if secretsmanager is None:
        raise ValueError("REELSTACK_DATABASE_SECRET_ARN is set but no Secrets Manager client was given")
    return SecretCredentials(secretsmanager, settings.database_secret_arn)


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    # SQLite ignores ON DELETE CASCADE unless asked per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: URL | str, credentials: SecretCredentials | None = None) -> Engine:
    """An engine for ``url``; PostgreSQL connections log in with ``credentials`` when given."""
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
    if credentials is not None:
        event.listen(engine, "do_connect", _connect_with(credentials))
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
