"""Nesting is bounded before Python's recursive JSON parser sees the document."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.contracts import bounded_json

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=20,
)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@given(JSON_VALUES)
def test_the_measured_depth_is_the_documents_nesting(value: object) -> None:
    assert bounded_json.nesting_depth(json.dumps(value).encode()) == _depth(value)


def test_brackets_inside_strings_and_escaped_quotes_do_not_count() -> None:
    assert bounded_json.nesting_depth(rb'["[[\"[[", {"a": "}}]]"}]') == 2


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_a_document_deeper_than_the_bound_is_a_value_error_not_a_recursion_error(opening: str) -> None:
    """Python's json parser raises RecursionError (not ValueError) on a few thousand levels."""
    document = opening * 100_000
    with pytest.raises(RecursionError):
        json.loads(document)
    with pytest.raises(bounded_json.TooDeep):
        bounded_json.loads(document)


def test_a_document_at_the_bound_parses() -> None:
    depth = bounded_json.MAX_DEPTH
    assert bounded_json.loads("[" * depth + "]" * depth) is not None


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(literal: str) -> None:
    """Python's parser reads them; RFC 8259 section 6 (https://www.rfc-editor.org/rfc/rfc8259#section-6)
    has no such numbers, and a NaN in a body slipped past every range check."""
    with pytest.raises(ValueError, match="not a JSON number"):
        bounded_json.loads(f'{{"start": {literal}}}')
