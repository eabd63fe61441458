"""Channels and subscriptions: plain functions over a session; visibility rules from ``videos``.

A user's channel is their public name, their public ready videos and their subscriber count.
A suspended user's channel is hidden as their videos are (``videos.can_view``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager

from app.backend.models import Subscription, User, Video, Visibility
from app.backend.pagination import page
from app.backend.schemas import PageQuery
from app.backend.videos import newest_first, shown_to_everyone
from app.contracts.errors import ApiError
from app.contracts.messages import VideoState


@dataclass(frozen=True)
class SubscriberCount:
    subscribers: int
    subscribed_by_me: bool


def visible_channel(session: Session, user_id: str, viewer_id: str | None) -> User:
    """The user whose channel it is, unless unknown or suspended (then 404, as their videos are)."""
    user = session.get(User, user_id)
    if user is None or (user.suspended_at is not None and user.id != viewer_id):
        raise ApiError(404, "not_found", f"no channel {user_id}")
    return user


def subscriber_counts(
    session: Session, channel_ids: list[str], viewer_id: str | None
) -> dict[str, SubscriberCount]:
    if not channel_ids:
        return {}
    counts = dict(
        session.execute(
            select(Subscription.channel_id, func.count())
            .where(Subscription.channel_id.in_(channel_ids))
            .group_by(Subscription.channel_id)
        ).all()
    )
    mine: set[str] = set()
    if viewer_id is not None:
        mine = set(
            session.scalars(
                select(Subscription.channel_id).where(
                    Subscription.channel_id.in_(channel_ids), Subscription.subscriber_id == viewer_id
                )
            )
        )
    return {cid: SubscriberCount(int(counts.get(cid, 0)), cid in mine) for cid in channel_ids}


def _public_ready() -> tuple[ColumnElement[bool], ...]:
    return (Video.visibility == Visibility.PUBLIC, Video.status == VideoState.READY)


def channel_videos(
    session: Session, channel: User, viewer_id: str | None, params: PageQuery
) -> tuple[list[Video], str | None]:
    """The channel's public, ready videos, newest first: those hidden by a moderator only to
    their owner (who sees why), as everywhere else."""
    query = select(Video).where(Video.owner_id == channel.id, *_public_ready())
    if channel.id != viewer_id:
        query = query.where(shown_to_everyone())
    return newest_first(session, query, params)


def set_subscription(session: Session, channel: User, subscriber: User, subscribed: bool) -> SubscriberCount:
    """Idempotent: subscribing twice or unsubscribing from what one does not follow changes nothing."""
    if subscribed:
        if channel.id == subscriber.id:
            raise ApiError(409, "cannot_subscribe_to_self", "you cannot subscribe to your own channel")
        mine = select(Subscription.id).where(
            Subscription.subscriber_id == subscriber.id, Subscription.channel_id == channel.id
        )
        if session.scalar(mine) is None:
            session.add(Subscription(subscriber_id=subscriber.id, channel_id=channel.id))
            try:
                session.commit()
            except IntegrityError:  # a concurrent identical PUT won
                session.rollback()
    else:
        session.execute(
            delete(Subscription).where(
                Subscription.subscriber_id == subscriber.id, Subscription.channel_id == channel.id
            )
        )
        session.commit()
    return subscriber_counts(session, [channel.id], subscriber.id)[channel.id]


def subscriptions(
    session: Session, subscriber: User, params: PageQuery
) -> tuple[list[Subscription], str | None]:
    """The channels one follows, most recently followed first, without suspended users' channels."""
    query = (
        select(Subscription)
        .join(Subscription.channel)
        .options(contains_eager(Subscription.channel))  # the channels come with the one join
        .where(Subscription.subscriber_id == subscriber.id, User.suspended_at.is_(None))
    )
    return page(
        session,
        query,
        Subscription.created_at,
        Subscription.id,
        cursor=params.cursor,
        limit=params.limit,
        newest_first=True,
    )


def subscriptions_feed(
    session: Session, subscriber: User, params: PageQuery
) -> tuple[list[Video], str | None]:
    """The public, ready videos of the channels one follows that everyone may see, newest first."""
    followed = select(Subscription.channel_id).where(Subscription.subscriber_id == subscriber.id)
    query = select(Video).where(Video.owner_id.in_(followed), *_public_ready(), shown_to_everyone())
    return newest_first(session, query, params)
