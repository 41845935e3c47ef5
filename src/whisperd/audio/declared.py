"""The duration a file's header promises, when that promise can be trusted.

Decoding checks uploads against it twice: a file that declares more than the
limit is refused before any decoding, and one that decodes to far less than it
declares is reported as truncated. Both only make sense when the header states
an exact length. FFmpeg fills in a duration for every file, but for some it is
a guess: for an MP3 without a Xing/Info/VBRI header it divides the file size by
the first frame's bitrate, which for VBR can be off several-fold. And for a WAV
file it clamps the data chunk to the bytes present, hiding truncation. So WAV
and MP3 headers are read here directly, and other formats are trusted only
where the container stores the length (FLAC STREAMINFO, MP4 moov, Matroska
Segment Duration, Ogg's last granule position).
"""

from __future__ import annotations

import struct
from typing import BinaryIO

import av

# FFmpeg demuxer names whose own duration is exact (from the header or index).
_EXACT_FORMATS = frozenset({
    "flac", "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "ogg", "aiff", "caf",
})
# WAV codes with a fixed byte rate: PCM, IEEE float, A-law, mu-law, extensible.
_WAV_FIXED_RATE_CODES = frozenset({0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE})
# Data chunk sizes from here up are placeholders, not lengths (2 GiB, far above any upload).
_WAV_UNKNOWN_SIZE = 0x7FFF0000
# Bytes read from the start of a file to find a WAV data chunk or an MP3 tag.
_HEAD_BYTES = 64 * 1024
# A Xing/Info tag sits after the side information of the first frame (at most 36
# bytes in), a VBRI tag 36 bytes in; this window covers both.
_MP3_TAG_WINDOW = 64


def declared_duration(container: av.container.InputContainer,
                      stream: av.audio.stream.AudioStream, raw: BinaryIO) -> float | None:
    """Seconds the file declares for ``stream``, or None when it declares nothing exact.

    ``raw`` is the seekable stream the container reads; its position is restored.
    """
    fmt = container.format.name
    if fmt == "wav":
        return _wav_duration(_read_at(raw, 0, _HEAD_BYTES))
    if fmt == "mp3" and not _mp3_has_length_tag(raw):
        return None
    if fmt != "mp3" and fmt not in _EXACT_FORMATS:
        return None
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    # Matroska stores one Segment duration for all tracks: it is the audio's own
    # length only when the file has no other track.
    if container.duration is not None and container.duration > 0 and len(container.streams) == 1:
        return container.duration / av.time_base
    return None


def _read_at(raw: BinaryIO, offset: int, size: int) -> bytes:
    position = raw.tell()
    try:
        raw.seek(offset)
        return raw.read(size)
    finally:
        raw.seek(position)


def _wav_duration(head: bytes) -> float | None:
    """Length from the RIFF header's data chunk size, before any clamping to the file size."""
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None  # RF64 and other variants: no trusted length
    byte_rate = 0
    offset = 12
    while offset + 8 <= len(head):
        chunk_id = head[offset:offset + 4]
        (size,) = struct.unpack_from("<I", head, offset + 4)
        body = offset + 8
        if chunk_id == b"fmt " and body + 12 <= len(head):
            code, _channels, _rate, byte_rate = struct.unpack_from("<HHII", head, body)
            if code not in _WAV_FIXED_RATE_CODES:
                return None
        elif chunk_id == b"data":
            # Recorders writing to a pipe cannot go back to fill in the size and
            # leave 0, 0xFFFFFFFF or another huge placeholder (arecord: 0x7FFFF000).
            if byte_rate <= 0 or size == 0 or size >= _WAV_UNKNOWN_SIZE:
                return None
            return float(size / byte_rate)
        offset = body + size + (size & 1)  # chunks are padded to an even length
    return None


def _mp3_has_length_tag(raw: BinaryIO) -> bool:
    """Whether the first MP3 frame carries a Xing/Info/VBRI tag stating the frame count."""
    offset = 0
    header = _read_at(raw, 0, 10)
    # Skip an ID3v2 tag (it may hold cover art of several megabytes).
    if len(header) == 10 and header[:3] == b"ID3":
        size = 0
        for byte in header[6:10]:
            size = (size << 7) | (byte & 0x7F)
        offset = 10 + size + (10 if header[5] & 0x10 else 0)
    window = _read_at(raw, offset, 4096)
    for i in range(len(window) - 1):
        if window[i] == 0xFF and window[i + 1] & 0xE0 == 0xE0:
            first_frame = window[i:i + 4 + _MP3_TAG_WINDOW]
            return any(tag in first_frame for tag in (b"Xing", b"Info", b"VBRI"))
    return False
