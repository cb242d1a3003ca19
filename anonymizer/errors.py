"""One error hierarchy; every error maps to a documented exit code.

Third-party errors are wrapped at the boundary (``raise ... from exc``) so the CLI can
print one clear line naming the file and the problem, never a traceback.
"""

from __future__ import annotations


class AnonymizerError(Exception):
    """Root of every error this package raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, path: object | None = None) -> None:
        self.path = None if path is None else str(path)
        super().__init__(message)

    def __str__(self) -> str:
        msg = super().__str__()
        return f"{self.path}: {msg}" if self.path else msg


class ConfigError(AnonymizerError, ValueError):
    """Bad policy file, roster, sidecar or command-line option."""

    exit_code = 2


class InputError(AnonymizerError, ValueError):
    """The recording cannot be used: missing, not media, no video or audio stream..."""

    exit_code = 3


class CorruptInputError(InputError):
    """The container or a stream could not be decoded (corrupt or truncated)."""


class IncompleteInputError(InputError):
    """The container is not finished: a recorder or a copy is still writing it (no
    duration, a fragmented MP4 without its closing index). A batch defers it."""


class ProcessingError(AnonymizerError, RuntimeError):
    """A pipeline stage (OCR, detection, speech, render, encode) failed."""

    exit_code = 4


class ModelError(ProcessingError):
    """A model is missing, has the wrong checksum, or would need a download."""


class VerificationError(AnonymizerError):
    """The anonymized output still shows or says something it must not."""

    exit_code = 5


class PolicyRefusal(AnonymizerError):
    """A CNIL rule of the policy forbids processing this recording."""

    exit_code = 6


class BatchIncomplete(AnonymizerError):
    """``anonymizer batch`` went through every recording but some failed, were refused or
    quarantined (its summary lists each with the reason)."""

    exit_code = 7


EXIT_CODES = {
    0: "success: output, plan and report written",
    1: "internal error (a bug): nothing published",
    ConfigError.exit_code: "bad configuration, roster, sidecar or option",
    InputError.exit_code: "bad input recording (missing, not media, corrupt, truncated, no stream)",
    ProcessingError.exit_code: "a processing stage or a model failed",
    VerificationError.exit_code: "verification found PII in the output: quarantined",
    PolicyRefusal.exit_code: "refused by policy (purpose, excluded line, still image...)",
    BatchIncomplete.exit_code: "batch: some recordings failed, were refused or quarantined (listed in the summary)",
}
