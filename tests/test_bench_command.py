"""`whisperd bench` smoke tests: structure and arithmetic of the report, no speed claims.

The HTTP rows go to the real app served over loopback from a thread, around the
session's engine (tiny.en), so no second model is loaded; `whisperd bench` without
a service would start `whisperd serve` as a child process instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from whisperd.eval.commands import bench_command
from whisperd.eval.service import Service, inprocess_service
from whisperd.eval.systems import BARE, BATCHED, WHISPERD

CLIP = "en_librispeech_1089-134686-0001"  # 3.3 s
MODEL = "tiny.en"


@pytest.fixture(scope="module")
def service(settings: Any, engine: Any, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Service]:
    from whisperd.app import create_app

    app_settings = settings.replace(data_dir=tmp_path_factory.mktemp("bench-data"),
                                    inprocess_worker=False)
    with inprocess_service(create_app(app_settings, engine=engine)) as running:
        yield running


def _invoke(args: list[str], engine: Any, settings: Any, service: Service) -> Any:
    return CliRunner().invoke(
        bench_command, ["--model", MODEL, *args],
        obj={"engine": engine, "settings": settings, "service": service},
    )


def test_bench_rows_and_ratios_come_from_its_own_timings(
    engine: Any, settings: Any, service: Service, recording: Any, tmp_path: Path
) -> None:
    out = tmp_path / "bench.json"
    result = _invoke(["--audio", str(recording(CLIP)), "--runs", "1", "--clients", "2",
                      "--json-out", str(out)], engine, settings, service)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    rows = {r["mode"]: r for r in report["rows"]}
    assert set(rows) == {BARE, BATCHED, WHISPERD, "http", "http x2"}
    bare = rows[BARE]
    for row in rows.values():
        assert row["input"] == recording(CLIP).name
        assert row["wall_s"] > 0
        assert row["rtf"] == pytest.approx(row["wall_s"] / row["audio_s"], abs=1e-3)
        assert row["throughput"] == pytest.approx(row["audio_s"] / row["wall_s"], rel=1e-2)
        assert row["vs_bare"]["wall"] == pytest.approx(row["wall_s"] / bare["wall_s"], abs=2e-3)
        assert row["vs_bare"]["throughput"] == pytest.approx(
            row["throughput"] / bare["throughput"], abs=2e-3)
        assert row["peak_rss_mb"] > 0
    burst = rows["http x2"]
    assert burst["statuses"] == {"200": 2}
    assert burst["audio_s"] == pytest.approx(2 * bare["audio_s"])
    assert len(report["targets"]) == 3
    assert "| faster-whisper" in result.output


def test_load_mode_counts_every_response(
    engine: Any, settings: Any, service: Service, recording: Any, tmp_path: Path
) -> None:
    out = tmp_path / "load.json"
    result = _invoke(["--load", "--audio", str(recording(CLIP)), "--requests", "4",
                      "--clients", "2", "--json-out", str(out)], engine, settings, service)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert sum(report["statuses"].values()) == 4
    assert set(report["statuses"]) <= {"200", "429"}
    latency = report["latency_all_s"]
    assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"]
    assert report["rss_after_warmup_mb"] > 0 and report["rss_after_mb"] > 0
    # The warm-up level is the highest of its samples; the last sample of the run is "after".
    assert report["rss_after_warmup_mb"] == max(report["rss_warmup_samples_mb"])
    assert report["rss_after_mb"] == report["rss_during_mb"][-1]
    assert len(report["rss_during_mb"]) == 4  # 4 requests in 4 slices
    assert report["targets"][0]["passed"] is True
