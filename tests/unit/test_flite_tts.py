"""FliteTextToSpeech: the real Debian flite, plus stand-in scripts for its failures."""

from __future__ import annotations

import io
import stat
import wave
from pathlib import Path

import numpy as np
import pytest
import structlog

from shared.errors import DependencyUnavailable, InternalError
from shared.speech.examiner_voice import FLITE_VOICES, Pause
from shared.speech.flite_tts import FLITE_SAMPLE_RATE_HZ, FliteTextToSpeech

QUESTION = "Let's talk about your hometown. Where is it, and what is it like?"


def _samples(wav_bytes: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(wav_bytes), "rb") as audio:
        assert (audio.getnchannels(), audio.getsampwidth()) == (1, 2)
        assert audio.getframerate() == FLITE_SAMPLE_RATE_HZ
        return np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2")


def _longest_digital_silence(samples: np.ndarray) -> float:
    """Seconds of the longest run of exact zeros (flite's own pauses are never exactly 0)."""
    best = run = 0
    for is_zero in samples == 0:
        run = run + 1 if is_zero else 0
        best = max(best, run)
    return best / FLITE_SAMPLE_RATE_HZ


def _script(tmp_path: Path, body: str) -> str:
    """A stand-in ``flite`` that lists the real voices and then does ``body``."""
    path = tmp_path / "flite"
    path.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-lv" ]; then echo "Voices available: kal awb rms slt"; exit 0; fi\n'
        f"{body}\n"
    )
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


@pytest.fixture(scope="module")
def flite() -> FliteTextToSpeech:
    return FliteTextToSpeech()


@pytest.mark.parametrize("voice", ["british", "american", "australian"])
def test_each_voice_speaks_a_line_as_16khz_wav(flite: FliteTextToSpeech, voice: str) -> None:
    speech = flite.synthesize(QUESTION, voice=voice)
    samples = _samples(speech.audio)
    assert speech.mime_type == "audio/wav"
    assert speech.voice == voice
    assert speech.duration_seconds == len(samples) / FLITE_SAMPLE_RATE_HZ
    assert 2.0 < speech.duration_seconds < 10.0
    assert np.abs(samples).max() > 1000  # speech, not silence


def test_the_accents_sound_different(flite: FliteTextToSpeech) -> None:
    audio = {
        voice: flite.synthesize("Good afternoon.", voice=voice).audio for voice in FLITE_VOICES
    }
    assert len(set(audio.values())) == 3


def test_the_speaking_rate_stretches_or_shortens_speech(flite: FliteTextToSpeech) -> None:
    normal = flite.synthesize(QUESTION, voice="american").duration_seconds
    slow = flite.synthesize(QUESTION, voice="american", speaking_rate=0.5).duration_seconds
    fast = flite.synthesize(QUESTION, voice="american", speaking_rate=2.0).duration_seconds
    assert 1.6 < slow / normal < 2.4
    assert 0.4 < fast / normal < 0.7


def test_examiner_pauses_are_inserted_as_silence(flite: FliteTextToSpeech) -> None:
    with_greeting = flite.synthesize("Good morning. What is your name?", voice="british")
    without = flite.synthesize("What is your name?", voice="british")
    assert _longest_digital_silence(_samples(with_greeting.audio)) >= Pause.GREETING / 1000
    assert _longest_digital_silence(_samples(without.audio)) < 0.1


def test_typographic_and_accented_text_is_spoken(flite: FliteTextToSpeech) -> None:
    speech = flite.synthesize("Is the “café” near your home… or far away?", voice="british")
    assert speech.duration_seconds > 1.0


def test_the_text_goes_through_a_file_not_the_command_line(tmp_path: Path) -> None:
    calls = tmp_path / "calls.txt"
    fake = _script(
        tmp_path,
        f'echo "$@" >> {calls}\n'
        'while [ $# -gt 0 ]; do case "$1" in -f) in="$2";; -o) out="$2";; esac; shift; done\n'
        f'cat "$in" >> {tmp_path / "texts.txt"}\n'
        f'flite -voice slt -t hello -o "$out"',
    )
    FliteTextToSpeech(binary=fake).synthesize("Good morning. Secret words here?", voice="american")
    assert "Secret" not in calls.read_text()
    assert "-voice slt" in calls.read_text()
    assert "Secret words here?" in (tmp_path / "texts.txt").read_text()


def test_logs_never_carry_the_text(flite: FliteTextToSpeech) -> None:
    with structlog.testing.capture_logs() as logs:
        flite.synthesize("My friend Zanzibar-Quinn lives there. Do you?", voice="british")
    assert logs
    assert all("Zanzibar" not in repr(entry) for entry in logs)
    assert logs[-1]["voice"] == "awb"


def test_a_missing_flite_names_the_package_to_install() -> None:
    tts = FliteTextToSpeech(binary="flite-is-not-installed-here")
    with pytest.raises(DependencyUnavailable, match="apt-get install flite") as raised:
        tts.synthesize("Hello.", voice="british")
    assert raised.value.details == {"dependency": "flite", "reason": "not_installed"}


def test_a_flite_without_the_voice_is_unavailable() -> None:
    tts = FliteTextToSpeech(voices={**FLITE_VOICES, "british": "rp_english"})
    with pytest.raises(DependencyUnavailable, match="rp_english") as raised:
        tts.synthesize("Hello.", voice="british")
    assert raised.value.details["reason"] == "voice_missing"


def test_a_flite_that_hangs_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    tts = FliteTextToSpeech(binary=_script(tmp_path, "exec sleep 10"), timeout_seconds=0.3)
    with pytest.raises(DependencyUnavailable) as raised:
        tts.synthesize("Hello.", voice="british")
    assert raised.value.details["reason"] == "timeout"


def test_a_failing_flite_is_an_internal_error(tmp_path: Path) -> None:
    tts = FliteTextToSpeech(binary=_script(tmp_path, "exit 3"))
    with pytest.raises(InternalError) as raised:
        tts.synthesize("Hello.", voice="british")
    assert raised.value.details["exit_code"] == 3


def test_a_flite_writing_other_audio_is_an_internal_error(tmp_path: Path) -> None:
    fake = _script(
        tmp_path,
        'while [ $# -gt 0 ]; do case "$1" in -o) out="$2";; esac; shift; done\n'
        'flite -voice kal -t hello -o "$out"',  # kal speaks at 8 kHz
    )
    with pytest.raises(InternalError, match="unexpected shape"):
        FliteTextToSpeech(binary=fake).synthesize("Hello.", voice="british")


def test_bad_arguments_are_refused(flite: FliteTextToSpeech) -> None:
    with pytest.raises(ValueError, match="examiner voice"):
        flite.synthesize("Hello.", voice="welsh")
    with pytest.raises(ValueError, match="speaking rate"):
        flite.synthesize("Hello.", voice="british", speaking_rate=0.1)
    with pytest.raises(ValueError, match="nothing to say"):
        flite.synthesize("", voice="british")


def test_the_voice_identity_names_the_flite_voice(flite: FliteTextToSpeech) -> None:
    assert flite.voice_identity("british") == "flite/awb/16000"
