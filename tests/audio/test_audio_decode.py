"""decode_audio / decode_pcm16 on real recordings converted to every common format,
and on broken, truncated and malicious inputs."""

from __future__ import annotations

import io
import os
import struct
import tempfile
import tracemalloc
import wave
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from audio_samples import CLIP_S, FORMATS, SPEECH_ID, convert, ffmpeg

from whisperd.audio.decode import (
    SAMPLE_RATE,
    decode_audio,
    decode_pcm16,
    probe_duration,
)
from whisperd.errors import AudioDecodeError, AudioTooLong, EmptyAudio

MiB = 1024 * 1024


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_decodes_to_the_recordings_length(
        fmt: str, converted: Callable[[str], Path], manifest: dict[str, Any]) -> None:
    audio = decode_audio(converted(fmt).read_bytes())
    assert audio.dtype == np.float32 and audio.ndim == 1
    # Lossy codecs add up to a few tens of ms of encoder delay/padding.
    assert abs(len(audio) / SAMPLE_RATE - manifest[SPEECH_ID]["duration_s"]) < 0.1
    assert 0.05 < float(np.abs(audio).max()) <= 1.0


def test_original_flac_matches_its_wav_conversion(converted: Callable[[str], Path],
                                                  recording: Callable[[str], Path]) -> None:
    flac = decode_audio(recording(SPEECH_ID).read_bytes())
    wav = decode_audio(converted("wav").read_bytes())
    np.testing.assert_array_equal(flac, wav)


def test_accepts_bytes_file_objects_and_unseekable_streams(
        converted: Callable[[str], Path]) -> None:
    data = converted("mp3").read_bytes()
    expected = decode_audio(data)

    class Pipe(io.RawIOBase):
        """A stream that can only be read forward, like a socket."""

        def __init__(self, payload: bytes) -> None:
            self._inner = io.BytesIO(payload)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self._inner.read(len(buffer))
            buffer[:len(chunk)] = chunk
            return len(chunk)

    with converted("mp3").open("rb") as f:
        np.testing.assert_array_equal(decode_audio(f), expected)
    np.testing.assert_array_equal(decode_audio(bytearray(data)), expected)
    np.testing.assert_array_equal(decode_audio(Pipe(data)), expected)


def test_resamples_44k_stereo(recording: Callable[[str], Path], manifest: dict[str, Any]) -> None:
    audio = decode_audio(recording("en_jfk_inaugural").read_bytes())
    assert abs(len(audio) / SAMPLE_RATE - manifest["en_jfk_inaugural"]["duration_s"]) < 0.05


def test_rate_and_channels_changing_midway(tmp_path: Path, recording: Callable[[str], Path],
                                           manifest: dict[str, Any]) -> None:
    # Two MP3s joined byte for byte, as podcast tools do: 44.1 kHz stereo, then
    # 22.05 kHz mono. The resampler must be rebuilt where the stream changes.
    first = tmp_path / "a.mp3"
    second = tmp_path / "b.mp3"
    ffmpeg("-i", str(recording(SPEECH_ID)), "-ar", "44100", "-ac", "2", "-write_xing", "0",
           str(first))
    ffmpeg("-i", str(recording("en_jfk_inaugural")), "-ar", "22050", "-ac", "1",
           "-write_xing", "0", str(second))
    audio = decode_audio(first.read_bytes() + second.read_bytes())
    expected = manifest[SPEECH_ID]["duration_s"] + manifest["en_jfk_inaugural"]["duration_s"]
    assert abs(len(audio) / SAMPLE_RATE - expected) < 0.2


def test_stereo_is_downmixed_to_the_mean_of_both_channels(
        recording: Callable[[str], Path]) -> None:
    path = recording("en_stereo_two_channels")
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (2, SAMPLE_RATE, 2)
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    expected = pcm.astype(np.float32).mean(axis=1) / 32768.0
    audio = decode_audio(path.read_bytes())
    assert audio.shape == expected.shape
    # The two channels hold different speakers; a one-channel pick would differ by far more.
    assert float(np.abs(audio - expected).max()) <= 2 / 32768


def test_raw_pcm16_matches_the_same_samples_in_a_wav(recording: Callable[[str], Path]) -> None:
    path = recording("en_librispeech_1272-128104-0000")  # 16 kHz mono 16-bit WAV
    with wave.open(str(path), "rb") as w:
        pcm = w.readframes(w.getnframes())
    np.testing.assert_array_equal(decode_pcm16(pcm), decode_audio(path.read_bytes()))


def test_raw_pcm16_errors() -> None:
    with pytest.raises(EmptyAudio):
        decode_pcm16(b"")
    with pytest.raises(AudioDecodeError, match="odd number of bytes"):
        decode_pcm16(b"\x00\x01\x02")
    with pytest.raises(AudioTooLong, match="limit"):
        decode_pcm16(bytes(2 * SAMPLE_RATE * 3), max_duration_s=2.0)


@pytest.mark.parametrize("source", [b"", io.BytesIO(b"")], ids=["bytes", "file"])
def test_empty_upload(source: Any) -> None:
    with pytest.raises(EmptyAudio) as info:
        decode_audio(source)
    assert info.value.param == "file"


def test_wav_with_no_samples_is_empty_audio() -> None:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
    with pytest.raises(EmptyAudio, match="no audio samples"):
        decode_audio(buffer.getvalue())


def test_errors_keep_ffmpegs_cause(long_clip: Callable[..., Path]) -> None:
    import av

    data = long_clip("m4a").read_bytes()
    with pytest.raises(AudioDecodeError) as info:
        decode_audio(data[: len(data) // 2])
    assert isinstance(info.value.__cause__, av.FFmpegError)
    assert "Invalid data found" in info.value.message


def _png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    rows = b"".join(b"\x00" + bytes(range(64)) for _ in range(64))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("seed", range(8))
def test_random_bytes_are_refused(seed: int) -> None:
    data = np.random.default_rng(seed).bytes(200_000)
    with pytest.raises(AudioDecodeError) as info:
        decode_audio(data)
    assert info.value.param == "file"


def test_text_named_wav_is_refused(eval_dir: Path, tmp_path: Path) -> None:
    fake = tmp_path / "notes.wav"
    fake.write_bytes((eval_dir / "README.md").read_bytes())
    with pytest.raises(AudioDecodeError, match="not an audio or video format"):
        decode_audio(fake.read_bytes())


def test_image_is_refused() -> None:
    with pytest.raises(AudioDecodeError, match="no audio track"):
        decode_audio(_png())


def test_video_without_sound_is_refused(tmp_path: Path) -> None:
    silent_film = tmp_path / "film.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=2",
           "-c:v", "libx264", "-preset", "ultrafast", str(silent_film))
    with pytest.raises(AudioDecodeError, match="no audio track.*video"):
        decode_audio(silent_film.read_bytes())


# fmt, extra ffmpeg arguments. "m4a" keeps its index (moov) at the end, so half a
# file cannot even be opened; "+faststart" puts it first, so half a file opens
# and declares the full length.
TRUNCATABLE = [
    ("flac", ()), ("wav", ()), ("mp3", ()), ("webm", ()),
    ("m4a", ()), ("m4a", ("-movflags", "+faststart")),
]


@pytest.mark.parametrize("fmt, extra", TRUNCATABLE, ids=lambda v: "-".join(v) if v else "plain")
def test_truncated_file_is_refused(fmt: str, extra: tuple[str, ...],
                                   long_clip: Callable[..., Path]) -> None:
    data = long_clip(fmt, *extra).read_bytes()
    whole = decode_audio(data)
    assert abs(len(whole) / SAMPLE_RATE - CLIP_S) < 0.1
    with pytest.raises(AudioDecodeError, match="truncated") as info:
        decode_audio(data[: len(data) // 2])
    assert info.value.param == "file"


def test_wav_header_that_lies_is_refused(long_clip: Callable[..., Path]) -> None:
    data = bytearray(long_clip("wav").read_bytes())
    at = data.index(b"data") + 4
    (size,) = struct.unpack_from("<I", data, at)
    struct.pack_into("<I", data, at, size * 3)
    with pytest.raises(AudioDecodeError, match="declares 3 min 00 s.*truncated"):
        decode_audio(bytes(data))


@pytest.mark.parametrize("fmt", ["flac", "mp3", "m4a"])
def test_a_little_damage_midway_is_tolerated(fmt: str, long_clip: Callable[..., Path]) -> None:
    # Like a media player, skip a corrupt packet or two rather than refuse a long
    # recording; the length check still catches a file that lost more.
    data = bytearray(long_clip(fmt).read_bytes())
    middle = len(data) // 2
    data[middle:middle + 200] = np.random.default_rng(7).bytes(200)
    audio = decode_audio(bytes(data))
    assert CLIP_S - 1.0 < len(audio) / SAMPLE_RATE <= CLIP_S + 0.1


def test_ogg_cut_in_half_still_decodes(long_clip: Callable[..., Path]) -> None:
    # Ogg declares no total length up front (FFmpeg reads the last page), so a cut
    # file is simply a shorter one: nothing to call truncated.
    data = long_clip("ogg").read_bytes()
    audio = decode_audio(data[: len(data) // 2])
    assert 20 < len(audio) / SAMPLE_RATE < 40


def test_declared_length_over_the_limit_is_refused_before_decoding(
        silence_bomb: Path) -> None:
    data = silence_bomb.read_bytes()
    assert len(data) < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(AudioTooLong, match="declares 10 h 00 min 00 s"):
            decode_audio(data, max_duration_s=3 * 3600)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * MiB


def test_bomb_without_declared_length_stops_at_the_limit(silence_bomb: Path) -> None:
    data = bytearray(silence_bomb.read_bytes())
    # STREAMINFO's total-samples field (36 bits from byte 21) set to 0: "unknown".
    assert data[:4] == b"fLaC"
    data[21] &= 0xF0
    data[22:26] = bytes(4)
    assert probe_duration(bytes(data)) is None
    tracemalloc.start()
    try:
        with pytest.raises(AudioTooLong, match="longer than the limit of 1 min 00 s"):
            decode_audio(bytes(data), max_duration_s=60)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Ten hours would be 2.2 GiB of float32; stopping at the limit needs a few MiB.
    assert peak < 20 * MiB


def test_recording_longer_than_the_limit(converted: Callable[[str], Path]) -> None:
    for fmt in ("flac", "ogg"):
        with pytest.raises(AudioTooLong) as info:
            decode_audio(converted(fmt).read_bytes(), max_duration_s=5)
        assert info.value.param == "file"
    assert len(decode_audio(converted("flac").read_bytes(), max_duration_s=11)) > 0


def test_timeout(long_clip: Callable[..., Path]) -> None:
    with pytest.raises(AudioDecodeError, match="took longer than"):
        decode_audio(long_clip("flac").read_bytes(), timeout_s=1e-9)


def test_probe_duration(converted: Callable[[str], Path], tmp_path: Path,
                        recording: Callable[[str], Path], manifest: dict[str, Any]) -> None:
    expected = manifest[SPEECH_ID]["duration_s"]
    for fmt in ("flac", "wav", "m4a", "mp3", "webm"):
        declared = probe_duration(converted(fmt).read_bytes())
        assert declared is not None and abs(declared - expected) < 0.1, fmt
    # Without a Xing/Info header an MP3's length is only FFmpeg's bitrate guess.
    bare = convert(recording(SPEECH_ID), tmp_path / "bare.mp3", "mp3", extra=("-write_xing", "0"))
    assert probe_duration(bare.read_bytes()) is None
    assert probe_duration(b"not audio at all") is None
    with converted("flac").open("rb") as f:
        f.seek(100)
        probe_duration(f)
        assert f.tell() == 0
        f.seek(100)  # decoding reads from the start whatever the position
        np.testing.assert_array_equal(decode_audio(f), decode_audio(converted("flac").read_bytes()))


def test_concurrent_decodes_match_sequential(converted: Callable[[str], Path]) -> None:
    formats = ["mp3", "m4a", "ogg", "webm", "flac", "mp4"]
    blobs = [converted(fmt).read_bytes() for fmt in formats]
    expected = [decode_audio(b) for b in blobs]
    with ThreadPoolExecutor(max_workers=len(blobs)) as pool:
        results = list(pool.map(decode_audio, blobs * 2))
    for got, want in zip(results, expected * 2, strict=True):
        np.testing.assert_array_equal(got, want)


def test_no_temporary_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            converted: Callable[[str], Path],
                            long_clip: Callable[..., Path]) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    monkeypatch.setattr(tempfile, "tempdir", None)  # make tempfile re-read TMPDIR
    assert tempfile.gettempdir() == str(tmpdir)
    for fmt in ("mp3", "m4a", "webm", "mp4"):
        decode_audio(converted(fmt).read_bytes())
    cut = long_clip("flac").read_bytes()
    for bad in (cut[: len(cut) // 2], b"\x00" * 1000, _png()):
        with pytest.raises(AudioDecodeError):
            decode_audio(bad)
    assert os.listdir(tmpdir) == []
