"""The turns function: one answer of a mock test in, the examiner's next move out.

The answer is the raw request body (any ``audio/*`` type or ``application/octet-stream``),
or ``{"uploaded": true}`` after a PUT to the URL from ``.../turns/upload-url``. Every post
carries an ``Idempotency-Key``: a retry with the same key is answered from storage.

The examiner domain is imported on the first request, not at module load: every function
shares main.py, and health or users must not pay for it at cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import flask

from shared import errors
from shared.http import Api, ApiRequest, RawBody, json_response, read_body
from shared.logging import bind

if TYPE_CHECKING:
    from shared.sessions.models import RecordingLimits, UploadUrl

api = Api("turns")


def _is_audio(content_type: str) -> bool:
    return content_type.startswith("audio/") or content_type == "application/octet-stream"


def _answer_body(request: ApiRequest) -> bytes | None:
    """The answer's bytes, or None for ``{"uploaded": true}``; size refused before reading."""
    from shared.sessions.models import UploadedAnswer
    from shared.speech.audio_errors import AudioTooLarge

    content_type = (request.raw.mimetype or "").lower()
    not_audio = errors.UnsupportedMediaType(
        "Send the recorded answer as the request body with its audio Content-Type (or "
        'application/octet-stream), or JSON {"uploaded": true} after using an upload URL.',
        details={"content_type": content_type[:100]},
    )
    if content_type == "application/json":
        try:
            request.json(UploadedAnswer)
        except errors.InvalidRequest:
            raise not_audio from None  # audio inside JSON (base64) is not accepted
        return None
    if not _is_audio(content_type):
        raise not_audio
    limit = request.container.settings.max_audio_upload_bytes
    try:
        return read_body(request.raw, limit)
    except errors.PayloadTooLarge as error:
        raise AudioTooLarge(
            "The recording is too large to send in one request: ask for an upload URL "
            "(POST .../turns/upload-url) and PUT it there.",
            details=error.details,
        ) from None


@api.route(
    "POST",
    "/sessions/{session_id}/turns",
    body=RawBody(
        ("audio/*", "application/octet-stream"),
        json_alternative="shared.sessions.models:UploadedAnswer",
        description="The recorded answer as bytes with its audio Content-Type, or JSON "
        '{"uploaded": true} after a PUT to the URL from .../turns/upload-url.',
    ),
    response="shared.sessions.models:TurnResult",
    idempotency_key="required",
    raises=(
        errors.IdempotencyKeyReused,
        "shared.sessions.session_errors:SessionNotActive",
        "shared.sessions.session_errors:AudioNotUploaded",
        "shared.sessions.session_errors:TranscriptionUnavailable",
        "shared.speech.audio_errors:AudioEmpty",
        "shared.speech.audio_errors:AudioUnsupportedFormat",
        "shared.speech.audio_errors:AudioCorrupt",
        "shared.speech.audio_errors:AudioTooLarge",
        "shared.speech.audio_errors:AudioTooLong",
        "shared.speech.audio_errors:AudioTooShort",
        "shared.speech.audio_errors:AudioSilent",
        "shared.speech.audio_errors:AudioTooQuiet",
    ),
)
def post_turn(request: ApiRequest) -> flask.Response:
    """One answer in, the examiner's next move out (a retry with the same key is replayed)."""
    from shared.sessions import turns
    from shared.sessions.idempotency import checked_key

    bind(session_id=request.path_params["session_id"])  # every line of the request, its own too
    key = checked_key(request.raw.headers.get("Idempotency-Key"))
    body = _answer_body(request)
    outcome = turns.post_turn(
        request.container, request.verified_caller, request.path_params["session_id"], key, body
    )
    headers = [
        # Where the time went, and what the turn cost in Firestore (bench.turns reads them).
        ("Server-Timing", outcome.server_timing),
        ("X-Store-Reads", str(outcome.store_counts.reads)),
        ("X-Store-Writes", str(outcome.store_counts.writes)),
    ]
    if outcome.replayed:
        headers.append(("Idempotent-Replayed", "true"))
    return json_response(200, outcome.result.model_dump(mode="json"), headers)


@api.route(
    "POST",
    "/sessions/{session_id}/turns/upload-url",
    response="shared.sessions.models:UploadUrl",
    idempotency_key="required",
    raises=("shared.sessions.session_errors:SessionNotActive",),
)
def upload_url(request: ApiRequest) -> UploadUrl:
    """A signed URL to PUT a long answer to, before posting the turn as {"uploaded": true}."""
    from shared.sessions import turns
    from shared.sessions.idempotency import checked_key

    bind(session_id=request.path_params["session_id"])
    key = checked_key(request.raw.headers.get("Idempotency-Key"))
    return turns.upload_url(
        request.container, request.verified_caller, request.path_params["session_id"], key
    )


# "-" stands for any session (as in Google's API conventions): the limits hold for every turn.
@api.route("GET", "/sessions/-/turns/limits", response="shared.sessions.models:RecordingLimits")
def recording_limits(request: ApiRequest) -> RecordingLimits:
    """Accepted audio types, sizes and per-part caps, read before recording."""
    from shared.sessions import turns

    return turns.recording_limits(request.container)
