"""The OpenAI-compatible API, driven by the official ``openai`` SDK over real HTTP,
with the real base model on real recordings."""

from __future__ import annotations

import re
import time

import bad_inputs
import openai
import pytest
import requests
from textnorm import wer

JFK = "en_jfk_inaugural"


@pytest.fixture(scope="module")
def sdk(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key="not-needed", max_retries=0,
                         timeout=300)


def test_transcription_json_is_accurate(sdk, recording, manifest) -> None:
    with recording(JFK).open("rb") as f:
        result = sdk.audio.transcriptions.create(model="whisper-1", file=f)
    assert wer(manifest[JFK]["reference"], result.text) <= 0.10, result.text


def test_transcription_verbose_json_with_words(sdk, recording) -> None:
    with recording(JFK).open("rb") as f:
        result = sdk.audio.transcriptions.create(
            model="whisper-1", file=f, response_format="verbose_json",
            timestamp_granularities=["word", "segment"], language="en",
        )
    data = result.model_dump()
    assert data["task"] == "transcribe"
    assert data["language"] == "english"
    assert 10.5 < data["duration"] < 11.5
    assert data["segments"], data
    for key in ("id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob",
                "compression_ratio", "no_speech_prob"):
        assert key in data["segments"][0], key
    words = data["words"]
    assert [w["word"].strip(" ,.").lower() for w in words][:3] == ["and", "so", "my"]
    starts = [w["start"] for w in words]
    assert starts == sorted(starts)
    assert all(0 <= w["start"] <= w["end"] <= data["duration"] + 0.1 for w in words)


@pytest.mark.parametrize("fmt", ["text", "srt", "vtt"])
def test_transcription_text_formats(sdk, recording, fmt) -> None:
    with recording(JFK).open("rb") as f:
        body = sdk.audio.transcriptions.create(model="whisper-1", file=f, response_format=fmt)
    assert isinstance(body, str)
    # Subtitle cues may split the sentence; the words must all be there.
    flat = " ".join(body.lower().replace(",", "").split())
    assert "ask not what" in flat and "your country can do for you" in flat
    if fmt == "srt":
        assert body.lstrip().startswith("1\n")
        assert re.search(r"^\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}$", body, re.MULTILINE)
    if fmt == "vtt":
        assert body.startswith("WEBVTT")
        assert re.search(r"\d\d:\d\d\.\d{3} --> \d\d:\d\d(:\d\d)?\.\d{3}", body)


def test_model_name_selects_tiny_en(sdk, recording) -> None:
    with recording(JFK).open("rb") as f:
        result = sdk.audio.transcriptions.create(model="tiny.en", file=f)
    assert "country" in result.text.lower()


def test_translation_of_german_gives_english(sdk, recording) -> None:
    with recording("de_leopard_test").open("rb") as f:
        result = sdk.audio.translations.create(model="whisper-1", file=f)
    text = result.text.lower()
    assert text.strip()
    # English words, not the German sentence ("Der hinter diesem Portal liegenden Raum wurde ...").
    assert any(w in text.split() for w in ("the", "was", "this", "room")), text
    assert "wurde" not in text and "diesem" not in text, text


def test_models_lists_bundled_models(sdk) -> None:
    ids = {m.id for m in sdk.models.list()}
    assert {"base", "tiny.en", "whisper-1"} <= ids


def test_unknown_hub_model_fails_fast_offline(sdk, recording) -> None:
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as caught, recording(JFK).open("rb") as f:
        sdk.audio.transcriptions.create(model="large-v3", file=f)
    assert time.monotonic() - started < 30
    error = caught.value
    assert error.status_code in (400, 404)
    body = error.body
    assert body["code"] == "model_not_found"
    assert "offline" in body["message"] and "base" in body["message"]


def _post(base_url: str, files=None, data=None, path="/v1/audio/transcriptions", **kw):
    return requests.post(base_url + path, files=files, data=data, timeout=120, **kw)


def _assert_openai_error(response: requests.Response, status: int | tuple[int, ...]) -> dict:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"]
    return body["error"]


def _bad_uploads(recording) -> dict[str, tuple[str, bytes]]:
    flac = recording(JFK).read_bytes()
    wav = recording("en_librispeech_1272-128104-0000").read_bytes()
    return {
        "empty": ("empty.wav", b""),
        "random": ("noise.mp3", bad_inputs.random_bytes()),
        "text_named_wav": ("notes.wav", bad_inputs.TEXT_AS_WAV),
        "png_named_flac": ("image.flac", bad_inputs.PNG_BYTES),
        "truncated_flac": ("cut.flac", bad_inputs.cut(flac)),
        "truncated_wav": ("cut.wav", bad_inputs.cut(wav)),
        "truncated_m4a": ("cut.m4a", bad_inputs.cut(bad_inputs.m4a(recording(JFK)))),
    }


@pytest.mark.parametrize("case", ["empty", "random", "text_named_wav", "png_named_flac",
                                  "truncated_flac", "truncated_wav", "truncated_m4a"])
def test_bad_audio_is_a_400_in_openai_shape(base_url, recording, case) -> None:
    name, data = _bad_uploads(recording)[case]
    response = _post(base_url, files={"file": (name, data)}, data={"model": "whisper-1"})
    error = _assert_openai_error(response, 400)
    assert error["param"] == "file"
    assert requests.get(base_url + "/health", timeout=10).status_code == 200


@pytest.mark.parametrize("fields,param", [
    ({"model": "whisper-1", "response_format": "docx"}, "response_format"),
    ({"model": "whisper-1", "temperature": "-0.5"}, "temperature"),
    ({"model": "whisper-1", "temperature": "warm"}, "temperature"),
    ({"model": "whisper-1", "language": "klingon"}, "language"),
    ({"model": "whisper-1", "timestamp_granularities[]": "word"}, "timestamp_granularities"),
])
def test_bad_parameters_are_400(base_url, recording, fields, param) -> None:
    files = {"file": ("jfk.flac", recording(JFK).read_bytes())}
    error = _assert_openai_error(_post(base_url, files=files, data=fields), 400)
    assert error["param"] == param


def test_missing_file_field_is_400(base_url) -> None:
    error = _assert_openai_error(
        _post(base_url, files={"audio": ("a.wav", b"RIFF")}, data={"model": "whisper-1"}), 400)
    assert error["param"] == "file"


def test_not_multipart_is_400(base_url) -> None:
    _assert_openai_error(_post(base_url, data="plain body",
                               headers={"Content-Type": "text/plain"}), 400)


def test_unknown_route_and_method_in_openai_shape(base_url) -> None:
    _assert_openai_error(requests.get(base_url + "/v1/nothing-here", timeout=10), 404)
    _assert_openai_error(requests.get(base_url + "/v1/audio/transcriptions", timeout=10), 405)


def test_health_reports_model(base_url) -> None:
    body = requests.get(base_url + "/health", timeout=10).json()
    assert body["status"] == "ok"
    assert body["model"] == "base" and body["device"] == "cpu" and body["compute_type"] == "int8"


def test_request_id_is_returned(base_url) -> None:
    response = requests.get(base_url + "/health", headers={"X-Request-ID": "abc-123"}, timeout=10)
    assert response.headers["X-Request-ID"] == "abc-123"
    assert requests.get(base_url + "/health", timeout=10).headers["X-Request-ID"]
