"""A small reader of `text/event-stream` responses, for tests that watch the SSE stream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests


@dataclass(frozen=True)
class SseEvent:
    id: str | None
    event: str
    data: dict[str, Any]


def iter_events(response: requests.Response) -> Iterator[SseEvent]:
    """Events as the server frames them; comment lines (heartbeats) are dropped."""
    event_id: str | None = None
    event_name = "message"
    data_lines: list[str] = []
    for raw in response.iter_lines(decode_unicode=True):
        line = raw or ""
        if not line:
            if data_lines:
                yield SseEvent(event_id, event_name, json.loads("\n".join(data_lines)))
            event_id, event_name, data_lines = None, "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "id":
            event_id = value
        elif field == "event":
            event_name = value
        elif field == "data":
            data_lines.append(value)
