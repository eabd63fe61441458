"""Comments (author-only changes), likes (idempotent, counted), playlists (owner-only, ordered, visibility-filtered)."""

from __future__ import annotations

from typing import Any

from tests.app.backend.conftest import Caller, Platform


def test_comments_are_listed_oldest_first_and_only_their_author_edits_or_deletes(
    platform: Platform, alice: Caller, bob: Caller
) -> None:
    video_id = platform.ready(alice)
    base = f"/api/videos/{video_id}/comments"
    first = platform.http.post(base, json={"body": "first!"}, headers=bob.headers)
    second = platform.http.post(base, json={"body": "thanks"}, headers=alice.headers)
    assert first.status_code == second.status_code == 201
    bobs = first.json["id"]

    listed = platform.http.get(base).json["items"]
    assert [c["body"] for c in listed] == ["first!", "thanks"]
    names = [platform.http.get("/api/me", headers=c.headers).json["public_name"] for c in (bob, alice)]
    assert [c["author_name"] for c in listed] == names
    assert first.json["author_name"] == names[0]
    edit = platform.http.patch(f"{base}/{bobs}", json={"body": "edited by alice"}, headers=alice.headers)
    delete = platform.http.delete(f"{base}/{bobs}", headers=alice.headers)
    assert edit.status_code == delete.status_code == 403
    assert edit.json["error"]["code"] == "forbidden"

    edited = platform.http.patch(f"{base}/{bobs}", json={"body": "first (edited)"}, headers=bob.headers)
    assert edited.status_code == 200 and edited.json["body"] == "first (edited)"
    assert platform.http.delete(f"{base}/{bobs}", headers=bob.headers).status_code == 204
    assert [c["body"] for c in platform.http.get(base).json["items"]] == ["thanks"]
    assert platform.http.delete(f"{base}/{bobs}", headers=bob.headers).status_code == 404


def test_comments_page_oldest_first_with_a_cursor(platform: Platform, alice: Caller) -> None:
    video_id = platform.ready(alice)
    base = f"/api/videos/{video_id}/comments"
    for n in range(5):
        platform.http.post(base, json={"body": f"comment {n}"}, headers=alice.headers)
    seen: list[str] = []
    cursor = ""
    for _ in range(5):
        page = platform.http.get(base, query_string={"limit": 2, "cursor": cursor}).json
        seen += [c["body"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"comment {n}" for n in range(5)]


def test_comments_of_a_private_video_are_hidden_from_others(
    platform: Platform, alice: Caller, bob: Caller
) -> None:
    video_id = platform.ready(alice, visibility="private")
    base = f"/api/videos/{video_id}/comments"
    assert platform.http.post(base, json={"body": "note to self"}, headers=alice.headers).status_code == 201
    assert platform.http.get(base, headers=bob.headers).status_code == 404
    assert platform.http.post(base, json={"body": "hi"}, headers=bob.headers).status_code == 404


def test_a_comment_is_addressed_through_its_own_video(platform: Platform, alice: Caller) -> None:
    one, other = platform.ready(alice), platform.ready(alice)
    comment = platform.http.post(
        f"/api/videos/{one}/comments", json={"body": "x"}, headers=alice.headers
    ).json
    response = platform.http.delete(f"/api/videos/{other}/comments/{comment['id']}", headers=alice.headers)
    assert response.status_code == 404


def test_likes_are_idempotent_and_counted_in_the_video_body(
    platform: Platform, alice: Caller, bob: Caller
) -> None:
    video_id = platform.ready(alice)
    like = f"/api/videos/{video_id}/like"

    assert platform.http.put(like, headers=bob.headers).json == {"likes": 1, "liked_by_me": True}
    assert platform.http.put(like, headers=bob.headers).json == {"likes": 1, "liked_by_me": True}
    assert platform.http.put(like, headers=alice.headers).json == {"likes": 2, "liked_by_me": True}
    body = platform.http.get(f"/api/videos/{video_id}", headers=bob.headers).json
    assert (body["likes"], body["liked_by_me"]) == (2, True)
    feed_item = platform.http.get("/api/videos").json["items"][0]
    assert (feed_item["likes"], feed_item["liked_by_me"]) == (2, False)

    assert platform.http.delete(like, headers=bob.headers).json == {"likes": 1, "liked_by_me": False}
    assert platform.http.delete(like, headers=bob.headers).json == {"likes": 1, "liked_by_me": False}


def test_a_private_video_cannot_be_liked_by_others(platform: Platform, alice: Caller, bob: Caller) -> None:
    video_id = platform.ready(alice, visibility="private")
    assert platform.http.put(f"/api/videos/{video_id}/like", headers=bob.headers).status_code == 404


def _playlist(platform: Platform, caller: Caller, **fields: Any) -> str:
    response = platform.http.post("/api/playlists", json={"title": "list", **fields}, headers=caller.headers)
    assert response.status_code == 201, response.json
    return str(response.json["id"])


def _item_ids(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["items"]]


def test_playlist_items_are_added_removed_and_reordered_by_the_owner(
    platform: Platform, alice: Caller
) -> None:
    a, b, c = (platform.ready(alice, t) for t in ("a", "b", "c"))
    playlist = _playlist(platform, alice)
    items = f"/api/playlists/{playlist}/items"

    for video_id in (a, b):
        assert (
            platform.http.post(items, json={"video_id": video_id}, headers=alice.headers).status_code == 201
        )
    front = platform.http.post(items, json={"video_id": c, "position": 0}, headers=alice.headers)
    assert _item_ids(front.json) == [c, a, b]
    again = platform.http.post(items, json={"video_id": a}, headers=alice.headers)
    assert again.status_code == 409

    reordered = platform.http.put(items, json={"video_ids": [b, c, a]}, headers=alice.headers)
    assert _item_ids(reordered.json) == [b, c, a]
    partial = platform.http.put(items, json={"video_ids": [b, c]}, headers=alice.headers)
    assert partial.status_code == 422

    removed = platform.http.delete(f"{items}/{c}", headers=alice.headers)
    assert _item_ids(removed.json) == [b, a]
    assert _item_ids(platform.http.get(f"/api/playlists/{playlist}", headers=alice.headers).json) == [b, a]


def test_only_the_owner_changes_a_playlist(platform: Platform, alice: Caller, bob: Caller) -> None:
    video_id = platform.ready(bob)
    playlist = _playlist(platform, alice, visibility="public")
    base = f"/api/playlists/{playlist}"

    attempts = [
        platform.http.patch(base, json={"title": "mine now"}, headers=bob.headers),
        platform.http.delete(base, headers=bob.headers),
        platform.http.post(f"{base}/items", json={"video_id": video_id}, headers=bob.headers),
        platform.http.put(f"{base}/items", json={"video_ids": []}, headers=bob.headers),
        platform.http.delete(f"{base}/items/{video_id}", headers=bob.headers),
    ]

    assert [r.status_code for r in attempts] == [403] * 5
    body = platform.http.get(base, headers=bob.headers).json
    assert body["title"] == "list" and body["items"] == []


def test_private_playlists_are_hidden_and_invisible_items_are_left_out(
    platform: Platform, alice: Caller, bob: Caller
) -> None:
    public_video = platform.ready(alice, visibility="public")
    private_video = platform.ready(alice, visibility="private")
    shown = _playlist(platform, alice, visibility="unlisted")
    hidden = _playlist(platform, alice, visibility="private")
    for video_id in (public_video, private_video):
        platform.http.post(
            f"/api/playlists/{shown}/items", json={"video_id": video_id}, headers=alice.headers
        )

    assert platform.http.get(f"/api/playlists/{hidden}", headers=bob.headers).status_code == 404
    assert _item_ids(platform.http.get(f"/api/playlists/{shown}", headers=bob.headers).json) == [public_video]
    assert _item_ids(platform.http.get(f"/api/playlists/{shown}", headers=alice.headers).json) == [
        public_video,
        private_video,
    ]


def test_others_private_videos_cannot_be_added_to_a_playlist(
    platform: Platform, alice: Caller, bob: Caller
) -> None:
    private_video = platform.ready(bob, visibility="private")
    playlist = _playlist(platform, alice)
    response = platform.http.post(
        f"/api/playlists/{playlist}/items", json={"video_id": private_video}, headers=alice.headers
    )
    assert response.status_code == 404


def test_playlists_list_patch_and_delete(platform: Platform, alice: Caller, bob: Caller) -> None:
    first = _playlist(platform, alice, title="first")
    _playlist(platform, bob, title="bobs")
    patched = platform.http.patch(f"/api/playlists/{first}", json={"title": "renamed"}, headers=alice.headers)
    assert patched.status_code == 200 and patched.json["title"] == "renamed"
    assert [p["title"] for p in platform.http.get("/api/playlists", headers=alice.headers).json["items"]] == [
        "renamed"
    ]
    assert platform.http.delete(f"/api/playlists/{first}", headers=alice.headers).status_code == 204
    assert platform.http.get(f"/api/playlists/{first}", headers=alice.headers).status_code == 404


def test_deleting_a_video_removes_it_from_playlists_likes_and_comments(
    platform: Platform, alice: Caller
) -> None:
    video_id = platform.ready(alice)
    playlist = _playlist(platform, alice)
    platform.http.post(f"/api/playlists/{playlist}/items", json={"video_id": video_id}, headers=alice.headers)
    platform.http.put(f"/api/videos/{video_id}/like", headers=alice.headers)
    platform.http.post(f"/api/videos/{video_id}/comments", json={"body": "x"}, headers=alice.headers)

    assert platform.http.delete(f"/api/videos/{video_id}", headers=alice.headers).status_code == 204

    assert platform.http.get(f"/api/playlists/{playlist}", headers=alice.headers).json["items"] == []
    assert platform.http.get(f"/api/videos/{video_id}/comments").status_code == 404
