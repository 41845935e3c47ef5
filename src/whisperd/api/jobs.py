"""The async jobs API, /v1/jobs (docs/api-contract.md, "Jobs"), in OpenAI's error shape.

Every option is validated at submission, before the job is accepted: a bad value,
an unknown model, a forbidden callback URL or audio declared longer than the job
limit is a 4xx now, never a failed job later.
"""

from __future__ import annotations

import mimetypes

from flask import Blueprint, Response, jsonify, request

from whisperd.api.errors import OPENAI, use_error_shape
from whisperd.api.params import form_granularities, openai_options, parse_int
from whisperd.api.uploads import read_upload
from whisperd.audio.decode import verify_audio
from whisperd.engine.options import TranscriptionOptions
from whisperd.errors import (
    ServiceUnavailable,
    UnsupportedFormat,
)
from whisperd.formats import render
from whisperd.jobs.service import MAX_PAGE, JobService
from whisperd.services import services

RESULT_FORMATS = ("json", "verbose_json", "text", "srt", "vtt", "tsv")
# Content types the stored upload may be served back with; anything else (text/html
# from a hostile client, say) is served as a download, so it cannot run as a page.
_PLAYABLE = ("audio/", "video/")


def create_jobs_blueprint() -> Blueprint:
    bp = Blueprint("jobs", __name__, url_prefix="/v1/jobs")
    use_error_shape(bp, OPENAI)
    bp.add_url_rule("", view_func=_create, methods=["POST"])
    bp.add_url_rule("", view_func=_list, methods=["GET"])
    bp.add_url_rule("/<job_id>", view_func=_get, methods=["GET"])
    bp.add_url_rule("/<job_id>", view_func=_cancel, methods=["DELETE"])
    bp.add_url_rule("/<job_id>/result", view_func=_result, methods=["GET"])
    bp.add_url_rule("/<job_id>/audio", view_func=_audio, methods=["GET"])
    return bp


def _jobs() -> JobService:
    jobs = services().jobs
    if jobs is None:
        raise ServiceUnavailable("Jobs are not enabled on this server.")
    return jobs


def _text(name: str) -> str | None:
    value = request.form.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def _options() -> TranscriptionOptions:
    # The same fields as /v1/audio/transcriptions, plus the task. A job's result can be
    # fetched as verbose_json later, so word timestamps are kept whenever asked for.
    return openai_options(request.form, form_granularities(request.form),
                          task=_text("task") or "transcribe")


def _create() -> tuple[Response, int, dict[str, str]]:
    svc = services()
    jobs = _jobs()
    options = _options()
    upload = read_upload(request, "file", max_bytes=svc.settings.max_upload_bytes)
    audio = upload.read_bytes()
    # Decode it once now (samples discarded): unusable audio is a 4xx at submission,
    # not a job that fails later. Limits are checked on the way.
    verify_audio(audio, max_duration_s=svc.settings.max_job_duration_s,
                 timeout_s=svc.settings.decode_timeout_s)
    job = jobs.submit(
        audio, upload.filename, options,
        content_type=upload.content_type,
        callback_url=_text("callback_url"),
        idempotency_key=(request.headers.get("Idempotency-Key") or "").strip() or None,
    )
    location = f"/v1/jobs/{job.id}"
    return jsonify(job.public()), 202, {"Location": location}


def _list() -> Response:
    limit = parse_int(request.args.get("limit"), param="limit", default=20, low=1, high=MAX_PAGE)
    offset = parse_int(request.args.get("offset"), param="offset", default=0, low=0,
                       high=2**31 - 1)
    page, has_more = _jobs().list_jobs(limit=limit, offset=offset)
    return jsonify({"object": "list", "data": [j.public() for j in page],
                    "has_more": has_more})


def _get(job_id: str) -> Response:
    return jsonify(_jobs().get(job_id).public())


def _cancel(job_id: str) -> Response:
    return jsonify(_jobs().cancel(job_id).public())


def _result(job_id: str) -> Response:
    fmt = (request.args.get("format") or "json").strip()
    if fmt not in RESULT_FORMATS:
        raise UnsupportedFormat(
            f"format must be one of {', '.join(RESULT_FORMATS)}, not {fmt!r}", param="format")
    transcript = _jobs().transcript(job_id)
    word_timestamps = any(s.words for s in transcript.segments)
    body, mimetype = render(transcript, fmt, word_timestamps=word_timestamps)
    return Response(body, mimetype=mimetype)


def _audio(job_id: str) -> Response:
    job, audio = _jobs().audio(job_id)
    mimetype = job.content_type or mimetypes.guess_type(job.filename)[0] or ""
    disposition = "inline"
    if not mimetype.startswith(_PLAYABLE):
        mimetype, disposition = "application/octet-stream", "attachment"
    response = Response(audio, mimetype=mimetype)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{job.filename}"'
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
