"""The HTTP edge: one blueprint per resource, each parse → domain function → render."""

from __future__ import annotations

from flask import Blueprint

from app.backend import openapi
from app.backend.api import (
    admin,
    captions,
    channels,
    comments,
    events,
    health,
    likes,
    me,
    moderation,
    playlists,
    posters,
    tags,
    uploads,
    videos,
    views,
    webhooks,
)

BLUEPRINTS: tuple[Blueprint, ...] = (
    videos.bp,
    posters.bp,
    uploads.bp,
    captions.bp,
    comments.bp,
    likes.bp,
    views.bp,
    tags.bp,
    playlists.bp,
    me.bp,
    webhooks.bp,
    channels.bp,
    channels.subscriptions,
    health.bp,
    events.bp,
    moderation.reports,
    moderation.bp,
    admin.bp,
    openapi.bp,
)
