"""A real whisperd app served over HTTP on loopback, around the session's engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import serve

from whisperd.app import create_app
from whisperd.settings import Settings


@pytest.fixture(scope="session")
def api_settings(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # Jobs state in a folder of its own; the model cache stays the session's.
    return settings.replace(inprocess_worker=False)


@pytest.fixture(scope="session")
def api_app(api_settings: Settings, engine: Any) -> Any:
    return create_app(api_settings, engine=engine)


@pytest.fixture(scope="session")
def base_url(api_app: Any) -> Iterator[str]:
    with serve(api_app) as url:
        yield url


@pytest.fixture()
def client(api_app: Any) -> Any:
    return api_app.test_client()


def read(path: Path) -> bytes:
    return path.read_bytes()
