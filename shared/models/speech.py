"""What the speech ports return: transcripts with word timings, and synthesised speech."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TranscribedWord(BaseModel):
    """One recognised word; times are seconds from the start of the answer's audio."""

    model_config = ConfigDict(frozen=True)

    text: str
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    confidence: float | None = Field(
        default=None, ge=0, le=1, description="None when the engine gives no confidence."
    )
    filled_pause: bool = Field(default=False, description="um, er, uh... kept for fluency.")


class Transcript(BaseModel):
    """The speech-to-text result for one answer."""

    model_config = ConfigDict(frozen=True)

    text: str
    words: list[TranscribedWord]
    language: str = Field(description="BCP-47 code the engine reported or was asked for.")
    model: str = Field(description="Engine and model that produced it, e.g. 'pocketsphinx'.")
    duration_seconds: float = Field(ge=0, description="Length of the audio transcribed.")


class SynthesizedSpeech(BaseModel):
    """Audio of an examiner line."""

    model_config = ConfigDict(frozen=True)

    audio: bytes
    mime_type: str = Field(description="e.g. 'audio/mpeg' or 'audio/wav'.")
    duration_seconds: float = Field(ge=0)
    voice: str
