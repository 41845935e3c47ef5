"""Plain-text formats: OpenAI's ``text``, whisper-asr-webservice's ``txt``, and ``tsv``."""

from __future__ import annotations

from whisperd.transcript import Transcript


def to_text(transcript: Transcript) -> str:
    """OpenAI's ``response_format=text``: the whole transcript and a newline."""
    return transcript.text + "\n"


def to_txt(transcript: Transcript) -> str:
    """whisper-asr-webservice's ``output=txt`` (its WriteTXT): one segment per line."""
    return "".join(_one_line(segment.text) + "\n" for segment in transcript.segments)


def to_tsv(transcript: Transcript) -> str:
    """``start<TAB>end<TAB>text`` per segment, as openai/whisper's WriteTSV writes it.

    Times are integer milliseconds, so that no locale can turn a decimal point
    into a comma, and the file stays trivial to parse.
    """
    rows = ["start\tend\ttext\n"]
    for segment in transcript.segments:
        text = _one_line(segment.text.replace("\t", " "))
        rows.append(f"{round(1000 * segment.start)}\t{round(1000 * segment.end)}\t{text}\n")
    return "".join(rows)


def _one_line(text: str) -> str:
    # A newline inside a segment would break the one-line-per-segment layout.
    return " ".join(text.split())
