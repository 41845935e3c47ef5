"""Where the speech is, and how it is packed into the model's 30-second windows.

Silero VAD (faster-whisper's copy) runs once over the whole file. Its speech regions
are packed, in order, into windows of at most 30 s of *speech*: the silence between
regions is cut out, so a 5-minute talk with pauses needs fewer, fuller windows, and
the model never sees a long silence it could fill with invented words.

A window remembers which stretch of the original audio each of its pieces came
from, so any time inside the window maps back to the original timeline
(``Window.to_original``). Each piece boundary where audio was removed is a *joint*;
the segmenter never lets a segment run across one, which is what stops a subtitle
from stretching over a pause.
"""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps

from whisperd.engine.options import VadParameters

SAMPLE_RATE = 16000
WINDOW_SAMPLES = 30 * SAMPLE_RATE  # 480000 samples: the model's fixed input length
# Longest piece of speech handed to packing. VAD splits longer speech at its best
# pauses (hard at the limit if it finds none); pieces that touch are joined again
# inside a window (pack_windows), so a piece boundary only matters where a window
# ends. Smaller pieces fill windows fuller: the bench's 5-minute input (281.5 s of
# speech) needs 13 windows with 30 s pieces, 11 with 10 s and 10 with 5 s (11 %
# faster than 30 s). The eval's long recordings then cut at other places; their WER
# moved 0.067 -> 0.077 (bare faster-whisper: 0.087), word choices inside windows
# ("lower case"/"lowercase", "Basel"/"Basil"), no passage lost at a window edge.
MAX_PIECE_SAMPLES = 5 * SAMPLE_RATE
VAD_FRAME = 512  # samples per Silero VAD frame (32 ms)
DIGITAL_SILENCE = 1e-4  # peak amplitude below which a frame is exact silence (-80 dBFS)
MIN_SILENT_FRAMES = 16  # 0.5 s of exact silence restarts VAD
# Silero keeps a speech region open until its probability falls this far below the
# threshold (its own hysteresis). In noise, real speech often scores between the two:
# in the eval's MFA recording with pink noise at 10 dB, Silero put the first 10 s of
# speech below 0.5. Words of an uncut clip are therefore kept wherever the
# probability reaches threshold - HEARD_MARGIN (heard_spans).
HEARD_MARGIN = 0.15


@dataclass(frozen=True)
class Span:
    """A stretch of the original audio, in samples."""

    start: int
    end: int

    @property
    def samples(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Window:
    spans: tuple[Span, ...]
    # Sample offset of each span inside the window (its concatenated audio).
    offsets: tuple[int, ...]
    # VAD speech regions inside an uncut window (see whole_window); words must
    # overlap one of them. Empty: the spans themselves are the speech.
    speech: tuple[Span, ...] = ()

    @property
    def samples(self) -> int:
        return self.offsets[-1] + self.spans[-1].samples

    @property
    def duration(self) -> float:
        return self.samples / SAMPLE_RATE

    @property
    def start(self) -> float:
        return self.spans[0].start / SAMPLE_RATE

    @property
    def end(self) -> float:
        return self.spans[-1].end / SAMPLE_RATE

    def audio(self, samples: np.ndarray) -> np.ndarray:
        if len(self.spans) == 1:
            return samples[self.spans[0].start:self.spans[0].end]
        return np.concatenate([samples[s.start:s.end] for s in self.spans])

    def span_at(self, t: float) -> int:
        """Index of the span that window time ``t`` (seconds) falls in."""
        index = bisect.bisect_right(self.offsets, round(t * SAMPLE_RATE)) - 1
        return min(max(index, 0), len(self.spans) - 1)

    def span_bounds(self, index: int) -> tuple[float, float]:
        """Window-time start and end (seconds) of span ``index``."""
        start = self.offsets[index] / SAMPLE_RATE
        return start, start + self.spans[index].samples / SAMPLE_RATE

    def to_original(self, t: float, index: int) -> float:
        """Window time ``t`` as a time in the original audio, taken within span ``index``."""
        return (self.spans[index].start - self.offsets[index]) / SAMPLE_RATE + t

    def cut_before(self, index: int) -> bool:
        """Whether audio was removed between span ``index - 1`` and span ``index``."""
        return index > 0 and self.spans[index].start != self.spans[index - 1].end

    def split(self) -> list[Window]:
        """One window per span (used when a window turns out to mix languages)."""
        return [Window((s,), (0,)) for s in self.spans]


def whole_window(audio: np.ndarray, speech: list[Span]) -> Window:
    """Audio of at most 30 s as one uncut window, remembering where VAD heard speech.

    Nothing is trimmed: Whisper's output on a short clip shifts with any change of
    its input, and on the eval's clips trimming to speech (or to speech plus 1 s)
    cost as many words on clean clips as it saved on noisy ones. Uncut, whisperd
    decodes a short clip exactly as faster-whisper does.
    """
    return Window((Span(0, len(audio)),), (0,), tuple(_merge_touching(speech, limit=None)))


def heard_spans(audio: np.ndarray, vad: VadParameters) -> list[Span]:
    """Where speech may be: VAD at its lower, speech-continues threshold."""
    lenient = dataclasses.replace(vad, threshold=max(vad.threshold - HEARD_MARGIN, 0.01))
    return speech_spans(audio, lenient)


def speech_spans(audio: np.ndarray, vad: VadParameters) -> list[Span]:
    """Speech found by Silero VAD, padded, in pieces of at most MAX_PIECE_SAMPLES.

    Consecutive pieces of one stretch of speech touch (VAD shares the pause between them).
    """
    options = VadOptions(
        threshold=vad.threshold,
        min_speech_duration_ms=vad.min_speech_duration_ms,
        min_silence_duration_ms=vad.min_silence_duration_ms,
        speech_pad_ms=vad.speech_pad_ms,
        max_speech_duration_s=MAX_PIECE_SAMPLES / SAMPLE_RATE,
    )
    spans: list[Span] = []
    for start, end in _sounding_stretches(audio):
        regions = get_speech_timestamps(audio[start:end], options, sampling_rate=SAMPLE_RATE)
        spans.extend(Span(start + int(r["start"]), start + int(r["end"])) for r in regions)
    return _merge_touching(spans, MAX_PIECE_SAMPLES)


def _sounding_stretches(audio: np.ndarray) -> list[tuple[int, int]]:
    """The audio between runs of digital silence, each to be given to VAD on its own.

    Silero's recurrent state, after a few seconds of exact zeros (silence inserted
    by an editor), stays near "no speech" for many seconds of the speech that
    follows: on the eval set's long concatenation it missed 13 s of a recording it
    finds at once on its own. Starting VAD afresh after such a run avoids that.
    """
    frames = len(audio) // VAD_FRAME
    if frames == 0:
        return [(0, len(audio))]
    peaks = np.abs(audio[:frames * VAD_FRAME]).reshape(frames, VAD_FRAME).max(axis=1)
    silent = peaks < DIGITAL_SILENCE
    stretches: list[tuple[int, int]] = []
    start: int | None = None
    quiet_run = 0
    for i, is_silent in enumerate(silent):
        if not is_silent:
            if start is None:
                start = i
            quiet_run = 0
            continue
        quiet_run += 1
        if start is not None and quiet_run == MIN_SILENT_FRAMES:
            stretches.append((start * VAD_FRAME, (i - quiet_run + 1) * VAD_FRAME))
            start = None
    if start is not None:
        stretches.append((start * VAD_FRAME, len(audio)))
    return stretches


def fixed_spans(audio: np.ndarray) -> list[Span]:
    """Without VAD: the whole audio, cut every 30 s."""
    n = len(audio)
    return [Span(i, min(i + WINDOW_SAMPLES, n)) for i in range(0, n, WINDOW_SAMPLES)]


def pack_windows(spans: list[Span], *, join: bool = True) -> list[Window]:
    """Pack spans in order into windows of at most 30 s. ``join=False``: one per span.

    A span that touches the one before it in the same window extends it, so a window
    has a joint only where audio was removed.
    """
    windows: list[Window] = []
    current: list[Span] = []
    offsets: list[int] = []
    filled = 0
    for span in spans:
        touching = bool(current) and span.start <= current[-1].end
        added = max(span.end - current[-1].end, 0) if touching else span.samples
        if current and (not join or filled + added > WINDOW_SAMPLES):
            windows.append(Window(tuple(current), tuple(offsets)))
            current, offsets, filled = [], [], 0
            touching, added = False, span.samples
        if touching:
            current[-1] = Span(current[-1].start, max(current[-1].end, span.end))
        else:
            current.append(span)
            offsets.append(filled)
        filled += added
    if current:
        windows.append(Window(tuple(current), tuple(offsets)))
    return windows


def _merge_touching(spans: list[Span], limit: int | None) -> list[Span]:
    # VAD pads regions and splits short silences between neighbours, so adjacent
    # regions often touch; merged, they leave no joint where nothing was removed.
    merged: list[Span] = []
    for span in spans:
        if span.samples <= 0:
            continue
        if merged and span.start <= merged[-1].end and \
                (limit is None or span.end - merged[-1].start <= limit):
            merged[-1] = Span(merged[-1].start, max(merged[-1].end, span.end))
        else:
            merged.append(span)
    return merged
