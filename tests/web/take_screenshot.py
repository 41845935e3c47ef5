"""Make the README screenshot: the page with a finished transcript, at desktop width.

    python3 tests/web/take_screenshot.py [--out docs/screenshot.png] [--phone /tmp/phone.png]

Runs the real app and model on a real evaluation recording, as the browser tests do;
look at the result before committing it. --phone also saves a 390 px wide capture,
to check the layout on a phone.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path

from web_harness import CHROMIUM, CHROMIUM_ARGS, running_app

from whisperd.engine.model import Engine
from whisperd.settings import Settings

log = logging.getLogger("take_screenshot")

REPO_ROOT = Path(__file__).resolve().parents[2]
EVAL_DIR = REPO_ROOT.parent / "shared" / "eval"
# Four languages in 29 s: shows per-segment language detection as well.
RECORDING = "mixed_en_de_fr_es_concat"
DESKTOP_SIZE = (1200, 900)
PHONE_SIZE = (390, 844)


def recording_path(recording_id: str) -> Path:
    for line in (EVAL_DIR / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip() and json.loads(line)["id"] == recording_id:
            return EVAL_DIR / json.loads(line)["file"]
    raise SystemExit(f"{recording_id} is not in {EVAL_DIR / 'manifest.jsonl'}")


def capture(base_url: str, audio: Path, out: Path, phone: Path | None) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        width, height = DESKTOP_SIZE
        page = browser.new_page(viewport={"width": width, "height": height}, color_scheme="light")
        page.goto(base_url + "/")
        page.set_input_files("#file-input", str(audio))
        page.click("#start-button")
        page.wait_for_selector("#segments li.segment", timeout=180_000)
        page.wait_for_selector("#player[src]")
        page.wait_for_timeout(500)  # let the player read the audio's duration
        # Show a segment being played, as a person would see it.
        second = page.locator("#segments li.segment").nth(1)
        second.click()
        page.wait_for_timeout(400)
        page.evaluate("document.getElementById('player').pause()")
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(out), full_page=True)
        log.info("wrote %s", out)
        if phone is not None:
            width, height = PHONE_SIZE
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=str(phone), full_page=True)
            log.info("wrote %s", phone)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "screenshot.png")
    parser.add_argument("--phone", type=Path, default=None)
    parser.add_argument("--recording", default=RECORDING)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    with tempfile.TemporaryDirectory(prefix="whisperd-shot-") as data_dir:
        settings = Settings(data_dir=Path(data_dir), model="base", device="cpu",
                            compute_type="int8", allow_download=False)
        engine = Engine(settings)
        engine.load()
        try:
            with running_app(settings, engine) as base_url:
                capture(base_url, recording_path(args.recording), args.out, args.phone)
        finally:
            engine.close()


if __name__ == "__main__":
    main()
