"""The web page in a real browser against the real server and model.

Each browser test runs real transcriptions on the 2-core CPU, so there are few of them
and they use short clips (and tiny.en where the words are English).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from whisperd.languages import LANGUAGES
from whisperd.web.views import create_web_blueprint

TRANSCRIPT_TIMEOUT_MS = 120_000  # a cold model on a busy 2-core machine
SRT_CUE = re.compile(
    r"(\d+)\n(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})\n(.+?)(?:\n\n|\n?$)",
    re.DOTALL,
)


class _AssetLinks(HTMLParser):
    """Collects every URL the page would load by itself (scripts, styles, icons, media)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            if values.get("src"):
                self.urls.append(values["src"] or "")
            else:
                self.inline_scripts += 1
        elif tag == "link" and values.get("href"):
            self.urls.append(values["href"] or "")
        elif tag in ("img", "audio", "source", "video") and values.get("src"):
            self.urls.append(values["src"] or "")


def test_page_and_assets_are_served_locally() -> None:
    # Only the blueprint: the page must not need the engine or the job store to render.
    app = Flask(__name__)
    app.register_blueprint(create_web_blueprint())
    client = app.test_client()

    response = client.get("/")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp

    html = response.get_data(as_text=True)
    links = _AssetLinks()
    links.feed(html)
    assert links.inline_scripts == 0  # the CSP forbids them
    assert links.urls, "the page references its assets"
    for url in links.urls:
        assert url.startswith("/static/"), f"{url} is not served by whisperd"
        assert client.get(url).status_code == 200, url
    # The stylesheet and scripts must not pull anything from elsewhere either.
    for url in ["/static/web/style.css", *_module_urls(client, "/static/web/js/main.js")]:
        body = client.get(url).get_data(as_text=True)
        assert not re.search(r"https?://|@import|url\(", body), f"{url} loads outside assets"

    # Every Whisper language is offered, plus automatic detection.
    for code in LANGUAGES:
        assert f'<option value="{code}">' in html
    assert '<option value="">Detect automatically</option>' in html


def _module_urls(client: Any, entry: str) -> list[str]:
    """The entry script and every module it imports, transitively."""
    seen = [entry]
    for url in seen:
        body = client.get(url).get_data(as_text=True)
        assert body, url
        for name in re.findall(r'from "\./([\w.]+)"', body):
            imported = url.rsplit("/", 1)[0] + "/" + name
            if imported not in seen:
                seen.append(imported)
    return seen


def _wait_until(page: Any, expression: str, timeout_s: float = 10.0) -> None:
    """Poll a JS expression from Python. page.wait_for_function cannot be used: its
    polling evaluates strings inside the page, which the page's CSP (rightly) forbids."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for: {expression}")
        page.wait_for_timeout(100)


def _choose_model(page: Any, model: str) -> None:
    _wait_until(page, "[...document.querySelectorAll('#model-select option')].some(o => o.value)")
    values = page.eval_on_selector_all("#model-select option", "os => os.map(o => o.value)")
    if model in values:
        page.select_option("#model-select", model)


def _segment_texts(page: Any) -> str:
    return " ".join(page.eval_on_selector_all("#segments .text", "ts => ts.map(t => t.textContent)"))


def _parse_srt(text: str) -> list[tuple[float, float, str]]:
    cues = []
    for match in SRT_CUE.finditer(text.strip() + "\n"):
        g = match.groups()
        start = int(g[1]) * 3600 + int(g[2]) * 60 + int(g[3]) + int(g[4]) / 1000
        end = int(g[5]) * 3600 + int(g[6]) * 60 + int(g[7]) + int(g[8]) / 1000
        cues.append((start, end, g[9].strip()))
    return cues


@pytest.mark.slow
def test_upload_transcribe_download_and_play(
    page: Any, live_server: str, recording: Callable[[str], Path]
) -> None:
    page.goto(live_server + "/")
    _choose_model(page, "tiny.en")
    page.set_input_files("#file-input", str(recording("en_jfk_inaugural")))
    page.click("#start-button")

    page.wait_for_selector("#segments li.segment", timeout=TRANSCRIPT_TIMEOUT_MS)
    words = _segment_texts(page).lower()
    assert "ask not what your country can do for you" in words
    assert "english" in page.inner_text("#result-meta").lower()
    # The job id is in the address, so a person can come back to it.
    job_id = re.search(r"#job=([\w-]+)", page.url)
    assert job_id, page.url

    # Download SRT: a Blob download named after the upload, and a valid subtitle file.
    with page.expect_download() as download_info:
        page.click("[data-download=srt]")
    download = download_info.value
    assert download.suggested_filename == "en_jfk_inaugural.srt"
    cues = _parse_srt(Path(download.path()).read_text(encoding="utf-8"))
    assert cues, "the SRT has cues"
    assert [start for start, _, _ in cues] == sorted(start for start, _, _ in cues)
    assert all(start < end <= 12.0 for start, end, _ in cues)
    assert "country" in " ".join(text for _, _, text in cues).lower()

    # Selecting a segment seeks the player there and highlights it.
    segments = page.locator("#segments li.segment")
    target = segments.nth(segments.count() - 1)
    start = float(target.get_attribute("data-start") or "nan")
    assert start > 0.5, "the last segment does not start at 0"
    _wait_until(page, "document.getElementById('player').readyState >= 1")
    target.click()
    _wait_until(page, f"Math.abs(document.getElementById('player').currentTime - {start}) < 1.5")
    assert "playing" in (target.get_attribute("class") or "")

    # Keyboard: Enter on the first segment seeks back to its start.
    first = segments.nth(0)
    first.focus()
    page.keyboard.press("Enter")
    first_start = float(first.get_attribute("data-start") or "nan")
    _wait_until(page, f"Math.abs(document.getElementById('player').currentTime - {first_start}) < 1.5")

    # Coming back through the link (a new tab) shows the result with the server's audio.
    other = page.context.new_page()
    other.goto(page.url)
    other.wait_for_selector("#segments li.segment", timeout=30_000)
    assert "your country" in _segment_texts(other).lower()
    _wait_until(other, "document.getElementById('player').src.startsWith('blob:')")
    other.close()


@pytest.mark.slow
def test_non_audio_file_shows_the_api_error(
    page: Any, live_server: str, tmp_path: Path
) -> None:
    not_audio = tmp_path / "notes.mp3"
    not_audio.write_text("These are meeting notes, not a recording.\n" * 20, encoding="utf-8")
    page.goto(live_server + "/")
    page.set_input_files("#file-input", str(not_audio))
    page.click("#start-button")

    error = page.locator("#error")
    error.wait_for(state="visible", timeout=TRANSCRIPT_TIMEOUT_MS)
    message = error.inner_text()
    # The API's own explanation is shown, after the page's context.
    assert re.search(r"not accepted|failed", message), message
    assert re.search(r"audio|decod", message, re.IGNORECASE), message
    assert page.locator("#segments li.segment").count() == 0
    assert page.is_enabled("#start-button"), "a person can try another file"


@pytest.mark.slow
def test_microphone_recording_is_transcribed(page: Any, live_server: str) -> None:
    # Chromium's fake microphone plays MIC_RECORDING (see conftest) in a loop.
    page.goto(live_server + "/")
    _choose_model(page, "tiny.en")
    page.click("#record-button")
    _wait_until(page, "document.getElementById('record-button').getAttribute('aria-pressed') === 'true'")
    page.wait_for_timeout(6_500)  # one pass of the 5.9 s recording
    page.click("#record-button")
    _wait_until(page, "!document.getElementById('start-button').disabled")
    assert page.inner_text("#chosen-file").startswith("Recording")
    page.click("#start-button")

    page.wait_for_selector("#segments li.segment", timeout=TRANSCRIPT_TIMEOUT_MS)
    words = _segment_texts(page).lower()
    assert re.search(r"apostle|middle class|gospel", words), words


@pytest.mark.slow
def test_api_key_is_asked_for_and_sent(
    page: Any, settings: Any, app_server: Callable[[Any], Any], tmp_path: Path
) -> None:
    keyed = settings.replace(data_dir=tmp_path, api_keys=("web-test-key",))
    with app_server(keyed) as base_url:
        page.goto(base_url + "/")
        page.wait_for_selector("#auth-panel", state="visible")
        page.fill("#api-key", "wrong-key")
        page.click("#auth-form button[type=submit]")
        _wait_until(page, "document.getElementById('auth-message').textContent.includes('not accepted')")

        page.fill("#api-key", "web-test-key")
        page.click("#auth-form button[type=submit]")
        page.wait_for_selector("#auth-panel", state="hidden")
        # /v1/models answered with the key: the select holds real model names.
        _wait_until(page, "[...document.querySelectorAll('#model-select option')].some(o => o.value)")
        assert page.evaluate("sessionStorage.getItem('whisperd.apiKey')") == "web-test-key"


@pytest.mark.slow
def test_cancel_a_running_job(
    page: Any, live_server: str, recording: Callable[[str], Path]
) -> None:
    page.goto(live_server + "/")
    _choose_model(page, "tiny.en")
    page.set_input_files("#file-input", str(recording("en_long_ljspeech_LJ001-0001_0032")))
    page.click("#start-button")
    page.wait_for_selector("#cancel-button", state="visible")
    assert re.search(r"#job=[\w-]+", page.url), page.url
    page.click("#cancel-button")

    _wait_until(page, "document.getElementById('job-title').textContent === 'Cancelled'", 30)
    assert "cancelled" in page.inner_text("#status").lower()
    assert page.locator("#segments li.segment").count() == 0
    assert page.is_visible("#new-button")


@pytest.mark.slow
def test_unknown_job_and_lost_server_are_reported(
    page: Any, settings: Any, app_server: Callable[[Any], Any], tmp_path: Path
) -> None:
    with app_server(settings.replace(data_dir=tmp_path)) as base_url:
        page.goto(base_url + "/#job=job_does_not_exist")
        error = page.locator("#error")
        error.wait_for(state="visible")
        assert "no longer exists" in error.inner_text()
    # The server is gone now: following another job must say so and keep retrying.
    page.evaluate("location.hash = 'job=job_other'")
    _wait_until(page, "/Retrying in \\d+ s/.test(document.getElementById('status').textContent)")
    assert "reach the server" in page.inner_text("#status")


@pytest.mark.slow
def test_page_fits_a_phone_and_every_control_is_labelled(page: Any, live_server: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server + "/")
    _choose_model(page, "base")
    # Nothing wider than the screen: no sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input, select, button, textarea')]
             .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                          && !e.textContent.trim())
             .map(e => e.id || e.outerHTML)""")
    assert unlabelled == []
    # The first Tab stops on the skip link, the next ones reach the file picker.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "file-input":
            break
    assert page.evaluate("document.activeElement.id") == "file-input"
    assert page.get_attribute("#status", "aria-live") == "polite"
