"""The rules of stored user text, as pure functions (app/backend/text.py)."""

from __future__ import annotations

import re

import jsonschema_rs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from app.backend import text


@pytest.mark.parametrize(
    "value",
    [
        "\x1b[31mred\x1b[0m",  # ANSI escape
        "ding\x07",  # BEL
        "zero\u200bwidth",
        "\u202eevil",  # right-to-left override
        "\u2066isolate\u2069",
        "soft\u00adhyphen",
        "\ufeffbom",
        "\u3164",  # Hangul filler: a letter that renders blank
        "private\ue000use",
        "line\u2028separator",
    ],
)
def test_control_and_invisible_characters_are_refused_in_free_text(value: str) -> None:
    with pytest.raises(ValueError, match="control or invisible"):
        text.check_text(value, multiline=True)


def test_free_text_keeps_line_breaks_tabs_joiners_and_emoji() -> None:
    value = "first line\n\tsecond: \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 👩\u200d🎤"
    assert text.check_text(value, multiline=True) == value
    with pytest.raises(ValueError):
        text.check_text("one\ntwo", multiline=False)


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("ＡＬＩＣＥ", "ALICE"),  # full-width letters
        ("  Zoë   Smith ", "Zoë Smith"),
        ("Zoë 👩\u200d🎤", "Zoë 👩\u200d🎤"),
        ("ﬁnn", "finn"),  # ligature
    ],
)
def test_display_names_are_stored_nfkc_normalised(sent: str, stored: str) -> None:
    assert text.normalise_display_name(sent) == stored


@pytest.mark.parametrize(
    "name",
    [
        "al\u200bice",
        "\u202eecila",
        "a\u200db",  # a joiner outside an emoji sequence
        "\u0410lice",  # Cyrillic A among Latin letters
        "user-1a2b3c",
        "USER-1A2B3C",
        "ｕｓｅｒ－１ａ２ｂ３ｃ",  # the pseudonym in full-width forms
        "user\u20101a2b3c",  # with a Unicode hyphen
    ],
)
def test_invisible_mixed_alphabet_and_pseudonym_like_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        text.normalise_display_name(name)


def test_names_differing_in_case_width_dashes_or_spaces_share_a_key() -> None:
    keys = {text.display_name_key(n) for n in ("Alice-B", "alice‐b", "ＡＬＩＣＥ－Ｂ", "Alice - B")}
    assert len(keys) == 1
    assert text.display_name_key("Alice") != text.display_name_key("Alicia")


def test_the_pseudonym_is_derived_from_the_sub() -> None:
    assert text.pseudonym("sub-1") == text.pseudonym("sub-1") != text.pseudonym("sub-2")
    assert text.pseudonym("sub-1").startswith("user-") and len(text.pseudonym("sub-1")) == 11


@given(st.text(max_size=20))
@example("one line\n")
def test_the_documented_pattern_accepts_exactly_what_the_validator_accepts(value: str) -> None:
    for multiline in (False, True):
        # ECMA-262's $ is the end of input; Python's also matches before a final newline.
        pattern = text.json_pattern(multiline=multiline, nonblank=False).replace("$", r"\Z")
        documented = re.search(pattern, value) is not None
        try:
            text.check_text(value, multiline=multiline)
            accepted = True
        except ValueError:
            accepted = False
        assert documented == accepted, ascii(value)


@given(st.text(max_size=20))
@example("bell\x07")
@example("next line\x85")
def test_the_pattern_compiles_and_decides_alike_in_a_scalar_value_validator(value: str) -> None:
    """schemathesis validates generated data with jsonschema-rs (Rust regex), which refused the
    pattern for naming surrogates and so let control characters through as "valid"."""
    for multiline in (False, True):
        validator = jsonschema_rs.validator_for(
            {"type": "string", "pattern": text.json_pattern(multiline=multiline, nonblank=False)},
            pattern_options=jsonschema_rs.FancyRegexOptions(),
        )
        try:
            text.check_text(value, multiline=multiline)
            accepted = True
        except ValueError:
            accepted = False
        assert validator.is_valid(value) == accepted, ascii(value)
