"""A learner's answer audio in Cloud Storage: stored first, before anything can fail.

Names: ``audio/{uid}/{session_id}/{turn_id}.{ext}`` for an answer sent in the request body
(``ext`` from the first bytes, ``bin`` when they match no accepted format) and
``audio/{uid}/{session_id}/{turn_id}.upload`` for one PUT through a signed upload URL. The
turn id comes from the idempotency key, so a retry finds the bytes of its first attempt.
The audio bucket's lifecycle rule deletes them after ``AUDIO_RETENTION_DAYS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from shared import errors
from shared.logging import get_logger
from shared.ports import BlobStore
from shared.sessions.idempotency import body_sha256
from shared.speech.formats import identify

__all__ = [
    "UPLOAD_CONTENT_TYPE",
    "StoredAnswer",
    "answer_blob_name",
    "discard",
    "fetch",
    "store_first",
    "upload_blob_name",
]

log = get_logger(__name__)

UPLOAD_CONTENT_TYPE: Final = "application/octet-stream"


@dataclass(frozen=True)
class StoredAnswer:
    """The answer's bytes and where they are kept.

    ``owned``: this request put them there (or the learner uploaded them for this key), so
    this request deletes them if the answer is refused. ``pending``: a turn document waiting
    for transcription already points at them.
    """

    data: bytes
    sha256: str
    bucket: str
    name: str
    content_type: str
    owned: bool
    pending: bool = False


def answer_blob_name(uid: str, session_id: str, turn_id: str, extension: str) -> str:
    return f"audio/{uid}/{session_id}/{turn_id}.{extension}"


def upload_blob_name(uid: str, session_id: str, turn_id: str) -> str:
    return answer_blob_name(uid, session_id, turn_id, "upload")


def _kind(data: bytes) -> tuple[str, str]:
    """(extension, content type) from the first bytes; decoding comes later."""
    sniffed = identify(data)
    if sniffed is None:
        return "bin", UPLOAD_CONTENT_TYPE
    return sniffed.kind.extension, sniffed.kind.mime_type


def store_first(
    blobs: BlobStore, bucket: str, uid: str, session_id: str, turn_id: str, data: bytes
) -> StoredAnswer:
    """Store the original bytes unless this turn's bytes are already there (a retry)."""
    extension, content_type = _kind(data)
    name = answer_blob_name(uid, session_id, turn_id, extension)
    written = blobs.put(bucket, name, data, content_type=content_type, if_absent=True)
    return StoredAnswer(data, body_sha256(data), bucket, name, content_type, owned=written)


def fetch(blobs: BlobStore, bucket: str, name: str) -> bytes | None:
    """The stored bytes, or None when there are none."""
    try:
        return blobs.get(bucket, name)
    except errors.NotFound:
        return None


def discard(blobs: BlobStore, answer: StoredAnswer) -> None:
    """Delete refused audio: nothing is kept of an answer that was not accepted."""
    try:
        blobs.delete(answer.bucket, answer.name)
    except errors.DependencyUnavailable:
        # Not worth failing the learner's request: the lifecycle rule deletes it later.
        log.warning("answer_audio_not_discarded", blob=answer.name)
