"""Taking an uploaded file out of a request, safely.

The client's filename is kept only as a label (for Content-Disposition and job
listings, sanitised); it never becomes part of a path. Werkzeug spools large
uploads to an anonymous temporary file in TMPDIR, which is unlinked on creation
and closed with the request, so nothing is left behind whatever happens.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from typing import BinaryIO

from flask import Request

from whisperd.errors import EmptyAudio, InvalidRequest, UploadTooLarge

_UNSAFE = re.compile(r"[^\w.\- ()\[\]]+", re.UNICODE)


@dataclass
class Upload:
    stream: BinaryIO
    filename: str  # sanitised label, never a path
    size: int  # bytes
    content_type: str | None

    def read_bytes(self) -> bytes:
        self.stream.seek(0)
        return self.stream.read()


def safe_label(filename: str | None, default: str = "audio") -> str:
    """A display name from a client-supplied filename: no directories, no control characters."""
    if not filename:
        return default
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    return name[:200] or default


def read_upload(request: Request, field: str, *, max_bytes: int) -> Upload:
    """The file in multipart field ``field``, or InvalidRequest/EmptyAudio/UploadTooLarge."""
    if not (request.mimetype or "").startswith("multipart/form-data"):
        raise InvalidRequest(
            f"Expected a multipart/form-data body with the audio in the '{field}' field "
            f"(got content type {request.mimetype or 'none'!r}).",
            param=field,
        )
    storage = request.files.get(field)
    if storage is None:
        present = ", ".join(sorted(request.files)) or "none"
        raise InvalidRequest(
            f"Missing file field '{field}' (file fields received: {present}).", param=field
        )
    stream: BinaryIO = storage.stream  # type: ignore[assignment]
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    if size == 0:
        raise EmptyAudio(f"The uploaded file '{field}' is empty.", param=field)
    if size > max_bytes:
        raise UploadTooLarge(
            f"The upload is {size} bytes; this server accepts at most {max_bytes}.", param=field
        )
    return Upload(
        stream=stream,
        filename=safe_label(storage.filename),
        size=size,
        content_type=storage.mimetype or None,
    )
