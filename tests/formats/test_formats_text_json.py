"""text, txt, tsv, json, verbose_json and asr_json on hand-written transcripts, and render()."""

from __future__ import annotations

import csv
import io
import json

import pytest
from format_samples import EMPTY, SIMPLE, transcript, words_of

from whisperd.errors import UnsupportedFormat
from whisperd.formats import FORMATS, render
from whisperd.transcript import Segment


def test_openai_text_is_the_whole_text_and_a_newline() -> None:
    assert render(SIMPLE, "text") == ("Hello there. How are you today?\n",
                                      "text/plain; charset=utf-8")
    assert render(EMPTY, "text")[0] == "\n"


def test_txt_has_one_line_per_segment() -> None:
    assert render(SIMPLE, "txt")[0] == "Hello there.\nHow are you today?\n"
    two_lines = transcript(Segment(0, 0.0, 1.0, " one\ntwo "))
    assert render(two_lines, "txt")[0] == "one two\n"
    assert render(EMPTY, "txt")[0] == ""


def test_tsv_integer_milliseconds() -> None:
    body, mimetype = render(SIMPLE, "tsv")
    assert mimetype.startswith("text/tab-separated-values")
    assert body == "start\tend\ttext\n0\t2500\tHello there.\n2500\t5250\tHow are you today?\n"
    tricky = transcript(Segment(0, 1.0004, 2.0006, " tab\there\nand newline"))
    rows = list(csv.reader(io.StringIO(render(tricky, "tsv")[0]), delimiter="\t"))
    assert rows == [["start", "end", "text"], ["1000", "2001", "tab here and newline"]]
    assert render(EMPTY, "tsv")[0] == "start\tend\ttext\n"


def test_openai_json() -> None:
    body, mimetype = render(SIMPLE, "json")
    assert mimetype == "application/json"
    assert json.loads(body) == {"text": "Hello there. How are you today?"}
    assert json.loads(render(EMPTY, "json")[0]) == {"text": ""}


def test_verbose_json_fields() -> None:
    data = json.loads(render(SIMPLE, "verbose_json")[0])
    assert data["task"] == "transcribe"
    assert data["language"] == "english"  # OpenAI gives the name, not the code
    assert data["duration"] == 5.25
    assert data["text"] == "Hello there. How are you today?"
    assert "words" not in data
    first = data["segments"][0]
    assert first == {
        "id": 0, "seek": 0, "start": 0.0, "end": 2.5, "text": " Hello there.",
        "tokens": [50364, 2425, 456, 13], "temperature": 0.0, "avg_logprob": -0.2,
        "compression_ratio": 0.8, "no_speech_prob": 0.01,
    }
    assert data["segments"][1]["temperature"] == 0.2


def test_verbose_json_words_and_segment_languages() -> None:
    source = transcript(
        Segment(0, 0.0, 2.0, " Hello world.", words=words_of("Hello world.", 0.0, 2.0),
                language="en"),
        Segment(1, 2.0, 4.0, " Guten Tag.", words=words_of("Guten Tag.", 2.0, 4.0),
                language="de"),
    )
    data = json.loads(render(source, "verbose_json", word_timestamps=True)[0])
    assert data["words"] == [
        {"word": "Hello", "start": 0.0, "end": 1.0}, {"word": "world.", "start": 1.0, "end": 2.0},
        {"word": "Guten", "start": 2.0, "end": 3.0}, {"word": "Tag.", "start": 3.0, "end": 4.0},
    ]
    assert [s["language"] for s in data["segments"]] == ["en", "de"]
    assert all("words" not in s for s in data["segments"])


def test_verbose_json_keeps_an_unknown_language_code() -> None:
    data = json.loads(render(transcript(language="xx"), "verbose_json")[0])
    assert data["language"] == "xx" and data["segments"] == [] and data["text"] == ""


def test_asr_json_matches_whisper_asr_webservice() -> None:
    data = json.loads(render(SIMPLE, "asr_json")[0])
    assert list(data) == ["language", "segments", "text"]
    assert data["language"] == "en"
    # The service joins segment texts as they are, keeping Whisper's leading space.
    assert data["text"] == " Hello there. How are you today?"
    assert list(data["segments"][0]) == [
        "id", "seek", "start", "end", "text", "tokens", "avg_logprob",
        "compression_ratio", "no_speech_prob", "words", "temperature",
    ]
    assert data["segments"][0]["words"] is None


def test_asr_json_words() -> None:
    source = transcript(Segment(0, 0.0, 2.0, " Hi you.", words=words_of("Hi you.", 0.0, 2.0)))
    data = json.loads(render(source, "asr_json", word_timestamps=True)[0])
    assert data["segments"][0]["words"] == [
        {"start": 0.0, "end": 1.0, "word": " Hi", "probability": 1.0},
        {"start": 1.0, "end": 2.0, "word": " you.", "probability": 1.0},
    ]
    without = json.loads(render(source, "asr_json")[0])
    assert without["segments"][0]["words"] is None


def test_json_is_utf8_not_escaped() -> None:
    source = transcript(Segment(0, 0.0, 1.0, " Привет, мир! 🙂"), language="ru")
    for fmt in ("json", "verbose_json", "asr_json"):
        body = render(source, fmt)[0]
        assert "Привет" in body and "🙂" in body
        json.loads(body)


def test_format_table() -> None:
    assert set(FORMATS) == {"text", "txt", "srt", "vtt", "tsv", "json", "verbose_json",
                            "asr_json"}
    for name, fmt in FORMATS.items():
        assert fmt.name == name and fmt.extension and fmt.mimetype
        body, mimetype = render(SIMPLE, name)
        assert isinstance(body, str) and mimetype == fmt.mimetype
    assert render(SIMPLE, " SRT ")[0] == render(SIMPLE, "srt")[0]


@pytest.mark.parametrize("name", ["xml", "", "json2"])
def test_unknown_format(name: str) -> None:
    with pytest.raises(UnsupportedFormat) as info:
        render(SIMPLE, name)
    assert info.value.param == "response_format"
    assert "verbose_json" in info.value.message
