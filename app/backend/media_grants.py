"""Media grants signed once per video and expiry window, not once per item of every answer.

A feed page carries one grant per video, and every viewer of the page gets the same videos: a
grant whose expiry is rounded up to the end of a window (``GRANT_WINDOW_SECONDS``) is the same
token for everyone who asks during that window, so it is signed once and reused, and the media
URLs it sits in stay the same (cacheable by browsers and the edge) for the window.

The lifetime stays within bounds: a grant handed out at time t expires after ``t + ttl`` and no
later than ``t + ttl + window``, and never more than ``MEDIA_GRANT_MAX_SECONDS`` after it was
signed (the media edge forgets revocation epochs older than that): a lifetime that a window
would stretch past it is signed afresh each time.

Only a video shown to everyone (not private, not hidden, its owner not suspended) gets a reused
grant. A revocation epoch is written only when a video stops being shown to everyone, and every
way back (made public, unhidden, its owner restored) changes its ``updated_at``, which is part of
the key: a video shared again gets a grant issued after the epoch, never one from before it. A
video seen by its owner alone gets a fresh grant each time, as the owner who made it private
(again) must get one newer than the epoch just written.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime

from app.backend.models import Video, Visibility
from app.contracts.tickets import MEDIA_GRANT_MAX_SECONDS, issue_media_grant

GRANT_WINDOW_SECONDS = 60
# Grants kept per worker: a window's worth of the videos its answers carried (about 200 bytes each).
MAX_GRANTS = 20_000


def shown_to_everyone(video: Video) -> bool:
    return (
        video.visibility != Visibility.PRIVATE
        and video.hidden_at is None
        and video.owner_suspended_at is None
    )


class MediaGrants:
    """Issues media grants; one app (one worker process) holds one."""

    def __init__(
        self,
        key: bytes,
        *,
        window_seconds: int = GRANT_WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key
        self._window = window_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._window_end = -1
        self._grants: dict[tuple[uuid.UUID, datetime | None, int], str] = {}

    def window_end(self) -> int:
        """When the current window ends (seconds since the epoch): a reused grant's expiry is
        this plus its lifetime."""
        return (int(self._clock()) // self._window + 1) * self._window

    def grant(self, video: Video, ttl_seconds: int) -> str:
        """A grant for ``video`` living at least ``ttl_seconds`` from now, at most a window more."""
        if not shown_to_everyone(video) or ttl_seconds + self._window > MEDIA_GRANT_MAX_SECONDS:
            return issue_media_grant(self._key, video_id=video.id, ttl_seconds=ttl_seconds)
        window_end = self.window_end()
        key = (video.id, video.updated_at, ttl_seconds)
        with self._lock:
            if window_end != self._window_end or len(self._grants) >= MAX_GRANTS:
                self._grants.clear()  # the previous window's grants are not handed out again
                self._window_end = window_end
            found = self._grants.get(key)
        if found is not None:
            return found
        signed = issue_media_grant(
            self._key, video_id=video.id, ttl_seconds=ttl_seconds, expires_at=window_end + ttl_seconds
        )
        with self._lock:
            if self._window_end == window_end:
                self._grants[key] = signed
        return signed
