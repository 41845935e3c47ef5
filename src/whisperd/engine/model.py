"""Engine: the process's loaded Whisper model(s); samples + options -> Transcript.

The default model is loaded by an explicit ``load()``; a model that a request names
(``options.model``) is loaded on first use, once, and kept. One ``WhisperModel`` is
shared by every thread: CTranslate2 runs ``num_workers`` calls in parallel on it, so
it is sized for the synchronous requests plus the in-process job workers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from faster_whisper import WhisperModel

from whisperd.allocator import release_free_memory
from whisperd.engine import pipeline
from whisperd.engine.device import choose_compute_type, choose_device
from whisperd.engine.options import TranscriptionOptions
from whisperd.engine.registry import ALIASES, ModelRegistry
from whisperd.errors import ModelNotFound, ServiceUnavailable
from whisperd.settings import Settings
from whisperd.transcript import Transcript

logger = logging.getLogger(__name__)

Progress = Callable[[float, float], None]


@dataclass(frozen=True)
class ModelInfo:
    name: str
    source: str  # "embedded" | "hub" | "folder"
    available_offline: bool
    loaded: bool
    multilingual: bool
    default: bool


@dataclass(frozen=True)
class _Loaded:
    model: WhisperModel
    path: Path
    load_seconds: float


class Engine:
    def __init__(self, settings: Settings, *, registry: ModelRegistry | None = None) -> None:
        self.settings = settings
        self.registry = registry if registry is not None else ModelRegistry(settings)
        self.device = choose_device(settings.device)
        self.compute_type = choose_compute_type(settings.compute_type, self.device)
        self._models: dict[str, _Loaded] = {}
        self._lock = threading.Lock()
        # One lock per model name, so that loading large-v3 does not block requests
        # on the already loaded default model, and two requests never load it twice.
        self._load_locks: dict[str, threading.Lock] = {}
        self._closed = False

    # --- loading -------------------------------------------------------------

    def load(self, model: str | None = None) -> None:
        """Load ``model`` (default: settings.model). Blocking, idempotent, thread-safe."""
        self._get(self.resolve_model_name(model))

    def close(self) -> None:
        with self._lock:
            self._models.clear()
            self._closed = True

    @property
    def ready(self) -> bool:
        return self.settings.model in self._models

    def info(self) -> dict[str, Any]:
        default = self._models.get(self.settings.model)
        return {
            "model": self.settings.model,
            "device": self.device,
            "compute_type": self.compute_type,
            "loaded": list(self._models),
            "load_seconds": None if default is None else round(default.load_seconds, 3),
        }

    def resolve_model_name(self, name: str | None) -> str:
        """None, "" and "whisper-1" mean the default; an unknown name raises ModelNotFound."""
        if name is None or name.strip() == "" or name.strip() in ALIASES:
            return self.settings.model
        name = name.strip()
        if name in self._models or self.registry.kind_of(name) is not None:
            return name
        raise self.registry.unknown(name)

    def list_models(self) -> list[ModelInfo]:
        names = self.registry.known_names()
        for extra in (self.settings.model, *self._models):
            if extra not in names:
                names.append(extra)
        infos = []
        for name in names:
            kind = self.registry.kind_of(name) or "folder"
            offline = kind != "hub" or self.registry.hub.cached(name) is not None
            infos.append(ModelInfo(
                name=name,
                source=kind,
                available_offline=offline,
                loaded=name in self._models,
                multilingual=self._multilingual(name),
                default=name == self.settings.model,
            ))
        return infos

    def whisper_model(self, name: str | None = None) -> WhisperModel:
        """The bare faster-whisper model (loaded on first use), e.g. for side-by-side benchmarks."""
        return self._get(self.resolve_model_name(name)).model

    # --- work ----------------------------------------------------------------

    def transcribe(
        self,
        audio: np.ndarray,
        options: TranscriptionOptions,
        *,
        progress: Progress | None = None,
    ) -> Transcript:
        """Transcribe float32 mono 16 kHz samples; see whisperd.engine.pipeline."""
        name = self.resolve_model_name(options.model)
        loaded = self._get(name)
        started = time.monotonic()
        try:
            transcript = pipeline.transcribe(
                loaded.model, audio, options.validated(),
                batch_size=self.settings.batch_size, progress=progress, model_name=name,
            )
        finally:
            # Without this a busy server's RSS creeps up request after request.
            release_free_memory()
        logger.info("transcribed %.1f s of audio with %s in %.2f s (%d segments)",
                    transcript.duration, name, time.monotonic() - started,
                    len(transcript.segments))
        return transcript

    def detect_language(
        self, audio: np.ndarray, options: TranscriptionOptions
    ) -> list[tuple[str, float]]:
        """Top ``options.language_top_k`` (code, probability), most probable first."""
        loaded = self._get(self.resolve_model_name(options.model))
        return pipeline.detect_language(loaded.model, audio, options.validated())

    # --- internals -------------------------------------------------------------

    def _multilingual(self, name: str) -> bool:
        loaded = self._models.get(name)
        if loaded is not None:
            return bool(loaded.model.model.is_multilingual)
        return self.registry.is_multilingual(name)

    def _get(self, name: str) -> _Loaded:
        loaded = self._models.get(name)
        if loaded is not None:
            return loaded
        with self._lock:
            if self._closed:
                raise ServiceUnavailable("The engine is shut down.")
            lock = self._load_locks.setdefault(name, threading.Lock())
        with lock:
            loaded = self._models.get(name)
            if loaded is None:
                loaded = self._load(name)
                with self._lock:
                    self._models[name] = loaded
        return loaded

    def _load(self, name: str) -> _Loaded:
        started = time.monotonic()
        resolved = self.registry.resolve(name)
        try:
            model = WhisperModel(
                str(resolved.path),
                device=self.device,
                compute_type=self.compute_type,
                cpu_threads=self.settings.cpu_threads,
                num_workers=self.settings.max_concurrency + self.settings.worker_concurrency,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as e:
            raise ModelNotFound(f"Model {name!r} at {resolved.path} cannot be loaded: {e}",
                                param="model") from e
        seconds = time.monotonic() - started
        logger.info("loaded model %s (%s, %s) on %s/%s in %.2f s", name, resolved.source,
                    resolved.path, self.device, self.compute_type, seconds)
        return _Loaded(model, resolved.path, seconds)
