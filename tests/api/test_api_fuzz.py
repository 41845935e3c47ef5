"""Fuzzing the upload and parameter parsing with hypothesis, against the real app.

The uploads are arbitrary bytes (never valid audio), so every request must end in a
4xx JSON error in the endpoint's own shape — never a 5xx, whatever the fields hold.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from whisperd.api.params import asr_request, openai_request
from whisperd.app import create_app
from whisperd.errors import InvalidRequest

OPENAI_FIELDS = ["model", "language", "prompt", "response_format", "temperature",
                 "timestamp_granularities[]", "vad_filter", "denoise", "word_timestamps", "stream",
                 "task", "callback_url"]
ASR_PARAMS = ["encode", "task", "language", "initial_prompt", "output", "word_timestamps",
              "vad_filter", "denoise", "top_k", "video_file"]
ENDPOINTS = ["/v1/audio/transcriptions", "/v1/audio/translations", "/v1/jobs", "/asr",
             "/detect-language"]

text_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "0", "-1", "1e309", "nan", "true", "false", "json", "verbose_json",
                     "word", "en", "xx", "whisper-1", "../../etc/passwd", "\x00", "🎤"]),
)


@pytest.fixture(scope="module")
def fuzz_client(settings, engine, tmp_path_factory):
    app = create_app(settings.replace(data_dir=tmp_path_factory.mktemp("fuzz-data"),
                                      inprocess_worker=False), engine=engine)
    return app.test_client()


@hsettings(max_examples=150, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=st.sampled_from(ENDPOINTS),
       fields=st.dictionaries(st.sampled_from(OPENAI_FIELDS + ASR_PARAMS), text_values,
                              max_size=6),
       upload=st.binary(max_size=2048),
       filename=st.text(max_size=30),
       field_name=st.sampled_from(["file", "audio_file", "upload"]))
def test_fuzzed_requests_get_4xx_json(fuzz_client, endpoint, fields, upload, filename,
                                      field_name) -> None:
    data = {k: v for k, v in fields.items()}
    data[field_name] = (io.BytesIO(upload), filename)
    query = {k: v for k, v in fields.items() if k in ASR_PARAMS}
    response = fuzz_client.post(endpoint, data=data, query_string=query,
                                content_type="multipart/form-data")
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data())
    body = response.get_json()
    if endpoint in ("/asr", "/detect-language"):
        assert isinstance(body["detail"], str)
    else:
        assert set(body["error"]) == {"message", "type", "param", "code"}


@given(form=st.dictionaries(st.sampled_from(OPENAI_FIELDS), text_values, max_size=8),
       granularities=st.lists(text_values, max_size=3),
       task=st.sampled_from(["transcribe", "translate"]))
def test_openai_parsing_accepts_or_raises_invalid_request(form, granularities, task) -> None:
    try:
        parsed = openai_request(form, granularities, task=task)
    except InvalidRequest as e:
        assert e.message
        return
    assert parsed.options.task == task
    assert parsed.options.temperature is None or 0 <= parsed.options.temperature <= 1


@given(args=st.dictionaries(st.sampled_from(ASR_PARAMS), text_values, max_size=8))
def test_asr_parsing_accepts_or_raises_invalid_request(args) -> None:
    try:
        parsed = asr_request(args)
    except InvalidRequest as e:
        assert e.message
        return
    assert parsed.output in ("txt", "vtt", "srt", "tsv", "json")
