"""The strict caption reader (WebVTT, SRT), its WebVTT writer, and BCP 47 tags."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.backend.caption_files import (
    LANGUAGE_TAG_MAX,
    LANGUAGE_TAG_PATTERN,
    CaptionError,
    Cue,
    language_tag,
    parse_srt,
    parse_webvtt,
    to_webvtt,
    vtt_timestamp,
)

# What a subtitle editor (Subtitle Edit, Aegisub's SRT export) writes on Windows: a byte-order
# mark, CRLF line ends, italics, a font colour, an ampersand, a two-line cue, hours past 99 minutes.
REAL_SRT = (
    "\ufeff1\r\n"
    "00:00:00,500 --> 00:00:02,000\r\n"
    "<i>Previously, on reelstack…</i>\r\n"
    "\r\n"
    "2\r\n"
    "00:00:02,250 --> 00:00:04,100\r\n"
    '<font color="#ffff00">Tom & Jerry</font> say:\r\n'
    "- a < b, really?\r\n"
    "\r\n"
    "3\r\n"
    "01:40:00,000 --> 01:40:01,001\r\n"
    "THE END\r\n"
)


def test_a_real_srt_file_becomes_webvtt_with_its_tags_escapes_and_times() -> None:
    vtt = to_webvtt(parse_srt(REAL_SRT))
    assert vtt == (
        "WEBVTT\n\n"
        "00:00:00.500 --> 00:00:02.000\n<i>Previously, on reelstack…</i>\n\n"
        "00:00:02.250 --> 00:00:04.100\nTom &amp; Jerry say:\n- a &lt; b, really?\n\n"
        "01:40:00.000 --> 01:40:01.001\nTHE END\n"
    )
    assert parse_webvtt(vtt) == parse_srt(REAL_SRT)


def test_ffmpeg_reads_the_converted_webvtt_with_every_cue_and_time(tmp_path: Path) -> None:
    """An independent WebVTT reader (ffmpeg's demuxer) agrees with what was written."""
    source = tmp_path / "captions.vtt"
    source.write_text(to_webvtt(parse_srt(REAL_SRT)), encoding="utf-8")
    out = tmp_path / "back.srt"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(source), str(out)], check=True, capture_output=True
    )
    assert [(c.start_ms, c.end_ms) for c in parse_srt(out.read_text(encoding="utf-8"))] == [
        (500, 2000),
        (2250, 4100),
        (6_000_000, 6_001_001),
    ]


def test_webvtt_keeps_identifiers_and_settings_and_drops_notes_styles_and_header_text() -> None:
    text = (
        "WEBVTT - with a title\nKind: captions\n\n"
        "STYLE\n::cue { color: yellow }\n\n"
        "NOTE a comment\nover two lines\n\n"
        "intro\n00:01.000 --> 00:02.500 align:start line:0 position:10%,line-left size:50%\n"
        "<v Roger>Hi &amp; welcome</v>\n\n"
        "00:00:03.000 --> 00:00:04.000\nbye\n"
    )
    cues = parse_webvtt(text)
    assert cues == [
        Cue(
            1000,
            2500,
            "<v Roger>Hi &amp; welcome</v>",
            "intro",
            "align:start line:0 position:10%,line-left size:50%",
        ),
        Cue(3000, 4000, "bye"),
    ]
    assert to_webvtt(cues).startswith("WEBVTT\n\nintro\n00:00:01.000 --> 00:00:02.500 align:start")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("WEBVT\n\n00:01.000 --> 00:02.000\nx\n", "line 1: a WebVTT file starts with the line 'WEBVTT'"),
        ("WEBVTT\n00:01.000 --> 00:02.000\nx\n", "line 2: a blank line must separate"),
        ("WEBVTT\n\n00:01.000 --> 00:02\nx\n", "line 3: expected a cue timing line"),
        ("WEBVTT\n\n00:01,000 --> 00:02.000\nx\n", "line 3: expected a cue timing line"),
        ("WEBVTT\n\n00:61.000 --> 00:62.000\nx\n", "line 3: expected a cue timing line"),
        ("WEBVTT\n\n00:02.000 --> 00:01.000\nx\n", "line 3: the cue ends before or when it starts"),
        ("WEBVTT\n\n00:01.000 --> 00:02.000\n", "line 3: the cue has no text"),
        ("WEBVTT\n\n00:01.000 --> 00:02.000 colour:red\nx\n", "line 3: unknown or malformed cue setting"),
        ("WEBVTT\n\nid\nnot a timing\nx\n", "line 4: expected a cue timing line"),
        ("WEBVTT\n\n00:01.000 --> 00:02.000\na --> b\n", "line 4: cue text may not contain '-->'"),
        (
            "WEBVTT\n\n00:01.000 --> 00:02.000\nx\n\nSTYLE\n::cue {}\n",
            "line 6: STYLE blocks must come before",
        ),
        ("WEBVTT\n\nNOTE nothing else\n", "the file holds no cue"),
        ("WEBVTT\n\n00:01.000 --> 00:02.000\nx\x00y\n", "line 4: character U+0000"),
        ("WEBVTT\n\n00:01.000 --> 00:02.000\nx\ud800y\n", "line 4: character U+D800"),
    ],
)
def test_a_malformed_webvtt_file_is_refused_naming_the_line(text: str, where: str) -> None:
    with pytest.raises(CaptionError, match=re.escape(where)):
        parse_webvtt(text)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("00:00:01,000 --> 00:00:02,000\nx\n", "line 1: expected a cue number"),
        ("1\n", "line 2: expected a cue timing line"),
        ("1\n00:00:01.000 --> 00:00:02.000\nx\n", "line 2: expected a cue timing line"),
        (
            "1\n00:00:01,000 --> 00:00:02,000\nx\n\n2\n00:00:03,000 -> 00:00:04,000\ny\n",
            "line 6: expected a cue",
        ),
        ("1\n00:00:02,000 --> 00:00:02,000\nx\n", "line 2: the cue ends before or when it starts"),
        ("1\n00:00:01,000 --> 00:00:02,000\n", "line 2: the cue has no text"),
        ("", "the file holds no cue"),
        ("WEBVTT\n\n00:01.000 --> 00:02.000\nx\n", "line 1: expected a cue number"),
    ],
)
def test_a_malformed_srt_file_is_refused_naming_the_line(text: str, where: str) -> None:
    with pytest.raises(CaptionError, match=re.escape(where)):
        parse_srt(text)


_TEXT_LINE = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\ufeff"), min_size=1, max_size=30
).filter(lambda line: line.strip() != "" and "-->" not in line)


# A cue identifier may be any line without "-->"; one that opens like a NOTE, STYLE or REGION
# block would start that block instead (WebVTT section 4.1), which no parsed file yields.
_IDENTIFIER = _TEXT_LINE.filter(lambda line: not line.startswith(("NOTE", "STYLE", "REGION")))


@st.composite
def _cues(draw: st.DrawFn, *, with_markup: bool) -> list[Cue]:
    cues = []
    start = draw(st.integers(0, 10_000))
    for _ in range(draw(st.integers(1, 8))):
        end = start + draw(st.integers(1, 400_000_000))
        lines = draw(st.lists(_TEXT_LINE, min_size=1, max_size=3))
        identifier = draw(_IDENTIFIER) if with_markup and draw(st.booleans()) else ""
        settings_ = (
            draw(st.sampled_from(["", "align:start", "line:-1 position:50%,center"])) if with_markup else ""
        )
        cues.append(Cue(start, end, "\n".join(lines), identifier, settings_))
        start = draw(st.integers(start, end))
    return cues


@given(_cues(with_markup=True))
@settings(max_examples=200, deadline=None)
def test_written_webvtt_reads_back_as_the_same_cues(cues: list[Cue]) -> None:
    assert parse_webvtt(to_webvtt(cues)) == cues


def _srt(cues: list[Cue]) -> str:
    def stamp(ms: int) -> str:
        return vtt_timestamp(ms).replace(".", ",")

    return "\r\n".join(
        f"{number}\r\n{stamp(c.start_ms)} --> {stamp(c.end_ms)}\r\n{c.text.replace(chr(10), chr(13) + chr(10))}\r\n"
        for number, c in enumerate(cues, start=1)
    )


@given(_cues(with_markup=False))
@settings(max_examples=200, deadline=None)
def test_any_srt_file_converts_to_webvtt_with_its_times_and_its_text_escaped(cues: list[Cue]) -> None:
    """SRT text is plain: in WebVTT '&', '<' and '>' are escaped (markup other than i/b/u/font
    aside, which the example-based test covers), and the times are the same."""
    assume(all(not re.search(r"<[^<>]*>", c.text) for c in cues))
    converted = parse_webvtt(to_webvtt(parse_srt(_srt(cues))))
    assert [(c.start_ms, c.end_ms) for c in converted] == [(c.start_ms, c.end_ms) for c in cues]
    escaped = [c.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for c in cues]
    assert [c.text for c in converted] == escaped


@pytest.mark.parametrize(
    ("tag", "canonical"),
    [
        ("en", "en"),
        ("EN-us", "en-US"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("zh-yue-HK", "zh-yue-HK"),
        ("sl-rozaj-biske", "sl-rozaj-biske"),
        ("de-DE-u-co-phonebk", "de-DE-u-co-phonebk"),
        ("en-a-bbb-x-a-ccc", "en-a-bbb-x-a-ccc"),
        ("x-klingon", "x-klingon"),
    ],
)
def test_well_formed_language_tags_are_accepted_in_their_recommended_case(tag: str, canonical: str) -> None:
    """RFC 5646 section 2.1.1: language lowercase, script title case, region uppercase."""
    assert language_tag(tag) == canonical


@pytest.mark.parametrize(
    "tag",
    [
        "",
        "e",
        "english1",
        "en--us",
        "en_US",
        "en-",
        "sl-rozaj-rozaj",
        "en-a-bb-a-cc",
        "i-klingon",
        "a" * 36,
        "en-US-x",
    ],
)
def test_malformed_language_tags_are_refused(tag: str) -> None:
    """RFC 5646 section 2.1 (syntax), 2.2.5/2.2.6 (no repeated variant or singleton); the
    grandfathered tags are not accepted."""
    with pytest.raises(CaptionError):
        language_tag(tag)


@given(st.from_regex(LANGUAGE_TAG_PATTERN, fullmatch=True).filter(lambda t: len(t) <= LANGUAGE_TAG_MAX))
@settings(max_examples=300, deadline=None)
def test_every_tag_the_documented_pattern_allows_is_accepted_or_refused_for_a_repeat_and_case_is_stable(
    tag: str,
) -> None:
    try:
        canonical = language_tag(tag)
    except CaptionError as exc:
        assert "repeats a variant or an extension" in str(exc)
        return
    assert language_tag(canonical) == canonical
    assert language_tag(tag.swapcase()) == canonical
