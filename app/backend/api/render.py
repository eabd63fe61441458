"""Rows to response bodies; media URLs carry a grant so the media edge can check visibility."""

from __future__ import annotations

from typing import Any

from app.backend.context import Services
from app.backend.models import Comment, Playlist, Video
from app.backend.schemas import CommentOut, PlaylistOut, RenditionOut, VideoOut
from app.backend.videos import LikeCount
from app.contracts.messages import VideoState
from app.contracts.tickets import issue_media_grant

# Playback outlives an events ticket: a grant covers a long viewing session.
MEDIA_GRANT_TTL_SECONDS = 6 * 3600


def video_out(video: Video, count: LikeCount, services: Services) -> VideoOut:
    playback_url = thumbnail_url = None
    if video.status == VideoState.READY and video.master_playlist_key:
        grant = issue_media_grant(services.ticket_key, video_id=video.id, ttl_seconds=MEDIA_GRANT_TTL_SECONDS)
        base = f"{services.settings.media_base_url.rstrip('/')}/g/{grant}/"
        playback_url = base + video.master_playlist_key
        thumbnail_url = base + video.thumbnail_key if video.thumbnail_key else None
    return VideoOut(
        id=video.id,
        owner_id=video.owner_id,
        title=video.title,
        description=video.description,
        visibility=video.visibility,
        status=video.status,
        progress=video.progress,
        duration_seconds=video.duration_seconds,
        renditions=[
            RenditionOut(height=r["height"], width=r["width"], bandwidth=r["bandwidth"])
            for r in video.renditions
        ],
        playback_url=playback_url,
        thumbnail_url=thumbnail_url,
        error_reason=video.error_reason,
        likes=count.likes,
        liked_by_me=count.liked_by_me,
        created_at=video.created_at,
        updated_at=video.updated_at,
    )


def videos_out(videos: list[Video], counts: dict[Any, LikeCount], services: Services) -> list[VideoOut]:
    return [video_out(video, counts[video.id], services) for video in videos]


def comment_out(comment: Comment) -> CommentOut:
    return CommentOut.model_validate(comment, from_attributes=True)


def playlist_out(playlist: Playlist, items: list[VideoOut]) -> PlaylistOut:
    return PlaylistOut(
        id=playlist.id,
        owner_id=playlist.owner_id,
        title=playlist.title,
        description=playlist.description,
        visibility=playlist.visibility,
        items=items,
        created_at=playlist.created_at,
        updated_at=playlist.updated_at,
    )
