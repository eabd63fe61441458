"""JSON from untrusted senders, with its nesting bounded before the parser recurses into it.

Python's ``json`` parser recurses once per nesting level, so a body of a few thousand ``[``
raises ``RecursionError`` (a 500, or an unhandled Lambda error) instead of ``ValueError``.
Every service that parses a request body or a message uses ``loads`` here; the depth check
looks only at brackets outside strings, so its cost follows the number of brackets.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Deepest document any reelstack schema needs is 4 levels (a filter spec inside a task); 32
# leaves room for clients that wrap bodies, and stays far below the interpreter's recursion limit.
MAX_DEPTH = 32
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


class TooDeep(ValueError):
    """The document nests deeper than allowed; a ``ValueError`` like any other malformed JSON."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"the JSON document nests deeper than {max_depth} levels")
        self.max_depth = max_depth


def nesting_depth(data: bytes, stop_above: int | None = None) -> int:
    """The deepest nesting of arrays and objects in ``data`` (brackets inside strings ignored)."""
    depth = deepest = 0
    for bracket in _BRACKET.finditer(_STRING.sub(b'""', data)):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    break
        else:
            depth -= 1
    return deepest


def loads(data: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` that raises ``ValueError`` (``TooDeep``) for documents nested past ``max_depth``,
    and for the NaN and Infinity literals."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if nesting_depth(raw, stop_above=max_depth) > max_depth:
        raise TooDeep(max_depth)
    return json.loads(data, parse_constant=_not_json)


def _not_json(constant: str) -> Any:
    # Python's parser reads NaN and Infinity, which JSON does not have (RFC 8259, section 6).
    raise ValueError(f"{constant} is not a JSON number")
