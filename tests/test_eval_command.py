"""`whisperd eval` end to end on a small manifest of real recordings (tiny.en).

The report's numbers are recomputed here from its own hypothesis texts and segments
with independent code (jiwer on Whisper-normalized text, a 1 ms time grid), so a
bug in the eval's arithmetic cannot hide behind itself. tiny.en suffices: what is
tested is the measuring, not the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
import pytest
from click.testing import CliRunner
from whisper_normalizer.english import EnglishTextNormalizer

from whisperd.eval.commands import eval_command
from whisperd.eval.systems import BARE, BATCHED, WHISPERD

IDS = ("en_jfk_inaugural", "silence_digital_20s", "en_gaps_librispeech_25s_noise")


@pytest.fixture(scope="module")
def small_manifest(tmp_path_factory: pytest.TempPathFactory, manifest: dict[str, Any],
                   recording: Any) -> Path:
    """A manifest elsewhere, pointing at the real recordings by absolute path."""
    path = tmp_path_factory.mktemp("eval") / "manifest.jsonl"
    lines = [json.dumps({**manifest[i], "file": str(recording(i))}) for i in IDS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run(small_manifest: Path, engine: Any, settings: Any) -> tuple[Any, dict[str, Any]]:
    out = small_manifest.parent / "report.json"
    result = CliRunner().invoke(
        eval_command,
        ["--manifest", str(small_manifest), "--model", "tiny.en", "--json-out", str(out),
         "--with-batched"],
        obj={"engine": engine, "settings": settings},
    )
    assert result.exit_code == 0, result.output
    return result, json.loads(out.read_text(encoding="utf-8"))


def _item(report: dict[str, Any], item_id: str) -> dict[str, Any]:
    return next(i for i in report["items"] if i["id"] == item_id)


def test_report_covers_every_item_and_system(run: tuple[Any, dict[str, Any]]) -> None:
    _, report = run
    assert report["systems"] == [WHISPERD, BARE, BATCHED]
    assert report["model"] == "tiny.en"
    assert sorted(i["id"] for i in report["items"]) == sorted(IDS)
    for item in report["items"]:
        assert set(item["results"]) == {WHISPERD, BARE, BATCHED}
        for r in item["results"].values():
            assert r["rtf"] == pytest.approx(r["wall_s"] / item["duration_s"], abs=1e-3)


def test_wer_matches_an_independent_computation(run: tuple[Any, dict[str, Any]],
                                                manifest: dict[str, Any]) -> None:
    _, report = run
    normalize = EnglishTextNormalizer()
    for item_id in ("en_jfk_inaugural", "en_gaps_librispeech_25s_noise"):
        item = _item(report, item_id)
        for r in item["results"].values():
            expected = jiwer.wer(normalize(manifest[item_id]["reference"]), normalize(r["text"]))
            assert r["metric"] == "wer"
            assert r["error_rate"] == pytest.approx(expected, abs=1e-4)
            assert r["language_correct"] is (r["detected_language"] == "en")
    # The JFK quotation is easy: a measure far off zero means the scoring is broken.
    assert _item(report, "en_jfk_inaugural")["results"][WHISPERD]["error_rate"] < 0.2


def test_words_on_silence_are_the_output_tokens(run: tuple[Any, dict[str, Any]]) -> None:
    _, report = run
    for r in _item(report, "silence_digital_20s")["results"].values():
        assert r["words"] == len(r["text"].split())
        assert r["error_rate"] is None


def test_pause_overlap_matches_a_time_grid(run: tuple[Any, dict[str, Any]]) -> None:
    _, report = run
    item = _item(report, "en_gaps_librispeech_25s_noise")
    assert len(item["pauses"]) == 2
    grid = np.arange(0.0, item["duration_s"] + 1.0, 0.001)
    for r in item["results"].values():
        shown = np.zeros_like(grid, dtype=bool)
        for s in r["segments"]:
            shown |= (grid >= s["start"]) & (grid < s["end"])
        expected = [float(shown[(grid >= a) & (grid < b)].sum()) * 0.001 for a, b in item["pauses"]]
        assert r["pause_overlap_s"] == pytest.approx(expected, abs=0.01)
        assert len(r["segment_start_error_s"]) == 3


def test_kind_summary_pools_the_items(run: tuple[Any, dict[str, Any]]) -> None:
    _, report = run
    gaps = _item(report, "en_gaps_librispeech_25s_noise")
    for system in (WHISPERD, BARE):
        r = gaps["results"][system]
        summary = report["kinds"]["gaps"][system]
        assert summary["wer"] == pytest.approx(r["errors"] / r["reference_length"], abs=1e-4)
        assert summary["max_pause_overlap_s"] == pytest.approx(max(r["pause_overlap_s"]))
        silence = _item(report, "silence_digital_20s")["results"][system]
        assert report["kinds"]["silence"][system]["words_on_silence"] == silence["words"]


def test_targets_are_judged_and_printed(run: tuple[Any, dict[str, Any]]) -> None:
    result, report = run
    by_name = {t["name"]: t for t in report["targets"]}
    silent = next(t for name, t in by_name.items() if name.startswith("zero words"))
    words = _item(report, "silence_digital_20s")["results"][WHISPERD]["words"]
    assert silent["passed"] is (words == 0)
    multilingual = next(t for name, t in by_name.items() if name.startswith("mixed-language"))
    assert multilingual["passed"] is None  # no multilingual recording in this manifest
    for target in report["targets"]:
        mark = {True: "PASS", False: "FAIL", None: "SKIP"}[target["passed"]]
        assert f"{mark}  {target['name']}" in result.output
    assert "| en_jfk_inaugural" in result.output


def test_unknown_id_is_a_clear_error(small_manifest: Path, engine: Any, settings: Any) -> None:
    result = CliRunner().invoke(
        eval_command, ["--manifest", str(small_manifest), "--ids", "no_such_clip"],
        obj={"engine": engine, "settings": settings},
    )
    assert result.exit_code != 0
    assert "no_such_clip" in result.output
