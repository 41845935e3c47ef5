"""The ``whisperd`` command: serve, worker, transcribe, detect-language, models, submit,
eval and bench.

Every command starts from ``Settings.from_env()``; command-line options override
the environment for that run only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from whisperd.errors import WhisperdError
from whisperd.settings import Settings

CLI_FORMATS = ("txt", "text", "srt", "vtt", "tsv", "json", "verbose_json")


def _settings(**overrides: Any) -> Settings:
    try:
        settings = Settings.from_env()
    except WhisperdError as e:
        raise click.ClickException(e.message) from e
    changes = {k: v for k, v in overrides.items() if v is not None}
    if changes:
        settings = settings.replace(**changes)
        try:
            settings.validate()
        except WhisperdError as e:
            raise click.ClickException(e.message) from e
    return settings


def _fail(e: WhisperdError) -> click.ClickException:
    return click.ClickException(e.message)


@click.group()
@click.version_option(package_name="whisperd")
def cli() -> None:
    """whisperd: self-hosted Whisper speech-to-text."""


@cli.command()
@click.option("--host", help="Address to listen on [WHISPERD_HOST, default 127.0.0.1].")
@click.option("--port", type=int, help="Port [WHISPERD_PORT, default 8000].")
@click.option("--model", help="Default model [WHISPERD_MODEL, default base].")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="[WHISPERD_DEVICE]")
@click.option("--compute-type", help="int8, float16, ... [WHISPERD_COMPUTE_TYPE]")
@click.option("--dev", is_flag=True, help="Use Werkzeug's development server instead of gunicorn.")
def serve(host: str | None, port: int | None, model: str | None, device: str | None,
          compute_type: str | None, dev: bool) -> None:
    """Start the HTTP service (APIs, web page, in-process job worker)."""
    from whisperd.logging_setup import configure_logging
    from whisperd.server import serve_development, serve_production

    settings = _settings(host=host, port=port, model=model, device=device,
                         compute_type=compute_type)
    configure_logging(settings.log_level)
    if dev:
        serve_development(settings)
    else:
        serve_production(settings)


@cli.command()
@click.option("--model", help="Model this worker serves [WHISPERD_MODEL].")
@click.option("--concurrency", type=int, help="Jobs at once [WHISPERD_WORKER_CONCURRENCY].")
def worker(model: str | None, concurrency: int | None) -> None:
    """Run a job worker against WHISPERD_QUEUE_URL (SQLite under the data dir if unset)."""
    from whisperd.jobs.worker import run_worker
    from whisperd.logging_setup import configure_logging

    settings = _settings(model=model, worker_concurrency=concurrency)
    configure_logging(settings.log_level)
    try:
        run_worker(settings)
    except WhisperdError as e:
        raise _fail(e) from e


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False,
                                                                   path_type=Path))
@click.option("--model", help="Model name or folder [default: WHISPERD_MODEL or base].")
@click.option("--language", help="Spoken language code; detected per chunk when omitted.")
@click.option("--task", type=click.Choice(["transcribe", "translate"]), default="transcribe",
              show_default=True)
@click.option("--format", "fmt", type=click.Choice(CLI_FORMATS), default="txt", show_default=True)
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write FILE.<format> there instead of printing to stdout.")
@click.option("--word-timestamps", is_flag=True, help="Per-word times (json formats).")
@click.option("--no-vad", is_flag=True, help="Turn voice activity detection off.")
@click.option("--no-denoise", is_flag=True,
              help="Do not reduce steady noise in noisy clips of up to 30 s.")
@click.option("--beam-size", type=int,
              help="Beam width [default: 5 for audio up to 30 s, 2 for longer audio].")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("--compute-type")
def transcribe(files: tuple[Path, ...], model: str | None, language: str | None, task: str,
               fmt: str, output_dir: Path | None, word_timestamps: bool, no_vad: bool,
               no_denoise: bool, beam_size: int | None, device: str | None,
               compute_type: str | None) -> None:
    """Transcribe (or translate) audio files with a progress bar."""
    from tqdm import tqdm

    from whisperd.audio.decode import decode_audio
    from whisperd.engine.model import Engine
    from whisperd.engine.options import TranscriptionOptions
    from whisperd.formats import render

    settings = _settings(model=model, device=device, compute_type=compute_type)
    try:
        options = TranscriptionOptions(task=task, language=language, model=model,
                                       word_timestamps=word_timestamps,
                                       vad_filter=not no_vad, denoise=not no_denoise,
                                       beam_size=beam_size).validated()
        engine = Engine(settings)
        engine.load()
    except WhisperdError as e:
        raise _fail(e) from e
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
    failures = 0
    for path in files:
        try:
            with path.open("rb") as f:
                samples = decode_audio(f, max_duration_s=settings.max_job_duration_s)
            total = len(samples) / 16000
            with tqdm(total=round(total, 1), unit="s", desc=path.name, file=sys.stderr,
                      disable=None, bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s audio "
                      "[{elapsed}<{remaining}]") as bar:
                def progress(done: float, _total: float, bar: Any = bar) -> None:
                    bar.update(max(0.0, min(done, bar.total) - bar.n))

                transcript = engine.transcribe(samples, options, progress=progress)
                bar.update(bar.total - bar.n)
            body, _ = render(transcript, fmt, word_timestamps=word_timestamps)
        except WhisperdError as e:
            click.echo(f"{path}: {e.message}", err=True)
            failures += 1
            continue
        if output_dir is None:
            click.echo(body.rstrip("\n"))
        else:
            extension = {"text": "txt", "verbose_json": "json"}.get(fmt, fmt)
            target = output_dir / f"{path.stem}.{extension}"
            target.write_text(body, encoding="utf-8")
            click.echo(f"{path} -> {target}", err=True)
    engine.close()
    if failures:
        sys.exit(1)


@cli.command("detect-language")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", help="A multilingual model [default: WHISPERD_MODEL or base].")
@click.option("--top-k", type=click.IntRange(1, 100), default=5, show_default=True)
def detect_language(file: Path, model: str | None, top_k: int) -> None:
    """Print the most probable spoken languages with their probabilities."""
    from whisperd.audio.decode import decode_audio
    from whisperd.engine.model import Engine
    from whisperd.engine.options import TranscriptionOptions
    from whisperd.languages import language_name

    settings = _settings(model=model)
    try:
        engine = Engine(settings)
        engine.load()
        with file.open("rb") as f:
            samples = decode_audio(f, max_duration_s=settings.max_job_duration_s)
        ranked = engine.detect_language(
            samples, TranscriptionOptions(language_top_k=top_k, model=model))
    except WhisperdError as e:
        raise _fail(e) from e
    for code, probability in ranked:
        click.echo(f"{code}\t{language_name(code)}\t{probability:.4f}")


@cli.command()
@click.option("--prepare", is_flag=True,
              help="Reassemble and verify the embedded models into the data dir now "
                   "(done at image build time so a container starts offline).")
def models(prepare: bool) -> None:
    """List models and whether each is available offline."""
    from whisperd.engine.model import Engine

    settings = _settings()
    engine = Engine(settings)
    try:
        if prepare:
            for info in engine.list_models():
                if info.source == "embedded":
                    path = engine.registry.resolve(info.name)
                    click.echo(f"prepared {info.name} at {path}", err=True)
        rows = engine.list_models()
    except WhisperdError as e:
        raise _fail(e) from e
    click.echo(f"{'model':<22} {'source':<9} {'offline':<8} default")
    for info in rows:
        click.echo(f"{info.name:<22} {info.source:<9} {'yes' if info.available_offline else 'no':<8}"
                   f" {'*' if info.default else ''}")


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", default="http://127.0.0.1:8000", show_default=True,
              help="Base URL of a whisperd server.")
@click.option("--api-key", envvar="WHISPERD_API_KEY", help="[WHISPERD_API_KEY]")
@click.option("--model")
@click.option("--language")
@click.option("--task", type=click.Choice(["transcribe", "translate"]), default="transcribe")
@click.option("--wait", is_flag=True, help="Follow the job with a progress bar and print the result.")
@click.option("--format", "fmt", type=click.Choice(["json", "verbose_json", "text", "srt", "vtt",
                                                    "tsv"]), default="text", show_default=True)
def submit(file: Path, url: str, api_key: str | None, model: str | None, language: str | None,
           task: str, wait: bool, fmt: str) -> None:
    """Submit FILE as an async job to a whisperd server; --wait to follow it."""
    from tqdm import tqdm

    from whisperd.jobs.client import JobClient

    client = JobClient(url, api_key=api_key)
    fields = {k: v for k, v in {"model": model, "language": language, "task": task}.items() if v}
    try:
        job = client.submit(file, fields)
        click.echo(f"job {job['id']} {job['status']}", err=True)
        if not wait:
            click.echo(json.dumps(job))
            return
        with tqdm(total=100, unit="%", desc=file.name, file=sys.stderr, disable=None) as bar:
            def on_update(current: dict) -> None:
                bar.update(round(100 * float(current.get("progress") or 0)) - bar.n)

            job = client.wait(job["id"], on_update=on_update)
        if job["status"] != "succeeded":
            raise click.ClickException(f"job {job['id']} {job['status']}: {job.get('error')}")
        click.echo(client.result(job["id"], fmt).rstrip("\n"))
    except WhisperdError as e:
        raise _fail(e) from e


def _register_project_commands() -> None:
    from whisperd.eval.commands import bench_command, eval_command

    cli.add_command(eval_command, "eval")
    cli.add_command(bench_command, "bench")


def main() -> None:
    _register_project_commands()
    cli()
