"""``/api/playlists``: the owner creates and changes ordered playlists; others see the non-private ones."""

from __future__ import annotations

import uuid

from flask import Blueprint
from spectree import Response

from app.backend import social
from app.backend.api.render import playlist_out, videos_out
from app.backend.context import db, require_user, services, viewer_id
from app.backend.models import Playlist
from app.backend.openapi import AUTH, api
from app.backend.schemas import (
    ErrorBody,
    PlaylistCreate,
    PlaylistItemAdd,
    PlaylistList,
    PlaylistOut,
    PlaylistPatch,
    PlaylistReorder,
)
from app.backend.videos import video_stats

bp = Blueprint("playlists", __name__, url_prefix="/api/playlists")
TAGS = ("playlists",)
_ERRORS = {"HTTP_401": ErrorBody, "HTTP_403": ErrorBody, "HTTP_404": ErrorBody}


def _render(playlist: Playlist, viewer: str | None) -> PlaylistOut:
    videos = social.visible_items(playlist, viewer)
    stats = video_stats(db(), [v.id for v in videos], viewer)
    return playlist_out(playlist, videos_out(videos, stats, services()))


@bp.get("")
@api.validate(resp=Response(HTTP_200=PlaylistList, HTTP_401=ErrorBody), tags=TAGS, security=AUTH)
def mine() -> PlaylistList:
    """The caller's own playlists."""
    owner = require_user()
    return PlaylistList(items=[_render(p, owner.id) for p in social.owned_playlists(db(), owner)])


@bp.post("")
@api.validate(resp=Response(HTTP_201=PlaylistOut, HTTP_401=ErrorBody), tags=TAGS, security=AUTH)
def create(json: PlaylistCreate) -> tuple[PlaylistOut, int]:
    owner = require_user()
    return _render(social.create_playlist(db(), owner, json), owner.id), 201


@bp.get("/<uuid:playlist_id>")
@api.validate(resp=Response(HTTP_200=PlaylistOut, HTTP_404=ErrorBody), tags=TAGS)
def get(playlist_id: uuid.UUID) -> PlaylistOut:
    """A playlist the caller may see, without the videos the caller may not."""
    me = viewer_id()
    return _render(social.visible_playlist(db(), playlist_id, me), me)


@bp.patch("/<uuid:playlist_id>")
@api.validate(resp=Response(HTTP_200=PlaylistOut, **_ERRORS), tags=TAGS, security=AUTH)
def patch(playlist_id: uuid.UUID, json: PlaylistPatch) -> PlaylistOut:
    owner = require_user()
    session = db()
    playlist = social.patch_playlist(session, social.own_playlist(session, playlist_id, owner), json)
    return _render(playlist, owner.id)


@bp.delete("/<uuid:playlist_id>")
@api.validate(resp=Response("HTTP_204", **_ERRORS), tags=TAGS, security=AUTH)
def delete(playlist_id: uuid.UUID) -> tuple[str, int]:
    owner = require_user()
    session = db()
    social.delete_playlist(session, social.own_playlist(session, playlist_id, owner))
    return "", 204


@bp.post("/<uuid:playlist_id>/items")
@api.validate(resp=Response(HTTP_201=PlaylistOut, HTTP_409=ErrorBody, **_ERRORS), tags=TAGS, security=AUTH)
def add_item(playlist_id: uuid.UUID, json: PlaylistItemAdd) -> tuple[PlaylistOut, int]:
    """Add a video the owner may see, at `position` or at the end."""
    owner = require_user()
    session = db()
    playlist = social.add_item(session, social.own_playlist(session, playlist_id, owner), owner, json)
    return _render(playlist, owner.id), 201


@bp.put("/<uuid:playlist_id>/items")
@api.validate(resp=Response(HTTP_200=PlaylistOut, **_ERRORS), tags=TAGS, security=AUTH)
def reorder(playlist_id: uuid.UUID, json: PlaylistReorder) -> PlaylistOut:
    """Put the items in the given order (every item's video id, once)."""
    owner = require_user()
    session = db()
    playlist = social.reorder_items(session, social.own_playlist(session, playlist_id, owner), json)
    return _render(playlist, owner.id)


@bp.delete("/<uuid:playlist_id>/items/<uuid:video_id>")
@api.validate(resp=Response(HTTP_200=PlaylistOut, **_ERRORS), tags=TAGS, security=AUTH)
def remove_item(playlist_id: uuid.UUID, video_id: uuid.UUID) -> PlaylistOut:
    owner = require_user()
    session = db()
    playlist = social.remove_item(session, social.own_playlist(session, playlist_id, owner), video_id)
    return _render(playlist, owner.id)
