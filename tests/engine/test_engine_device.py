"""Device and compute-type choice. No GPU exists here, so only CTranslate2's CUDA
device count is faked; the rest is the real code path."""

from __future__ import annotations

import pytest

from whisperd.engine import device
from whisperd.engine.device import choose_compute_type, choose_device
from whisperd.engine.model import Engine
from whisperd.settings import Settings


@pytest.mark.parametrize("gpus, expected", [(0, "cpu"), (1, "cuda"), (4, "cuda")])
def test_auto_picks_cuda_when_a_gpu_is_visible(monkeypatch: pytest.MonkeyPatch,
                                               gpus: int, expected: str) -> None:
    monkeypatch.setattr(device.ctranslate2, "get_cuda_device_count", lambda: gpus)
    assert choose_device("auto") == expected


def test_cuda_probe_failure_means_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> int:
        raise RuntimeError("CUDA driver version is insufficient")

    monkeypatch.setattr(device.ctranslate2, "get_cuda_device_count", broken)
    assert choose_device("auto") == "cpu"


def test_explicit_device_is_kept() -> None:
    assert choose_device("cpu") == "cpu"
    assert choose_device("cuda") == "cuda"


@pytest.mark.parametrize("setting, dev, expected", [
    ("default", "cpu", "int8"),
    ("default", "cuda", "float16"),
    ("int8_float16", "cuda", "int8_float16"),
    ("float32", "cpu", "float32"),
])
def test_compute_type(setting: str, dev: str, expected: str) -> None:
    assert choose_compute_type(setting, dev) == expected


def test_engine_reports_its_choice_without_loading(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path) -> None:
    monkeypatch.setattr(device.ctranslate2, "get_cuda_device_count", lambda: 1)
    engine = Engine(Settings(data_dir=tmp_path, device="auto", compute_type="default"))
    info = engine.info()
    assert (info["device"], info["compute_type"]) == ("cuda", "float16")
    assert info["loaded"] == [] and not engine.ready
