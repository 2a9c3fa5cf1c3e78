"""Why a learner's recorded answer was refused: one error class per reason, each with a stable
code the app switches on, a message telling the learner what to do, and the measured numbers
in ``details``.

Each class subclasses the matching class of ``shared.errors`` (which registers its code and
HTTP status); ``AudioRejected`` is a plain mixin so callers can catch every audio refusal at
once without it appearing as a code of its own.
"""

from __future__ import annotations

from typing import ClassVar

from shared.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType

__all__ = [
    "AUDIO_ERROR_CODES",
    "AudioCorrupt",
    "AudioEmpty",
    "AudioRejected",
    "AudioSilent",
    "AudioTooLarge",
    "AudioTooLong",
    "AudioTooQuiet",
    "AudioTooShort",
    "AudioUnsupportedFormat",
]


class AudioRejected(Exception):
    """Mixin of every audio refusal (not an AppError, so it registers no code)."""

    code: ClassVar[str]


class AudioEmpty(InvalidRequest, AudioRejected):
    code = "audio_empty"
    default_message = (
        "We received no audio. Record your answer again, and wait until recording has started "
        "before you speak."
    )


class AudioUnsupportedFormat(UnsupportedMediaType, AudioRejected):
    code = "audio_unsupported_format"
    default_message = (
        "This recording is in a format we cannot use. Record your answer in the app, or send "
        "WebM, Ogg, MP4/M4A, WAV, MP3 or FLAC audio."
    )


class AudioCorrupt(InvalidRequest, AudioRejected):
    code = "audio_corrupt"
    default_message = (
        "The recording is damaged and cannot be played back. Please record your answer again."
    )


class AudioTooLarge(PayloadTooLarge, AudioRejected):
    code = "audio_too_large"
    default_message = (
        "The recording file is too large. Record a shorter answer, or use the app's recorder."
    )


class AudioTooLong(InvalidRequest, AudioRejected):
    code = "audio_too_long"
    default_message = "Your answer is longer than the time allowed. Record a shorter answer."


class AudioTooShort(InvalidRequest, AudioRejected):
    code = "audio_too_short"
    default_message = (
        "We heard too little speech to assess. Answer the question in a few full sentences "
        "and record again."
    )


class AudioSilent(InvalidRequest, AudioRejected):
    code = "audio_silent"
    default_message = (
        "We could not hear any speech. Check that your microphone is connected, not muted and "
        "allowed in your browser, then record your answer again."
    )


class AudioTooQuiet(InvalidRequest, AudioRejected):
    code = "audio_too_quiet"
    default_message = (
        "Your voice is too quiet for us to understand. Move closer to the microphone or raise "
        "its input volume, then record your answer again."
    )


AUDIO_ERROR_CODES: tuple[str, ...] = (
    AudioEmpty.code,
    AudioUnsupportedFormat.code,
    AudioCorrupt.code,
    AudioTooLarge.code,
    AudioTooLong.code,
    AudioTooShort.code,
    AudioSilent.code,
    AudioTooQuiet.code,
)
