"""Size, duration and emptiness limits, with the messages clients see when one is exceeded."""

from __future__ import annotations

from whisperd.errors import AudioTooLong, EmptyAudio, UploadTooLarge

PARAM = "file"  # the request parameter these errors are about


def check_upload_size(n_bytes: int, limit: int) -> None:
    """Refuse an upload of more than ``limit`` bytes, and an empty one."""
    if n_bytes > limit:
        raise UploadTooLarge(
            f"The uploaded file is {describe_bytes(n_bytes)}; "
            f"the limit is {describe_bytes(limit)}.",
            param=PARAM,
        )
    if n_bytes == 0:
        raise EmptyAudio("The uploaded file is empty (0 bytes).", param=PARAM)


def check_duration(seconds: float, limit_s: float | None, *, partial: bool = False,
                   declared: bool = False) -> None:
    """Refuse audio longer than ``limit_s`` seconds (None: no limit).

    ``partial``: decoding stopped at ``seconds``, so the whole is longer still.
    ``declared``: ``seconds`` is what the file's header states.
    """
    if limit_s is None or seconds <= limit_s:
        return
    limit = describe_seconds(limit_s)
    if partial:
        message = (f"The audio is longer than the limit of {limit} "
                   f"(decoding stopped at {describe_seconds(seconds)}).")
    elif declared:
        message = f"The file declares {describe_seconds(seconds)} of audio; the limit is {limit}."
    else:
        message = f"The audio is {describe_seconds(seconds)} long; the limit is {limit}."
    raise AudioTooLong(message, param=PARAM)


def describe_seconds(seconds: float) -> str:
    """"1 h 02 min 03 s" for messages; sub-minute values keep one decimal."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {secs:02d} s"
    return f"{minutes} min {secs:02d} s"


def describe_bytes(n_bytes: int) -> str:
    size = float(n_bytes)
    for unit in ("bytes", "KiB", "MiB"):
        if size < 1024:
            return f"{n_bytes} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
