"""The `whisperd` command as a user runs it: a real subprocess, the bundled models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(*args: str, data_dir: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "WHISPERD_DATA_DIR": str(data_dir), "WHISPERD_ALLOW_DOWNLOAD": "false"}
    return subprocess.run([sys.executable, "-m", "whisperd", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, check=False)


@pytest.fixture(scope="module")
def data_dir(engine, settings) -> Path:
    # The session engine has already reassembled the bundled models there.
    return settings.data_dir


def test_transcribe_files_to_subtitles(tmp_path, recording, data_dir) -> None:
    out = tmp_path / "out"
    result = run_cli("transcribe", str(recording("en_jfk_inaugural")),
                     str(recording("en_librispeech_1272-128104-0000")),
                     "--model", "tiny.en", "--format", "srt", "--output-dir", str(out),
                     data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    jfk = (out / "en_jfk_inaugural.srt").read_text()
    assert jfk.startswith("1\n") and "-->" in jfk and "country" in jfk.lower()
    assert "apostle" in (out / "en_librispeech_1272-128104-0000.srt").read_text().lower()


def test_transcribe_prints_text_and_reports_bad_files(tmp_path, recording, data_dir) -> None:
    bogus = tmp_path / "notes.wav"
    bogus.write_text("not audio")
    result = run_cli("transcribe", str(recording("en_jfk_inaugural")), str(bogus),
                     "--model", "tiny.en", data_dir=data_dir)
    assert result.returncode == 1
    assert "country" in result.stdout.lower()
    assert "notes.wav" in result.stderr and "not an audio" in result.stderr.lower()


def test_models_lists_offline_availability(data_dir) -> None:
    result = run_cli("models", data_dir=data_dir, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert rows["base"][2] == "yes" and rows["tiny.en"][2] == "yes"
    assert rows["large-v3"][2] == "no"


def test_detect_language_top_k(recording, data_dir) -> None:
    result = run_cli("detect-language", str(recording("fr_leopard_test")), "--top-k", "3",
                     data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and lines[0].split("\t")[:2] == ["fr", "french"]


def test_bad_setting_names_the_variable(data_dir) -> None:
    env_result = subprocess.run(
        [sys.executable, "-m", "whisperd", "models"], capture_output=True, text=True,
        timeout=60, env={**os.environ, "WHISPERD_PORT": "eighty"}, check=False)
    assert env_result.returncode != 0
    assert "WHISPERD_PORT" in env_result.stderr


def test_unknown_hub_model_fails_fast_and_clearly(recording, data_dir) -> None:
    result = run_cli("transcribe", str(recording("en_jfk_inaugural")), "--model", "large-v3",
                     data_dir=data_dir, timeout=60)
    assert result.returncode != 0
    assert "large-v3" in result.stderr and "offline" in result.stderr


def test_out_of_range_beam_size_is_refused_before_loading_a_model(recording, data_dir) -> None:
    result = run_cli("transcribe", str(recording("en_jfk_inaugural")), "--beam-size", "0",
                     data_dir=data_dir, timeout=60)
    assert result.returncode != 0
    assert "beam_size must be between 1 and 20" in result.stderr
