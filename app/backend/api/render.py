"""Rows to response bodies; media URLs carry a grant so the media edge can check visibility."""

from __future__ import annotations

from typing import Any

from app.backend.captions import playback_key
from app.backend.context import Services
from app.backend.models import CaptionTrack, Comment, Playlist, User, Video
from app.backend.schemas import CaptionOut, CommentOut, MeOut, PlaylistOut, PosterOut, RenditionOut, VideoOut
from app.backend.videos import VideoStats
from app.contracts.messages import VideoState
from app.contracts.roles import Role
from app.contracts.tickets import MEDIA_GRANT_MAX_SECONDS, MEDIA_GRANT_MIN_SECONDS, media_key_prefix

# Visibility is checked when a grant is issued; the media edge (CloudFront) cannot ask the
# database, so a video made private or deleted cuts the grants already issued through a
# revocation epoch (app/backend/revocations.py). A grant lives as long as one viewing needs,
# pauses and seeks included: three times the video's length, at least 15 minutes, at most 6 hours
# (a shared video's grant is reused until the end of a one-minute window: app/backend/media_grants.py).


SUSPENDED_OWNER = "the owner's account is suspended"


def media_grant_ttl(duration_seconds: float | None) -> int:
    wanted = 3 * (duration_seconds or 0)
    return int(min(MEDIA_GRANT_MAX_SECONDS, max(MEDIA_GRANT_MIN_SECONDS, wanted)))


def playable(video: Video) -> bool:
    """Ready, or transcoding with its current task's lowest rung already published (the
    worker's progressive publishing): a master playlist of an earlier task, or of a failed
    one, is never played early."""
    if not video.master_playlist_key:
        return False
    if video.status == VideoState.READY:
        return True
    return (
        video.status == VideoState.TRANSCODING
        and video.task_id is not None
        and video.master_playlist_key.startswith(media_key_prefix(video.id, video.task_id))
    )


def media_base(video: Video, services: Services) -> str | None:
    """The URL the video's media keys follow, with a grant in its path; None until it plays."""
    if not playable(video):
        return None
    grant = services.grants.grant(video, media_grant_ttl(video.duration_seconds))
    return f"{services.settings.media_base_url.rstrip('/')}/g/{grant}/"


def video_out(video: Video, stats: VideoStats, services: Services) -> VideoOut:
    playback_url = thumbnail_url = storyboard_url = download_url = None
    base = media_base(video, services)
    if base is not None:
        playback_url = base + key if (key := playback_key(video)) else None
        thumbnail_url = base + video.thumbnail_key if video.thumbnail_key else None
        # The track names its sprite sheets relative to itself, so they share its grant.
        storyboard_url = base + video.storyboard_key if video.storyboard_key else None
        # Stored with an attachment disposition (the transcoder's upload), which the edge passes on.
        download_url = base + video.download_key if video.download_key else None
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
        storyboard_url=storyboard_url,
        download_url=download_url,
        error_reason=video.error_reason,
        likes=stats.likes.likes,
        liked_by_me=stats.likes.liked_by_me,
        views=stats.views,
        tags=stats.tags,
        hidden_reason=video.hidden_reason
        or (SUSPENDED_OWNER if video.owner_suspended_at is not None else None),
        created_at=video.created_at,
        updated_at=video.updated_at,
    )


def videos_out(videos: list[Video], stats: dict[Any, VideoStats], services: Services) -> list[VideoOut]:
    return [video_out(video, stats[video.id], services) for video in videos]


def poster_out(video: Video, services: Services) -> PosterOut:
    base = media_base(video, services)
    if base is None:
        return PosterOut(thumbnail_url=None, candidates=[], chosen=None)
    candidates = video.thumbnail_candidates or []
    return PosterOut(
        thumbnail_url=base + video.thumbnail_key if video.thumbnail_key else None,
        candidates=[base + key for key in candidates],
        chosen=candidates.index(video.thumbnail_key) if video.thumbnail_key in candidates else None,
    )


def comment_out(comment: Comment) -> CommentOut:
    return CommentOut(
        id=comment.id,
        video_id=comment.video_id,
        author_id=comment.author_id,
        author_name=comment.author.public_name,
        body=comment.body,
        hidden_reason=comment.hidden_reason,
        created_at=comment.created_at,
        updated_at=comment.updated_at,
    )


def me_out(user: User, roles: frozenset[Role]) -> MeOut:
    return MeOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        public_name=user.public_name,
        roles=sorted(roles),
        created_at=user.created_at,
    )


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


def caption_out(track: CaptionTrack, base: str | None) -> CaptionOut:
    return CaptionOut(
        language=track.language,
        label=track.label,
        size_bytes=track.size_bytes,
        cue_count=track.cue_count,
        url=base + track.vtt_key if base else None,
        created_at=track.created_at,
        updated_at=track.updated_at,
    )
