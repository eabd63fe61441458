"""WebApp: the web app's files published to the web bucket, as CloudFront serves them.

As pulumi/examples' ``aws-py-s3-folder`` does, each file is an S3 object with its content type;
unlike it, only the files the pages load are published (``page_files``: each page, what it
references, and the ES modules those import, the import map's vendored hls.js included; no
``node_modules`` beyond that, no README, no package files), and each carries a cache header:

- the assets live under ``r/<release>/``, where ``<release>`` is a hash of all their contents, and
  are cached for a year (``immutable``): a changed file makes a new release, new keys, new URLs;
- the pages, ``index.html`` (the app) and ``embed.html`` (the embeddable player, the one document
  other sites may frame: ``SiteDistribution`` serves it with its own headers), are the files at
  fixed keys, ``no-cache``, and name the assets by their release URLs (``release_index``).
  Relative imports between modules resolve under the same release, so no module needs rewriting.
"""

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pulumi
import pulumi_aws as aws

from app.contracts.security_headers import EMBED_DOCUMENT
from infra._common import args_of, declared_outputs, standard_tags

REPO_ROOT = Path(__file__).resolve().parent.parent
WEB_ROOT = REPO_ROOT / "app" / "web"
ENTRY = "index.html"
PAGES = (ENTRY, EMBED_DOCUMENT)
RELEASE_PREFIX = "r"
ENTRY_CACHE_CONTROL = "no-cache"
ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
}

_HTML_REFERENCE = re.compile(r'\b(?P<attr>href|src)="(?P<url>[^"]+)"')
_IMPORT_MAP = re.compile(r'(<script type="importmap">)(?P<json>.*?)(</script>)', re.DOTALL)
_JS_IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)["'](?P<spec>[^"']+)["']""")


def _local(url: str) -> bool:
    """A reference to a file of the app (not a fragment, a data: URL, another origin or a route)."""
    return not re.match(r"^(#|[a-z][a-z0-9+.-]*:|/)", url)


def _import_map(html: str) -> dict[str, str]:
    found = _IMPORT_MAP.search(html)
    return dict(json.loads(found.group("json")).get("imports", {})) if found else {}


def _join(base: PurePosixPath, url: str) -> str:
    """``url`` relative to the file ``base``, as a path from the web root."""
    parts: list[str] = list(base.parent.parts)
    for part in PurePosixPath(url).parts:
        if part == "..":
            if not parts:
                raise ValueError(f"{url} (from {base}) points outside the web root")
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def _resolve(base: PurePosixPath, url: str, root: Path) -> str:
    """``_join``, for a file that exists under ``root``."""
    path = _join(base, url)
    if not (root / path).is_file():
        raise ValueError(
            f"{base} loads {url}, which is not a file under {root} "
            "(vendored modules come from `npm ci --prefix app/web`)"
        )
    return path


def page_files(root: Path = WEB_ROOT, entry: str = ENTRY) -> list[str]:
    """Every file the page loads, as paths under ``root``: the entry, its ``href``/``src`` and
    import-map references, and the modules the app's own modules import; sorted. Import-map
    targets are vendored bundles (hls.js ships one self-contained ES module), published as they
    are and not scanned: their minified text holds strings that look like imports."""
    html = (root / entry).read_text()
    entry_path = PurePosixPath(entry)
    imports = {spec: _resolve(entry_path, url, root) for spec, url in _import_map(html).items()}
    pending = [
        _resolve(entry_path, m["url"], root) for m in _HTML_REFERENCE.finditer(html) if _local(m["url"])
    ]
    pending += imports.values()
    found = {entry}
    while pending:
        path = pending.pop()
        if path in found:
            continue
        found.add(path)
        if PurePosixPath(path).suffix in (".js", ".mjs") and path not in imports.values():
            for match in _JS_IMPORT.finditer((root / path).read_text()):
                spec = match.group("spec")
                if spec in imports:
                    continue  # a bare specifier: the import map's file, already listed
                if not spec.startswith("."):
                    raise ValueError(
                        f"{path} imports {spec}, which neither is relative nor in the import map"
                    )
                pending.append(_resolve(PurePosixPath(path), spec, root))
    return sorted(found)


def release_id(root: Path, assets: list[str]) -> str:
    """A hash of the assets' names and contents: it changes whenever any asset does."""
    digest = hashlib.sha256()
    for path in sorted(assets):
        digest.update(path.encode() + b"\0" + hashlib.sha256((root / path).read_bytes()).digest())
    return digest.hexdigest()[:16]


def asset_key(release: str, path: str) -> str:
    return f"{RELEASE_PREFIX}/{release}/{path}"


def release_index(html: str, urls: Mapping[str, str], entry: str = ENTRY) -> str:
    """``index.html`` with each local reference (attributes and import map) replaced by its asset's
    URL from ``urls`` (path under the web root -> URL)."""
    entry_path = PurePosixPath(entry)

    def url_of(url: str) -> str:
        return urls[_join(entry_path, url)]

    def attribute(match: re.Match[str]) -> str:
        url = match.group("url")
        return f'{match.group("attr")}="{url_of(url)}"' if _local(url) else match.group(0)

    def import_map(match: re.Match[str]) -> str:
        document = json.loads(match.group("json"))
        document["imports"] = {spec: url_of(url) for spec, url in document.get("imports", {}).items()}
        return f"{match.group(1)}{json.dumps(document)}{match.group(3)}"

    return _IMPORT_MAP.sub(import_map, _HTML_REFERENCE.sub(attribute, html))


def content_type(path: str) -> str:
    suffix = PurePosixPath(path).suffix
    if suffix not in CONTENT_TYPES:
        raise ValueError(f"{path}: no content type for {suffix!r} files; add it to infra.web.CONTENT_TYPES")
    return CONTENT_TYPES[suffix]


@dataclass(frozen=True)
class WebAppArgs:
    """Every knob of the web app's publication."""

    bucket: pulumi.Input[str]
    """The web bucket (``MediaStorage.web_bucket``), which CloudFront serves at ``/``."""
    root: str = str(WEB_ROOT)
    """The web app's directory (default: the repository's ``app/web``)."""
    pages: Sequence[str] = PAGES
    """The documents published at fixed keys: ``index.html`` (CloudFront's default root object)
    and ``embed.html`` (the embeddable player, the one the distribution lets other sites frame)."""
    owner: str = "platform"
    """The ``owner`` tag."""


class WebApp(pulumi.ComponentResource):
    """One S3 object per file the pages load: the pages, and the assets of this release."""

    release: str
    keys: list[str]

    def __init__(self, name: str, args: WebAppArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args = args_of(WebAppArgs, args)
        super().__init__("reelstack:index:WebApp", name, None, opts)
        tags = standard_tags("web", args.owner)
        child = pulumi.ResourceOptions(parent=self)
        root = Path(args.root)
        pages = list(args.pages)
        assets = sorted({path for page in pages for path in page_files(root, page)} - set(pages))
        release = release_id(root, assets)
        for path in assets:
            # Named by path, keyed by release: a new release replaces each object (new before old).
            aws.s3.BucketObjectv2(
                f"{name}-{path}",
                bucket=args.bucket,
                key=asset_key(release, path),
                source=pulumi.FileAsset(str(root / path)),
                content_type=content_type(path),
                cache_control=ASSET_CACHE_CONTROL,
                tags=dict(tags),
                opts=child,
            )
        urls = {path: f"/{asset_key(release, path)}" for path in assets}
        for page in pages:
            aws.s3.BucketObjectv2(
                f"{name}-{page}",
                bucket=args.bucket,
                key=page,
                content=release_index((root / page).read_text(), urls, page),
                content_type=content_type(page),
                cache_control=ENTRY_CACHE_CONTROL,
                tags=dict(tags),
                opts=child,
            )
        self.release = release
        self.keys = sorted([*pages, *(asset_key(release, p) for p in assets)])
        self.register_outputs(declared_outputs(self))
