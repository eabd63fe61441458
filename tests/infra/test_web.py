"""infra/web.py: ``pulumi up`` publishes the web app's files to the web bucket, with types and cache headers."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from app.contracts.security_headers import EMBED_DOCUMENT, EMBED_PATH
from infra.web import (
    ASSET_CACHE_CONTROL,
    ENTRY_CACHE_CONTROL,
    WEB_ROOT,
    asset_key,
    page_files,
    release_id,
    release_index,
)
from pulumi_offline.graph import Graph

OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
# What index.html and embed.html load: their stylesheet, every module of the app (each reachable
# from js/main.js or js/embed.js), and the one vendored module their import maps name.
PAGE_ASSETS = sorted(
    ["styles.css", "node_modules/hls.js/dist/hls.mjs"]
    + [p.relative_to(WEB_ROOT).as_posix() for p in (WEB_ROOT / "js").rglob("*.js")]
)
PAGES = ["embed.html", "index.html"]


def _objects(graph: Graph) -> dict[str, dict]:
    component = graph.one("reelstack:index:WebApp", "web")
    return {r.inputs["key"]: r.inputs for r in graph.children(component) if r.type == OBJECT}


def test_stack_publishes_every_file_the_page_loads_and_nothing_else(prod: Graph) -> None:
    """AWS rule: CloudFront answers ``/`` with its default root object (``index.html``) from the
    web bucket; with no such object the private bucket answers 403 (the bug). S3 serves each object
    with the Content-Type stored with it, so each object names its type (browsers refuse ES modules
    not served as JavaScript). Sources: "Specify a default root object",
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DefaultRootObject.html;
    pulumi/examples aws-py-s3-folder publishes a folder the same way (one object per file)."""
    objects = _objects(prod)
    release = prod.exports["web_release"]
    assert sorted(objects) == sorted([*PAGES, *(asset_key(release, p) for p in PAGE_ASSETS)])
    web_bucket = prod.exports["web_bucket"]
    for key, inputs in objects.items():
        assert inputs["bucket"] == web_bucket
        assert inputs["tags"]["service"] == "web"
        if key not in PAGES:
            path = key.removeprefix(f"r/{release}/")
            assert inputs["source"] == {"path": str(WEB_ROOT / path)}
    types = {key.rsplit(".", 1)[1]: inputs["contentType"] for key, inputs in objects.items()}
    assert types == {
        "html": "text/html; charset=utf-8",
        "css": "text/css; charset=utf-8",
        "js": "text/javascript; charset=utf-8",
        "mjs": "text/javascript; charset=utf-8",
    }
    assert not [
        k for k in objects if re.search(r"README|package(-lock)?\.json|\.map$|hls\.js/dist/hls\.js", k)
    ]


def test_entry_is_revalidated_and_assets_are_cached_for_a_year_under_their_release(prod: Graph) -> None:
    """AWS rule: "If your minimum TTL is greater than 0, CloudFront will cache content for at least
    the duration specified in the cache policy's minimum TTL, even if the Cache-Control: no-cache
    ... directives are present" (CachePolicyConfig,
    https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CachePolicyConfig.html): with the
    managed CachingOptimized policy ``index.html`` (``no-cache``) is stale for at most that minimum,
    while the assets, whose URLs change with their content, may be kept up to the policy's maximum
    (a year)."""
    objects = _objects(prod)
    release = prod.exports["web_release"]
    entry = objects.pop("index.html")
    assert (
        entry["cacheControl"]
        == objects.pop("embed.html")["cacheControl"]
        == ENTRY_CACHE_CONTROL
        == "no-cache"
    )
    assert {o["cacheControl"] for o in objects.values()} == {ASSET_CACHE_CONTROL}
    assert "max-age=31536000" in ASSET_CACHE_CONTROL and "immutable" in ASSET_CACHE_CONTROL
    referenced = set(re.findall(r'(?:href|src)="(/r/[^"]+)"|"hls\.js": "(/r/[^"]+)"', entry["content"]))
    urls = {u for pair in referenced for u in pair if u}
    assert urls == {
        f"/r/{release}/styles.css",
        f"/r/{release}/js/main.js",
        f"/r/{release}/node_modules/hls.js/dist/hls.mjs",
    }
    assert all(url.removeprefix("/") in objects for url in urls)
    assert 'href="#main"' in entry["content"]  # in-page links stay as they are


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "web"
    (root / "js" / "views").mkdir(parents=True)
    (root / "vendor").mkdir()
    (root / "index.html").write_text(
        '<link rel="stylesheet" href="styles.css"><a href="#top">top</a>\n'
        '<script type="importmap">{"imports": {"lib": "./vendor/lib.mjs"}}</script>\n'
        '<script type="module" src="js/main.js"></script>'
    )
    (root / "styles.css").write_text("body {}")
    (root / "js" / "main.js").write_text(
        'import { a } from "./views/a.js";\nconst lib = await import("lib");'
    )
    (root / "js" / "views" / "a.js").write_text('export { b } from "../b.js";')
    (root / "js" / "b.js").write_text("export const b = 1;")
    (root / "js" / "unused.js").write_text("export const c = 1;")
    (root / "vendor" / "lib.mjs").write_text('const s = `from "${x}"`; export default s;')
    (root / "README.md").write_text("not served")
    return root


def test_page_files_follow_references_imports_and_the_import_map(site: Path) -> None:
    assert page_files(site) == [
        "index.html",
        "js/b.js",
        "js/main.js",
        "js/views/a.js",
        "styles.css",
        "vendor/lib.mjs",
    ]


def test_a_missing_file_the_page_loads_stops_the_deployment(site: Path) -> None:
    (site / "js" / "b.js").unlink()
    with pytest.raises(ValueError, match=r"js/views/a\.js loads \.\./b\.js"):
        page_files(site)


def test_any_changed_asset_makes_a_new_release_and_new_urls_in_the_entry(site: Path, tmp_path: Path) -> None:
    assets = [p for p in page_files(site) if p != "index.html"]
    before = release_id(site, assets)
    changed = tmp_path / "changed"
    shutil.copytree(site, changed)
    (changed / "js" / "b.js").write_text("export const b = 2;")
    after = release_id(changed, assets)
    assert before != after and release_id(site, assets) == before
    html = (site / "index.html").read_text()
    index = release_index(html, {p: f"/{asset_key(after, p)}" for p in assets})
    assert f'src="/r/{after}/js/main.js"' in index and f'"lib": "/r/{after}/vendor/lib.mjs"' in index
    assert before not in index


def test_the_embed_document_is_published_beside_the_app_and_loads_the_player_alone(prod: Graph) -> None:
    """The embeddable player has a document of its own, at the key CloudFront's embed behaviour
    names (``SiteDistribution``; tests/infra/test_distribution.py): only it may be framed by
    other sites. It loads the player's modules and none of the pages that change anything."""
    objects = _objects(prod)
    release = prod.exports["web_release"]
    embed = objects[EMBED_DOCUMENT]
    assert f"/{EMBED_DOCUMENT}" == EMBED_PATH
    assert embed["cacheControl"] == ENTRY_CACHE_CONTROL and embed["contentType"].startswith("text/html")
    assert f'src="/r/{release}/js/embed.js"' in embed["content"]
    assert f'"hls.js": "/r/{release}/node_modules/hls.js/dist/hls.mjs"' in embed["content"]
    loads = page_files(WEB_ROOT, EMBED_DOCUMENT)
    assert "js/views/player-panel.js" in loads and "js/player.js" in loads
    assert not {"js/main.js", "js/views/watch.js", "js/views/mine.js", "js/views/visibility.js"} & set(loads)
