"""The eval's measures on hand-written inputs: no model, no audio."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from whisperd.errors import InvalidRequest
from whisperd.eval import metrics
from whisperd.eval.manifest import Part, Pause, default_manifest, load_manifest, select
from whisperd.eval.systems import Span


def test_english_normalization_drops_case_punctuation_fillers_and_annotations() -> None:
    rate = metrics.error_rate(
        "uh so this is [adif] the <VOCNOISE> Sick Corpus, um.", "So this is the sick corpus", "en"
    )
    assert (rate.metric, rate.errors, rate.reference_length) == ("wer", 0, 6)


def test_wer_counts_substitutions_deletions_insertions() -> None:
    rate = metrics.error_rate("he could wait no longer", "he could not wait longer now", "en")
    # "he could [+not] wait [-no] longer [+now]": two insertions and one deletion.
    assert rate.errors == 3
    assert rate.value == pytest.approx(3 / 5)


def test_japanese_and_korean_are_scored_by_characters() -> None:
    rate = metrics.error_rate("客観的実在の判断", "客観的実在は判断", "ja")
    assert (rate.metric, rate.errors, rate.reference_length) == ("cer", 1, 8)
    assert metrics.metric_for("ko") == "cer"
    assert metrics.metric_for("de") == "wer"


def test_empty_hypothesis_is_all_deletions() -> None:
    rate = metrics.error_rate("cats and dogs", "", "en")
    assert (rate.errors, rate.reference_length, rate.value) == (3, 3, 1.0)


def test_pooled_rate_is_total_errors_over_total_words() -> None:
    pooled = metrics.pooled([metrics.ErrorRate("wer", 1, 10), metrics.ErrorRate("wer", 3, 2)])
    assert pooled is not None and pooled.value == pytest.approx(4 / 12)
    assert metrics.pooled([]) is None


def test_subtitle_over_pauses_merges_overlapping_segments() -> None:
    segments = [Span(0.0, 10.3, "a"), Span(10.1, 10.6, "b"), Span(34.5, 40.0, "c")]
    overlap = metrics.subtitle_over_pauses(segments, [Pause(10.0, 35.0), Pause(40.0, 60.0)])
    assert overlap == [pytest.approx(0.6 + 0.5), 0.0]


def test_segment_start_error_uses_segments_touching_the_part() -> None:
    parts = [Part(0.0, 10.0, "x"), Part(35.0, 40.0, "y"), Part(60.0, 65.0, "z")]
    # The second segment starts in the pause and runs into the second part.
    segments = [Span(0.2, 9.8, "x"), Span(20.0, 39.0, "y")]
    errors = metrics.segment_start_errors(segments, parts)
    assert errors == [pytest.approx(0.2), pytest.approx(15.0), None]


def test_text_per_part_assigns_by_midpoint() -> None:
    parts = [Part(0.0, 5.0, "hello", "en"), Part(6.0, 11.0, "hallo", "de")]
    segments = [Span(0.0, 4.0, " Hello"), Span(5.1, 5.6, " there"), Span(6.5, 10.0, " Hallo")]
    assert metrics.text_per_part(segments, parts) == ["Hello there", "Hallo"]


def test_manifest_resolves_relative_files_and_pauses(tmp_path: Path) -> None:
    entry = {"id": "g", "file": "audio/g.wav", "language": "en", "duration_s": 70.0,
             "reference": "a b", "kind": "gaps",
             "segments": [{"id": "1", "start_s": 0, "end_s": 10, "text": "a"},
                          {"id": "2", "start_s": 35, "end_s": 40, "text": "b"}]}
    mixed = {"id": "mixed_en_de_fasterwhisper", "file": "/abs/m.mp3", "language": "mixed",
             "duration_s": 60.0, "reference": None, "kind": "multilingual"}
    path = tmp_path / "manifest.jsonl"
    path.write_text(json.dumps(entry) + "\n\n" + json.dumps(mixed) + "\n", encoding="utf-8")
    items = load_manifest(path)
    assert items[0].path == tmp_path / "audio" / "g.wav"
    assert [(p.start_s, p.end_s) for p in items[0].pauses] == [(10.0, 35.0)]
    assert items[1].path == Path("/abs/m.mp3")
    assert items[1].languages == ("en", "de")
    assert [i.item_id for i in select(items, kinds=["gaps"])] == ["g"]
    with pytest.raises(InvalidRequest, match="nope"):
        select(items, ids=["nope"])


def test_malformed_manifest_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    path.write_text('{"id": "x"}\n', encoding="utf-8")
    with pytest.raises(InvalidRequest, match="manifest.jsonl:1"):
        load_manifest(path)


def test_default_manifest_prefers_the_setting(tmp_path: Path) -> None:
    (tmp_path / "shared" / "eval").mkdir(parents=True)
    (tmp_path / "shared" / "eval" / "manifest.jsonl").write_text("", encoding="utf-8")
    assert default_manifest(None, tmp_path) == tmp_path / "shared" / "eval" / "manifest.jsonl"
    assert default_manifest(Path("/x"), tmp_path) == Path("/x/manifest.jsonl")
    with pytest.raises(InvalidRequest):
        default_manifest(None, tmp_path / "elsewhere" / "deep")
