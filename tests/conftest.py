"""Shared fixtures: the evaluation recordings, settings, and one Engine per test session.

The real models (bundled ``base`` and ``tiny.en``) are loaded at most once per
session, by the session-scoped ``engine`` fixture; every test that transcribes
shares it. Nothing here talks to a model hub: settings forbid downloads.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from whisperd.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
# The evaluation set lives beside the repository (../shared/eval); a setting may move it.
EVAL_DIR = Path(os.environ.get("WHISPERD_EVAL_DIR", REPO_ROOT.parent / "shared" / "eval"))


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's WHISPERD_* variables out of the tests."""
    for name in list(os.environ):
        if name.startswith("WHISPERD_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    if not (EVAL_DIR / "manifest.jsonl").is_file():
        pytest.fail(f"evaluation set not found at {EVAL_DIR} (set WHISPERD_EVAL_DIR)")
    return EVAL_DIR


@pytest.fixture(scope="session")
def manifest(eval_dir: Path) -> dict[str, dict[str, Any]]:
    entries = {}
    for line in (eval_dir / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            entries[entry["id"]] = entry
    return entries


@pytest.fixture(scope="session")
def recording(eval_dir: Path, manifest: dict[str, dict[str, Any]]):
    """recording(id) -> path of that evaluation recording."""

    def path_of(recording_id: str) -> Path:
        return eval_dir / manifest[recording_id]["file"]

    return path_of


@pytest.fixture(scope="session")
def session_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("whisperd-data")


@pytest.fixture(scope="session")
def settings(session_data_dir: Path) -> Settings:
    """CPU, int8, the bundled base model, no hub access."""
    return Settings(
        data_dir=session_data_dir,
        model="base",
        device="cpu",
        compute_type="int8",
        allow_download=False,
        hub_timeout_s=2.0,
    )


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Any]:
    """The one Engine of the test session: base loaded now, tiny.en on first use."""
    from whisperd.engine.model import Engine

    eng = Engine(settings)
    eng.load()
    yield eng
    eng.close()
