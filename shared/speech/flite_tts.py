"""The embedded examiner voice: flite (Debian's ``flite`` package), for the local stack and tests.

Each run of phrases between two examiner pauses is spoken by one ``flite`` process; the pauses
themselves are inserted as silence, because flite ignores the length of an SSML ``<break>``.
The text reaches flite through a temporary file, never the command line (other processes can
read a command line). Output is 16 kHz mono 16-bit WAV; the duration is counted from samples.

Which flite voice plays which accent, and why, is in ``shared.speech.examiner_voice``.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import threading
import time
import unicodedata
import wave
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from shared.errors import DependencyUnavailable, InternalError
from shared.logging import get_logger
from shared.models.speech import SynthesizedSpeech
from shared.models.user import ExaminerVoice
from shared.speech.examiner_voice import (
    FLITE_VOICES,
    Phrase,
    check_speaking_rate,
    examiner_voice,
    phrases,
)

__all__ = ["FLITE_SAMPLE_RATE_HZ", "FliteTextToSpeech"]

log = get_logger(__name__)

FLITE_SAMPLE_RATE_HZ: Final = 16000
_INSTALL_HINT: Final = "install it with `apt-get install flite`"
# flite reads bytes as Latin-1-ish ASCII: typographic punctuation becomes its plain form first.
_ASCII_PUNCTUATION: Final = str.maketrans(
    {"‘": "'", "’": "'", "“": '"', "”": '"', "–": ", ", "—": ", ", "…": "...", "•": ""}
)


class FliteTextToSpeech:
    """``ports.TextToSpeech`` on the flite command-line synthesiser.

    Args:
        binary: the flite executable (a name on PATH or a path).
        voices: examiner voice -> flite voice name (default ``FLITE_VOICES``).
        timeout_seconds: the longest one ``synthesize`` call may take in all.
    """

    provider: Final = "flite"

    def __init__(
        self,
        *,
        binary: str = "flite",
        voices: Mapping[ExaminerVoice, str] = FLITE_VOICES,
        timeout_seconds: float = 20.0,
    ) -> None:
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        self._binary = binary
        self._voices = dict(voices)
        self._timeout_seconds = timeout_seconds
        self._resolved: str | None = None
        self._known_voices: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def voice_identity(self, voice: str) -> str:
        """What decides the sound of ``voice`` here (the voice cache keys on it)."""
        return f"flite/{self._voices[examiner_voice(voice)]}/{FLITE_SAMPLE_RATE_HZ}"

    def synthesize(self, text: str, *, voice: str, speaking_rate: float = 1.0) -> SynthesizedSpeech:
        """Speak ``text`` as ``voice`` at ``speaking_rate`` (1.0 is flite's own pace).

        Raises:
            ValueError: empty text, unknown voice or a rate outside 0.5 to 2.0.
            DependencyUnavailable: flite is missing, lacks the voice, or took too long.
            InternalError: flite failed or wrote something other than 16 kHz mono WAV.
        """
        flite_voice = self._voices[examiner_voice(voice)]
        rate = check_speaking_rate(speaking_rate)
        runs = _runs(phrases(text))
        binary = self._binary_with_voice(flite_voice)
        started = time.monotonic()
        deadline = started + self._timeout_seconds
        pcm = bytearray()
        with tempfile.TemporaryDirectory(prefix="flite-") as workdir:
            for index, (run_text, pause_ms) in enumerate(runs):
                pcm += self._speak(
                    binary, flite_voice, rate, run_text, Path(workdir), index, deadline
                )
                pcm += bytes(2 * FLITE_SAMPLE_RATE_HZ * pause_ms // 1000)
        duration = len(pcm) / 2 / FLITE_SAMPLE_RATE_HZ
        log.info(
            "speech_synthesized",
            provider=self.provider,
            voice=flite_voice,
            speaking_rate=rate,
            characters=len(text),
            requests=len(runs),
            audio_seconds=round(duration, 3),
            duration_ms=round((time.monotonic() - started) * 1000),
        )
        return SynthesizedSpeech(
            audio=_wav(bytes(pcm)), mime_type="audio/wav", duration_seconds=duration, voice=voice
        )

    # --- flite ---------------------------------------------------------------------------
    def _binary_with_voice(self, flite_voice: str) -> str:
        """The flite executable, after checking once that it exists and knows ``flite_voice``
        (flite silently falls back to another voice when asked for one it lacks)."""
        with self._lock:
            if self._resolved is None:
                found = shutil.which(self._binary)
                if found is None:
                    raise DependencyUnavailable(
                        f"flite was not found ({self._binary!r}): {_INSTALL_HINT}.",
                        details={"dependency": "flite", "reason": "not_installed"},
                    )
                listed = self._run([found, "-lv"], timeout=5.0).decode("ascii", "replace")
                self._known_voices = frozenset(listed.partition(":")[2].split())
                self._resolved = found
        if flite_voice not in self._known_voices:
            raise DependencyUnavailable(
                f"this flite has no voice {flite_voice!r} (it has "
                f"{sorted(self._known_voices)}): {_INSTALL_HINT}.",
                details={"dependency": "flite", "reason": "voice_missing", "voice": flite_voice},
            )
        return self._resolved

    def _speak(
        self,
        binary: str,
        flite_voice: str,
        rate: float,
        text: str,
        workdir: Path,
        index: int,
        deadline: float,
    ) -> bytes:
        text_file, wav_file = workdir / f"{index}.txt", workdir / f"{index}.wav"
        text_file.write_text(_for_flite(text), encoding="ascii")
        command = [binary, "-voice", flite_voice, "--setf", f"duration_stretch={1 / rate:.4f}"]
        command += ["-f", str(text_file), "-o", str(wav_file)]
        self._run(command, timeout=deadline - time.monotonic())
        try:
            with wave.open(str(wav_file), "rb") as audio:
                shape = (audio.getnchannels(), audio.getsampwidth(), audio.getframerate())
                frames = audio.readframes(audio.getnframes())
        except (OSError, EOFError, wave.Error) as error:
            raise InternalError(
                "flite wrote no readable audio.",
                details={"dependency": "flite", "reason": type(error).__name__},
            ) from None
        if shape != (1, 2, FLITE_SAMPLE_RATE_HZ):
            raise InternalError(
                "flite wrote audio in an unexpected shape.",
                details={"dependency": "flite", "channels_width_rate": list(shape)},
            )
        return frames

    def _run(self, command: list[str], *, timeout: float) -> bytes:
        if timeout <= 0:
            raise self._timed_out()
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise self._timed_out() from None
        except OSError as error:  # vanished or not executable since it was found
            raise DependencyUnavailable(
                f"flite could not be started: {_INSTALL_HINT}.",
                details={"dependency": "flite", "reason": type(error).__name__},
            ) from None
        if done.returncode != 0:
            raise InternalError(
                "flite failed.",
                details={"dependency": "flite", "exit_code": done.returncode},
            )
        return done.stdout

    def _timed_out(self) -> DependencyUnavailable:
        return DependencyUnavailable(
            "flite took too long.",
            details={
                "dependency": "flite",
                "reason": "timeout",
                "timeout_seconds": self._timeout_seconds,
            },
        )


def _runs(line: list[Phrase]) -> list[tuple[str, int]]:
    """Phrases joined into runs that end at a pause: one flite process per run."""
    runs: list[tuple[str, int]] = []
    pending: list[str] = []
    for phrase in line:
        pending.append(phrase.text)
        if phrase.pause_after_ms:
            runs.append((" ".join(pending), phrase.pause_after_ms))
            pending = []
    if pending:
        runs.append((" ".join(pending), 0))
    return runs


def _for_flite(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.translate(_ASCII_PUNCTUATION))
    return plain.encode("ascii", "ignore").decode("ascii") + "\n"


def _wav(pcm: bytes) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(FLITE_SAMPLE_RATE_HZ)
        audio.writeframes(pcm)
    return out.getvalue()
