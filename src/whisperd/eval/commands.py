"""Click commands `whisperd eval` and `whisperd bench` (registered by whisperd.cli).

Both build their Engine from WHISPERD_* settings, unless the caller passes one in
``ctx.obj = {"engine": ..., "settings": ...}``: tests do, so the session's loaded
model is reused instead of loading another.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from whisperd.errors import WhisperdError
from whisperd.eval import report as text
from whisperd.eval.manifest import default_manifest, load_manifest, select
from whisperd.eval.runner import evaluate
from whisperd.eval.systems import SYSTEMS, transcribers
from whisperd.eval.targets import judge
from whisperd.settings import Settings

if TYPE_CHECKING:
    from whisperd.engine.model import Engine


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
              default=Path("eval-report.json"), show_default=True, help="Where to write the report.")
@click.option("--strict", is_flag=True, help="Exit with status 1 when a target fails.")
@click.pass_context
def eval_command(
    ctx: click.Context, manifest_path: Path | None, model: str, ids: tuple[str, ...],
    kinds: tuple[str, ...], json_out: Path, strict: bool,
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
        results = evaluate(items, transcribers(engine, model),
                           progress=lambda line: click.echo(line, err=True))
    except WhisperdError as e:
        raise click.ClickException(e.message) from e
    report: dict[str, Any] = {
        "model": model,
        "manifest": str(path),
        "started_at": started,
        "systems": list(SYSTEMS),
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
