"""Checkpoints: a long transcode that a deploy (or a spot interruption) stops resumes where it was.

A long source is transcoded in two ffmpeg runs rather than one: the top rendition with the poster
and the storyboard's sprite sheets first (the larger share of the work), then the other
renditions. Each finished run is uploaded under the task's prefix at once, its manifest last
(``checkpoints/<renditions>.json``, e.g. ``480p.json``: each file's key and size; named by its
renditions, so a ladder changed by the deploy never restores a run it does not plan). The task's next attempt lists the
prefix, and a run whose manifest is there and whose every file is listed with that size is
downloaded instead of transcoded again. The final upload drops the manifests (they are not
outputs), so a finished set of outputs is the same whether or not it was resumed.

Short sources keep one run: decoding twice costs more than an interruption could lose.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.transcoder.graph import TranscodePlan

MANIFESTS = "checkpoints/"


def run_heights(plan: TranscodePlan, resumable_from_seconds: float) -> list[list[int]]:
    """The rendition heights of each ffmpeg run, in order; the first run also makes the poster
    and the storyboard."""
    heights = [r.height for r in plan.renditions]
    if plan.duration < resumable_from_seconds or len(heights) < 2:
        return [heights]
    return [heights[:1], heights[1:]]


@dataclass
class Checkpoints:
    """What earlier attempts of one task left under its prefix, and what this attempt adds."""

    s3: Any
    bucket: str
    prefix: str
    stored: dict[str, int] = field(default_factory=dict)
    """Key → size of every object under the prefix when the attempt started."""
    saved: set[str] = field(default_factory=set)
    """Keys of outputs already stored, restored or checkpointed by this attempt: not uploaded again."""
    bytes_written: int = 0

    def __post_init__(self) -> None:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        self.stored = {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}

    def _manifest_key(self, heights: list[int]) -> str:
        return f"{self.prefix}{MANIFESTS}{'-'.join(f'{h}p' for h in heights)}.json"

    def restore(self, heights: list[int], root: Path) -> bool:
        """Download the files of the run of ``heights`` into ``root`` if an earlier attempt stored all of them."""
        key = self._manifest_key(heights)
        if key not in self.stored:
            return False
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        files: dict[str, int] = json.loads(body)
        if not files or any(self.stored.get(self.prefix + name) != size for name, size in files.items()):
            return False  # a manifest that outlived some of its files: transcode the run again
        for name in files:
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            self.s3.download_file(self.bucket, self.prefix + name, str(target))
        self.saved |= {self.prefix + name for name in files}
        return True

    def save(
        self, heights: list[int], root: Path, files: list[Path], put: Callable[[str, Path], None]
    ) -> None:
        """Upload the finished run of ``heights``: its ``files`` (under ``root``), then its manifest."""
        sizes = {path.relative_to(root).as_posix(): path.stat().st_size for path in files}
        for name in sorted(sizes):
            put(self.prefix + name, root / name)
        key = self._manifest_key(heights)
        manifest = root.parent / key.rsplit("/", 1)[1]
        manifest.write_text(json.dumps(sizes))
        put(key, manifest)
        self.saved |= {self.prefix + name for name in sizes}
        self.bytes_written += sum(sizes.values())
