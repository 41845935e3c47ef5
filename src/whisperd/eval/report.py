"""Plain-text tables of eval and bench reports (Markdown, so they paste into the README)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from whisperd.eval.systems import BARE, BATCHED, WHISPERD

SHORT = {WHISPERD: "wd", BARE: "fw", BATCHED: "fb"}


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    return "\n".join(lines)


def targets_text(targets: Sequence[dict[str, Any]]) -> str:
    marks = {True: "PASS", False: "FAIL", None: "SKIP"}
    return "\n".join(f"{marks[t['passed']]}  {t['name']}: {t['detail']}" for t in targets)


def eval_items_table(report: dict[str, Any]) -> str:
    systems = report["systems"]
    headers = ["recording", "kind", "lang", "dur s"]
    for name in systems:
        short = SHORT.get(name, name)
        headers += [f"{short} err", f"{short} lang", f"{short} words", f"{short} pause s",
                    f"{short} start err s", f"{short} rtf"]
    rows = []
    for item in report["items"]:
        row: list[Any] = [item["id"], item["kind"], item["language"] or "-", item["duration_s"]]
        for name in systems:
            r = item["results"][name]
            row += [
                _rate(r["metric"], r["error_rate"]),
                "/".join(r["languages"]) if item["kind"] == "multilingual"
                else _lang(r["detected_language"], r["language_correct"]),
                r["words"],
                max(r["pause_overlap_s"]) if r["pause_overlap_s"] else None,
                _max_or_missed(r["segment_start_error_s"]),
                r["rtf"],
            ]
        rows.append(row)
    return table(headers, rows)


def eval_parts_table(report: dict[str, Any]) -> str:
    rows = []
    for item in report["items"]:
        for name in report["systems"]:
            for part in item["results"][name]["parts"]:
                rows.append([item["id"], name, part["language"], f"{part['start_s']:.1f}",
                             _rate(part["metric"], part["error_rate"]), part["text"][:50]])
    if not rows:
        return ""
    return table(["recording", "system", "part lang", "start s", "err", "text"], rows)


def eval_kinds_table(report: dict[str, Any]) -> str:
    headers = ["kind", "system", "n", "WER", "CER", "words on silence", "max pause s",
               "language ok", "rtf"]
    rows = []
    for kind, by_system in report["kinds"].items():
        for name in report["systems"]:
            s = by_system[name]
            rows.append([kind, name, s["count"], s["wer"], s["cer"], s["words_on_silence"],
                         s["max_pause_overlap_s"], s["language_correct"], s["rtf"]])
    return table(headers, rows)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _rate(metric: str | None, value: float | None) -> str:
    return "-" if metric is None or value is None else f"{metric} {value:.3f}"


def _lang(detected: str | None, correct: bool | None) -> str:
    if detected is None:
        return "-"
    return detected + ("" if correct is None else (" ok" if correct else " WRONG"))


def _max_or_missed(errors: Sequence[float | None]) -> str:
    if not errors:
        return "-"
    found = [e for e in errors if e is not None]
    missed = len(errors) - len(found)
    text = f"{max(found):.2f}" if found else "-"
    return text + (f" ({missed} missed)" if missed else "")


def bench_table(rows: Sequence[dict[str, Any]]) -> str:
    headers = ["input", "mode", "audio s", "runs", "wall s (median)", "RTF", "audio s/s",
               "peak RSS MB", "wall vs fw", "throughput vs fw", "RSS vs fw", "statuses"]
    return table(headers, [
        [r["input"], r["mode"], round(r["audio_s"], 1), r["runs"], r["wall_s"], r["rtf"],
         r["throughput"], r["peak_rss_mb"], r["vs_bare"]["wall"], r["vs_bare"]["throughput"],
         r["vs_bare"]["peak_rss"], " ".join(f"{k}:{v}" for k, v in r["statuses"].items()) or None]
        for r in rows
    ])


def load_text(report: dict[str, Any]) -> str:
    lat, lat_all = report["latency_s"], report["latency_all_s"]
    return table(
        ["requests", "clients", "wall s", "req/s", "statuses", "p50 s", "p90 s", "p99 s",
         "p50/p90/p99 all s", "RSS warm MB", "RSS during MB", "RSS after MB", "growth"],
        [[report["requests"], report["clients"], report["wall_s"], report["requests_per_s"],
          " ".join(f"{k}:{v}" for k, v in report["statuses"].items()),
          lat["p50"], lat["p90"], lat["p99"],
          "/".join(_cell(lat_all[k]) for k in ("p50", "p90", "p99")),
          report["rss_after_warmup_mb"],
          " ".join("-" if v is None else f"{v:.0f}" for v in report.get("rss_during_mb", []))
          or None,
          report["rss_after_mb"],
          None if report["rss_growth"] is None else f"{report['rss_growth']:+.1%}"]],
    )
