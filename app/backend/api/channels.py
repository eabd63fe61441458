"""``/api/channels/{user_id}``: a user's channel, its videos and subscribing to it; and
``/api/me/subscriptions``: the channels the caller follows and their newest videos."""

from __future__ import annotations

from flask import Blueprint
from spectree import Response

from app.backend import channels as domain
from app.backend.api.render import videos_out
from app.backend.context import db, require_user, services, viewer_id
from app.backend.models import User, Video
from app.backend.openapi import AUTH, api
from app.backend.schemas import ChannelOut, ChannelPage, ErrorBody, PageQuery, VideoPage
from app.backend.videos import video_stats

bp = Blueprint("channels", __name__, url_prefix="/api/channels/<user_id>")
subscriptions = Blueprint("subscriptions", __name__, url_prefix="/api/me/subscriptions")
TAGS = ("channels",)
_ERRORS = {"HTTP_401": ErrorBody, "HTTP_404": ErrorBody}


def channel_out(user: User, count: domain.SubscriberCount) -> ChannelOut:
    return ChannelOut(
        id=user.id,
        public_name=user.public_name,
        subscribers=count.subscribers,
        subscribed_by_me=count.subscribed_by_me,
    )


def _video_page(rows: list[Video], next_cursor: str | None, viewer: str | None) -> VideoPage:
    stats = video_stats(db(), [v.id for v in rows], viewer)
    return VideoPage(items=videos_out(rows, stats, services()), next_cursor=next_cursor)


@bp.get("")
@api.validate(resp=Response(HTTP_200=ChannelOut, HTTP_404=ErrorBody), tags=TAGS)
def get(user_id: str) -> ChannelOut:
    """A user's channel: their public name and subscriber count; 404 for a suspended user."""
    session = db()
    me = viewer_id()
    channel = domain.visible_channel(session, user_id, me)
    return channel_out(channel, domain.subscriber_counts(session, [channel.id], me)[channel.id])


@bp.get("/videos")
@api.validate(resp=Response(HTTP_200=VideoPage, HTTP_400=ErrorBody, HTTP_404=ErrorBody), tags=TAGS)
def videos(user_id: str, query: PageQuery) -> VideoPage:
    """The channel's public, ready videos, newest first; `cursor` continues a page."""
    session = db()
    me = viewer_id()
    rows, next_cursor = domain.channel_videos(
        session, domain.visible_channel(session, user_id, me), me, query
    )
    return _video_page(rows, next_cursor, me)


def _subscribe(user_id: str, subscribed: bool) -> ChannelOut:
    subscriber = require_user()
    session = db()
    channel = domain.visible_channel(session, user_id, subscriber.id)
    return channel_out(channel, domain.set_subscription(session, channel, subscriber, subscribed))


@bp.put("/subscription")
@api.validate(resp=Response(HTTP_200=ChannelOut, HTTP_409=ErrorBody, **_ERRORS), tags=TAGS, security=AUTH)
def subscribe(user_id: str) -> ChannelOut:
    """Follow the channel (idempotent); 409 `cannot_subscribe_to_self` on one's own."""
    return _subscribe(user_id, True)


@bp.delete("/subscription")
@api.validate(resp=Response(HTTP_200=ChannelOut, **_ERRORS), tags=TAGS, security=AUTH)
def unsubscribe(user_id: str) -> ChannelOut:
    """Stop following the channel (idempotent)."""
    return _subscribe(user_id, False)


@subscriptions.get("")
@api.validate(
    resp=Response(HTTP_200=ChannelPage, HTTP_400=ErrorBody, HTTP_401=ErrorBody), tags=TAGS, security=AUTH
)
def mine(query: PageQuery) -> ChannelPage:
    """The channels the caller follows, most recently followed first."""
    subscriber = require_user()
    session = db()
    rows, next_cursor = domain.subscriptions(session, subscriber, query)
    counts = domain.subscriber_counts(session, [s.channel_id for s in rows], subscriber.id)
    return ChannelPage(
        items=[channel_out(s.channel, counts[s.channel_id]) for s in rows], next_cursor=next_cursor
    )


@subscriptions.get("/videos")
@api.validate(
    resp=Response(HTTP_200=VideoPage, HTTP_400=ErrorBody, HTTP_401=ErrorBody), tags=TAGS, security=AUTH
)
def feed(query: PageQuery) -> VideoPage:
    """The subscriptions feed: the followed channels' public, ready videos, newest first."""
    subscriber = require_user()
    rows, next_cursor = domain.subscriptions_feed(db(), subscriber, query)
    return _video_page(rows, next_cursor, subscriber.id)
