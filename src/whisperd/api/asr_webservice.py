"""whisper-asr-webservice-compatible API: POST /asr and POST /detect-language.

Names, defaults, content types and bodies follow ahmetoner/whisper-asr-webservice
(app/webservice.py), so its clients (Bazarr's Whisper provider, ...) work unchanged:
the audio comes in multipart field ``audio_file``, options in the query string, and
every output (even json) is served as text/plain with an attachment filename.
Two deliberate differences: VAD is on unless ``vad_filter=false`` (it only removes
invented text), and bad input is a 4xx ``{"detail": ...}`` instead of a 500.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request

from whisperd.api.errors import DETAIL, use_error_shape
from whisperd.api.params import ASR_OUTPUT_FORMATS, asr_request, detect_language_request
from whisperd.api.runner import detect_language_upload, transcribe_upload
from whisperd.api.uploads import read_upload
from whisperd.engine.options import TranscriptionOptions
from whisperd.formats import render
from whisperd.languages import language_name
from whisperd.services import services

ENGINE_HEADER = "faster_whisper"


def create_asr_blueprint() -> Blueprint:
    bp = Blueprint("asr_webservice", __name__)
    use_error_shape(bp, DETAIL)
    bp.add_url_rule("/asr", view_func=_asr, methods=["POST"])
    bp.add_url_rule("/detect-language", view_func=_detect_language, methods=["POST"])
    return bp


def _asr() -> Response:
    svc = services()
    parsed = asr_request(request.args)
    upload = read_upload(request, "audio_file", max_bytes=svc.settings.max_upload_bytes)
    transcript = transcribe_upload(svc, upload, parsed.options, raw_pcm=not parsed.encode)
    body, _ = render(transcript, ASR_OUTPUT_FORMATS[parsed.output],
                     word_timestamps=parsed.options.word_timestamps)
    response = Response(body, mimetype="text/plain")
    response.headers["Asr-Engine"] = ENGINE_HEADER
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{quote(upload.filename)}.{parsed.output}"'
    )
    return response


def _detect_language() -> Response:
    svc = services()
    encode, top_k = detect_language_request(request.args)
    upload = read_upload(request, "audio_file", max_bytes=svc.settings.max_upload_bytes)
    options = TranscriptionOptions(language_top_k=top_k or 1)
    ranked = detect_language_upload(svc, upload, options, raw_pcm=not encode)
    code, confidence = ranked[0]
    body: dict = {
        "detected_language": language_name(code),
        "language_code": code,
        "confidence": confidence,
    }
    if top_k is not None:
        body["top_languages"] = [
            {"detected_language": language_name(c), "language_code": c, "confidence": p}
            for c, p in ranked[:top_k]
        ]
    return jsonify(body)
