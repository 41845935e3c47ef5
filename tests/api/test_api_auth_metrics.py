"""API keys on every API, in each API's error shape, and the Prometheus endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
import requests
from live_server import serve

from whisperd.app import create_app

KEY = "sk-test-7f3a9c"


@pytest.fixture(scope="module")
def keyed_url(settings, engine, tmp_path_factory) -> Iterator[str]:
    keyed = settings.replace(data_dir=tmp_path_factory.mktemp("keyed-data"),
                             api_keys=(KEY, "second-key"), inprocess_worker=False)
    with serve(create_app(keyed, engine=engine)) as url:
        yield url


def test_openai_sdk_with_api_key(keyed_url, recording) -> None:
    sdk = openai.OpenAI(base_url=keyed_url + "/v1", api_key=KEY, max_retries=0)
    with recording("en_jfk_inaugural").open("rb") as f:
        assert "country" in sdk.audio.transcriptions.create(model="whisper-1", file=f).text


def test_openai_sdk_with_wrong_key_gets_401(keyed_url, recording) -> None:
    sdk = openai.OpenAI(base_url=keyed_url + "/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught, \
            recording("en_jfk_inaugural").open("rb") as f:
        sdk.audio.transcriptions.create(model="whisper-1", file=f)
    assert caught.value.body["code"] == "invalid_api_key"


@pytest.mark.parametrize("method,path", [
    ("GET", "/v1/models"), ("POST", "/v1/audio/transcriptions"), ("POST", "/v1/jobs"),
    ("GET", "/v1/jobs"), ("GET", "/metrics"),
])
def test_openai_routes_need_a_key(keyed_url, method, path) -> None:
    response = requests.request(method, keyed_url + path, timeout=10)
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    ok = requests.request(method, keyed_url + path, headers={"Authorization": "Bearer second-key"},
                          timeout=10)
    assert ok.status_code != 401


@pytest.mark.parametrize("path", ["/asr", "/detect-language"])
def test_asr_routes_need_a_key_in_detail_shape(keyed_url, recording, path) -> None:
    files = {"audio_file": ("a.flac", recording("en_jfk_inaugural").read_bytes())}
    response = requests.post(keyed_url + path, files=files, timeout=60)
    assert response.status_code == 401 and isinstance(response.json()["detail"], str)
    response = requests.post(keyed_url + path, files=files, timeout=120,
                             headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 200


def test_health_and_page_stay_open(keyed_url) -> None:
    health = requests.get(keyed_url + "/health", timeout=10)
    assert health.status_code == 200 and health.json()["auth_required"] is True
    assert requests.get(keyed_url + "/", timeout=10).status_code == 200


def test_metrics_count_requests_and_audio(base_url, recording) -> None:
    requests.post(base_url + "/asr", files={"audio_file": ("a.flac",
                                            recording("en_jfk_inaugural").read_bytes())},
                  timeout=120)
    text = requests.get(base_url + "/metrics", timeout=10).text
    assert 'whisperd_http_requests_total{endpoint="/asr",method="POST",status="200"}' in text
    assert "whisperd_audio_seconds_total" in text
    assert "whisperd_http_request_duration_seconds_bucket" in text
    assert "whisperd_real_time_factor_count" in text
    assert "whisperd_queue_depth" in text
    assert 'whisperd_model_load_seconds{model="base"}' in text
    assert "whisperd_jobs" in text
