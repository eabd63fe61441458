"""Caption files as owners upload them: a strict reader of WebVTT and SRT, one WebVTT writer,
and the language tags tracks are keyed by.

Plain functions, no I/O. Every refusal is a ``CaptionError`` that names the line and what is
wrong there, so the API can answer it as a 422 the owner can act on.

- WebVTT: the W3C's "WebVTT: The Web Video Text Tracks Format" (https://www.w3.org/TR/webvtt1/),
  its file syntax (section 4): the ``WEBVTT`` signature line, header lines, then blocks separated
  by blank lines: ``NOTE`` comments, ``STYLE`` and ``REGION`` blocks (before the first cue),
  cues (an optional identifier line, a timing line ``start --> end [settings]``, text lines
  that contain no ``-->``). Timestamps are ``[hh:]mm:ss.ttt``.
- SRT (SubRip) has no formal standard; its common form: a cue number, a timing line
  ``hh:mm:ss,ttt --> hh:mm:ss,ttt``, text lines, a blank line. Its ``<i> <b> <u>`` tags exist in
  WebVTT too and are kept; ``<font>`` tags have no WebVTT form and are dropped; any other text
  is escaped, as WebVTT cue text gives ``&`` and ``<`` meaning.

What is written back (``to_webvtt``) is the signature and the cues, without comments, styles
and regions, which the player's own rendering does not use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class CaptionFormat(StrEnum):
    WEBVTT = "vtt"
    SRT = "srt"


class CaptionError(ValueError):
    """The file is not a caption file of the format it was sent as; the message names the line."""


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    text: str
    """Cue text in WebVTT's cue-text syntax (lines joined by ``\\n``, never a blank line)."""
    identifier: str = ""
    settings: str = ""
    """WebVTT cue settings (``align:start line:0``), checked against the spec's names."""


# WebVTT: hours are two or more digits and optional; minutes and seconds 00-59; three decimals.
_VTT_TIME = r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})"
_VTT_TIMING = re.compile(rf"^{_VTT_TIME}[ \t]+-->[ \t]+{_VTT_TIME}(?:[ \t]+(.*))?$")
_SRT_TIME = r"(\d{2,}):([0-5]\d):([0-5]\d),(\d{3})"
# Some SRT writers append display coordinates (X1:... Y2:...); WebVTT has none, they are dropped.
_SRT_TIMING = re.compile(
    rf"^{_SRT_TIME}[ \t]+-->[ \t]+{_SRT_TIME}(?:[ \t]+X1:\d+[ \t]+X2:\d+[ \t]+Y1:\d+[ \t]+Y2:\d+)?[ \t]*$"
)
_SIGNATURE = re.compile(r"^WEBVTT(?:[ \t].*)?$")
# The cue settings of WebVTT section 4.4 (region is left out: regions are not kept).
_SETTING = re.compile(
    r"^(?:vertical:(?:rl|lr)"
    r"|line:(?:-?\d+|\d+(?:\.\d+)?%)(?:,(?:start|center|end))?"
    r"|position:\d+(?:\.\d+)?%(?:,(?:line-left|center|line-right))?"
    r"|size:\d+(?:\.\d+)?%"
    r"|align:(?:start|center|end|left|right))$"
)
_SRT_KEPT_TAG = re.compile(r"^</?[ibu]>$", re.IGNORECASE)
_SRT_DROPPED_TAG = re.compile(r"^</?font(?:\s[^>]*)?>$", re.IGNORECASE)
_SRT_TAG = re.compile(r"(<[^<>]*>)")


def _ms(hours: str | None, minutes: str, seconds: str, millis: str) -> int:
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)


# Control characters other than tab and line breaks: nothing a caption shows, and a sign of a
# binary file; and lone surrogates (a JSON "\ud800" escape), which no UTF-8 file can hold.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _lines(text: str) -> list[str]:
    control = _CONTROL.search(text)
    if control:
        line = text.count("\n", 0, control.start()) + 1
        raise CaptionError(f"line {line}: character U+{ord(control.group()):04X}; is it a text file?")
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _blocks(lines: list[str], first: int) -> list[tuple[int, list[str]]]:
    """Runs of non-blank lines from ``lines[first:]``, each with its 1-based first line number."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for number, line in enumerate(lines[first:], start=first + 1):
        if line.strip() == "":
            if current:
                blocks.append((start, current))
                current = []
        else:
            if not current:
                start = number
            current.append(line)
    if current:
        blocks.append((start, current))
    return blocks


def _checked_times(start_ms: int, end_ms: int, line: int) -> None:
    if end_ms <= start_ms:
        raise CaptionError(f"line {line}: the cue ends before or when it starts")


def _checked_text(text_lines: list[str], line: int) -> str:
    if not text_lines:
        raise CaptionError(f"line {line}: the cue has no text")
    for offset, text in enumerate(text_lines, start=1):
        if "-->" in text:
            raise CaptionError(f"line {line + offset}: cue text may not contain '-->'")
    return "\n".join(text_lines)


def parse_webvtt(text: str) -> list[Cue]:
    lines = _lines(text)
    if not _SIGNATURE.match(lines[0]):
        raise CaptionError("line 1: a WebVTT file starts with the line 'WEBVTT'")
    header_end = next((i for i, line in enumerate(lines) if line.strip() == ""), len(lines))
    for number, line in enumerate(lines[1:header_end], start=2):
        if "-->" in line:
            raise CaptionError(f"line {number}: a blank line must separate the header from the first cue")
    cues: list[Cue] = []
    for start, block in _blocks(lines, header_end):
        first = block[0]
        if first == "NOTE" or first.startswith(("NOTE ", "NOTE\t")):
            continue
        if first in ("STYLE", "REGION") and not any("-->" in line for line in block):
            if cues:
                raise CaptionError(f"line {start}: {first} blocks must come before the first cue")
            continue
        identifier = ""
        timing_line = start
        if "-->" not in first:
            identifier, block = first, block[1:]
            timing_line += 1
            if not block or "-->" not in block[0]:
                raise CaptionError(f"line {timing_line}: expected a cue timing line 'start --> end'")
        match = _VTT_TIMING.match(block[0])
        if match is None:
            raise CaptionError(
                f"line {timing_line}: expected a cue timing line '[hh:]mm:ss.ttt --> [hh:]mm:ss.ttt'"
            )
        start_ms, end_ms = _ms(*match.group(1, 2, 3, 4)), _ms(*match.group(5, 6, 7, 8))
        _checked_times(start_ms, end_ms, timing_line)
        settings = (match.group(9) or "").split()
        for setting in settings:
            if not _SETTING.match(setting):
                raise CaptionError(f"line {timing_line}: unknown or malformed cue setting {setting!r}")
        body = _checked_text(block[1:], timing_line)
        cues.append(Cue(start_ms, end_ms, body, identifier, " ".join(settings)))
    return _nonempty(cues)


def _srt_text(line: str) -> str:
    """One SRT text line as WebVTT cue text: i/b/u tags kept, font tags dropped, the rest escaped."""
    out = []
    for part in _SRT_TAG.split(line):
        if _SRT_KEPT_TAG.match(part):
            out.append(part.lower())
        elif not _SRT_DROPPED_TAG.match(part):
            out.append(part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    return "".join(out)


def parse_srt(text: str) -> list[Cue]:
    lines = _lines(text)
    cues: list[Cue] = []
    for start, block in _blocks(lines, 0):
        if not re.fullmatch(r"[0-9]+", block[0].strip()):
            raise CaptionError(f"line {start}: expected a cue number")
        if len(block) < 2:
            raise CaptionError(
                f"line {start + 1}: expected a cue timing line 'hh:mm:ss,ttt --> hh:mm:ss,ttt'"
            )
        match = _SRT_TIMING.match(block[1].strip())
        if match is None:
            raise CaptionError(
                f"line {start + 1}: expected a cue timing line 'hh:mm:ss,ttt --> hh:mm:ss,ttt'"
            )
        start_ms, end_ms = _ms(*match.group(1, 2, 3, 4)), _ms(*match.group(5, 6, 7, 8))
        _checked_times(start_ms, end_ms, start + 1)
        body = _checked_text([_srt_text(line) for line in block[2:]], start + 1)
        cues.append(Cue(start_ms, end_ms, body))
    return _nonempty(cues)


def _nonempty(cues: list[Cue]) -> list[Cue]:
    if not cues:
        raise CaptionError("the file holds no cue")
    return cues


def parse(text: str, fmt: CaptionFormat) -> list[Cue]:
    return parse_webvtt(text) if fmt == CaptionFormat.WEBVTT else parse_srt(text)


def vtt_timestamp(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def to_webvtt(cues: list[Cue]) -> str:
    """The cues as a WebVTT file (UTF-8 text), which ``parse_webvtt`` reads back unchanged."""
    out = ["WEBVTT", ""]
    for cue in cues:
        if cue.identifier:
            out.append(cue.identifier)
        timing = f"{vtt_timestamp(cue.start_ms)} --> {vtt_timestamp(cue.end_ms)}"
        out += [f"{timing} {cue.settings}" if cue.settings else timing, cue.text, ""]
    return "\n".join(out)


# Language tags: the "langtag" and "privateuse" productions of RFC 5646 section 2.1 (BCP 47);
# the grandfathered tags (i-klingon, zh-min-nan, ...) are deprecated and not accepted. Checked
# for form, not against the IANA registry (no registry copy is installed).
# One pattern for Python and for the OpenAPI document (ECMA-262), so no named groups and no
# flags: the groups are language (with extlangs), script, region, variants, extensions.
LANGUAGE_TAG_PATTERN = (
    r"^(?:([A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})"
    r"(?:-([A-Za-z]{4}))?"
    r"(?:-([A-Za-z]{2}|[0-9]{3}))?"
    r"((?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*)"
    r"((?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*)"
    r"(?:-[Xx](?:-[A-Za-z0-9]{1,8})+)?"
    r"|[Xx](?:-[A-Za-z0-9]{1,8})+)$"
)
_LANGTAG = re.compile(LANGUAGE_TAG_PATTERN)
# RFC 5646 section 4.4.1: implementations should support tags of at least 35 characters.
LANGUAGE_TAG_MAX = 35


def language_tag(tag: str) -> str:
    """``tag`` in the case RFC 5646 section 2.1.1 recommends (``en``, ``zh-Hant-TW``, ``es-419``);
    a ``CaptionError`` when it is not a well-formed tag (section 2.2.9), repeated variants and
    extension singletons included."""
    match = _LANGTAG.match(tag) if len(tag) <= LANGUAGE_TAG_MAX else None
    if match is None:
        raise CaptionError(
            f"{tag!r} is not a BCP 47 language tag (RFC 5646) of at most {LANGUAGE_TAG_MAX}"
            " characters, such as 'en', 'pt-BR' or 'zh-Hant'"
        )
    lowered = tag.lower()
    language, script, region, variants, extensions = match.groups()
    variant_list = lowered[match.start(4) : match.end(4)].split("-")[1:] if variants else []
    singletons = re.findall(r"-([0-9a-wy-z])(?=-)", extensions.lower()) if extensions else []
    if len(set(variant_list)) != len(variant_list) or len(set(singletons)) != len(singletons):
        raise CaptionError(f"{tag!r} repeats a variant or an extension (RFC 5646 sections 2.2.5, 2.2.6)")
    if language is None:  # a private-use tag: x-...
        return lowered
    cased = [language.lower()]
    if script:
        cased.append(script.title())
    if region:
        cased.append(region.upper())
    end = match.end(3) if region else match.end(2) if script else match.end(1)
    return "-".join(cased) + lowered[end:]
