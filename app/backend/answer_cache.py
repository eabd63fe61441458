"""Answers to anonymous callers, kept a few seconds by each worker: the public feed's pages.

Every anonymous reader of the feed's first page gets the same answer (no ``liked_by_me``, the
same grants within a grant window), and most readers are anonymous and on the first page. Each
worker keeps such an answer for ``ANONYMOUS_ANSWER_SECONDS``, so a page is built from the database
at most once per worker in that time, however many read it.

Staleness: an anonymous reader may see a page up to ``ANONYMOUS_ANSWER_SECONDS`` old (counts of
likes and views, a video just published missing, a video just made private, hidden or deleted
still listed). Its media grants do not outlive a revocation: a video made private or deleted
cuts every grant issued before (app/backend/revocations.py), those in a kept answer included. A
signed-in caller's answer is never kept.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

ANONYMOUS_ANSWER_SECONDS = 5.0
# Answers kept per worker (a page is about 20 kB): the feed's first pages, popular searches.
MAX_ANSWERS = 256


class AnswerCache:
    """Answers by key for ``seconds`` each; ``seconds`` 0 keeps nothing.

    A key is made from a validated request (its parsed, checked parameters). A request may also
    be remembered by what it was before validation (``request_key``, e.g. its query string as
    sent): ``answered`` then finds its answer without parsing and validating it again, which is
    what lets a kept answer go out before the web framework runs (app/backend/api/videos.py).
    Only a request that passed validation is ever remembered, and a request as sent always
    validates to the same parameters, so ``answered`` never serves an unvalidated query, nor
    another query's answer. A remembered request lives as long as its answer.
    """

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._answers: dict[Hashable, tuple[float, Any]] = {}
        self._requests: dict[Hashable, tuple[float, Any]] = {}

    def get_or_make(
        self, key: Hashable, make: Callable[[], Any], *, request_key: Hashable | None = None
    ) -> Any:
        """The answer kept under ``key`` if younger than ``seconds``; else ``make()``, kept.

        ``request_key``: the request as sent, which validated to ``key``; remembered (see the class).
        """
        if self._seconds <= 0:
            return make()
        now = self._clock()
        with self._lock:
            kept = self._answers.get(key)
        if kept is None or kept[0] <= now:
            kept = (now + self._seconds, make())
            with self._lock:
                if len(self._answers) >= MAX_ANSWERS:
                    self._answers = {k: v for k, v in self._answers.items() if v[0] > now}
                    if len(self._answers) >= MAX_ANSWERS:
                        self._answers.clear()
                self._answers[key] = kept
        if request_key is not None:
            with self._lock:
                if len(self._requests) >= MAX_ANSWERS:
                    self._requests = {k: v for k, v in self._requests.items() if v[0] > now}
                # Full of live ones, a new request is not remembered (it is still answered from
                # ``key``): many spellings of one query cannot push out the requests remembered.
                if len(self._requests) < MAX_ANSWERS:
                    self._requests[request_key] = kept
        return kept[1]

    def answered(self, request_key: Hashable) -> Any:
        """The answer kept for a request remembered by ``request_key``, or None."""
        with self._lock:
            kept = self._requests.get(request_key)
        if kept is not None and kept[0] > self._clock():
            return kept[1]
        return None
