"""Speech in: the intake of a learner's recorded answer (identify, decode, normalise, measure,
refuse bad audio with its own error code).

``import shared.speech`` is cheap: the names below load on first use, and PyAV, numpy and
webrtcvad load only when audio is first decoded (or on ``preload()``).

    from shared.speech import prepare_answer_audio, AudioRejected
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.speech.audio_errors import (
        AUDIO_ERROR_CODES,
        AudioCorrupt,
        AudioEmpty,
        AudioRejected,
        AudioSilent,
        AudioTooLarge,
        AudioTooLong,
        AudioTooQuiet,
        AudioTooShort,
        AudioUnsupportedFormat,
    )
    from shared.speech.intake import PreparedAudio, preload, prepare_answer_audio

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
    "PreparedAudio",
    "preload",
    "prepare_answer_audio",
]

_HOMES = {
    **{
        name: "shared.speech.audio_errors"
        for name in __all__
        if name.startswith(("Audio", "AUDIO"))
    },
    "PreparedAudio": "shared.speech.intake",
    "prepare_answer_audio": "shared.speech.intake",
    "preload": "shared.speech.intake",
}


def __getattr__(name: str) -> Any:
    """Load an exported name from its module on first access (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'shared.speech' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
