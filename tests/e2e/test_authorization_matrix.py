"""Who may do what: one table of request x caller x visibility -> the answer, through the gateway.

The callers are an anonymous browser, the owner of the videos and playlists, another signed-in
user, a moderator, an admin, a user an admin suspended (their tickets taken before), and the
owner's earlier session, signed out (its access token, and the SSE tickets it was
given, presented after ``POST /auth/logout``). Each request is made once per visibility of the
video (or playlist) it names, on the real platform with transcoders, so media grants are real:
a cell of the ``{playback_url}`` (``{download_url}``) row is what fetching the playback (download) URL the caller was given
answers, ``None`` where the caller was given none. Paths name resources by placeholder:

- ``{video}``, ``{playlist}``: the owner's ready video / playlist of the column's visibility
  (the playlists hold all three videos); ``{fresh_video}``, ``{fresh_playlist}``: made for the
  cell, for requests that delete them (``{fresh_playlist}`` holds the public video);
- ``{own_playlist}``: a playlist of the caller's own (the owner's for callers who have none);
- ``{events_url}``: the SSE URL of the ticket the caller got for ``{video}`` (the signed-out
  session got its tickets before it signed out), ``None`` where it got none;
- ``{public_playlist}``: the owner's public playlist; ``listed``/``hidden`` say whether its
  answer shows the column's video;
- ``{comment}``, ``{report_id}``: another user's comment on, and the bystander's report of, the
  public video;
  ``{target_user}``, ``{target_email}``: a bystander the admin rows give a role and suspend;
- ``{owner}``, ``{suspended_user}``: the owner's and the suspended user's ids (their channels);
- ``{webhook}``: the owner's webhook (webhooks have no visibility: their cells are alike across
  the columns);
- ``{tag}``: the tag the three videos carry (each viewed by its owner, so trending ranks them);
  the listings (``LISTINGS``: a public playlist, a channel's videos, the subscriptions feed, a
  tag's page, trending) answer ``listed``/``hidden`` for the column's video.

The signed-out column is issue "Hostile use", item 1: before the fix its token kept working at
``/api`` (and its tickets at ``/events``) until it expired, up to an hour after the logout.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from app.admin_cli import find_user_pool, set_role
from app.contracts.roles import Role
from app.contracts.signouts import RECHECK_SECONDS
from tests.e2e.client import (
    AuthedSession,
    Platform,
    create_video,
    login,
    new_address,
    signup_confirm_login,
    upload_via_presigned_post,
)
from tests.e2e.conftest import RunningPlatform

pytestmark = pytest.mark.e2e
PASSWORD = "Corr3ct-Horse-Battery!"
TIMEOUT = 30
READY_TIMEOUT_SECONDS = 240
VISIBILITIES = ("public", "unlisted", "private")
CALLERS = ("anonymous", "owner", "other", "moderator", "admin", "suspended", "signed_out")
X = 401  # refused: no valid session
F = 403  # refused: the caller lacks the role
Cell = tuple[int | str | None, int | str | None, int | str | None]  # public, unlisted, private
ONE_PIXEL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
ALL = 200, 200, 200
GONE = 404, 404, 404
# A listing's answer: whether it shows the column's video.
LISTED_IF_PUBLIC = "listed", "hidden", "hidden"
NEVER_LISTED = "hidden", "hidden", "hidden"
LISTINGS = {
    "GET /api/playlists/{public_playlist}",
    "GET /api/channels/{owner}/videos",
    "GET /api/me/subscriptions/videos",
    "GET /api/tags/{tag}",
    "GET /api/videos?order=trending&limit=50",
}

# fmt: off
# request                                              anonymous          owner              other              signed out
BEFORE_ROLES: dict[str, tuple[Cell, Cell, Cell, Cell]] = {
    "GET /api/videos/{video}":                          ((200, 200, 404), (200, 200, 200), (200, 200, 404), (X, X, X)),
    "POST /api/videos/{video}/events-ticket":           ((200, 200, 404), (200, 200, 200), (200, 200, 404), (X, X, X)),
    "GET {events_url}":                                 ((200, 200, None), (200, 200, 200), (200, 200, None), (X, X, X)),
    "GET {playback_url}":                               ((200, 200, None), (200, 200, 200), (200, 200, None), (None, None, None)),
    # The MP4 the owner asked for at upload: the same media grant as the playback URL.
    "GET {download_url}":                               ((200, 200, None), (200, 200, 200), (200, 200, None), (None, None, None)),
    "GET /api/me":                                      ((X, X, X), (200, 200, 200), (200, 200, 200), (X, X, X)),
    "POST /api/videos {title, visibility}":             ((X, X, X), (201, 201, 201), (201, 201, 201), (X, X, X)),
    "PATCH /api/videos/{video} {title}":                ((X, X, X), (200, 200, 200), (403, 403, 404), (X, X, X)),
    "POST /api/videos/{video}/uploaded":                ((X, X, X), (202, 202, 202), (403, 403, 404), (X, X, X)),
    "POST /api/videos/{video}/retry":                   ((X, X, X), (409, 409, 409), (403, 403, 404), (X, X, X)),
    "DELETE /api/videos/{fresh_video}":                 ((X, X, X), (204, 204, 204), (403, 403, 404), (X, X, X)),
    # The video is ready: its upload, and the parts a resume would ask for, are closed.
    "GET /api/videos/{video}/multipart":                ((X, X, X), (409, 409, 409), (403, 403, 404), (X, X, X)),
    # Captions: the owner's alone to manage (each video has an "en" track, so a PUT replaces it);
    # a viewer gets them through the playback URL's grant, as the playlist.
    "GET /api/videos/{video}/captions":                 ((X, X, X), (200, 200, 200), (403, 403, 404), (X, X, X)),
    "PUT /api/videos/{video}/captions/en {caption}":    ((X, X, X), (200, 200, 200), (403, 403, 404), (X, X, X)),
    "DELETE /api/videos/{video}/captions/de":           ((X, X, X), (404, 404, 404), (403, 403, 404), (X, X, X)),
    "GET {caption_url}":                                ((200, 200, None), (200, 200, 200), (200, 200, None), (None, None, None)),
    "GET /api/videos/{video}/comments":                 ((200, 200, 404), (200, 200, 200), (200, 200, 404), (X, X, X)),
    "POST /api/videos/{video}/comments {body}":         ((X, X, X), (201, 201, 201), (201, 201, 404), (X, X, X)),
    # The owner's poster: the candidates the transcode picked (one, from a 1 s clip), an upload.
    "GET /api/videos/{video}/poster":                   ((X, X, X), (200, 200, 200), (403, 403, 404), (X, X, X)),
    "PUT /api/videos/{video}/poster {candidate}":       ((X, X, X), (200, 200, 200), (403, 403, 404), (X, X, X)),
    "POST /api/videos/{video}/poster {image}":          ((X, X, X), (200, 200, 200), (403, 403, 404), (X, X, X)),
    "PUT /api/videos/{video}/like":                     ((X, X, X), (200, 200, 200), (200, 200, 404), (X, X, X)),
    "DELETE /api/videos/{video}/like":                  ((X, X, X), (200, 200, 200), (200, 200, 404), (X, X, X)),
    "GET /api/playlists/{playlist}":                    ((200, 200, 404), (200, 200, 200), (200, 200, 404), (X, X, X)),
    "GET /api/playlists/{public_playlist}":             (("listed", "listed", "hidden"), ("listed", "listed", "listed"),
                                                         ("listed", "listed", "hidden"), (X, X, X)),
    "PATCH /api/playlists/{playlist} {title}":          ((X, X, X), (200, 200, 200), (403, 403, 404), (X, X, X)),
    "DELETE /api/playlists/{fresh_playlist}":           ((X, X, X), (204, 204, 204), (403, 403, 404), (X, X, X)),
    "POST /api/playlists/{own_playlist}/items {video}": ((X, X, X), (201, 201, 201), (201, 201, 404), (X, X, X)),
    "DELETE /api/playlists/{fresh_playlist}/items/{public_video}":
                                                        ((X, X, X), (200, 200, 200), (403, 403, 404), (X, X, X)),
}
# The new callers on those requests: roles grant nothing over others' videos and playlists, so a
# moderator and an admin get what any other user gets; a suspended user's sessions were signed
# out (their tickets taken before), so they get what the signed-out session gets.
MATRIX: dict[str, tuple[Cell, ...]] = {
    request: (anonymous, owner, other, other, other, signed_out, signed_out)
    for request, (anonymous, owner, other, signed_out) in BEFORE_ROLES.items()
}
# A suspended user had tickets of the videos they could see, as the other user: never the private one.
_events_row = list(MATRIX["GET {events_url}"])
_events_row[CALLERS.index("suspended")] = (X, X, None)
MATRIX["GET {events_url}"] = tuple(_events_row)
# request                                                  anonymous  owner      other      moderator   admin      suspended  signed out
MATRIX |= {
    "POST /api/reports {report}":                          ((X, X, X), (201, 201, 201), (201, 201, 404), (201, 201, 404), (201, 201, 404), (X, X, X), (X, X, X)),
    "GET /api/moderation/reports":                         ((X, X, X), (F, F, F), (F, F, F), ALL, ALL, (X, X, X), (X, X, X)),
    "POST /api/moderation/reports/{report_id}/resolve {reason}":
                                                           ((X, X, X), (F, F, F), (F, F, F), ALL, ALL, (X, X, X), (X, X, X)),
    "POST /api/moderation/videos/{fresh_video}/hide {reason}":
                                                           ((X, X, X), (F, F, F), (F, F, F), ALL, ALL, (X, X, X), (X, X, X)),
    "POST /api/moderation/videos/{video}/restore {reason}":
                                                           ((X, X, X), (F, F, F), (F, F, F), ALL, ALL, (X, X, X), (X, X, X)),
    "POST /api/moderation/comments/{comment}/hide {reason}":
                                                           ((X, X, X), (F, F, F), (F, F, F), ALL, ALL, (X, X, X), (X, X, X)),
    "POST /api/moderation/comments/{comment}/restore {reason}":
                                                           ((X, X, X), (F, F, F), (F, F, F), ALL, ALL, (X, X, X), (X, X, X)),
    "GET /api/admin/users?email={target_email}":           ((X, X, X), (F, F, F), (F, F, F), (F, F, F), ALL, (X, X, X), (X, X, X)),
    "POST /api/admin/users/{target_user}/roles {role}":    ((X, X, X), (F, F, F), (F, F, F), (F, F, F), ALL, (X, X, X), (X, X, X)),
    "POST /api/admin/users/{target_user}/roles/moderator/revoke {reason}":
                                                           ((X, X, X), (F, F, F), (F, F, F), (F, F, F), ALL, (X, X, X), (X, X, X)),
    "POST /api/admin/users/{target_user}/suspend {reason}":
                                                           ((X, X, X), (F, F, F), (F, F, F), (F, F, F), ALL, (X, X, X), (X, X, X)),
    "POST /api/admin/users/{target_user}/unsuspend {reason}":
                                                           ((X, X, X), (F, F, F), (F, F, F), (F, F, F), ALL, (X, X, X), (X, X, X)),
    "GET /api/admin/audit":                                ((X, X, X), (F, F, F), (F, F, F), (F, F, F), ALL, (X, X, X), (X, X, X)),
    "GET /api/channels/{owner}":                           (ALL, ALL, ALL, ALL, ALL, (X, X, X), (X, X, X)),
    "GET /api/channels/{owner}/videos":                    (LISTED_IF_PUBLIC, LISTED_IF_PUBLIC, LISTED_IF_PUBLIC, LISTED_IF_PUBLIC,
                                                            LISTED_IF_PUBLIC, (X, X, X), (X, X, X)),
    "GET /api/channels/{suspended_user}":                  (GONE, GONE, GONE, GONE, GONE, (X, X, X), (X, X, X)),
    "PUT /api/channels/{suspended_user}/subscription":     ((X, X, X), GONE, GONE, GONE, GONE, (X, X, X), (X, X, X)),
    # In this order: the feed row sees the subscriptions the PUT row made (none for the owner,
    # who cannot follow their own channel), and the DELETE row undoes them.
    "PUT /api/channels/{owner}/subscription":              ((X, X, X), (409, 409, 409), ALL, ALL, ALL, (X, X, X), (X, X, X)),
    "GET /api/me/subscriptions":                           ((X, X, X), ALL, ALL, ALL, ALL, (X, X, X), (X, X, X)),
    "GET /api/me/subscriptions/videos":                    ((X, X, X), NEVER_LISTED, LISTED_IF_PUBLIC, LISTED_IF_PUBLIC,
                                                            LISTED_IF_PUBLIC, (X, X, X), (X, X, X)),
    "DELETE /api/channels/{owner}/subscription":           ((X, X, X), ALL, ALL, ALL, ALL, (X, X, X), (X, X, X)),
    "POST /api/videos/{video}/views":                      ((200, 200, 404), ALL, (200, 200, 404), (200, 200, 404), (200, 200, 404), (X, X, X), (X, X, X)),
    "GET /api/videos/{video}/views":                       ((X, X, X), ALL, (403, 403, 404), (403, 403, 404), (403, 403, 404), (X, X, X), (X, X, X)),
    # Lists of videos show everyone, the owner included, public videos only.
    "GET /api/tags/{tag}":                                 (LISTED_IF_PUBLIC,) * 5 + ((X, X, X), (X, X, X)),
    "GET /api/videos?order=trending&limit=50":             (LISTED_IF_PUBLIC,) * 5 + ((X, X, X), (X, X, X)),
    # Webhooks: each user's own alone, whatever their role; anyone else's does not exist. (No
    # DELETE row: a cell's fresh webhook that a refused caller leaves would count against the
    # owner's limit of 5; tests/app/backend/test_webhooks.py refuses others' deletes.)
    "GET /api/webhooks":                                   ((X, X, X), ALL, ALL, ALL, ALL, (X, X, X), (X, X, X)),
    "POST /api/webhooks {webhook_url}":                    ((X, X, X), (201, 201, 201), (201, 201, 201), (201, 201, 201),
                                                            (201, 201, 201), (X, X, X), (X, X, X)),
    "POST /api/webhooks/{webhook}/secret":                 ((X, X, X), ALL, GONE, GONE, GONE, (X, X, X), (X, X, X)),
    "GET /api/webhooks/{webhook}/deliveries":              ((X, X, X), ALL, GONE, GONE, GONE, (X, X, X), (X, X, X)),
}
# fmt: on


@dataclass
class World:
    """The owner's videos and playlists, and one HTTP session per caller."""

    platform: Platform
    callers: dict[str, requests.Session]
    videos: dict[str, str]
    playlists: dict[str, str]
    own_playlists: dict[str, str]
    events_urls: dict[str, dict[str, str]]
    """Per caller, per visibility: the SSE URL of the ticket the caller was given."""
    comment: str
    """Another user's comment on the public video."""
    report_id: str
    """The bystander's report of the public video."""
    target: AuthedSession
    """A user the admin rows act on (roles, suspension)."""
    target_id: str
    owner_id: str
    suspended_id: str
    tag: str
    """The tag of the owner's three videos."""
    webhook: str
    """The owner's webhook."""

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.platform.base_url}{path}"

    def owner(self) -> requests.Session:
        return self.callers["owner"]

    def fresh_video(self, visibility: str) -> str:
        return create_video(self.platform, self.owner(), title=f"a {visibility} clip", visibility=visibility)[
            "id"
        ]

    def fresh_playlist(self, visibility: str) -> str:
        playlist = create_playlist(self.platform, self.owner(), visibility)
        add_item(self.platform, self.owner(), playlist, self.videos["public"])
        return playlist


# A public address any stack accepts; only for failed videos, which the matrix makes none of.
WEBHOOK = {"url": "https://93.184.216.34/matrix", "event_types": ["video.failed"]}
CAPTION = {"label": "English", "format": "srt", "content": "1\n00:00:00,000 --> 00:00:01,000\nhello\n"}


# The JSON bodies the requests above name, for the column's visibility.
BODIES: dict[str, Callable[[World, str], dict[str, Any]]] = {
    "{title, visibility}": lambda world, visibility: {
        "title": "made in the matrix",
        "visibility": visibility,
    },
    "{title}": lambda world, visibility: {"title": f"a {visibility} thing, renamed"},
    "{body}": lambda world, visibility: {"body": "a comment from the matrix"},
    "{video}": lambda world, visibility: {"video_id": world.videos[visibility]},
    "{report}": lambda world, visibility: {
        "target_type": "video",
        "target_id": world.videos[visibility],
        "reason": "reported in the matrix",
    },
    "{reason}": lambda world, visibility: {"reason": "acted on in the matrix"},
    "{caption}": lambda world, visibility: CAPTION,
    "{candidate}": lambda world, visibility: {"candidate": 0},
    "{image}": lambda world, visibility: {"image": ONE_PIXEL_PNG},
    "{role}": lambda world, visibility: {"role": "moderator", "reason": "granted in the matrix"},
    "{webhook_url}": lambda world, visibility: WEBHOOK,
}


def with_role(platform: Platform, email: str, role: Role) -> AuthedSession:
    """``email`` given ``role`` at the user pool, as ``reelstack admin grant`` does (with the
    launcher's credentials), then logged in again so the token carries it."""
    assert isinstance(platform, RunningPlatform), "roles on a deployed stack: reelstack admin grant first"
    cognito = platform.client("cognito-idp")
    set_role(cognito, find_user_pool(cognito, platform.names.user_pool), email, role, granted=True)
    return login(platform.base_url, email, PASSWORD)


def me(platform: Platform, session: requests.Session) -> str:
    answer = session.get(f"{platform.base_url}/api/me", timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


def create_playlist(platform: Platform, session: requests.Session, visibility: str) -> str:
    response = session.post(
        f"{platform.base_url}/api/playlists",
        json={"title": f"a {visibility} playlist", "visibility": visibility},
        timeout=TIMEOUT,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def create_webhook(platform: Platform, session: requests.Session) -> str:
    response = session.post(f"{platform.base_url}/api/webhooks", json=WEBHOOK, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def add_item(platform: Platform, session: requests.Session, playlist: str, video: str) -> None:
    response = session.post(
        f"{platform.base_url}/api/playlists/{playlist}/items", json={"video_id": video}, timeout=TIMEOUT
    )
    assert response.status_code == 201, response.text


def events_url(platform: Platform, session: requests.Session, video: str) -> str:
    response = session.post(f"{platform.base_url}/api/videos/{video}/events-ticket", timeout=TIMEOUT)
    if response.status_code != 200:
        return ""
    return str(response.json()["url"])


def wait_until_ready(platform: Platform, session: requests.Session, videos: list[str]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    waiting = set(videos)
    while waiting and time.monotonic() < deadline:
        for video in sorted(waiting):
            status = session.get(f"{platform.base_url}/api/videos/{video}", timeout=TIMEOUT).json()["status"]
            assert status != "failed", f"video {video} failed to transcode"
            if status == "ready":
                waiting.discard(video)
        time.sleep(0.5)
    assert not waiting, f"not ready after {READY_TIMEOUT_SECONDS}s: {sorted(waiting)}"


@pytest.fixture(scope="module")
def world(platform: Platform, one_second_clip: Path) -> Iterator[World]:
    """Made once: ready videos and playlists of each visibility, then the owner's first session
    signed out (after it took tickets) and a second one signed in."""
    base = platform.base_url
    owner_email = new_address(platform, "owner")
    first = signup_confirm_login(platform, owner_email, PASSWORD)
    other = signup_confirm_login(platform, new_address(platform, "other"), PASSWORD)
    videos: dict[str, str] = {}
    tag = f"matrix-{uuid.uuid4().hex[:8]}"
    for visibility in VISIBILITIES:
        created = create_video(
            platform,
            first,
            title=f"a {visibility} clip",
            visibility=visibility,
            tags=[tag],
            mp4_download=True,
        )
        upload_via_presigned_post(created["upload"], one_second_clip, "video/mp4")
        marked = first.post(f"{base}/api/videos/{created['id']}/uploaded", timeout=TIMEOUT)
        assert marked.status_code == 202, marked.text
        videos[visibility] = created["id"]
    wait_until_ready(platform, first, list(videos.values()))
    for video in videos.values():
        captioned = first.put(f"{base}/api/videos/{video}/captions/en", json=CAPTION, timeout=TIMEOUT)
        assert captioned.status_code == 201, captioned.text
        assert first.post(f"{base}/api/videos/{video}/views", timeout=TIMEOUT).json() == {"counted": True}
    playlists = {visibility: create_playlist(platform, first, visibility) for visibility in VISIBILITIES}
    for playlist in playlists.values():
        for video in videos.values():
            add_item(platform, first, playlist, video)

    moderator = signup_confirm_login(platform, new_address(platform, "moderator"), PASSWORD)
    moderator = with_role(platform, moderator.email, Role.MODERATOR)
    admin = signup_confirm_login(platform, new_address(platform, "admin"), PASSWORD)
    admin = with_role(platform, admin.email, Role.ADMIN)
    suspended = signup_confirm_login(platform, new_address(platform, "suspended"), PASSWORD)
    target = signup_confirm_login(platform, new_address(platform, "target"), PASSWORD)
    target_id = me(platform, target)
    comment = other.post(
        f"{base}/api/videos/{videos['public']}/comments", json={"body": "a comment"}, timeout=TIMEOUT
    )
    report = target.post(
        f"{base}/api/reports",
        json={"target_type": "video", "target_id": videos["public"], "reason": "reported"},
        timeout=TIMEOUT,
    )
    assert comment.status_code == report.status_code == 201, (comment.text, report.text)

    signed_out_urls = {v: events_url(platform, first, videos[v]) for v in VISIBILITIES}
    suspended_urls = {v: events_url(platform, suspended, videos[v]) for v in VISIBILITIES}
    owner_id, suspended_id = me(platform, first), me(platform, suspended)
    assert first.post(f"{base}/auth/logout", timeout=TIMEOUT).status_code == 200
    suspension = admin.post(
        f"{base}/api/admin/users/{suspended_id}/suspend",
        json={"reason": "matrix"},
        timeout=TIMEOUT,
    )
    assert suspension.status_code == 200, suspension.text
    # A process that asked about the owner just before may trust its answer this long (and a
    # second more for DynamoDB's eventually consistent reads).
    time.sleep(RECHECK_SECONDS + 1)
    owner = login(base, owner_email, PASSWORD)
    webhook = create_webhook(platform, owner)
    callers: dict[str, requests.Session] = {
        "anonymous": requests.Session(),
        "owner": owner,
        "other": other,
        "moderator": moderator,
        "admin": admin,
        "suspended": suspended,
        "signed_out": first,
    }
    own_playlists = {
        "anonymous": create_playlist(platform, owner, "private"),
        "owner": create_playlist(platform, owner, "private"),
        "other": create_playlist(platform, other, "private"),
        "moderator": create_playlist(platform, moderator, "private"),
        "admin": create_playlist(platform, admin, "private"),
        "suspended": create_playlist(platform, owner, "private"),
        "signed_out": create_playlist(platform, owner, "private"),
    }
    urls = {
        caller: {v: events_url(platform, session, videos[v]) for v in VISIBILITIES}
        for caller, session in callers.items()
        if caller not in ("signed_out", "suspended")
    }
    urls["signed_out"] = signed_out_urls
    urls["suspended"] = suspended_urls
    yield World(
        platform,
        callers,
        videos,
        playlists,
        own_playlists,
        urls,
        comment=comment.json()["id"],
        report_id=report.json()["id"],
        target=target,
        target_id=target_id,
        owner_id=owner_id,
        suspended_id=suspended_id,
        tag=tag,
        webhook=webhook,
    )
    for session in callers.values():
        session.close()


def caption_url(playback_url: str) -> str:
    """The WebVTT file of the first subtitles rendition the playback URL's master playlist lists,
    through its media playlist: URIs relative to the playlist that names them (RFC 8216 section 4.1)."""
    master = requests.get(playback_url, timeout=TIMEOUT)
    assert master.status_code == 200, master.text
    uri = re.search(r'#EXT-X-MEDIA:TYPE=SUBTITLES,.*URI="([^"]+)"', master.text)
    assert uri, master.text
    playlist_url = urljoin(playback_url, uri.group(1))
    playlist = requests.get(playlist_url, timeout=TIMEOUT)
    assert playlist.status_code == 200, playlist.text
    vtt = next(line for line in playlist.text.splitlines() if line and not line.startswith("#"))
    return urljoin(playlist_url, vtt)


def observe(world: World, request: str, caller: str, visibility: str) -> int | str | None:
    """What ``request`` answers ``caller`` for the column's ``visibility`` (see the module)."""
    session = world.callers[caller]
    method, _, rest = request.partition(" ")
    path, _, body_name = rest.partition(" ")
    if path == "{events_url}":
        url = world.events_urls[caller][visibility]
        if not url:
            return None
        with session.get(world.url(url), stream=True, timeout=TIMEOUT) as response:
            return response.status_code
    if path in ("{playback_url}", "{caption_url}"):
        video = session.get(world.url(f"/api/videos/{world.videos[visibility]}"), timeout=TIMEOUT)
        playback = video.json().get("playback_url") if video.status_code == 200 else None
        if not playback:
            return None
        return requests.get(
            caption_url(playback) if path == "{caption_url}" else playback, timeout=TIMEOUT
        ).status_code
    if path == "{download_url}":
        video = session.get(world.url(f"/api/videos/{world.videos[visibility]}"), timeout=TIMEOUT)
        download = video.json().get("download_url") if video.status_code == 200 else None
        return requests.get(download, timeout=TIMEOUT).status_code if download else None
    path = path.format(
        video=world.videos[visibility],
        public_video=world.videos["public"],
        playlist=world.playlists[visibility],
        public_playlist=world.playlists["public"],
        own_playlist=world.own_playlists[caller],
        fresh_video=world.fresh_video(visibility) if "{fresh_video}" in path else "",
        fresh_playlist=world.fresh_playlist(visibility) if "{fresh_playlist}" in path else "",
        comment=world.comment,
        report_id=world.report_id,
        target_user=world.target_id,
        target_email=world.target.email,
        owner=world.owner_id,
        suspended_user=world.suspended_id,
        tag=world.tag,
        webhook=world.webhook,
    )
    body = BODIES[body_name](world, visibility) if body_name else None
    response = session.request(method, world.url(path), json=body, timeout=TIMEOUT)
    if request in LISTINGS and response.status_code == 200:
        listed = world.videos[visibility] in [item["id"] for item in response.json()["items"]]
        return "listed" if listed else "hidden"
    return response.status_code


def test_every_caller_gets_exactly_the_answers_of_the_authorization_matrix(world: World) -> None:
    """One pass over the table, every cell, every difference reported at once."""
    differences = []
    for request, expected_by_caller in MATRIX.items():
        for caller, expected in zip(CALLERS, expected_by_caller, strict=True):
            for visibility, want in zip(VISIBILITIES, expected, strict=True):
                got = observe(world, request, caller, visibility)
                if got != want:
                    differences.append(f"{request} as {caller} on {visibility}: {got}, expected {want}")
    assert not differences, "\n".join(differences)


def test_the_signed_out_session_cannot_refresh_and_a_new_login_is_unaffected(world: World) -> None:
    base = world.platform.base_url
    first = world.callers["signed_out"]
    assert isinstance(first, AuthedSession)
    refresh = requests.post(
        f"{base}/auth/refresh", json={"refresh_token": first.tokens["refresh_token"]}, timeout=TIMEOUT
    )
    assert (refresh.status_code, refresh.json()["error"]["code"]) == (401, "invalid_credentials")
    me = first.get(f"{base}/api/me", timeout=TIMEOUT)
    assert me.json()["error"]["code"] == "unauthorized"
    assert world.owner().get(f"{base}/api/me", timeout=TIMEOUT).status_code == 200


def test_every_row_of_the_matrix_has_a_cell_per_caller_and_visibility_and_a_known_body() -> None:
    assert MATRIX.keys() >= LISTINGS
    for request, row in MATRIX.items():
        assert len(row) == len(CALLERS) and all(len(cell) == len(VISIBILITIES) for cell in row), request
        method, _, rest = request.partition(" ")
        assert method in {"GET", "POST", "PUT", "PATCH", "DELETE"}, request
        _, _, body_name = rest.partition(" ")
        assert not body_name or body_name in BODIES, request
