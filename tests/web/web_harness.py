"""Serving the real app and launching Chromium, shared by the browser tests
(conftest.py) and the README screenshot script (take_screenshot.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from live_server import serve

from whisperd.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")

# Never download a browser and never talk to Google's services: tests run offline.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Let a click on a segment start playback without a real user gesture.
    "--autoplay-policy=no-user-gesture-required",
    # A fake microphone (fed with a file by --use-file-for-fake-audio-capture) and no
    # permission prompt: a test machine has no sound card and no one to click "Allow".
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


@contextmanager
def running_app(settings: Settings, engine: Any) -> Iterator[str]:
    """The real app around a loaded engine, with its in-process job worker; yields its URL."""
    from whisperd.app import create_app
    from whisperd.services import EXTENSION_KEY

    app = create_app(settings, engine=engine)
    try:
        with serve(app) as base_url:
            yield base_url
    finally:
        jobs = app.extensions[EXTENSION_KEY].jobs
        if jobs is not None:
            jobs.close()
