"""Speech fakes: a recogniser that returns scripted transcripts, a synthesiser that records.

ScriptedSpeechToText spreads each scripted answer's words evenly over the audio it was given
(so word timings look like a real engine's), marks um/uh/er as filled pauses, and can be told
to fail the next N calls; MeetingSpeechToText makes concurrent answers race.
FakeTextToSpeech answers tiny WAV-like bytes at once and can fail.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from shared import errors
from shared.models.speech import SynthesizedSpeech, TranscribedWord, Transcript

FILLED_PAUSES = frozenset({"um", "uh", "er"})

DEFAULT_ANSWER = (
    "I usually spend my weekends with my family and friends because it helps me relax "
    "after a busy week at work"
)


def transcript_for(text: str, duration_seconds: float, *, language: str = "en-GB") -> Transcript:
    """``text`` as a recogniser would return it for audio of ``duration_seconds``."""
    tokens = text.split()
    step = duration_seconds / max(len(tokens), 1)
    words = [
        TranscribedWord(
            text=token,
            start=round(index * step, 3),
            end=round((index + 0.9) * step, 3),
            confidence=0.9,
            filled_pause=token.lower().strip(",.") in FILLED_PAUSES,
        )
        for index, token in enumerate(tokens)
    ]
    return Transcript(
        text=text,
        words=words,
        language=language,
        model="scripted",
        duration_seconds=duration_seconds,
    )


class ScriptedSpeechToText:
    """``ports.SpeechToText`` answering the scripted texts in order, then ``default``."""

    def __init__(self, answers: Iterable[str] = (), *, default: str = DEFAULT_ANSWER) -> None:
        self._answers = list(answers)
        self.default = default
        self.calls: list[float] = []  # seconds of audio per call
        self.fail_next = 0
        self._lock = threading.Lock()

    def script(self, *answers: str) -> None:
        with self._lock:
            self._answers.extend(answers)

    def transcribe(self, pcm16: bytes, sample_rate_hz: int, *, language: str) -> Transcript:
        seconds = len(pcm16) / 2 / sample_rate_hz
        with self._lock:
            self.calls.append(seconds)
            if self.fail_next > 0:
                self.fail_next -= 1
                raise errors.DependencyUnavailable(
                    details={"dependency": "speech_to_text", "reason": "unavailable"}
                )
            text = self._answers.pop(0) if self._answers else self.default
        return transcript_for(text, seconds, language=language)


class MeetingSpeechToText(ScriptedSpeechToText):
    """Once armed, holds each transcription until ``parties`` requests are all transcribing, so
    they all read the session before any of them records: a race happens every time."""

    meeting: threading.Barrier | None = None

    def arm(self, parties: int) -> None:
        self.meeting = threading.Barrier(parties, timeout=60)

    def transcribe(self, pcm16: bytes, sample_rate_hz: int, *, language: str) -> Transcript:
        if self.meeting is not None:
            self.meeting.wait()
        return super().transcribe(pcm16, sample_rate_hz, language=language)


class FakeTextToSpeech:
    """``ports.TextToSpeech`` that records each line; set ``fail_with`` to make it raise."""

    provider = "fake"

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.fail_with: BaseException | None = None
        self._lock = threading.Lock()

    def voice_identity(self, voice: str) -> str:
        return f"fake/{voice}"

    def synthesize(self, text: str, *, voice: str, speaking_rate: float = 1.0) -> SynthesizedSpeech:
        if self.fail_with is not None:
            raise self.fail_with
        with self._lock:
            self.lines.append(text)
        return SynthesizedSpeech(
            audio=b"RIFF" + text.encode()[:64],
            mime_type="audio/wav",
            duration_seconds=len(text.split()) / 2.5,
            voice=voice,
        )
