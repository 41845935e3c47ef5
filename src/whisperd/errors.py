"""whisperd's exceptions. This module imports nothing from whisperd.

    WhisperdError
    ├── SettingsError           a WHISPERD_* variable is malformed (start-up only)
    ├── InvalidRequest          a parameter is missing, malformed or out of range
    │   ├── UnsupportedFormat   an unknown response/output format
    │   └── InvalidLanguage     a language code Whisper does not know
    ├── AudioError              the upload is not usable audio
    │   ├── EmptyAudio          no bytes, or no samples after decoding
    │   ├── AudioDecodeError    not audio, corrupt, or truncated
    │   └── AudioTooLong        longer than the configured limit
    ├── UploadTooLarge          more bytes than the configured limit
    ├── Unauthorized            missing or wrong API key
    ├── ModelNotFound           no such model, or not available offline
    ├── ModelIntegrityError     a model file does not match its SHA-256 digest
    ├── ServiceBusy             concurrency slots and wait queue are full (retry later)
    ├── ServiceUnavailable      model still loading, or no worker/queue reachable
    ├── TranscriptionTimeout    the work did not finish in time
    ├── JobNotFound             no job with that id
    └── JobStateError           the job cannot do that in its current state

Each API turns these into its own error shape in one place: whisperd.api.errors.
"""

from __future__ import annotations


class WhisperdError(Exception):
    """Base class. ``message`` is safe to show to the client."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The request parameter the error is about, as OpenAI reports it.
        self.param = param


class SettingsError(WhisperdError):
    pass


class InvalidRequest(WhisperdError):
    pass


class UnsupportedFormat(InvalidRequest):
    pass


class InvalidLanguage(InvalidRequest):
    pass


class AudioError(WhisperdError):
    pass


class EmptyAudio(AudioError):
    pass


class AudioDecodeError(AudioError):
    pass


class AudioTooLong(AudioError):
    pass


class UploadTooLarge(WhisperdError):
    pass


class Unauthorized(WhisperdError):
    pass


class ModelNotFound(WhisperdError):
    pass


class ModelIntegrityError(WhisperdError):
    pass


class ServiceBusy(WhisperdError):
    def __init__(self, message: str, *, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ServiceUnavailable(WhisperdError):
    def __init__(self, message: str, *, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TranscriptionTimeout(WhisperdError):
    pass


class JobNotFound(WhisperdError):
    pass


class JobStateError(WhisperdError):
    """``code`` names the conflict for the API: job_not_finished, job_failed,
    job_cancelled or job_finished (docs/api-contract.md, "Jobs")."""

    def __init__(self, message: str, *, code: str = "job_state_conflict") -> None:
        super().__init__(message)
        self.code = code
