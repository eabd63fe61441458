"""Video tags: what a tag may be, and a video's tags read and replaced. Plain functions over a session."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.backend.models import TAG_MAX, VideoTag

# Lowercase ASCII letters and digits, hyphens inside: a tag reads the same in a URL path, and
# no two tags look alike (no case, width or script variants to fold).
TAG_PATTERN = re.compile(rf"^[a-z0-9](?:[a-z0-9-]{{0,{TAG_MAX - 2}}}[a-z0-9])?$")
# What the API documents it accepts: the same, either case (stored lowercase).
TAG_JSON_PATTERN = rf"^[A-Za-z0-9](?:[A-Za-z0-9-]{{0,{TAG_MAX - 2}}}[A-Za-z0-9])?$"


def normalise_tag(value: str) -> str:
    """``value`` lowercased; ValueError unless it is 1 to TAG_MAX ASCII letters, digits and inner
    hyphens. ASCII is checked first: ``str.lower`` maps some non-ASCII letters (the Kelvin sign)
    onto ASCII ones."""
    tag = value.lower() if value.isascii() else ""
    if not TAG_PATTERN.match(tag):
        raise ValueError(
            f"a tag is 1 to {TAG_MAX} ASCII letters, digits and hyphens, starting and ending with a letter or digit"
        )
    return tag


def unique_tags(tags: list[str]) -> list[str]:
    """The tags without repeats, in their first order."""
    return list(dict.fromkeys(tags))


def replace_tags(session: Session, video_id: uuid.UUID, tags: list[str]) -> None:
    """Make ``tags`` (normalised, unique) the video's tags; the caller commits."""
    session.execute(delete(VideoTag).where(VideoTag.video_id == video_id))
    session.add_all(VideoTag(video_id=video_id, tag=tag) for tag in tags)
