"""SRT and WebVTT: spec layout, parse-back, wrapping and splitting, odd text."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import pytest
from format_samples import (
    EMPTY,
    JFK,
    LONG,
    LONG_WITH_WORDS,
    SIMPLE,
    transcript,
    words_of,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from whisperd.formats import render
from whisperd.formats.cues import MAX_LINE_WIDTH, build_cues, width
from whisperd.formats.subtitles import format_timestamp, to_srt, to_vtt
from whisperd.transcript import Segment, Word

SRT_TIME = r"(\d{2,}):(\d{2}):(\d{2}),(\d{3})"
VTT_TIME = r"(\d{2,}):(\d{2}):(\d{2})\.(\d{3})"


@dataclass
class ParsedCue:
    number: int | None
    start: float
    end: float
    lines: list[str]


def _seconds(match: tuple[str, ...]) -> float:
    h, m, s, ms = (int(x) for x in match)
    return h * 3600 + m * 60 + s + ms / 1000


def parse_srt(body: str) -> list[ParsedCue]:
    """A strict little SRT reader: number, timing line, 1+ text lines, blank line."""
    if body == "":
        return []
    assert body.endswith("\n") and not body.endswith("\n\n\n")
    cues = []
    for block in body.rstrip("\n").split("\n\n"):
        number, timing, *lines = block.split("\n")
        match = re.fullmatch(f"{SRT_TIME} --> {SRT_TIME}", timing)
        assert match, timing
        cues.append(ParsedCue(int(number), _seconds(match.groups()[:4]),
                              _seconds(match.groups()[4:]), lines))
    return cues


def parse_vtt(body: str) -> list[ParsedCue]:
    assert body.startswith("WEBVTT\n\n") or body == "WEBVTT\n"
    cues = []
    blocks = body.rstrip("\n").split("\n\n")[1:]
    for block in blocks:
        timing, *lines = block.split("\n")
        match = re.fullmatch(f"{VTT_TIME} --> {VTT_TIME}", timing)
        assert match, timing
        cues.append(ParsedCue(None, _seconds(match.groups()[:4]),
                              _seconds(match.groups()[4:]), lines))
    return cues


def check_cues(cues: list[ParsedCue]) -> None:
    for cue in cues:
        assert cue.end > cue.start >= 0
        assert 1 <= len(cue.lines) <= 2
        for line in cue.lines:
            assert line and line == line.strip()
            assert "-->" not in line
            assert width(line) <= MAX_LINE_WIDTH


def test_srt_layout() -> None:
    body = to_srt(SIMPLE)
    assert body == (
        "1\n00:00:00,000 --> 00:00:02,500\nHello there.\n\n"
        "2\n00:00:02,500 --> 00:00:05,250\nHow are you today?\n"
    )
    assert render(SIMPLE, "srt")[0] == body


def test_vtt_layout() -> None:
    assert to_vtt(SIMPLE) == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:02.500\nHello there.\n\n"
        "00:00:02.500 --> 00:00:05.250\nHow are you today?\n"
    )


def test_timestamps() -> None:
    assert format_timestamp(0, decimal_marker=",") == "00:00:00,000"
    assert format_timestamp(3_723_004, decimal_marker=",") == "01:02:03,004"
    assert format_timestamp(100 * 3_600_000 + 1, decimal_marker=".") == "100:00:00.001"
    body = to_srt(transcript(Segment(0, 3599.9996, 3601.25, " Late.")))
    assert "01:00:00,000 --> 01:00:01,250" in body


@pytest.mark.parametrize("source", [LONG, LONG_WITH_WORDS], ids=["proportional", "words"])
def test_long_segment_is_split_into_wrapped_cues_in_order(source) -> None:  # type: ignore[no-untyped-def]
    cues = parse_srt(to_srt(source))
    assert [c.number for c in cues] == list(range(1, len(cues) + 1))
    assert len(cues) == 2
    check_cues(cues)
    # Every word survives, in order, and the cues follow each other in time.
    assert " ".join(" ".join(c.lines) for c in cues) == JFK.strip()
    for before, after in itertools.pairwise(cues):
        assert before.end <= after.start
    assert cues[0].start == (0.5 if source is LONG_WITH_WORDS else 0.0)
    assert cues[-1].end == (10.5 if source is LONG_WITH_WORDS else 11.0)


def test_cue_times_follow_word_timestamps() -> None:
    words = words_of(JFK, 1.0, 9.0)
    cues = build_cues(transcript(Segment(0, 0.0, 11.0, JFK, words=words)))
    first_line_words = cues[0].lines[0].split()
    assert cues[0].start_ms == 1000
    n_first = sum(len(line.split()) for line in cues[0].lines)
    assert cues[0].end_ms == round(words[n_first - 1].end * 1000)
    assert cues[1].start_ms == round(words[n_first].start * 1000)
    assert first_line_words[0] == "And"


def test_lines_are_wrapped_evenly() -> None:
    segment = Segment(0, 0.0, 4.0, " This sentence is just a little longer than one line.")
    (cue,) = build_cues(transcript(segment))
    assert cue.lines == ("This sentence is just a", "little longer than one line.")


def test_short_segment_stays_on_one_line() -> None:
    (cue,) = build_cues(SIMPLE)[:1]
    assert cue.lines == ("Hello there.",)


def test_empty_and_blank_segments_make_no_cues() -> None:
    assert to_srt(EMPTY) == ""
    assert to_vtt(EMPTY) == "WEBVTT\n"
    blank = transcript(Segment(0, 0.0, 1.0, "   "), Segment(1, 1.0, 2.0, " \n "),
                       Segment(2, 2.0, 3.0, " Words.", words=(Word(2.0, 2.5, " "),
                                                              Word(2.5, 3.0, " Words."))))
    cues = parse_srt(to_srt(blank))
    assert [c.lines for c in cues] == [["Words."]]
    assert cues[0].number == 1


def test_arrow_newlines_and_whitespace_in_text() -> None:
    segment = Segment(0, 0.0, 2.0, "  a --> b\n\tc ----> d  ")
    assert parse_srt(to_srt(transcript(segment)))[0].lines == ["a -> b c -> d"]


def test_vtt_escapes_markup_characters() -> None:
    segment = Segment(0, 0.0, 2.0, " Tom & Jerry <3 >_<")
    (cue,) = parse_vtt(to_vtt(transcript(segment)))
    assert cue.lines == ["Tom &amp; Jerry &lt;3 &gt;_&lt;"]
    # SRT carries the text as it is.
    assert parse_srt(to_srt(transcript(segment)))[0].lines == ["Tom & Jerry <3 >_<"]


def test_zero_length_and_negative_times_are_repaired() -> None:
    segments = (Segment(0, -0.2, -0.2, " Before."), Segment(1, 5.0, 5.0, " Instant."))
    cues = parse_srt(to_srt(transcript(*segments)))
    check_cues(cues)
    assert cues[0].start == 0.0


def test_overlapping_segments_give_consecutive_cues() -> None:
    segments = (Segment(0, 0.0, 3.0, " First."), Segment(1, 2.0, 4.0, " Second."),
                Segment(2, 2.0, 2.5, " Third."))
    cues = parse_srt(to_srt(transcript(*segments)))
    check_cues(cues)
    assert [(c.start, c.end) for c in cues] == [(0.0, 2.0), (2.0, 4.0), (4.0, 4.001)]


def test_unicode_accents_and_emoji() -> None:
    text = " Ça va très bien, merci ! Größe, naïve café — «ok» 🙂"
    cues = parse_srt(to_srt(transcript(Segment(0, 0.0, 5.0, text))))
    check_cues(cues)
    assert " ".join(" ".join(c.lines) for c in cues) == text.strip()


def test_cjk_without_spaces_is_cut_by_display_width() -> None:
    text = " 日本語のテキストはスペースなしで書かれていますので長い行を分割する必要があります。"
    cues = parse_srt(to_srt(transcript(Segment(0, 0.0, 6.0, text, language="ja"))))
    check_cues(cues)  # 21 wide characters = 42 columns per line
    assert "".join("".join(c.lines) for c in cues) == text.strip()


def test_cjk_words_without_leading_spaces_are_not_spaced_apart() -> None:
    words = (Word(0.0, 0.5, " 私"), Word(0.5, 1.0, "は"), Word(1.0, 1.5, "学生"),
             Word(1.5, 2.0, "です。"))
    cues = build_cues(transcript(Segment(0, 0.0, 2.0, " 私は学生です。", words=words)))
    assert [c.lines for c in cues] == [("私は学生です。",)]


text_strategy = st.lists(
    st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S")),
            min_size=1, max_size=60),
    min_size=0, max_size=40,
).map(lambda ws: " " + " ".join(ws))


segment_strategy = st.tuples(text_strategy, st.floats(0, 10_000), st.floats(0, 60),
                             st.booleans())


@settings(max_examples=150, deadline=None)
@given(specs=st.lists(segment_strategy, min_size=1, max_size=3))
def test_any_text_gives_valid_srt_and_vtt(specs: list[tuple[str, float, float, bool]]) -> None:
    segments = []
    for i, (text, start, length, use_words) in enumerate(specs):
        words = words_of(text, start, start + length) if use_words and text.split() else None
        segments.append(Segment(i, start, start + length, text, words=words))
    source = transcript(*segments)
    srt_cues = parse_srt(to_srt(source))
    vtt_cues = parse_vtt(to_vtt(source))
    check_cues(srt_cues)
    for before, after in itertools.pairwise(srt_cues):
        assert before.end <= after.start
    assert [(c.start, c.end) for c in srt_cues] == [(c.start, c.end) for c in vtt_cues]
    # Nothing is lost: the visible characters all appear, in order.
    shown = "".join("".join(c.lines) for c in srt_cues).replace(" ", "")
    expected = "".join(re.sub("-{2,}>", "->", " ".join(text.split())) for text, *_ in specs)
    assert shown == expected.replace(" ", "")
