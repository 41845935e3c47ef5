"""OpenAI-compatible API: /v1/audio/transcriptions, /v1/audio/translations, /v1/models.

The official ``openai`` SDK works unchanged with ``base_url`` pointing here: the
multipart field names, response formats and error shape are OpenAI's.
``whisper-1`` is an alias of the configured model; any other model name selects
that model (loaded on first use).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from whisperd.api.errors import OPENAI, use_error_shape
from whisperd.api.params import form_granularities, openai_request
from whisperd.api.runner import transcribe_upload
from whisperd.api.uploads import read_upload
from whisperd.formats import render
from whisperd.services import services

MODEL_ALIAS = "whisper-1"


def create_openai_blueprint() -> Blueprint:
    bp = Blueprint("openai", __name__, url_prefix="/v1")
    use_error_shape(bp, OPENAI)
    bp.add_url_rule("/audio/transcriptions", view_func=_transcriptions, methods=["POST"])
    bp.add_url_rule("/audio/translations", view_func=_translations, methods=["POST"])
    bp.add_url_rule("/models", view_func=_models, methods=["GET"])
    bp.add_url_rule("/models/<path:model_id>", view_func=_model, methods=["GET"])
    return bp


def _transcriptions() -> Response:
    return _run(task="transcribe")


def _translations() -> Response:
    return _run(task="translate")


def _run(task: str) -> Response:
    svc = services()
    # Parameters first: a bad option is refused before the upload is even looked at.
    parsed = openai_request(request.form, form_granularities(request.form), task=task)
    upload = read_upload(request, "file", max_bytes=svc.settings.max_upload_bytes)
    transcript = transcribe_upload(svc, upload, parsed.options)
    body, mimetype = render(transcript, parsed.response_format,
                            word_timestamps=parsed.word_timestamps)
    return Response(body, mimetype=mimetype)


def _models() -> Response:
    svc = services()
    data = []
    default = svc.settings.model
    if svc.engine is not None:
        for info in svc.engine.list_models():
            data.append(_model_object(info.name, available_offline=info.available_offline,
                                      loaded=info.loaded, default=info.name == default))
    else:
        data.append(_model_object(default, available_offline=True, loaded=False, default=True))
    data.append(_model_object(MODEL_ALIAS, available_offline=True, loaded=False, default=False,
                              alias_of=default))
    return jsonify({"object": "list", "data": data})


def _model(model_id: str) -> Response:
    svc = services()
    name = model_id
    if svc.engine is not None:
        name = svc.engine.resolve_model_name(model_id)
    return jsonify(_model_object(model_id, available_offline=True, loaded=False,
                                 default=name == svc.settings.model))


def _model_object(name: str, *, available_offline: bool, loaded: bool, default: bool,
                  alias_of: str | None = None) -> dict:
    obj = {
        "id": name,
        "object": "model",
        "created": 0,
        "owned_by": "whisperd",
        "available_offline": available_offline,
        "loaded": loaded,
        "default": default,
    }
    if alias_of:
        obj["alias_of"] = alias_of
    return obj
