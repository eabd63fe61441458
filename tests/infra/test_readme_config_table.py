"""The README's table of config keys is the one platform teams read: it lists every key the stack reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def keys_read_by_the_stack() -> set[str]:
    source = (ROOT / "stacks" / "config.py").read_text()
    return set(re.findall(r'\bc\.(?:get|require)\w*\("(\w+)"\)', source))


def keys_in_the_readme_table() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## For platform teams", 1)[1].split("\n## ", 1)[0]
    cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {key for cell in cells for key in re.findall(r"`([\w:]+)`", cell)}


def test_the_readme_lists_exactly_the_config_keys_the_stack_reads() -> None:
    read = keys_read_by_the_stack()
    assert len(read) > 30, "the pattern no longer finds the stack's config reads"
    assert keys_in_the_readme_table() == read | {"aws:region"}
