"""whisper-asr-webservice compatibility (/asr, /detect-language) over real HTTP with the
real base model, as its clients (e.g. Bazarr's Whisper provider) call it."""

from __future__ import annotations

import json
import threading
import time

import bad_inputs
import numpy as np
import pytest
import requests
from textnorm import wer

from whisperd.audio.decode import decode_audio

JFK = "en_jfk_inaugural"


def _asr(base_url, data: bytes, name="audio.flac", field="audio_file", **params):
    return requests.post(base_url + "/asr", params=params, files={field: (name, data)},
                         timeout=300)


def test_default_output_is_txt_with_reference_headers(base_url, recording, manifest) -> None:
    response = _asr(base_url, recording(JFK).read_bytes(), name="jfk.flac")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["Asr-Engine"] == "faster_whisper"
    assert response.headers["Content-Disposition"] == 'attachment; filename="jfk.flac.txt"'
    assert wer(manifest[JFK]["reference"], response.text) <= 0.10, response.text


@pytest.mark.parametrize("output", ["srt", "vtt", "tsv", "json"])
def test_outputs(base_url, recording, output) -> None:
    response = _asr(base_url, recording(JFK).read_bytes(), output=output, task="transcribe",
                    language="en", video_file="ignored-extra-param")
    assert response.status_code == 200, response.text
    body = response.text
    assert "country" in body.lower()
    if output == "srt":
        assert body.startswith("1\n") and "-->" in body
    elif output == "vtt":
        assert body.startswith("WEBVTT")
    elif output == "tsv":
        assert body.splitlines()[0] == "start\tend\ttext"
    else:
        data = json.loads(body)
        assert data["language"] == "en"
        assert "country" in data["text"].lower() and data["segments"]


def test_word_timestamps_in_json(base_url, recording) -> None:
    response = _asr(base_url, recording(JFK).read_bytes(), output="json", word_timestamps="true")
    segments = json.loads(response.text)["segments"]
    assert segments[0]["words"], segments[0]


def test_raw_pcm_with_encode_false(base_url, recording, manifest) -> None:
    # What Bazarr sends: 16 kHz mono s16le PCM, no header.
    samples = decode_audio(recording(JFK).read_bytes())
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    response = _asr(base_url, pcm, name="audio.pcm", encode="false", language="en")
    assert response.status_code == 200, response.text
    assert wer(manifest[JFK]["reference"], response.text) <= 0.10, response.text


def test_vad_filter_false_is_accepted(base_url, recording) -> None:
    response = _asr(base_url, recording(JFK).read_bytes(), vad_filter="false")
    assert response.status_code == 200 and "country" in response.text.lower()


@pytest.mark.parametrize("recording_id,code,name", [
    ("de_leopard_test", "de", "german"),
    ("fr_leopard_test", "fr", "french"),
])
def test_detect_language(base_url, recording, recording_id, code, name) -> None:
    response = requests.post(base_url + "/detect-language",
                             files={"audio_file": ("a.wav", recording(recording_id).read_bytes())},
                             timeout=120)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["language_code"] == code and body["detected_language"] == name
    assert set(body) == {"detected_language", "language_code", "confidence"}
    assert 0.5 < body["confidence"] <= 1.0


def test_detect_language_top_k(base_url, recording) -> None:
    response = requests.post(base_url + "/detect-language", params={"top_k": 3},
                             files={"audio_file": ("a.wav", recording("fr_leopard_test").read_bytes())},
                             timeout=120)
    body = response.json()
    top = body["top_languages"]
    assert len(top) == 3 and top[0]["language_code"] == "fr"
    probabilities = [t["confidence"] for t in top]
    assert probabilities == sorted(probabilities, reverse=True)


def _assert_detail_error(response: requests.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]


@pytest.mark.parametrize("params", [
    {"language": "xx"}, {"task": "summarize"}, {"output": "docx"}, {"encode": "maybe"},
    {"word_timestamps": "sometimes"},
])
def test_bad_parameters_are_4xx_detail(base_url, recording, params) -> None:
    _assert_detail_error(_asr(base_url, recording(JFK).read_bytes(), **params))


@pytest.mark.parametrize("name,data", [
    ("empty.wav", b""),
    ("noise.wav", bad_inputs.random_bytes()),
    ("notes.wav", bad_inputs.TEXT_AS_WAV),
])
def test_bad_audio_is_4xx_detail_never_2xx(base_url, name, data) -> None:
    _assert_detail_error(_asr(base_url, data, name=name))
    response = requests.post(base_url + "/detect-language", files={"audio_file": (name, data)},
                             timeout=60)
    _assert_detail_error(response)


def test_missing_audio_file_field(base_url, recording) -> None:
    _assert_detail_error(_asr(base_url, recording(JFK).read_bytes(), field="file"))


def test_health_answers_while_transcribing(base_url, recording) -> None:
    data = recording("en_long_multispeaker_concat").read_bytes()
    result: dict = {}
    worker = threading.Thread(
        target=lambda: result.setdefault("response", _asr(base_url, data)))
    worker.start()
    time.sleep(1.0)
    for _ in range(3):
        started = time.monotonic()
        assert requests.get(base_url + "/health", timeout=5).status_code == 200
        assert time.monotonic() - started < 5
        time.sleep(0.5)
    worker.join(timeout=600)
    assert result["response"].status_code == 200
