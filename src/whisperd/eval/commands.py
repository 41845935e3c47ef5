"""Click commands `whisperd eval` and `whisperd bench` (registered by whisperd.cli).

Both build their Engine from WHISPERD_* settings, unless the caller passes one in
``ctx.obj = {"engine": ..., "settings": ...}``: tests do, so the session's loaded
model is reused instead of loading another.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from whisperd.errors import WhisperdError
from whisperd.eval import report as text
from whisperd.eval.audio import concatenate, load_samples, to_wav_bytes
from whisperd.eval.bench import BenchInput, run_bench
from whisperd.eval.loadtest import run_load
from whisperd.eval.manifest import ManifestItem, default_manifest, load_manifest, select
from whisperd.eval.runner import evaluate
from whisperd.eval.service import Service, spawned_service
from whisperd.eval.systems import transcribers
from whisperd.eval.targets import judge, judge_bench
from whisperd.settings import Settings

if TYPE_CHECKING:
    from whisperd.engine.model import Engine

SHORT_CLIP = "en_jfk_inaugural"
# A 5-minute recording built from real ones: no single real recording that long has a
# transcript in the set, and bench needs audio, not a reference.
LONG_NAME = "long_5min"
LONG_SOURCES = ("en_long_ljspeech_LJ001-0001_0032", "en_long_multispeaker_concat")
LONG_SECONDS = 300.0


def _split(values: tuple[str, ...]) -> list[str]:
    """Accept both `--ids a --ids b` and `--ids a,b`."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _context(ctx: click.Context) -> tuple[Settings, Engine]:
    given: dict[str, Any] = ctx.obj if isinstance(ctx.obj, dict) else {}
    settings = given.get("settings") or Settings.from_env()
    engine = given.get("engine")
    if engine is None:
        from whisperd.engine.model import Engine

        engine = Engine(settings)
    return settings, engine


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    click.echo(f"report written to {path}", err=True)


@click.command("eval")
@click.option("--manifest", "manifest_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Manifest JSONL (default: $WHISPERD_EVAL_DIR/manifest.jsonl, else "
                   "./shared/eval or ../shared/eval).")
@click.option("--model", default="base", show_default=True, help="Model to evaluate.")
@click.option("--ids", multiple=True, help="Only these recording ids (repeat or comma-separate).")
@click.option("--kinds", multiple=True, help="Only these kinds: clean, noisy, long, gaps, ...")
@click.option("--json-out", type=click.Path(path_type=Path, dir_okay=False),
              default=Path("eval-report.json"), show_default=True,
              help="Where to write the JSON report.")
@click.option("--with-batched", is_flag=True,
              help="Also run faster-whisper's BatchedInferencePipeline, for reference.")
@click.option("--strict", is_flag=True, help="Exit with status 1 when a target fails.")
@click.pass_context
def eval_command(
    ctx: click.Context, manifest_path: Path | None, model: str, ids: tuple[str, ...],
    kinds: tuple[str, ...], json_out: Path, with_batched: bool, strict: bool,
) -> None:
    """Accuracy of whisperd's pipeline next to bare faster-whisper, on the same audio and model."""
    try:
        settings, engine = _context(ctx)
        path = manifest_path or default_manifest(settings.eval_dir, Path.cwd())
        items = select(load_manifest(path), _split(ids), _split(kinds))
        if not items:
            raise click.UsageError("no recordings selected")
        engine.load(model)
        started = time.time()
        systems = transcribers(engine, model, batched=with_batched)
        results = evaluate(items, systems, progress=progress)
    except WhisperdError as e:
        raise click.ClickException(e.message) from e
    report: dict[str, Any] = {
        "model": model,
        "manifest": str(path),
        "started_at": started,
        "systems": list(systems),
        **results,
    }
    report["targets"] = judge(report)
    _write_json(json_out, report)
    click.echo(text.eval_items_table(report))
    parts = text.eval_parts_table(report)
    if parts:
        click.echo("\n" + parts)
    click.echo("\n" + text.eval_kinds_table(report))
    click.echo("\n" + text.targets_text(report["targets"]))
    if strict and any(t["passed"] is False for t in report["targets"]):
        ctx.exit(1)


@click.command("bench")
@click.option("--model", default="base", show_default=True)
@click.option("--audio", "audio", multiple=True,
              help=f"Manifest id, audio file, or {LONG_NAME} (repeatable; default: "
                   f"{SHORT_CLIP} and {LONG_NAME}).")
@click.option("--manifest", "manifest_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Manifest that resolves ids (default as for `whisperd eval`).")
@click.option("--runs", default=5, show_default=True, type=click.IntRange(1),
              help="Runs per clip under a minute (the median is reported).")
@click.option("--long-runs", default=3, show_default=True, type=click.IntRange(1),
              help="Runs per input of a minute or more (the median is reported).")
@click.option("--clients", default=4, show_default=True, type=click.IntRange(1),
              help="Concurrent HTTP clients (for --load as well).")
@click.option("--no-http", is_flag=True, help="Skip the HTTP service rows.")
@click.option("--url", help="Use this running server instead of starting `whisperd serve`.")
@click.option("--server-pid", type=int, help="Its process id, to read its memory.")
@click.option("--load", "load", is_flag=True,
              help="Load test instead: --requests requests from --clients clients.")
@click.option("--requests", "requests_", default=100, show_default=True, type=click.IntRange(1))
@click.option("--json-out", type=click.Path(path_type=Path, dir_okay=False),
              default=Path("bench-report.json"), show_default=True)
@click.option("--strict", is_flag=True, help="Exit with status 1 when a target fails.")
@click.pass_context
def bench_command(
    ctx: click.Context, model: str, audio: tuple[str, ...], manifest_path: Path | None,
    runs: int, long_runs: int, clients: int, no_http: bool, url: str | None,
    server_pid: int | None,
    load: bool, requests_: int, json_out: Path, strict: bool,
) -> None:
    """Speed and memory: bare faster-whisper, whisperd in-process, and the HTTP service."""
    settings, engine = _context(ctx)
    given = ctx.obj.get("service") if isinstance(ctx.obj, dict) else None
    if url:
        given = Service(url.rstrip("/"), server_pid)
    try:
        inputs = _bench_inputs(settings, manifest_path, audio or (SHORT_CLIP, LONG_NAME))
        with contextlib.ExitStack() as stack:
            service = given
            if service is None and (load or not no_http):
                progress("starting whisperd serve ...")
                service = stack.enter_context(spawned_service(settings.replace(model=model)))
            if load and service is not None:
                shortest = min(inputs, key=lambda i: i.duration_s)
                report = run_load(service, to_wav_bytes(shortest.samples), model,
                                  requests=requests_, clients=clients, progress=progress)
                report["input"] = shortest.name
                summary = text.load_text(report)
            else:
                engine.load(model)
                rows = run_bench(inputs, transcribers(engine, model, batched=True),
                                 service=None if no_http else service, model=model, runs=runs,
                                 long_runs=long_runs,
                                 clients=clients, progress=progress)
                report = {"model": model, "device": settings.device,
                          "compute_type": settings.compute_type, "rows": rows,
                          "targets": judge_bench(rows)}
                summary = text.bench_table(rows)
    except WhisperdError as e:
        raise click.ClickException(e.message) from e
    _write_json(json_out, report)
    click.echo(summary)
    click.echo("\n" + text.targets_text(report["targets"]))
    if strict and any(t["passed"] is False for t in report["targets"]):
        ctx.exit(1)


def progress(line: str) -> None:
    click.echo(line, err=True)


def _bench_inputs(settings: Settings, manifest_path: Path | None,
                  names: tuple[str, ...]) -> list[BenchInput]:
    items: dict[str, ManifestItem] = {}

    def item(name: str) -> ManifestItem:
        if not items:
            path = manifest_path or default_manifest(settings.eval_dir, Path.cwd())
            items.update((i.item_id, i) for i in load_manifest(path))
        if name not in items:
            raise click.UsageError(f"{name!r} is neither a file nor a manifest id")
        return items[name]

    inputs = []
    for name in names:
        if name == LONG_NAME:
            parts = [load_samples(item(source).path) for source in LONG_SOURCES]
            inputs.append(BenchInput(name, concatenate(parts, LONG_SECONDS)))
        elif Path(name).is_file():
            inputs.append(BenchInput(Path(name).name, load_samples(Path(name))))
        else:
            inputs.append(BenchInput(name, load_samples(item(name).path)))
    return inputs
