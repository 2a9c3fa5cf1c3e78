"""Pronunciation: prosody on synthetic pitch contours, forced alignment robustness, relative
word fit (one fixed espeak-ng example), not-scored cases and the wording of evidence."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import numpy as np
import pytest

from shared.assessment.alignment import (
    AlignedWord,
    ForcedAligner,
    PhoneFit,
    dictionary_form,
)
from shared.assessment.fluency import calibration, fluency_profile
from shared.assessment.pronunciation import (
    deep_pronunciation,
    pronunciation_deep,
    pronunciation_quick,
    prosody_metrics,
    quick_track,
    relative_fit_scores,
)
from shared.models.assessment import AnalyzerResult, AnswerText, TimedWord

RATE = 16000
RUN_SECONDS = 2.0
GAP_SECONDS = 0.6
WORDS_PER_RUN = 6


def voiced(contour: Callable[[np.ndarray], np.ndarray], seconds: float) -> np.ndarray:
    """A vowel-like harmonic sound whose pitch follows ``contour(t)`` (Hz)."""
    t = np.arange(round(seconds * RATE)) / RATE
    phase = 2 * np.pi * np.cumsum(contour(t)) / RATE
    wave = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = np.minimum(1.0, np.minimum(t, seconds - t) / 0.03)  # no clicks at the edges
    return np.asarray(6000 * wave * envelope)


def recording(
    contour: Callable[[np.ndarray], np.ndarray], runs: int, turn_id: str = "t1"
) -> tuple[AnswerText, bytes]:
    """``runs`` stretches of speech-like sound between pauses, with words spread over them."""
    parts: list[np.ndarray] = []
    words: list[TimedWord] = []
    cursor = 0.3
    parts.append(np.zeros(round(cursor * RATE)))
    for run in range(runs):
        parts.append(voiced(lambda t, offset=cursor: contour(t + offset), RUN_SECONDS))
        step = RUN_SECONDS / WORDS_PER_RUN
        for index in range(WORDS_PER_RUN):
            start = cursor + index * step
            words.append(TimedWord(text=f"word{run}x{index}", start=start, end=start + step))
        cursor += RUN_SECONDS
        parts.append(np.zeros(round(GAP_SECONDS * RATE)))
        cursor += GAP_SECONDS
    signal = np.concatenate(parts) + np.random.default_rng(3).normal(0, 20, sum(map(len, parts)))
    answer = AnswerText(
        turn_id=turn_id,
        part=3,
        text=" ".join(word.text for word in words),
        words=tuple(words),
        duration_seconds=cursor,
    )
    return answer, bytes(np.clip(signal, -32768, 32767).astype("<i2").tobytes())


def flat(t: np.ndarray) -> np.ndarray:
    return np.full_like(t, 120.0)


def lively(t: np.ndarray) -> np.ndarray:
    return 120.0 * 2 ** (4 * np.sin(2 * np.pi * 0.7 * t) / 12)  # +-4 semitones


def test_quick_tracker_follows_a_pitch_glide() -> None:
    audio = voiced(lambda t: 100.0 + 100.0 * t, 1.0)  # 100 -> 200 Hz in one second
    pcm = bytes(audio.astype("<i2").tobytes())

    track = quick_track(pcm)
    times = (np.arange(len(track.f0)) + 0.5) * track.step + 0.01
    middle = (times > 0.1) & (times < 0.9)
    expected = 100.0 + 100.0 * times[middle]

    assert np.mean(~np.isnan(track.f0[middle])) > 0.95
    errors = np.abs(12 * np.log2(track.f0[middle] / expected))
    assert np.nanmedian(errors) < 0.5  # semitones: no octave slips


def test_praat_and_quick_trackers_agree_on_a_tone() -> None:
    from shared.assessment.pronunciation import praat_track

    pcm = bytes(voiced(lambda t: np.full_like(t, 180.0), 1.0).astype("<i2").tobytes())

    praat = praat_track(pcm)
    quick = quick_track(pcm)

    assert np.nanmedian(praat.f0) == pytest.approx(180.0, rel=0.02)
    assert np.nanmedian(quick.f0) == pytest.approx(180.0, rel=0.02)


def _prosody(contour: Callable[[np.ndarray], np.ndarray]) -> dict[str, float]:
    answer, pcm = recording(contour, runs=6)
    profile = fluency_profile([answer], {answer.turn_id: pcm})
    metrics, _ = prosody_metrics({answer.turn_id: quick_track(pcm)}, profile, [answer])
    return metrics


def test_monotone_speech_has_flat_pitch_metrics() -> None:
    metrics = _prosody(flat)

    assert metrics["pitch_sd_semitones"] < 0.3
    assert metrics["pitch_range_semitones"] < 1.0
    assert metrics["monotone_share"] == 1.0
    assert metrics["median_pitch_hz"] == pytest.approx(120.0, rel=0.02)


def test_varied_speech_has_lively_pitch_metrics() -> None:
    metrics = _prosody(lively)

    assert metrics["pitch_sd_semitones"] > 2.0
    assert metrics["pitch_range_semitones"] > 6.0
    assert metrics["monotone_share"] == 0.0


def test_flat_intonation_scores_below_varied_and_is_quoted() -> None:
    flat_answer, flat_pcm = recording(flat, runs=12)
    lively_answer, lively_pcm = recording(lively, runs=12)

    monotone = pronunciation_quick([flat_answer], {"t1": flat_pcm})
    varied = pronunciation_quick([lively_answer], {"t1": lively_pcm})

    assert monotone.sub_score is not None
    assert varied.sub_score is not None
    assert monotone.sub_score < varied.sub_score - 1
    assert monotone.criterion == "pronunciation"
    quotes = [e for e in monotone.evidence if e.kind == "quote"]
    assert quotes
    assert quotes[0].turn_id == "t1"
    assert quotes[0].start_seconds is not None
    assert 2 <= len(monotone.evidence) <= 4


def test_recogniser_confidence_is_used_when_present() -> None:
    answer, pcm = recording(lively, runs=12)
    sure = answer.model_copy(
        update={"words": tuple(w.model_copy(update={"confidence": 0.95}) for w in answer.words)}
    )
    unsure = answer.model_copy(
        update={"words": tuple(w.model_copy(update={"confidence": 0.5}) for w in answer.words)}
    )

    high = pronunciation_quick([sure], {"t1": pcm})
    low = pronunciation_quick([unsure], {"t1": pcm})
    none = pronunciation_quick([answer], {"t1": pcm})

    assert high.metrics["mean_word_confidence"] == pytest.approx(0.95)
    assert "mean_word_confidence" not in none.metrics
    assert high.sub_score is not None
    assert low.sub_score is not None
    assert low.sub_score < high.sub_score


def test_no_audio_is_not_scored() -> None:
    answer, _ = recording(lively, runs=3)

    for result in (pronunciation_quick([answer], {}), pronunciation_deep([answer], {})):
        assert result.sub_score is None
        assert result.not_scored_reason is not None
        assert "no audio" in result.not_scored_reason


def test_too_little_speech_is_not_scored() -> None:
    answer, pcm = recording(lively, runs=3)  # 6 s of sound

    result = pronunciation_quick([answer], {"t1": pcm})

    assert result.sub_score is None
    assert result.not_scored_reason is not None
    assert "too little speech" in result.not_scored_reason


def test_every_pronunciation_component_is_a_reported_metric() -> None:
    known = {
        "mean_word_confidence",
        "pitch_sd_semitones",
        "monotone_share",
        "intensity_sd_db",
        "mid_clause_pause_share",
        "vowel_npvi",
        "rate_variability",
        "acoustic_fit_outlier_share",
    }
    components = calibration()["pronunciation"]["components"]

    assert set(components) == known
    assert components["acoustic_fit_outlier_share"]["weight"] == 0.0  # reported, not scored


# ----------------------------------------------------------------------------- alignment


def _word(index: int, text: str, fits: dict[str, float]) -> AlignedWord:
    phones = tuple(PhoneFit(phone=p, start=0.0, end=0.1, fit=f) for p, f in fits.items())
    return AlignedWord(
        index=index,
        text=text,
        start=float(index),
        end=index + 0.5,
        fit=sum(fits.values()) / len(fits),
        worst_phone_fit=min(fits.values()),
        phones=phones,
    )


def test_relative_fit_ranks_a_word_whose_phones_fit_badly_last() -> None:
    rng = np.random.default_rng(0)
    words = [
        _word(i, f"w{i}", {"AA": rng.normal(5, 2), "T": rng.normal(-10, 4), "S": rng.normal(0, 1)})
        for i in range(40)
    ]
    words.append(_word(40, "odd", {"AA": -5.0, "T": -10.0, "S": -4.0}))  # AA and S far off
    words.append(
        AlignedWord(
            index=41,
            text="um",
            start=41,
            end=41.5,
            fit=0,
            worst_phone_fit=None,
            phones=(),
            filled_pause=True,
        )
    )

    scores = relative_fit_scores(words)

    assert scores[-1] is None
    numbers = [s for s in scores if s is not None]
    assert numbers.index(min(numbers)) == 40
    assert min(numbers) < -2.5


def test_aligner_places_words_of_a_flite_sentence() -> None:
    from tests.speech_samples import SENTENCES, synthesize

    pcm = synthesize(SENTENCES[0])
    words = SENTENCES[0].rstrip(".").split()
    seconds = len(pcm) / 2 / RATE
    timed = [
        TimedWord(text=w, start=seconds * i / len(words), end=seconds * (i + 1) / len(words))
        for i, w in enumerate(words)
    ]

    alignment = ForcedAligner().align(pcm, timed)

    assert alignment.status == "ok"
    assert [w.text for w in alignment.words] == words
    assert all(w.phones for w in alignment.words)
    starts = [w.start for w in alignment.words]
    assert starts == sorted(starts)
    assert alignment.words[-1].end <= seconds + 1e-6


def test_aligner_survives_noise_unknown_words_and_a_spent_budget() -> None:
    aligner = ForcedAligner()
    noise = np.random.default_rng(2).normal(0, 3000, 3 * RATE).astype("<i2").tobytes()
    words = [
        TimedWord(text="hello", start=0.2, end=0.8),
        TimedWord(text="qwzxv", start=0.9, end=1.4),  # no dictionary entry
        TimedWord(text="world", start=1.5, end=2.2),
    ]

    on_noise = aligner.align(noise, words)
    spent = aligner.align(noise, words, deadline=time.monotonic() - 1)
    empty = aligner.align(b"", [])

    assert on_noise.unknown_words == ("qwzxv",)
    assert on_noise.status in {"partial", "failed"}
    assert spent.skipped_chunks == spent.chunks
    assert spent.words == ()
    assert empty.words == ()


def test_dictionary_form_handles_case_punctuation_and_british_spelling() -> None:
    entries = {"favorite", "organized", "center", "don't", "colors"}

    def lookup(word: str) -> bool:
        return word in entries

    assert dictionary_form("Favourite,", lookup) == "favorite"
    assert dictionary_form("organised", lookup) == "organized"
    assert dictionary_form("centre", lookup) == "center"
    assert dictionary_form("Don\u2019t", lookup) == "don't"
    assert dictionary_form("colours", lookup) == "colors"
    assert dictionary_form("zzz", lookup) is None


def _espeak(phonemes: str) -> bytes:
    from shared.speech.decoding import decode_audio
    from shared.speech.formats import identify

    wav = subprocess.run(
        ["/usr/bin/espeak-ng", "-v", "en-us", "--stdout", f"[[{phonemes}]]"],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    sniffed = identify(wav)
    assert sniffed is not None
    return bytes(decode_audio(wav, sniffed, max_seconds=30).samples.astype("<i2").tobytes())


# "I enjoy cooking dinner for my friends at the weekend", as espeak-ng -x writes it, and the
# same with the /d/ of "dinner" said as /b/.
_CORRECT = "aI EndZ'OI k'UkIN d'In3 fO@ maI fr'Endz at D@2 w'i:kEnd"
_ALTERED = "aI EndZ'OI k'UkIN b'In3 fO@ maI fr'Endz at D@2 w'i:kEnd"
_WORDS = ["I", "enjoy", "cooking", "dinner", "for", "my", "friends", "at", "the", "weekend"]
_TARGET = 3


def test_an_altered_word_fits_worse_than_the_same_word_said_correctly() -> None:
    aligner = ForcedAligner()
    versions = []
    for phonemes in (_CORRECT, _ALTERED):
        pcm = _espeak(phonemes)
        seconds = len(pcm) / 2 / RATE
        timed = [
            TimedWord(text=w, start=seconds * i / len(_WORDS), end=seconds * (i + 1) / len(_WORDS))
            for i, w in enumerate(_WORDS)
        ]
        alignment = aligner.align(pcm, timed)
        assert [w.text for w in alignment.words] == _WORDS
        versions.append(alignment.words)

    # Relative within the speaker: both sentences are the same voice.
    scores = relative_fit_scores([*versions[0], *versions[1]])
    correct, altered = scores[: len(_WORDS)], scores[len(_WORDS) :]

    assert altered[_TARGET] is not None
    assert correct[_TARGET] is not None
    assert altered[_TARGET] < correct[_TARGET]


def _all_notes(result: AnalyzerResult) -> list[str]:
    return [e.note for e in result.evidence] + [result.not_scored_reason or ""]


def test_evidence_never_says_mispronounced() -> None:
    pcm = _espeak(_ALTERED)
    seconds = len(pcm) / 2 / RATE
    words = tuple(
        TimedWord(text=w, start=seconds * i / len(_WORDS), end=seconds * (i + 1) / len(_WORDS))
        for i, w in enumerate(_WORDS)
    )
    short = AnswerText(turn_id="s", part=1, text=" ".join(_WORDS), words=words)
    lively_answer, lively_pcm = recording(lively, runs=12)
    flat_answer, flat_pcm = recording(flat, runs=12, turn_id="t2")
    audio = {"s": pcm, "t1": lively_pcm, "t2": flat_pcm}

    deep = deep_pronunciation([short, lively_answer, flat_answer], audio, time_budget_seconds=20)
    results = [
        deep.result,
        pronunciation_quick([short, lively_answer, flat_answer], audio),
        pronunciation_quick([short], {"s": pcm}),
    ]

    notes = [note for result in results for note in _all_notes(result)]
    notes += [f"{w.text} {w.z} {w.confidence}" for w in deep.practice_words]
    assert notes
    assert not any("mispronounc" in note.lower() for note in notes)
    practise = [e for e in deep.result.evidence if e.metric == "relative_fit_z"]
    assert all(e.note.startswith("Tentative") for e in practise)
