"""Notices, within seconds, that the video a task transcodes was deleted: its source is gone.

Deleting a video deletes every version of its source (``app.backend.videos.delete_video``),
and a task's source is the copy the backend made when it accepted the upload, which no
presigned upload can write again (``mark_uploaded``). So a HeadObject of the task's source
that answers 404 while the task runs means the video was deleted. (A source also expires, by
the uploads bucket's lifecycle rule, days after it was accepted: a task that waited in the
queue that long and was mid-transcode at that moment would stop the same way, silently; one
that starts later fails at once on the missing source.)

Why this signal: it needs no new resource, no new write on the backend's side and no new
grant (the worker already may read the sources, and its listing grant on their prefix makes
S3 answer a missing key 404 rather than 403); one HeadObject every few seconds is a
GET-class request, a small fraction of a cent per hour of transcoding.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

logger = logging.getLogger("app.transcoder")

# How often the source is looked at: ffmpeg stops within this (plus one request) of a deletion.
CHECK_SECONDS = 2.0
_MISSING = ("404", "NoSuchKey", "NotFound")


class VideoDeleted(Exception):
    """The task's video was deleted while it ran: stop, keep nothing, report nothing."""


class DeletionWatch:
    """Looks at the task's source every ``interval`` seconds until it is gone or the task ends."""

    def __init__(self, s3: Any, bucket: str, key: str, interval: float = CHECK_SECONDS) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._key = key
        self._interval = interval
        self.deleted = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="deletion-watch", daemon=True)

    def _run(self) -> None:
        while not self._done.wait(self._interval):
            if self._source_gone():
                self.deleted.set()
                return

    def _source_gone(self) -> bool:
        try:
            self._s3.head_object(Bucket=self._bucket, Key=self._key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return True
            logger.warning("could not look at the task's source", exc_info=True)
        except BotoCoreError:
            logger.warning("could not look at the task's source", exc_info=True)
        return False

    def check(self) -> None:
        """Raise ``VideoDeleted`` once the source is known to be gone."""
        if self.deleted.is_set():
            raise VideoDeleted(f"the source {self._key} was deleted")

    def __enter__(self) -> DeletionWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._done.set()
        self._thread.join()
