"""Why a session or turn request was refused: one class per reason, each with a stable code.

Each subclasses the matching class of ``shared.errors`` (its HTTP status); the codes are API.
"""

from __future__ import annotations

from shared.errors import Conflict, DependencyUnavailable, InvalidRequest

__all__ = [
    "AudioNotUploaded",
    "IdempotencyKeyInvalid",
    "IdempotencyKeyRequired",
    "SessionNotActive",
    "TranscriptionUnavailable",
]


class IdempotencyKeyRequired(InvalidRequest):
    code = "idempotency_key_required"
    default_message = (
        "Send an 'Idempotency-Key' header (8 to 128 letters, digits, '-' or '_'), new for each "
        "answer and the same when you retry it."
    )


class IdempotencyKeyInvalid(InvalidRequest):
    code = "idempotency_key_invalid"
    default_message = (
        "The 'Idempotency-Key' header must be 8 to 128 letters, digits, '-' or '_' (a UUID works)."
    )


class SessionNotActive(Conflict):
    code = "session_not_active"
    default_message = "This mock test has ended and takes no more answers. Start a new one."


class AudioNotUploaded(Conflict):
    code = "audio_not_uploaded"
    default_message = (
        "No audio was uploaded for this Idempotency-Key: PUT the recording to the upload URL "
        "first, or send it as the request body."
    )


class TranscriptionUnavailable(DependencyUnavailable):
    code = "transcription_unavailable"
    default_message = (
        "Your answer is saved, but we could not transcribe it just now. Retry with the same "
        "Idempotency-Key in a few seconds; you do not need to record or upload it again."
    )
