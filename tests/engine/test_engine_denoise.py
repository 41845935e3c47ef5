"""The noisy-clip test and the noise reduction, on the eval's real recordings (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from whisperd.engine.denoise import (
    NOISY_BELOW_SPREAD_DB,
    is_noisy,
    loudness_spread_db,
    reduce_noise,
)
from whisperd.eval.audio import coloured_noise, load_samples, with_noise

CLEAN = ["en_jfk_inaugural", "en_librispeech_61-70968-0000", "en_mfa_acoustic_corpus",
         "en_mfa_cold_corpus", "es_leopard_test", "ja_commonvoice_24511055"]


def _with_noise(speech: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    return with_noise(speech, coloured_noise(len(speech), "pink", np.random.default_rng(seed)),
                      snr_db)


@pytest.mark.parametrize("recording_id", CLEAN)
def test_clean_recordings_are_left_alone(recording, recording_id: str) -> None:
    # Including the spontaneous MFA recordings made in a room, the least spread (15.6 dB).
    assert not is_noisy(load_samples(recording(recording_id)))


@pytest.mark.parametrize("recording_id", CLEAN)
def test_recordings_under_noise_at_0_db_are_noisy(recording, recording_id: str) -> None:
    assert is_noisy(_with_noise(load_samples(recording(recording_id)), 0.0))


def test_eval_noisy_items_at_0_and_5_db_are_noisy(recording) -> None:
    spreads = {rid: loudness_spread_db(load_samples(recording(rid))) for rid in
               ("en_noisy_pink_snr0_1089-134686-0000", "de_noisy_brown_snr5_leopard_test")}
    assert all(s is not None and s < NOISY_BELOW_SPREAD_DB for s in spreads.values()), spreads


def test_under_a_second_is_not_judged() -> None:
    assert loudness_spread_db(np.zeros(8000, dtype=np.float32)) is None
    assert not is_noisy(np.zeros(8000, dtype=np.float32))


def test_noise_reduction_lowers_the_noise_and_keeps_the_speech(recording) -> None:
    speech = load_samples(recording("en_jfk_inaugural"))
    noisy = _with_noise(speech, 5.0)
    cleaned = reduce_noise(noisy)
    assert cleaned.dtype == np.float32 and cleaned.shape == noisy.shape
    # Residual (cleaned minus the clean speech) has less power than the added noise ...
    residual = np.mean((cleaned - speech) ** 2)
    assert residual < 0.7 * np.mean((noisy - speech) ** 2)
    # ... and the speech is still there: the cleaned clip correlates with it strongly.
    assert np.corrcoef(cleaned, speech)[0, 1] > 0.8
