"""Batched Whisper decoding of packed windows: encode, identify language, generate, align.

Windows are encoded in batches (``settings.batch_size``), which is where the speed over
sequential decoding comes from. Each window gets its own language token, so a
German window in an English file is decoded as German. A window whose output fails
Whisper's quality checks (compression ratio, average log-probability) is decoded
again, alone, at rising temperatures, as Whisper's sequential loop does. Word times
come from cross-attention alignment (DTW), which whisperd needs anyway to map text
back across the cuts between VAD regions.
"""

from __future__ import annotations

import logging
import math
import zlib
from dataclasses import dataclass, field
from typing import Any

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.audio import pad_or_trim
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_suppressed_tokens, merge_punctuations

from whisperd.engine.options import TranscriptionOptions
from whisperd.engine.windows import SAMPLE_RATE, Window

logger = logging.getLogger(__name__)

# faster-whisper's defaults for sampling at temperature > 0 and for punctuation merging.
BEST_OF = 5
PREPEND_PUNCTUATIONS = "\"'“¿([{-"
APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"
MEDIAN_FILTER_WIDTH = 7
FRAMES_PER_SECOND = 100  # mel frames
TOKENS_PER_SECOND = 50  # encoder positions
N_FRAMES = 3000  # mel frames in a 30-second window


@dataclass
class RawWord:
    word: str
    start: float  # window time, seconds
    end: float
    probability: float
    tokens: list[int]


@dataclass
class WindowResult:
    window: Window
    language: str
    language_probs: list[tuple[str, float]]
    tokens: list[int] = field(default_factory=list)
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 0.0
    temperature: float = 0.0
    words: list[RawWord] = field(default_factory=list)
    # Window spans whose words this result keeps (None: all). A window that mixes
    # languages is decoded once per language, each result keeping its own regions.
    spans: frozenset[int] | None = None


def compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


class Decoder:
    """Decodes windows of one audio file with one model and one set of options."""

    def __init__(self, model: WhisperModel, options: TranscriptionOptions, *,
                 timestamps: bool = False, long_audio: bool = False) -> None:
        self.model = model
        self.options = options
        self.beam_size = options.beam_for(long_audio=long_audio)
        # Whether the decoder predicts timestamp tokens (Whisper's usual mode). whisperd
        # times text by alignment either way; see pipeline.transcribe for the choice.
        self.timestamps = timestamps
        self.multilingual = bool(model.model.is_multilingual)
        self._tokenizers: dict[str, Tokenizer] = {}
        base = self.tokenizer(options.language or "en")
        self.suppress_tokens = list(get_suppressed_tokens(base, [-1]))
        self.prompt_tokens: list[int] = (
            base.encode(" " + options.initial_prompt.strip()) if options.initial_prompt else []
        )

    def tokenizer(self, language: str) -> Tokenizer:
        if not self.multilingual:
            language = "en"
        tok = self._tokenizers.get(language)
        if tok is None:
            tok = Tokenizer(self.model.hf_tokenizer, self.multilingual,
                            task=self.options.task, language=language)
            self._tokenizers[language] = tok
        return tok

    # --- features and language ---------------------------------------------------

    def features(self, audio: np.ndarray) -> np.ndarray:
        # The extractor adds one frame past the end; drop it, as BatchedInferencePipeline does.
        features: np.ndarray = pad_or_trim(self.model.feature_extractor(audio)[..., :-1])
        return features

    def encode(self, features: list[np.ndarray]) -> ctranslate2.StorageView:
        return self.model.encode(np.stack(features))

    def select(self, encoder_output: ctranslate2.StorageView, indices: list[int],
               features: list[np.ndarray]) -> ctranslate2.StorageView:
        """The encoder output of some batch items (``features``: those items' features)."""
        if encoder_output.device == "cpu":
            rows = np.asarray(encoder_output)[indices]
            return ctranslate2.StorageView.from_array(np.ascontiguousarray(rows))
        return self.encode(features)  # on a GPU, encoding again is cheaper than copying

    def detect_short(self, audio: np.ndarray) -> list[tuple[str, float]]:
        """Language of a stretch shorter than 30 s, encoded at its own length.

        CTranslate2's encoder accepts fewer than 3000 frames; the language token is
        then as reliable as with the padded input (checked on the eval set's
        mixed recordings) at a fraction of the cost, which makes identifying each
        speech region affordable.
        """
        features = self.model.feature_extractor(audio)[..., :-1]
        frames = min(features.shape[-1] + features.shape[-1] % 2, N_FRAMES)
        return self.detect(self.encode([pad_or_trim(features, frames)]))[0]

    def detect(self, encoder_output: ctranslate2.StorageView) -> list[list[tuple[str, float]]]:
        """All languages with probabilities, most probable first, per batch item."""
        if not self.multilingual:
            return [[("en", 1.0)] for _ in range(encoder_output.shape[0])]
        return [[(token[2:-2], float(p)) for token, p in item]
                for item in self.model.model.detect_language(encoder_output)]

    # --- decoding --------------------------------------------------------------------

    def decode(
        self,
        windows: list[Window],
        features: list[np.ndarray],
        encoder_output: ctranslate2.StorageView,
        languages: list[str],
        language_probs: list[list[tuple[str, float]]],
    ) -> list[WindowResult]:
        opts = self.options
        prompts = [self._prompt(lang) for lang in languages]
        max_length = self.model.max_length
        first_temperature = opts.temperatures[0]
        sampling: dict[str, Any] = (
            {"beam_size": self.beam_size} if first_temperature == 0
            else {"beam_size": 1, "sampling_topk": 0,
                  "sampling_temperature": first_temperature}
        )
        outputs = self.model.model.generate(
            encoder_output, prompts, max_length=max_length, return_scores=True,
            return_no_speech_prob=True, suppress_blank=True,
            suppress_tokens=self.suppress_tokens, **sampling,
        )
        results = []
        for i, (window, out) in enumerate(zip(windows, outputs)):
            result = WindowResult(window, languages[i], language_probs[i])
            self._fill(result, out, first_temperature)
            if self._needs_fallback(result):
                self._fallback(result, features[i], prompts[i])
            results.append(result)
        self._align(results, encoder_output)
        return results

    def _prompt(self, language: str) -> list[int]:
        prompt: list[int] = self.model.get_prompt(self.tokenizer(language), self.prompt_tokens,
                                                  without_timestamps=not self.timestamps)
        return prompt

    def _fill(self, result: WindowResult, output: Any, temperature: float) -> None:
        generated = output.sequences_ids[0]
        # Timestamp tokens (above end-of-text) are dropped: alignment times the words.
        tokens = [t for t in generated if t < self.tokenizer("en").eot]
        result.tokens = tokens
        # Recover the average log-probability from the length-normalised score, over
        # every generated token, as faster-whisper does.
        result.avg_logprob = output.scores[0] * len(generated) / (len(generated) + 1)
        result.no_speech_prob = float(output.no_speech_prob)
        result.compression_ratio = compression_ratio(
            self.tokenizer(result.language).decode(tokens).strip())
        result.temperature = temperature

    def is_silence(self, result: WindowResult) -> bool:
        """Whisper's no-speech rule: the model thinks it is silence and is not sure of the text."""
        opts = self.options
        return (opts.no_speech_threshold is not None
                and result.no_speech_prob > opts.no_speech_threshold
                and (opts.log_prob_threshold is None
                     or result.avg_logprob < opts.log_prob_threshold))

    def _needs_fallback(self, result: WindowResult) -> bool:
        opts = self.options
        if self.is_silence(result):
            return False
        too_repetitive = (opts.compression_ratio_threshold is not None
                          and result.compression_ratio > opts.compression_ratio_threshold)
        too_unsure = (opts.log_prob_threshold is not None
                      and result.avg_logprob < opts.log_prob_threshold)
        return too_repetitive or too_unsure

    def _fallback(self, result: WindowResult, features: np.ndarray, prompt: list[int]) -> None:
        """Decode one window again at rising temperatures until it passes the checks."""
        opts = self.options
        candidates = [self._snapshot(result)]
        for temperature in opts.temperatures[1:]:
            # Passing features (not encoder output) makes CTranslate2 encode this one window.
            out = self.model.model.generate(
                ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None])),
                [prompt], max_length=self.model.max_length, return_scores=True,
                return_no_speech_prob=True, suppress_blank=True,
                suppress_tokens=self.suppress_tokens, beam_size=1, num_hypotheses=BEST_OF,
                sampling_topk=0, sampling_temperature=temperature,
            )[0]
            self._fill(result, out, temperature)
            candidates.append(self._snapshot(result))
            if not self._needs_fallback(result):
                logger.debug("window at %.1f s decoded at temperature %.1f",
                             result.window.start, temperature)
                return
        # All failed: like Whisper, keep the most probable among the non-repetitive ones.
        limit = opts.compression_ratio_threshold
        usable = [c for c in candidates if limit is None or c[3] <= limit] or candidates
        best = max(usable, key=lambda c: c[1])
        result.tokens, result.avg_logprob, result.no_speech_prob = best[0], best[1], best[2]
        result.compression_ratio, result.temperature = best[3], best[4]

    @staticmethod
    def _snapshot(r: WindowResult) -> tuple[list[int], float, float, float, float]:
        return (r.tokens, r.avg_logprob, r.no_speech_prob, r.compression_ratio, r.temperature)

    # --- word alignment ----------------------------------------------------------

    def _align(self, results: list[WindowResult],
               encoder_output: ctranslate2.StorageView) -> None:
        if not any(r.tokens for r in results):
            return
        eot = self.tokenizer("en").eot
        # CTranslate2 aligns the whole batch at once; an empty text would break DTW,
        # so empty windows get a lone end-of-text token and their alignment is ignored.
        texts = [r.tokens or [eot] for r in results]
        frames = [min(math.ceil(r.window.samples * FRAMES_PER_SECOND / SAMPLE_RATE), N_FRAMES)
                  for r in results]
        # One start sequence serves the batch: cross-attention alignment barely depends
        # on the language token, and CTranslate2 takes a single one.
        start_sequence = self.tokenizer(results[0].language).sot_sequence
        alignments = self.model.model.align(encoder_output, start_sequence, texts, frames,
                                            median_filter_width=MEDIAN_FILTER_WIDTH)
        for result, alignment in zip(results, alignments):
            if result.tokens:
                result.words = self._words(result, alignment)

    def _words(self, result: WindowResult, alignment: Any) -> list[RawWord]:
        tokenizer = self.tokenizer(result.language)
        words, word_tokens = tokenizer.split_to_word_tokens(result.tokens + [tokenizer.eot])
        if len(word_tokens) <= 1:
            return []
        text_indices = np.array([pair[0] for pair in alignment.alignments])
        time_indices = np.array([pair[1] for pair in alignment.alignments])
        boundaries = np.pad(np.cumsum([len(t) for t in word_tokens[:-1]]), (1, 0))
        jumps = np.pad(np.diff(text_indices), (1, 0), constant_values=1).astype(bool)
        jump_times = time_indices[jumps] / TOKENS_PER_SECOND
        if len(jump_times) < boundaries[-1] + 1:
            return []
        probs = alignment.text_token_probs
        timed = [
            {"word": w, "tokens": list(t), "start": float(jump_times[i]),
             "end": float(jump_times[j]), "probability": float(np.mean(probs[i:j]))}
            for w, t, i, j in zip(words[:-1], word_tokens[:-1], boundaries[:-1], boundaries[1:])
        ]
        merge_punctuations(timed, PREPEND_PUNCTUATIONS, APPEND_PUNCTUATIONS)
        return [RawWord(d["word"], d["start"], d["end"], d["probability"], d["tokens"])
                for d in timed if d["word"]]
