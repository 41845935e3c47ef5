"""Bad input on every endpoint: each case gets a 4xx JSON error in that API's own shape,
never a 5xx, the server stays up, and no temporary file is left behind.

A real server on loopback with small limits (2 MB uploads, 2 minutes of audio) so the
oversized and decompression-bomb cases are cheap to build.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import bad_inputs
import pytest
import requests
from live_server import serve

from whisperd.app import create_app

JFK = "en_jfk_inaugural"
OPENAI_ENDPOINTS = ["/v1/audio/transcriptions", "/v1/audio/translations", "/v1/jobs"]
ASR_ENDPOINTS = ["/asr", "/detect-language"]
ENDPOINTS = OPENAI_ENDPOINTS + ASR_ENDPOINTS


@pytest.fixture(scope="module")
def temp_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point the server's temporary files at a folder of our own, to check it stays empty."""
    folder = tmp_path_factory.mktemp("server-tmp")
    previous = tempfile.tempdir
    tempfile.tempdir = str(folder)
    yield folder
    tempfile.tempdir = previous


@pytest.fixture(scope="module")
def strict_url(settings, engine, temp_dir, tmp_path_factory) -> Iterator[str]:
    strict = settings.replace(
        data_dir=tmp_path_factory.mktemp("strict-data"),
        max_upload_bytes=2 * 1024 * 1024,
        max_sync_duration_s=120.0,
        max_job_duration_s=120.0,
        inprocess_worker=False,
    )
    # The model cache stays the session's; only job state moves.
    app = create_app(strict, engine=engine)
    with serve(app) as url:
        yield url


@pytest.fixture(scope="module")
def cases(recording, tmp_path_factory) -> dict[str, tuple[str, bytes]]:
    folder = tmp_path_factory.mktemp("bad")
    jfk = recording(JFK)
    flac = jfk.read_bytes()
    wav = recording("en_librispeech_1272-128104-0000").read_bytes()
    mp3 = recording("mixed_en_de_fasterwhisper").read_bytes()
    return {
        "empty": ("empty.wav", b""),
        "random_bytes": ("noise.mp3", bad_inputs.random_bytes()),
        "text_named_wav": ("notes.wav", bad_inputs.TEXT_AS_WAV),
        "png_named_flac": ("image.flac", bad_inputs.PNG_BYTES),
        "truncated_flac": ("cut.flac", bad_inputs.cut(flac)),
        "truncated_wav": ("cut.wav", bad_inputs.cut(wav)),
        "truncated_m4a": ("cut.m4a", bad_inputs.cut(bad_inputs.m4a(jfk))),
        "truncated_mp3": ("cut.mp3", bad_inputs.cut(mp3, 0.3)),
        # Ogg declares no total length up front: a cut Ogg file is a valid shorter one,
        # so it is not among the truncation cases. A video with no audio track is.
        "video_without_audio": ("clip.mp4", bad_inputs.silent_video(folder / "clip.mp4")),
        "header_only_wav": ("header.wav", wav[:44]),
        "oversized": ("big.wav", b"\0" * (3 * 1024 * 1024)),
        "ten_hour_bomb": ("bomb.flac",
                          bad_inputs.silent_flac(10 * 3600, folder / "bomb.flac").read_bytes()),
    }


def assert_error_shape(endpoint: str, response: requests.Response) -> None:
    assert 400 <= response.status_code < 500, (endpoint, response.status_code, response.text)
    body = response.json()
    if endpoint in ASR_ENDPOINTS:
        assert isinstance(body.get("detail"), str) and body["detail"], body
    else:
        assert set(body["error"]) == {"message", "type", "param", "code"}, body
        assert body["error"]["message"]


def field_for(endpoint: str) -> str:
    return "audio_file" if endpoint in ASR_ENDPOINTS else "file"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("case", [
    "empty", "random_bytes", "text_named_wav", "png_named_flac", "truncated_flac",
    "truncated_wav", "truncated_m4a", "truncated_mp3", "video_without_audio", "header_only_wav",
    "oversized", "ten_hour_bomb",
])
def test_bad_upload(strict_url, cases, temp_dir, endpoint, case) -> None:
    name, data = cases[case]
    response = requests.post(strict_url + endpoint, files={field_for(endpoint): (name, data)},
                             data={"model": "whisper-1"}, timeout=120)
    assert_error_shape(endpoint, response)
    if case == "oversized":
        assert response.status_code == 413
    assert requests.get(strict_url + "/health", timeout=10).status_code == 200
    assert os.listdir(temp_dir) == []


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("how", ["json_body", "no_content_type", "malformed_multipart",
                                 "missing_field", "wrong_field_type"])
def test_malformed_request(strict_url, recording, endpoint, how) -> None:
    url = strict_url + endpoint
    if how == "json_body":
        response = requests.post(url, json={"file": "aGVsbG8="}, timeout=30)
    elif how == "no_content_type":
        response = requests.post(url, data=recording(JFK).read_bytes(),
                                 headers={"Content-Type": ""}, timeout=30)
    elif how == "malformed_multipart":
        body = b"--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nRIFF"
        response = requests.post(url, data=body, timeout=30,
                                 headers={"Content-Type": "multipart/form-data; boundary=XYZ"})
    elif how == "missing_field":
        response = requests.post(url, data={"model": "whisper-1"}, timeout=30,
                                 files={"other": ("a.wav", b"RIFF....")})
    else:  # the file sent as a plain form field instead of a file part
        response = requests.post(url, data={field_for(endpoint): "not a file"},
                                 files={"x": ("", b"")}, timeout=30)
    assert_error_shape(endpoint, response)


@pytest.mark.parametrize("endpoint,params,fields", [
    ("/v1/audio/transcriptions", {}, {"temperature": "-1"}),
    ("/v1/audio/transcriptions", {}, {"temperature": "1e999"}),
    ("/v1/audio/transcriptions", {}, {"response_format": "pdf"}),
    ("/v1/audio/transcriptions", {}, {"language": "../../etc"}),
    ("/v1/audio/transcriptions", {}, {"model": "no-such-model"}),
    ("/v1/audio/transcriptions", {}, {"model": "../../../../etc/passwd"}),
    ("/v1/audio/translations", {}, {"response_format": "verbose_json",
                                    "timestamp_granularities[]": "syllable"}),
    ("/v1/jobs", {}, {"task": "summarize"}),
    ("/v1/jobs", {}, {"callback_url": "file:///etc/passwd"}),
    ("/v1/jobs", {}, {"callback_url": "http://127.0.0.1:1/steal"}),
    ("/asr", {"task": "dance"}, {}),
    ("/asr", {"language": "zz"}, {}),
    ("/asr", {"output": "exe"}, {}),
    ("/asr", {"encode": "perhaps"}, {}),
    ("/detect-language", {"top_k": "-3"}, {}),
    ("/detect-language", {"encode": "2"}, {}),
])
def test_invalid_parameter_values(strict_url, recording, endpoint, params, fields) -> None:
    files = {field_for(endpoint): ("jfk.flac", recording(JFK).read_bytes())}
    data = {"model": "whisper-1", **fields} if endpoint not in ASR_ENDPOINTS else None
    response = requests.post(strict_url + endpoint, params=params, data=data, files=files,
                             timeout=60)
    assert_error_shape(endpoint, response)


@pytest.mark.parametrize("filename", ["../../../etc/passwd", "..\\..\\boot.ini", "/dev/null",
                                      "日本語のファイル名 🎤.flac", "a" * 1000 + ".flac",
                                      "nul\x00byte.flac", ""])
def test_odd_filenames_with_good_audio(strict_url, recording, filename) -> None:
    response = requests.post(strict_url + "/asr", params={"output": "txt"},
                             files={"audio_file": (filename, recording(JFK).read_bytes())},
                             timeout=120)
    # Transcribed, or refused with a 4xx; never a 5xx, never a file touched by that name.
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        assert "country" in response.text.lower()
        label = unquote(response.headers["Content-Disposition"].split("filename=")[1].strip('"'))
        assert "/" not in label and "\\" not in label and "\x00" not in label
