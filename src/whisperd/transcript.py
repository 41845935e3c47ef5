"""The result of a transcription, independent of any API or format.

Field names follow OpenAI's ``verbose_json`` so that rendering it is a plain
``to_dict()``; ``language`` on a segment is whisperd's addition (mixed-language
audio is identified per segment). Times are seconds from the start of the audio.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str  # as Whisper emits it, usually with a leading space
    probability: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Word:
        return cls(
            start=float(data["start"]),
            end=float(data["end"]),
            word=str(data["word"]),
            probability=float(data.get("probability", 1.0)),
        )


@dataclass(frozen=True)
class Segment:
    id: int
    start: float
    end: float
    text: str  # as Whisper emits it, usually with a leading space
    seek: int = 0  # offset of the decoding window, in 10 ms frames, as in Whisper
    tokens: tuple[int, ...] = ()
    temperature: float = 0.0
    avg_logprob: float = 0.0
    compression_ratio: float = 0.0
    no_speech_prob: float = 0.0
    words: tuple[Word, ...] | None = None
    language: str | None = None  # ISO 639-1 code of this segment's language

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "seek": self.seek,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "tokens": list(self.tokens),
            "temperature": self.temperature,
            "avg_logprob": self.avg_logprob,
            "compression_ratio": self.compression_ratio,
            "no_speech_prob": self.no_speech_prob,
        }
        if self.words is not None:
            data["words"] = [w.to_dict() for w in self.words]
        if self.language is not None:
            data["language"] = self.language
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        words = data.get("words")
        return cls(
            id=int(data["id"]),
            start=float(data["start"]),
            end=float(data["end"]),
            text=str(data["text"]),
            seek=int(data.get("seek", 0)),
            tokens=tuple(int(t) for t in data.get("tokens", ())),
            temperature=float(data.get("temperature", 0.0)),
            avg_logprob=float(data.get("avg_logprob", 0.0)),
            compression_ratio=float(data.get("compression_ratio", 0.0)),
            no_speech_prob=float(data.get("no_speech_prob", 0.0)),
            words=None if words is None else tuple(Word.from_dict(w) for w in words),
            language=data.get("language"),
        )


@dataclass(frozen=True)
class Transcript:
    task: str  # "transcribe" or "translate"
    language: str  # ISO 639-1 code of the main (first detected or given) language
    duration: float  # seconds of audio
    segments: tuple[Segment, ...] = ()
    language_probability: float = 1.0
    # Top detected languages, most probable first: ((code, probability), ...).
    language_probabilities: tuple[tuple[str, float], ...] = ()
    model: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments).strip()

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in (s.words or ())]

    @property
    def languages(self) -> list[str]:
        """Every language that occurs in the segments, in order of first appearance."""
        seen: list[str] = []
        for s in self.segments:
            if s.language and s.language not in seen:
                seen.append(s.language)
        return seen or [self.language]

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "language": self.language,
            "duration": self.duration,
            "text": self.text,
            "segments": [s.to_dict() for s in self.segments],
            "language_probability": self.language_probability,
            "language_probabilities": [list(p) for p in self.language_probabilities],
            "model": self.model,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        return cls(
            task=str(data.get("task", "transcribe")),
            language=str(data.get("language", "")),
            duration=float(data.get("duration", 0.0)),
            segments=tuple(Segment.from_dict(s) for s in data.get("segments", ())),
            language_probability=float(data.get("language_probability", 1.0)),
            language_probabilities=tuple(
                (str(code), float(p)) for code, p in data.get("language_probabilities", ())
            ),
            model=str(data.get("model", "")),
        )
