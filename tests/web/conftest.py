"""Fixtures for the web page tests: Debian's Chromium driven by Playwright, and the
real whisperd app (real model, jobs in SQLite) served on loopback by werkzeug.

Nothing is mocked. Chromium's fake media flags stand in for a microphone, fed with a
real evaluation recording; a test machine has no sound card.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from web_harness import CHROMIUM, CHROMIUM_ARGS, running_app

from whisperd.settings import Settings

# The recording Chromium's fake microphone plays (16 kHz mono 16-bit PCM WAV, as the
# flag needs): "Mr. Quilter is the apostle of the middle classes ...".
MIC_RECORDING = "en_librispeech_1272-128104-0000"


@pytest.fixture(scope="session")
def browser(recording: Callable[[str], Path]) -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); browser tests need it")
    from playwright.sync_api import sync_playwright

    args = CHROMIUM_ARGS + [f"--use-file-for-fake-audio-capture={recording(MIC_RECORDING)}"]
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context and page; fails the test on any uncaught script error."""
    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def on_console(message: Any) -> None:
        # Chromium logs every 4xx/5xx answer ("Failed to load resource"), and the tests
        # provoke those on purpose; anything else (a CSP violation, say) is a bug.
        if message.type == "error" and "Failed to load resource" not in message.text:
            errors.append(message.text)

    page.on("console", on_console)
    yield page
    context.close()
    assert not errors, f"errors on the page: {errors}"


@pytest.fixture(scope="session")
def app_server(engine: Any) -> Callable[[Settings], Any]:
    """app_server(settings) -> context manager serving a real app; yields its URL."""
    return lambda app_settings: running_app(app_settings, engine)


@pytest.fixture(scope="module")
def live_server(
    settings: Settings, engine: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One real whisperd per test module, with its own job database."""
    app_settings = settings.replace(data_dir=tmp_path_factory.mktemp("web-data"))
    with running_app(app_settings, engine) as base_url:
        yield base_url
