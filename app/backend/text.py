"""What user text may hold: the rules every stored title, description, comment and name follows.

Stored text is shown to other people, in browsers and in terminals (logs, admin tools), so it
may not carry characters that act instead of showing: controls (ANSI escapes, BEL, NUL, which
PostgreSQL cannot store either), and invisible or reordering ones (zero-width spaces, bidi
overrides, fillers that render blank). Free text keeps line breaks and tabs, and the two
joiners that scripts and emoji sequences need; display names keep neither, and are compared
by a normalised key so that one person cannot take another's name by case, width, or a
look-alike letter from another alphabet.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

PSEUDONYM_PREFIX = "user-"
_PSEUDONYM = re.compile(r"user-[0-9a-f]{6}")
# Letters that render as blank although Unicode files them as letters or symbols.
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Zero-width non-joiner and joiner: Persian, Indic scripts and emoji sequences need them.
_JOINERS = frozenset("\u200c\u200d")
_LINE_BREAKS = frozenset("\n\t")
_ZWJ = "\u200d"
_SURROGATES = range(0xD800, 0xE000)
_EMOJI_PRESENTATION = "\ufe0f"
# Scripts whose letters look alike; a name may use at most one of them.
_CONFUSABLE_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")


def pseudonym(user_id: str) -> str:
    """The name shown until a user chooses one: derived from the (already public) sub alone."""
    return PSEUDONYM_PREFIX + hashlib.sha256(user_id.encode()).hexdigest()[:6]


def _refused(*, multiline: bool, joiners: bool) -> frozenset[str]:
    """Controls, format characters, line/paragraph separators and private use of the Basic
    Multilingual Plane, and the blank-looking letters. Beyond it only format characters of
    historic scripts and the tag characters of flag emoji remain, which are let through."""
    chars = {
        chr(code)
        for code in range(0x10000)
        if unicodedata.category(chr(code)) in ("Cc", "Cf", "Co", "Zl", "Zp", "Cs")
    }
    chars |= _BLANK_LOOKING
    if multiline:
        chars -= _LINE_BREAKS
    if joiners:
        chars -= _JOINERS
    return frozenset(chars)


_REFUSED = {
    (multiline, joiners): _refused(multiline=multiline, joiners=joiners)
    for multiline in (False, True)
    for joiners in (False, True)
}


def hidden_characters(
    value: str, *, multiline: bool, joiners: bool, emoji_joiners: bool = False
) -> list[str]:
    """The characters of ``value`` that would act or hide rather than show, as ``U+XXXX``;
    ``emoji_joiners`` lets a zero-width joiner through only inside an emoji sequence."""
    refused = _REFUSED[multiline, joiners]
    return [
        f"U+{ord(char):04X}"
        for index, char in enumerate(value)
        if char in refused and not (char == _ZWJ and emoji_joiners and _joins_emoji(value, index))
    ]


def json_pattern(*, multiline: bool, nonblank: bool) -> str:
    """The JSON Schema ``pattern`` (ECMA-262, BMP escapes only) of free text: no refused
    character, and with ``nonblank`` at least one character that is not whitespace.

    The pattern reads text as Unicode scalar values, as JSON Schema validators built on Rust's
    or Go's regex engines do (schemathesis's among them): they refuse a pattern that names a
    surrogate at all, and then check nothing. A lone surrogate can only arrive as a ``\\uD800``
    JSON escape; the validator refuses it without the document's help."""
    refused = sorted(
        char for char in _REFUSED[multiline, True] if not _SURROGATES.start <= ord(char) < _SURROGATES.stop
    )
    ranges: list[tuple[int, int]] = []
    for code in map(ord, refused):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    allowed = "[^" + "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges) + "]"
    if not nonblank:
        return f"^{allowed}*$"
    return f"^{allowed}*(?![\\s]){allowed}{allowed}*$"


def _is_symbol(char: str) -> bool:
    return bool(char) and unicodedata.category(char) in ("So", "Sk")


def _joins_emoji(value: str, index: int) -> bool:
    before = value[index - 1] if index > 0 else ""
    after = value[index + 1] if index + 1 < len(value) else ""
    return (_is_symbol(before) or before == _EMOJI_PRESENTATION) and _is_symbol(after)


def check_text(value: str, *, multiline: bool) -> str:
    """Free text (titles one line; descriptions and comments may span lines)."""
    hidden = hidden_characters(value, multiline=multiline, joiners=True)
    if hidden:
        raise ValueError(f"must not contain control or invisible characters ({', '.join(hidden[:5])})")
    return value


def _scripts(value: str) -> set[str]:
    return {
        unicodedata.name(char, "").split(" ")[0]
        for char in value
        if unicodedata.category(char).startswith("L")
    } & set(_CONFUSABLE_SCRIPTS)


def normalise_display_name(value: str) -> str:
    """The name as stored: NFKC (full-width and compatibility forms become plain ones), inner
    whitespace runs as one space; refused when it hides characters, mixes look-alike
    alphabets, or takes the pseudonym form."""
    name = unicodedata.normalize("NFKC", value)
    hidden = hidden_characters(name, multiline=False, joiners=False, emoji_joiners=True)
    if hidden:
        raise ValueError(f"must not contain control or invisible characters ({', '.join(hidden[:5])})")
    scripts = _scripts(name)
    if len(scripts) > 1:
        raise ValueError(f"must not mix letters of {' and '.join(sorted(s.title() for s in scripts))}")
    if _PSEUDONYM.fullmatch(display_name_key(name)):
        raise ValueError("must not look like a generated pseudonym (user- and 6 hex digits)")
    return " ".join(name.split())


def display_name_key(name: str) -> str:
    """What two names must differ in: case-folded NFKC, dashes as '-', spaces removed."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(
        "-" if unicodedata.category(char) == "Pd" else char for char in folded if not char.isspace()
    )
