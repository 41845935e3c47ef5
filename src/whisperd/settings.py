"""All configuration, read once from ``WHISPERD_*`` environment variables.

``Settings.from_env()`` is the only code in whisperd that reads ``os.environ``.
Every value has an explicit type; a malformed value raises ``SettingsError``
naming the variable, so a typo stops start-up instead of being ignored.
Tests build ``Settings(...)`` directly.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from whisperd.errors import SettingsError

ENV_PREFIX = "WHISPERD_"

DEVICES = ("auto", "cpu", "cuda")
COMPUTE_TYPES = (
    "default", "auto", "int8", "int8_float16", "int8_float32", "int8_bfloat16",
    "int16", "float16", "bfloat16", "float32",
)


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("whisperd", appauthor=False))


@dataclass(frozen=True)
class Settings:
    # --- server ---
    host: str = "127.0.0.1"
    port: int = 8000
    # Longest a synchronous request may run before the WSGI server gives up on it (s).
    # An hour, so that clients such as Bazarr can hold one request for a whole film.
    request_timeout_s: int = 3600

    # --- model and engine ---
    # Model served by default and by the alias "whisper-1": an embedded name
    # ("base", "tiny.en"), a hub name ("large-v3", ...) or a local folder.
    model: str = "base"
    device: str = "auto"  # auto | cpu | cuda
    # "default" means int8 on CPU and float16 on CUDA.
    compute_type: str = "default"
    # CTranslate2 threads per transcription; 0 lets CTranslate2 choose.
    cpu_threads: int = 0
    # Model cache and state (jobs database, reassembled embedded models).
    data_dir: Path = field(default_factory=default_data_dir)
    # Whether hub names may be downloaded. Off, they load only from the local cache.
    allow_download: bool = True
    # Seconds to wait for the model hub before declaring a hub model unavailable.
    hub_timeout_s: float = 5.0
    # Whether this process loads a model at all. An API server in front of a pool of
    # GPU workers sets it false and forwards every transcription through the queue.
    local_model: bool = True
    # Batch size of the batched inference pipeline used for long audio.
    batch_size: int = 8

    # --- concurrency and limits ---
    max_concurrency: int = 2  # transcriptions run at once in this process
    max_queue: int = 8  # requests allowed to wait for a free slot; beyond it: 429
    max_upload_bytes: int = 1024 * 1024 * 1024  # 1 GiB
    max_sync_duration_s: float = 3 * 3600.0  # longest audio a synchronous request takes
    # Longest audio a job takes. A worker holds the decoded audio in memory
    # (16 kHz float32: 230 MB per hour), so 10 h needs about 2.3 GB.
    max_job_duration_s: float = 10 * 3600.0
    decode_timeout_s: float = 600.0  # longest time decoding one upload may take

    # --- jobs ---
    # None: SQLite under data_dir (embedded). "redis://host:port/db": distributed.
    queue_url: str | None = None
    # Whether `whisperd serve` runs job workers in-process (only with a local model).
    inprocess_worker: bool = True
    worker_concurrency: int = 1
    job_lease_s: float = 60.0
    job_retention_s: float = 7 * 24 * 3600.0
    job_max_attempts: int = 3
    # Callbacks may target loopback/private addresses only when this is on.
    callback_allow_private: bool = False

    # --- security and observability ---
    api_keys: tuple[str, ...] = ()
    api_keys_file: Path | None = None
    log_level: str = "INFO"
    # Transcript text is kept out of the logs unless this is on.
    log_transcripts: bool = False

    # --- evaluation ---
    # Folder holding manifest.jsonl for `whisperd eval` / `bench`; None: ./shared/eval
    # or ../shared/eval, whichever exists (the layout of this project's checkout).
    eval_dir: Path | None = None

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            name = ENV_PREFIX + f.name.upper()
            raw = env.get(name)
            if raw is None or raw.strip() == "":
                continue
            parse = _PARSERS.get(f.name) or _parser_for(f.type)
            try:
                values[f.name] = parse(raw.strip())
            except (ValueError, TypeError) as e:
                raise SettingsError(f"{name}={raw!r} is not valid: {e}") from e
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        checks: list[tuple[str, bool, str]] = [
            ("PORT", 0 < self.port < 65536, "must be between 1 and 65535"),
            ("DEVICE", self.device in DEVICES, f"must be one of {', '.join(DEVICES)}"),
            ("COMPUTE_TYPE", self.compute_type in COMPUTE_TYPES,
             f"must be one of {', '.join(COMPUTE_TYPES)}"),
            ("MAX_CONCURRENCY", self.max_concurrency >= 1, "must be at least 1"),
            ("MAX_QUEUE", self.max_queue >= 0, "must be 0 or more"),
            ("CPU_THREADS", self.cpu_threads >= 0, "must be 0 or more"),
            ("BATCH_SIZE", self.batch_size >= 1, "must be at least 1"),
            ("MAX_UPLOAD_BYTES", self.max_upload_bytes > 0, "must be positive"),
            ("MAX_SYNC_DURATION_S", self.max_sync_duration_s > 0, "must be positive"),
            ("MAX_JOB_DURATION_S", self.max_job_duration_s > 0, "must be positive"),
            ("JOB_LEASE_S", self.job_lease_s > 0, "must be positive"),
            ("WORKER_CONCURRENCY", self.worker_concurrency >= 1, "must be at least 1"),
            ("LOG_LEVEL", self.log_level.upper() in
             ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), "must be a logging level"),
            ("QUEUE_URL", self.queue_url is None
             or self.queue_url.startswith(("redis://", "rediss://", "unix://", "sqlite://")),
             "must start with redis://, rediss://, unix:// or sqlite://"),
            ("LOCAL_MODEL", self.local_model or self.queue_url is not None,
             "false needs WHISPERD_QUEUE_URL, so that workers elsewhere can serve"),
        ]
        for var, ok, message in checks:
            if not ok:
                raise SettingsError(f"{ENV_PREFIX}{var} {message}")

    def load_api_keys(self) -> frozenset[str]:
        """Keys from WHISPERD_API_KEYS plus those in WHISPERD_API_KEYS_FILE, one per line."""
        keys = set(self.api_keys)
        if self.api_keys_file is not None:
            try:
                text = self.api_keys_file.read_text(encoding="utf-8")
            except OSError as e:
                raise SettingsError(f"{ENV_PREFIX}API_KEYS_FILE cannot be read: {e}") from e
            keys.update(line.strip() for line in text.splitlines())
        keys.discard("")
        return frozenset(keys)


def _parse_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true/false, 1/0, yes/no or on/off")


def _parse_csv(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _parser_for(type_name: Any) -> Callable[[str], Any]:
    # Field annotations are strings under `from __future__ import annotations`.
    text = str(type_name)
    if text.startswith("bool"):
        return _parse_bool
    if text.startswith("int"):
        return int
    if text.startswith("float"):
        return float
    if text.startswith("Path"):
        return lambda raw: Path(raw).expanduser()
    if text.startswith("tuple"):
        return _parse_csv
    return str


_PARSERS: dict[str, Callable[[str], Any]] = {
    "device": str.lower,
    "compute_type": str.lower,
}
