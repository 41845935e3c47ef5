"""Which device and compute type CTranslate2 runs on."""

from __future__ import annotations

import ctranslate2


def cuda_device_count() -> int:
    # A CPU-only CTranslate2 build or a missing driver raises instead of returning 0.
    try:
        return int(ctranslate2.get_cuda_device_count())
    except RuntimeError:
        return 0


def choose_device(setting: str) -> str:
    """"auto" means CUDA when CTranslate2 sees a GPU, else CPU."""
    if setting == "auto":
        return "cuda" if cuda_device_count() > 0 else "cpu"
    return setting


def choose_compute_type(setting: str, device: str) -> str:
    """"default" means int8 on CPU (fast, small) and float16 on CUDA."""
    if setting == "default":
        return "float16" if device == "cuda" else "int8"
    return setting
