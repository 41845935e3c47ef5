"""Any upload -> 16 kHz mono float32 samples, decoded in memory with PyAV.

PyAV bundles FFmpeg's libraries, so every container and codec FFmpeg reads is
accepted (WAV, FLAC, MP3, M4A/AAC, Ogg/Opus, WebM, the audio track of a video)
without spawning a process or writing a temporary file: PyAV reads straight
from the Python file object.

Compared with faster_whisper/audio.py, from which the resampling approach comes,
this module is strict about what it accepts, since uploads come from strangers:

- limits are enforced while decoding, packet by packet: a tiny file that
  expands to hours of audio (a decompression bomb) stops at the limit, and a
  file whose header declares more than the limit is refused before decoding;
- a file that decodes to much less than its header declares, or whose decoder
  fails near the end, is reported as truncated instead of silently transcribed
  in part (see declared.py for which headers are trusted);
- every FFmpeg error becomes an AudioDecodeError that keeps FFmpeg's text.

faster-whisper runs gc.collect() after each decode because older PyAV versions
leaked resampler objects (SYSTRAN/faster-whisper#390). With the PyAV pinned here
(18.x) 300 decodes in a row keep the process's memory flat, so no collection is
forced on every request.
"""

from __future__ import annotations

import io
import logging
import time
from collections import deque
from typing import BinaryIO

import av
import numpy as np

from whisperd.audio.declared import declared_duration
from whisperd.audio.validate import PARAM, check_duration, describe_seconds
from whisperd.errors import AudioDecodeError, EmptyAudio

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000  # Hz, what Whisper consumes
# int16 full scale -> [-1.0, 1.0). A float32 scalar keeps the product in float32;
# a Python float would make NumPy compute in float64, six times slower.
_PCM16_SCALE = np.float32(1.0 / 32768.0)

# A file is truncated when it decodes to less than this share of its declared
# length and more than _TRUNCATED_MIN_MISSING_S is missing. Encoder delay and
# padding account for differences of a few tens of milliseconds, never seconds.
_TRUNCATED_FRACTION = 0.9
_TRUNCATED_MIN_MISSING_S = 1.0
# A few undecodable packets in a long stream are tolerated, as players do (radio
# recordings often hold a corrupt frame); beyond this share the file is refused.
_MAX_BAD_PACKET_FRACTION = 0.1
_MIN_BAD_PACKETS_TO_REFUSE = 5
# Resampled frames are small (a few hundred samples); they are merged into blocks of
# this many samples so that hours of audio are a few hundred arrays, not a million.
_BLOCK_SAMPLES = 1 << 20  # about 65 s at 16 kHz
_GROUP_INPUT_S = 1.0  # seconds of decoded input handed to the resampler at a time

Source = bytes | bytearray | memoryview | BinaryIO


def decode_audio(source: Source, *, max_duration_s: float | None = None,
                 timeout_s: float | None = None) -> np.ndarray:
    """Decode the first audio track of ``source`` to 16 kHz mono float32.

    A file object is read from its start. Multi-channel audio is downmixed.
    Raises EmptyAudio, AudioDecodeError or AudioTooLong (all with
    ``param="file"``); decoding that runs past ``timeout_s`` seconds raises
    AudioDecodeError.
    """
    return _decode(source, max_duration_s, timeout_s, keep=True).samples()


def verify_audio(source: Source, *, max_duration_s: float | None = None,
                 timeout_s: float | None = None) -> float:
    """Decode ``source`` completely without keeping the samples; return its duration (s).

    The same checks as decode_audio, in constant memory, for uploads that are
    accepted now and decoded later (jobs): bad audio is refused at submission with a
    4xx instead of becoming a failed job. Costs about 1.5 s of CPU per hour of MP3.
    """
    return _decode(source, max_duration_s, timeout_s, keep=False).seconds


def _decode(source: Source, max_duration_s: float | None, timeout_s: float | None, *,
            keep: bool) -> _Decoded:
    raw = _as_seekable(source)
    if _is_empty(raw):
        raise EmptyAudio("The uploaded file is empty (0 bytes).", param=PARAM)
    deadline = _Deadline(timeout_s)
    try:
        container = av.open(raw, mode="r", metadata_errors="ignore")
    except av.FFmpegError as e:
        raise _unreadable(raw, e) from e
    with container:
        if not container.streams.audio:
            kinds = ", ".join(s.type for s in container.streams) or "none"
            raise AudioDecodeError(
                f"The file ({container.format.long_name}) has no audio track "
                f"(its tracks: {kinds}).",
                param=PARAM,
            )
        stream = container.streams.audio[0]
        declared = declared_duration(container, stream, raw)
        if declared is not None:
            check_duration(declared, max_duration_s, declared=True)
        decoded = _StreamDecoder(container, stream, max_duration_s, deadline, keep=keep).run()
    _check_complete(decoded, declared)
    return decoded


def decode_pcm16(data: bytes, *, max_duration_s: float | None = None) -> np.ndarray:
    """Headerless 16 kHz mono little-endian int16 PCM -> float32.

    This is what whisper-asr-webservice accepts with ``encode=false`` (Bazarr sends it).
    """
    if len(data) == 0:
        raise EmptyAudio("The uploaded file is empty (0 bytes).", param=PARAM)
    if len(data) % 2:
        raise AudioDecodeError(
            f"Raw PCM (encode=false) must be 16-bit samples, but the upload has an odd "
            f"number of bytes ({len(data)}). Send a container format with encode=true.",
            param=PARAM,
        )
    check_duration(len(data) / 2 / SAMPLE_RATE, max_duration_s)
    pcm = np.frombuffer(data, dtype="<i2")
    out = np.empty(len(pcm), dtype=np.float32)
    np.multiply(pcm, _PCM16_SCALE, out=out, dtype=np.float32)
    return out


def probe_duration(source: Source) -> float | None:
    """The duration the container declares exactly, in seconds; None when unknown or unreadable.

    A file object is rewound afterwards, ready to be decoded.
    """
    raw = _as_seekable(source)
    try:
        with av.open(raw, mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                return None
            return declared_duration(container, container.streams.audio[0], raw)
    except av.FFmpegError:
        return None
    finally:
        raw.seek(0)


class _Deadline:
    def __init__(self, timeout_s: float | None) -> None:
        self._timeout_s = timeout_s
        self._end = None if timeout_s is None else time.monotonic() + timeout_s

    def check(self, decoded_s: float) -> None:
        if self._end is not None and time.monotonic() > self._end:
            raise AudioDecodeError(
                f"Decoding took longer than {self._timeout_s:g} s and was stopped after "
                f"{describe_seconds(decoded_s)} of audio; the file may be malformed.",
                param=PARAM,
            )


class _Decoded:
    """int16 chunks as they come out of the resampler, plus what went wrong on the way.

    int16 chunks take half the memory of float32; the one conversion at the end
    makes the peak about 1.5 times the size of the result.
    """

    def __init__(self, *, keep: bool = True) -> None:
        # keep=False only counts samples: verify_audio checks a whole file in constant memory.
        self.keep = keep
        self.blocks: deque[np.ndarray] = deque()
        self._pending: list[np.ndarray] = []
        self._pending_samples = 0
        self.n_samples = 0
        self.packets = 0
        self.bad_packets = 0
        self.last_packet_bad = False
        self.first_error: av.FFmpegError | None = None

    @property
    def seconds(self) -> float:
        return self.n_samples / SAMPLE_RATE

    def append(self, chunk: np.ndarray) -> None:
        if not self.keep:
            self.n_samples += len(chunk)
            return
        self._pending.append(chunk)
        self._pending_samples += len(chunk)
        self.n_samples += len(chunk)
        if self._pending_samples >= _BLOCK_SAMPLES:
            self._merge_pending()

    def clear(self) -> None:
        self.blocks.clear()
        self._pending.clear()

    def samples(self) -> np.ndarray:
        """All samples as float32, releasing each int16 block once it is converted."""
        self._merge_pending()
        out = np.empty(self.n_samples, dtype=np.float32)
        position = 0
        while self.blocks:
            block = self.blocks.popleft()
            np.multiply(block, _PCM16_SCALE, out=out[position:position + len(block)],
                        dtype=np.float32)
            position += len(block)
        return out

    def _merge_pending(self) -> None:
        if self._pending:
            self.blocks.append(np.concatenate(self._pending))
            self._pending = []
            self._pending_samples = 0


class _StreamDecoder:
    """Demuxes, decodes and resamples one audio stream, checking limits between packets."""

    def __init__(self, container: av.container.InputContainer,
                 stream: av.audio.stream.AudioStream, max_duration_s: float | None,
                 deadline: _Deadline, *, keep: bool = True) -> None:
        self._container = container
        self._stream = stream
        self._max_samples = None if max_duration_s is None else int(max_duration_s * SAMPLE_RATE)
        self._max_duration_s = max_duration_s
        self._deadline = deadline
        self._resampler: av.AudioResampler | None = None
        self._fifo: av.AudioFifo | None = None
        self._input_signature: tuple[str, str, int] | None = None
        self.result = _Decoded(keep=keep)

    def run(self) -> _Decoded:
        result = self.result
        packets = self._container.demux(self._stream)
        while True:
            self._deadline.check(result.seconds)
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.FFmpegError as e:
                # The demuxer could not read on: the container is cut or damaged.
                raise AudioDecodeError(
                    f"The file could not be read past {describe_seconds(result.seconds)} of "
                    f"audio ({_ffmpeg_text(e)}); it looks truncated or damaged.",
                    param=PARAM,
                ) from e
            is_flush = packet.size == 0  # the demuxer's final empty packet drains the decoder
            if not is_flush:
                result.packets += 1
            try:
                frames = packet.decode()
            except av.FFmpegError as e:
                result.bad_packets += 1
                result.last_packet_bad = True
                result.first_error = result.first_error or e
                continue
            if not is_flush:
                result.last_packet_bad = False
            for frame in frames:
                self._feed(frame)
        self._drain()
        return result

    def _feed(self, frame: av.AudioFrame) -> None:
        """Queue a decoded frame; resample once about a second of input has gathered.

        Resampling frame by frame (a few hundred samples each) costs a Python call
        per frame: 100,000 calls for an hour of MP3.
        """
        signature = (frame.format.name, frame.layout.name, frame.sample_rate)
        fifo = self._fifo
        if fifo is None or signature != self._input_signature:
            # Some streams change rate or layout midway (AAC with SBR, concatenated
            # MP3); PyAV's resampler refuses a frame unlike its first, so start anew.
            self._drain()
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            fifo = self._fifo = av.AudioFifo()
            self._input_signature = signature
        # Timestamps are irrelevant here, and the FIFO refuses gaps between them.
        frame.pts = None
        fifo.write(frame)
        if fifo.samples >= frame.sample_rate * _GROUP_INPUT_S:
            self._resample(fifo.read())

    def _drain(self) -> None:
        """Resample what the FIFO holds, then flush the resampler's own delay line."""
        if self._fifo is not None and self._fifo.samples:
            self._resample(self._fifo.read())
        if self._resampler is not None:
            self._resample(None)
        self._resampler = None
        self._fifo = None
        self._input_signature = None

    def _resample(self, frame: av.AudioFrame | None) -> None:
        if self._resampler is None:
            return
        try:
            out_frames = self._resampler.resample(frame)
        except (av.FFmpegError, ValueError) as e:
            raise AudioDecodeError(
                f"The audio could not be converted to 16 kHz mono ({_ffmpeg_text(e)}).",
                param=PARAM,
            ) from e
        for out in out_frames:
            # A copy, so that no array keeps FFmpeg's frame buffer alive.
            self._append(out.to_ndarray().reshape(-1).copy())

    def _append(self, chunk: np.ndarray) -> None:
        result = self.result
        result.append(chunk)
        if self._max_samples is not None and result.n_samples > self._max_samples:
            result.clear()  # release memory before the error travels up
            check_duration(result.seconds, self._max_duration_s, partial=True)


def _check_complete(decoded: _Decoded, declared: float | None) -> None:
    """Refuse audio that is missing, cut short or mostly undecodable."""
    if decoded.n_samples == 0:
        if decoded.first_error is not None:
            raise AudioDecodeError(
                f"No audio could be decoded from the file ({_ffmpeg_text(decoded.first_error)}); "
                "it is corrupt or not really in the format it claims.",
                param=PARAM,
            ) from decoded.first_error
        raise EmptyAudio("The file contains no audio samples.", param=PARAM)
    got = decoded.seconds
    if declared is not None and declared - got > _TRUNCATED_MIN_MISSING_S and (
        got < _TRUNCATED_FRACTION * declared or decoded.last_packet_bad
    ):
        raise AudioDecodeError(
            f"The file declares {describe_seconds(declared)} of audio but only "
            f"{describe_seconds(got)} could be decoded; it looks truncated "
            "(an incomplete upload or copy?).",
            param=PARAM,
        ) from decoded.first_error
    if decoded.bad_packets >= _MIN_BAD_PACKETS_TO_REFUSE and (
        decoded.bad_packets > _MAX_BAD_PACKET_FRACTION * max(decoded.packets, 1)
    ):
        raise AudioDecodeError(
            f"{decoded.bad_packets} of {decoded.packets} audio packets could not be decoded "
            f"({_ffmpeg_text(decoded.first_error)}); the file is damaged.",
            param=PARAM,
        ) from decoded.first_error
    if decoded.bad_packets:
        log.warning("skipped %d undecodable audio packets of %d (%s)", decoded.bad_packets,
                    decoded.packets, _ffmpeg_text(decoded.first_error))


# Leading bytes of formats that FFmpeg recognises at once when they are whole.
_MAGIC = (
    (0, b"RIFF", "a WAV/RIFF file"), (0, b"fLaC", "a FLAC file"), (0, b"OggS", "an Ogg file"),
    (0, b"ID3", "an MP3 file"), (4, b"ftyp", "an MP4/M4A file"),
    (0, b"\x1a\x45\xdf\xa3", "a Matroska/WebM file"),
)


def _unreadable(raw: BinaryIO, error: av.FFmpegError) -> AudioDecodeError:
    """The error for a file FFmpeg cannot open: truncated if it starts like a known format."""
    position = raw.tell()
    raw.seek(0)
    head = raw.read(16)
    raw.seek(position)
    for offset, magic, name in _MAGIC:
        if head[offset:offset + len(magic)] == magic:
            # An MP4 whose upload stopped before its index (moov) ends up here.
            return AudioDecodeError(
                f"The file starts like {name} but FFmpeg cannot open it "
                f"({_ffmpeg_text(error)}); it looks truncated or damaged.",
                param=PARAM,
            )
    return AudioDecodeError(
        f"The file is not an audio or video format FFmpeg can read ({_ffmpeg_text(error)}).",
        param=PARAM,
    )


def _as_seekable(source: Source) -> BinaryIO:
    if isinstance(source, (bytes, bytearray, memoryview)):
        # BytesIO shares an immutable bytes object's buffer instead of copying it.
        return io.BytesIO(source)
    seekable = getattr(source, "seekable", None)
    if callable(seekable) and seekable():
        # FFmpeg seeks by absolute offsets, so the file is read from its start
        # whatever its current position.
        source.seek(0)
        return source
    # Header checks and most demuxers need to seek; a pipe is read into memory.
    return io.BytesIO(source.read())


def _is_empty(raw: BinaryIO) -> bool:
    position = raw.tell()
    first = raw.read(1)
    raw.seek(position)
    return not first


def _ffmpeg_text(error: BaseException | None) -> str:
    """FFmpeg's own words, without PyAV's errno prefix."""
    if isinstance(error, av.FFmpegError):
        text = error.strerror or str(error)
        if error.log:
            text = f"{text}: {error.log[-1]}".strip()
        return text
    return str(error)
