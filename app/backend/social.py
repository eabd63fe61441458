"""Profiles, comments, likes and playlists: plain functions over a session; visibility rules from ``videos``."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.backend.models import Comment, Like, Playlist, PlaylistItem, User, Video, Visibility
from app.backend.pagination import page
from app.backend.schemas import (
    MePatch,
    PageQuery,
    PlaylistCreate,
    PlaylistItemAdd,
    PlaylistPatch,
    PlaylistReorder,
)
from app.backend.text import display_name_key
from app.backend.videos import LikeCount, can_view, like_counts, visible_video
from app.contracts.errors import ApiError


# Profile
def patch_profile(session: Session, user: User, data: MePatch) -> User:
    changes = data.changes()
    if "display_name" in changes:
        key = display_name_key(changes["display_name"])
        holder = session.scalar(select(User.id).where(User.display_name_key == key, User.id != user.id))
        if holder is not None:
            raise _name_taken()
        user.display_name_key = key
    for field, value in changes.items():
        setattr(user, field, value)
    try:
        session.commit()
    except IntegrityError:  # a concurrent request took the name first
        session.rollback()
        raise _name_taken() from None
    return user


def _name_taken() -> ApiError:
    return ApiError(
        409, "display_name_taken", "another user has this display name (or one that looks the same)"
    )


# Comments
def comment_shown_to(viewer_id: str | None) -> Any:
    """The SQL condition of comments ``viewer_id`` sees: their own, and others' neither hidden by
    a moderator nor written by a suspended user."""
    suspended = select(User.id).where(User.suspended_at.is_not(None))
    shown = and_(Comment.hidden_at.is_(None), Comment.author_id.not_in(suspended))
    return or_(Comment.author_id == viewer_id, shown) if viewer_id is not None else shown


def list_comments(
    session: Session, video: Video, params: PageQuery, viewer_id: str | None
) -> tuple[list[Comment], str | None]:
    """A video's comments the viewer sees (``comment_shown_to``), oldest first, one page at a time."""
    query = select(Comment).where(Comment.video_id == video.id, comment_shown_to(viewer_id))
    return page(
        session,
        query,
        Comment.created_at,
        Comment.id,
        cursor=params.cursor,
        limit=params.limit,
        newest_first=False,
    )


def add_comment(session: Session, video: Video, author: User, body: str) -> Comment:
    comment = Comment(video_id=video.id, author_id=author.id, body=body)
    session.add(comment)
    session.commit()
    return comment


def visible_comment(session: Session, comment_id: uuid.UUID, viewer_id: str | None) -> Comment:
    """A comment the viewer sees, on a video they see; 404 otherwise."""
    comment = session.scalar(select(Comment).where(Comment.id == comment_id, comment_shown_to(viewer_id)))
    if comment is None:
        raise ApiError(404, "not_found", f"no comment {comment_id}")
    visible_video(session, comment.video_id, viewer_id)
    return comment


def authored_comment(session: Session, video_id: uuid.UUID, comment_id: uuid.UUID, author: User) -> Comment:
    visible_video(session, video_id, author.id)
    comment = session.get(Comment, comment_id)
    if comment is None or comment.video_id != video_id:
        raise ApiError(404, "not_found", f"no comment {comment_id} on video {video_id}")
    if comment.author_id != author.id:
        raise ApiError(403, "forbidden", "only the comment's author can change it")
    return comment


def edit_comment(session: Session, comment: Comment, body: str) -> Comment:
    comment.body = body
    session.commit()
    return comment


def delete_comment(session: Session, comment: Comment) -> None:
    session.delete(comment)
    session.commit()


# Likes
def set_like(session: Session, video: Video, user: User, liked: bool) -> LikeCount:
    """Idempotent: liking twice or unliking what is not liked changes nothing."""
    if liked:
        if session.get(Like, (video.id, user.id)) is None:
            session.add(Like(video_id=video.id, user_id=user.id))
            try:
                session.commit()
            except IntegrityError:  # a concurrent identical PUT won
                session.rollback()
    else:
        session.execute(delete(Like).where(Like.video_id == video.id, Like.user_id == user.id))
        session.commit()
    return like_counts(session, [video.id], user.id)[video.id]


# Playlists
def visible_playlist(session: Session, playlist_id: uuid.UUID, viewer_id: str | None) -> Playlist:
    playlist = session.get(Playlist, playlist_id)
    if playlist is None or (playlist.visibility == Visibility.PRIVATE and playlist.owner_id != viewer_id):
        raise ApiError(404, "not_found", f"no playlist {playlist_id}")
    return playlist


def own_playlist(session: Session, playlist_id: uuid.UUID, owner: User) -> Playlist:
    playlist = visible_playlist(session, playlist_id, owner.id)
    if playlist.owner_id != owner.id:
        raise ApiError(403, "forbidden", "only the playlist's owner can change it")
    return playlist


def visible_items(playlist: Playlist, viewer_id: str | None) -> list[Video]:
    """The playlist's videos in order, without those the viewer may not see."""
    return [item.video for item in playlist.items if can_view(item.video, viewer_id)]


def owned_playlists(session: Session, owner: User) -> list[Playlist]:
    query = select(Playlist).where(Playlist.owner_id == owner.id).order_by(Playlist.created_at.desc())
    return list(session.scalars(query))


def create_playlist(session: Session, owner: User, data: PlaylistCreate) -> Playlist:
    playlist = Playlist(
        owner_id=owner.id, title=data.title, description=data.description, visibility=data.visibility
    )
    session.add(playlist)
    session.commit()
    return playlist


def patch_playlist(session: Session, playlist: Playlist, data: PlaylistPatch) -> Playlist:
    for field, value in data.changes().items():
        setattr(playlist, field, value)
    session.commit()
    return playlist


def delete_playlist(session: Session, playlist: Playlist) -> None:
    session.delete(playlist)
    session.commit()


def _renumber(playlist: Playlist, items: list[PlaylistItem]) -> None:
    for position, item in enumerate(items):
        item.position = position
    playlist.items = items


def add_item(session: Session, playlist: Playlist, owner: User, data: PlaylistItemAdd) -> Playlist:
    video = visible_video(session, data.video_id, owner.id)
    items = list(playlist.items)
    if any(item.video_id == video.id for item in items):
        raise ApiError(409, "already_in_playlist", f"video {video.id} is already in the playlist")
    position = len(items) if data.position is None else min(data.position, len(items))
    items.insert(position, PlaylistItem(playlist_id=playlist.id, video_id=video.id, position=position))
    _renumber(playlist, items)
    try:
        session.commit()
    except IntegrityError:  # a concurrent add of the same video
        session.rollback()
        raise ApiError(409, "already_in_playlist", f"video {video.id} is already in the playlist") from None
    return playlist


def remove_item(session: Session, playlist: Playlist, video_id: uuid.UUID) -> Playlist:
    items = [item for item in playlist.items if item.video_id != video_id]
    if len(items) == len(playlist.items):
        raise ApiError(404, "not_found", f"video {video_id} is not in the playlist")
    _renumber(playlist, items)
    session.commit()
    return playlist


def reorder_items(session: Session, playlist: Playlist, data: PlaylistReorder) -> Playlist:
    by_video = {item.video_id: item for item in playlist.items}
    if len(data.video_ids) != len(by_video) or set(data.video_ids) != set(by_video):
        raise ApiError(422, "validation_error", "video_ids: list every item of the playlist exactly once")
    _renumber(playlist, [by_video[video_id] for video_id in data.video_ids])
    session.commit()
    return playlist
