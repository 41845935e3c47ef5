"""The transcription pipeline: samples + options -> Transcript.

1. Silero VAD once over the file (``options.vad``); no speech -> an empty
   transcript at once, never invented words (windows.py).
   A clip of up to 30 s recorded in steady noise is denoised first (denoise.py).
2. Speech regions packed into <= 30 s windows, silence cut out (windows.py).
3. Windows encoded in batches; without a given language, each window's language is
   identified from its own encoder output. In a window that is not clearly one
   language (top probability below ``MIXED_LANGUAGE_CONFIDENCE``) each speech region
   is identified on its own; the window is then decoded once per language found,
   each pass keeping the words of its regions, so an English-then-German recording
   keeps its German (decode.py).
4. Batched beam search, Whisper's temperature fallback per failing window, the
   no-speech rule (``no_speech_threshold`` / ``log_prob_threshold``), and word
   alignment (decode.py).
5. Words mapped back through the cuts, segments split at pauses and sentence ends,
   repetition loops collapsed (segmenter.py, guards.py).

Windows are decoded independently (nothing conditions a window on the previous
one's text, so a hallucination cannot propagate); ``initial_prompt`` conditions
every window.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import numpy as np
from faster_whisper import WhisperModel

from whisperd.engine.decode import Decoder, WindowResult
from whisperd.engine.denoise import is_noisy, reduce_noise
from whisperd.engine.guards import collapse_loops, is_repeat_of
from whisperd.engine.options import TranscriptionOptions
from whisperd.engine.segmenter import TimedWord, place_words, split_words
from whisperd.engine.windows import (
    SAMPLE_RATE,
    WINDOW_SAMPLES,
    Span,
    Window,
    fixed_spans,
    heard_spans,
    pack_windows,
    speech_spans,
    whole_window,
)
from whisperd.transcript import Segment, Transcript, Word

logger = logging.getLogger(__name__)

# Below this top-language probability, each speech region of a window is identified
# on its own (cheap: see Decoder.detect_short); clean monolingual windows score above.
MIXED_LANGUAGE_CONFIDENCE = 0.97
# A window with more language runs than this is cut into one window per run.
MAX_SHARED_RUNS = 2
# A region whose own language is less probable than this takes the language of the
# region before it; shorter regions say less, so they must be surer.
REGION_CONFIDENCE = 0.5
SHORT_REGION_S = 3.0
SHORT_REGION_CONFIDENCE = 0.8
# A region keeps the previous region's language while that has at least this probability.
STICKY_LANGUAGE = 0.2
# A region is put in another language than its window's only when identification is
# this sure of it. Noise lowers a window's confidence too, and then a few seconds of
# noisy English can score as another language: in the MFA recording under pink noise
# at 10 dB a 2 s region scored German 0.86 and was decoded as German words. The
# language changes in the eval's mixed recordings score 0.99 or more.
SWITCH_CONFIDENCE = 0.95

# A region of a packed window this long that got no words is decoded again alone.
MIN_MISSED_S = 1.0
PROGRESS_STEP_S = 30.0  # progress is reported at least this often, in seconds of audio

Progress = Callable[[float, float], None]
T = TypeVar("T")


def transcribe(
    model: WhisperModel,
    audio: np.ndarray,
    options: TranscriptionOptions,
    *,
    batch_size: int = 8,
    progress: Progress | None = None,
    model_name: str = "",
) -> Transcript:
    """Transcribe float32 mono 16 kHz ``audio``; consumes all work before returning."""
    audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
    duration = len(audio) / SAMPLE_RATE
    report = progress or (lambda done, total: None)
    report(0.0, duration)
    spans = (speech_spans(audio, options.vad) if options.vad_filter else fixed_spans(audio)) \
        if len(audio) else []
    if not spans:
        report(duration, duration)
        return _empty(options, duration, model_name)

    # Audio that fits one window is decoded uncut and with timestamp tokens, exactly
    # as Whisper decodes it (measured: fewer errors on the eval's clean clips than
    # cutting it to its speech); VAD still gates silence and bounds every word.
    # Longer audio is packed without its silences and decoded without timestamp
    # tokens (fewer tokens to generate; alignment gives the times).
    single = options.vad_filter and len(audio) <= WINDOW_SAMPLES
    if single and options.denoise and is_noisy(audio):
        # Speech is then looked for again in the cleaner audio (VAD misses less of it).
        audio = reduce_noise(audio)
        spans = speech_spans(audio, options.vad)
        if not spans:
            report(duration, duration)
            return _empty(options, duration, model_name)
    decoder = Decoder(model, options, timestamps=single or not options.vad_filter,
                      long_audio=len(audio) > WINDOW_SAMPLES)
    # Whether there is speech at all is decided at the VAD threshold; which of an
    # uncut clip's words are kept, at VAD's lower continuation threshold (windows.py).
    windows = [whole_window(audio, heard_spans(audio, options.vad) or spans)] if single else \
        pack_windows(spans, join=options.vad_filter)
    results: list[WindowResult] = []
    done = 0.0
    for batch in _chunks(windows, batch_size):
        results.extend(_run_batch(decoder, audio, batch, batch_size))
        for window in batch:
            done = _advance(report, done, min(window.end, duration), duration)
    missed = _missed_spans(decoder, results)
    if missed:
        # Whisper sometimes stops before the end of a packed window (typically at a
        # change of speaker or recording after a cut) and leaves its last regions
        # without text; those regions are decoded again on their own.
        logger.debug("decoding %d regions again that got no text", len(missed))
        for batch in _chunks(pack_windows(missed), batch_size):
            results.extend(_run_batch(decoder, audio, batch, batch_size))
    _advance(report, done, duration, duration)

    segments = _segments(decoder, results, options)
    probabilities = _overall_languages(results)
    language = options.language or (segments[0].language if segments else None) \
        or probabilities[0][0]
    return Transcript(
        task=options.task,
        language=language if decoder.multilingual else "en",
        duration=duration,
        segments=tuple(segments),
        language_probability=dict(probabilities).get(language, 1.0),
        language_probabilities=tuple(probabilities[:options.language_top_k]),
        model=model_name,
        extra={"speech_seconds": sum(s.samples for s in spans) / SAMPLE_RATE,
               "windows": len(results)},
    )


def detect_language(
    model: WhisperModel, audio: np.ndarray, options: TranscriptionOptions
) -> list[tuple[str, float]]:
    """Top ``options.language_top_k`` languages of the first 30 s of speech."""
    if not model.model.is_multilingual:
        return [("en", 1.0)]
    audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
    spans = speech_spans(audio, options.vad) if options.vad_filter and len(audio) else []
    # Without detected speech, judge the raw start rather than refuse to answer.
    window = pack_windows(spans or fixed_spans(audio) or [])[:1]
    if not window:
        return [("en", 1.0)]
    decoder = Decoder(model, options)
    features = [decoder.features(window[0].audio(audio))]
    return decoder.detect(decoder.encode(features))[0][:options.language_top_k]


def _run_batch(decoder: Decoder, audio: np.ndarray, batch: list[Window],
               batch_size: int) -> list[WindowResult]:
    opts = decoder.options
    features = [decoder.features(w.audio(audio)) for w in batch]
    encoder_output = decoder.encode(features)
    if opts.language is not None or not decoder.multilingual:
        # An English-only model decodes English whatever language was asked for.
        fixed = (opts.language if decoder.multilingual else None) or "en"
        return decoder.decode(batch, features, encoder_output, [fixed] * len(batch),
                              [[(fixed, 1.0)]] * len(batch))

    probs = decoder.detect(encoder_output)
    # (window index, language, the spans that language covers or None for all)
    jobs: list[tuple[int, str, frozenset[int] | None]] = []
    regrouped: list[tuple[Window, str]] = []
    for i, (window, p) in enumerate(zip(batch, probs)):
        regions = window.speech or window.spans
        if len(regions) > 1 and p[0][1] < MIXED_LANGUAGE_CONFIDENCE:
            languages = _span_languages(decoder, audio, regions, p[0][0])
            # An uncut window is cut to its speech before being split into runs.
            runs = _runs(pack_windows(list(window.speech))[0] if window.speech else window,
                         languages)
            if len(runs) > 1:
                logger.debug("window %.1f-%.1f s mixes languages (%s): %s", window.start,
                             window.end, p[:3], languages)
            if len(runs) > MAX_SHARED_RUNS:
                regrouped.extend(runs)
                continue
            if len(runs) > 1:
                # Decoding the whole window once per language reuses its encoder
                # output (an encoder pass costs more than a decoder pass on CPU) and
                # keeps the full context; each pass keeps the words of its own regions.
                for lang in dict.fromkeys(languages):
                    spans = frozenset(k for k, code in enumerate(languages) if code == lang)
                    jobs.append((i, lang, spans))
                continue
        jobs.append((i, p[0][0], None))

    if len(jobs) == len(batch):
        return decoder.decode(batch, features, encoder_output, [lang for _, lang, _ in jobs],
                              probs)
    results: list[WindowResult] = []
    # Windows with many language changes are cut into one window per run and
    # encoded again: one pass per language over a window of four languages
    # measured worse than decoding each run on its own.
    for group_runs in _chunks(regrouped, batch_size):
        windows = [w for w, _ in group_runs]
        run_features = [decoder.features(w.audio(audio)) for w in windows]
        results.extend(decoder.decode(
            windows, run_features, decoder.encode(run_features),
            [lang for _, lang in group_runs], [[(lang, 1.0)] for _, lang in group_runs]))
    for group in _chunks(jobs, batch_size) if jobs else []:
        indices = [i for i, _, _ in group]
        decoded = decoder.decode(
            [batch[i] for i in indices], [features[i] for i in indices],
            decoder.select(encoder_output, indices, [features[i] for i in indices]),
            [lang for _, lang, _ in group], [probs[i] for i in indices])
        for result, (_, _, kept_spans) in zip(decoded, group):
            result.spans = kept_spans
        results.extend(decoded)
    return sorted(results, key=lambda r: r.window.start)


def _runs(window: Window, languages: list[str]) -> list[tuple[Window, str]]:
    """The window cut into runs of consecutive regions that share a language."""
    runs: list[tuple[Window, str]] = []
    start = 0
    for i in range(1, len(languages) + 1):
        if i == len(languages) or languages[i] != languages[start]:
            offsets = tuple(o - window.offsets[start] for o in window.offsets[start:i])
            runs.append((Window(window.spans[start:i], offsets), languages[start]))
            start = i
    return runs


def _missed_spans(decoder: Decoder, results: list[WindowResult]) -> list[Span]:
    """Speech regions of multi-region windows that got no words although the window did."""
    covered: dict[Window, set[int]] = {}
    for r in results:
        done = covered.setdefault(r.window, set())
        if not r.tokens or decoder.is_silence(r):
            done.update(range(len(r.window.spans)))  # nothing to recover: judged silent
        else:
            done.update(r.window.span_at((w.start + w.end) / 2) for w in r.words)
    # Uncut windows (window.speech) are decoded as Whisper decodes a file; not retried.
    missed = [span for window, done in covered.items()
              if len(window.spans) > 1 and done and not window.speech
              for k, span in enumerate(window.spans)
              if k not in done and span.samples >= MIN_MISSED_S * SAMPLE_RATE]
    return sorted(missed, key=lambda span: span.start)


def _span_languages(decoder: Decoder, audio: np.ndarray, regions: Sequence[Span],
                    fallback: str) -> list[str]:
    """The language of each speech region."""
    languages: list[str | None] = []
    for span in regions:
        seconds = span.samples / SAMPLE_RATE
        ranked = decoder.detect_short(audio[span.start:span.end])
        code, p = ranked[0]
        previous = next((c for c in reversed(languages) if c), None)
        # Close languages (es/pt, no/nn) trade places on a few seconds of audio:
        # a region keeps the language before it while that stays plausible.
        if previous and previous != code and dict(ranked).get(previous, 0.0) >= STICKY_LANGUAGE:
            code, p = previous, dict(ranked)[previous]
        reliable = p >= (REGION_CONFIDENCE if seconds >= SHORT_REGION_S
                         else SHORT_REGION_CONFIDENCE)
        if code != fallback and p < SWITCH_CONFIDENCE:
            reliable = False
        languages.append(code if reliable else None)
    # A region too uncertain to judge takes the language of the region before it.
    resolved: list[str] = []
    first_known = next((c for c in languages if c), fallback)
    for known in languages:
        resolved.append(known or (resolved[-1] if resolved else first_known))
    return resolved


def _segments(decoder: Decoder, results: list[WindowResult],
              options: TranscriptionOptions) -> list[Segment]:
    segments: list[Segment] = []
    previous: str | None = None
    for result in results:
        if not result.tokens or decoder.is_silence(result):
            continue
        words = place_words(result)
        if options.drop_repetitions:
            words = collapse_loops(words, lambda w: w.word)
        for group in split_words(words):
            text = "".join(w.word for w in group)
            if not text.strip():
                continue
            if options.drop_repetitions and is_repeat_of(text, previous):
                logger.debug("dropped a repeated segment at %.1f s", group[0].start)
                continue
            previous = text
            segments.append(_segment(len(segments), result, group, options))
    # A window decoded once per language yields its segments out of time order.
    segments.sort(key=lambda seg: seg.start)
    return [dataclasses.replace(seg, id=i) for i, seg in enumerate(segments)]


def _segment(index: int, result: WindowResult, words: list[TimedWord],
             options: TranscriptionOptions) -> Segment:
    return Segment(
        id=index,
        start=round(words[0].start, 3),
        end=round(words[-1].end, 3),
        text="".join(w.word for w in words),
        seek=round(result.window.start * 100),
        tokens=tuple(t for w in words for t in w.tokens),
        temperature=result.temperature,
        avg_logprob=float(result.avg_logprob),
        compression_ratio=float(result.compression_ratio),
        no_speech_prob=float(result.no_speech_prob),
        words=tuple(Word(round(w.start, 3), round(w.end, 3), w.word, round(w.probability, 4))
                    for w in words) if options.word_timestamps else None,
        language=result.language,
    )


def _overall_languages(results: list[WindowResult]) -> list[tuple[str, float]]:
    """Language probabilities averaged over windows, weighted by their speech seconds."""
    totals: dict[str, float] = {}
    weight = sum(r.window.duration for r in results) or 1.0
    for r in results:
        for code, p in r.language_probs:
            totals[code] = totals.get(code, 0.0) + p * r.window.duration / weight
    ranked = sorted(totals.items(), key=lambda kv: kv[1], reverse=True)
    return [(code, round(p, 4)) for code, p in ranked] or [("en", 1.0)]


def _advance(report: Progress, done: float, target: float, total: float) -> float:
    """Report progress up to ``target`` in steps of at most PROGRESS_STEP_S of audio.

    A window holds 30 s of speech but may span minutes of audio once silence is cut;
    the silence was already processed (by VAD), so the steps over it are honest.
    """
    while target - done > PROGRESS_STEP_S:
        done += PROGRESS_STEP_S
        report(done, total)
    if target > done or target == total:
        report(target, total)
    return max(done, target)


def _empty(options: TranscriptionOptions, duration: float, model_name: str) -> Transcript:
    return Transcript(task=options.task, language=options.language or "en",
                      duration=duration, language_probability=0.0, model=model_name,
                      extra={"speech_seconds": 0.0, "windows": 0})


def _chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield list(items[i:i + size])
