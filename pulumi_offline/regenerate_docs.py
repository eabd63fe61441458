"""Rewrite the generated drawing in docs/stack-graph.md from the current code."""

from __future__ import annotations

import re
import sys

from pulumi_offline import draw
from pulumi_offline.synth import ROOT, synthesize

DOC = ROOT / "docs" / "stack-graph.md"
BLOCK = re.compile(r"(<!-- synth:prod:mermaid -->\n).*?(<!-- /synth:prod:mermaid -->)", re.DOTALL)


def drawn_block() -> str:
    return f"```mermaid\n{draw.to_mermaid(synthesize('prod'))}```\n"


def embedded_block(text: str) -> str:
    found = BLOCK.search(text)
    if found is None:
        raise ValueError(f"{DOC} lacks the synth:prod:mermaid markers")
    return text[found.end(1) : found.start(2)]


def main() -> int:
    text = DOC.read_text()
    embedded_block(text)  # the markers are there
    DOC.write_text(BLOCK.sub(lambda m: m.group(1) + drawn_block() + m.group(2), text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
