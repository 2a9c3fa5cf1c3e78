"""Speech segments, levels and clipping on normalised audio (shared.speech.measures)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from shared.speech.measures import DBFS_FLOOR, measure, to_dbfs
from tests.unit import audio_corpus as corpus

RATE = 16000


def _syllables(layout: list[tuple[str, float]], *, level_dbfs: float = -22.0) -> np.ndarray:
    """Speech-like bursts ('s', seconds) and silences ('-', seconds) laid end to end."""
    parts = []
    for seed, (kind, seconds) in enumerate(layout):
        if kind == "s":
            parts.append(corpus.continuous_speech(seconds, level_dbfs=level_dbfs, seed=seed))
        else:
            parts.append(corpus.silence(seconds))
    return corpus.to_int16(np.concatenate(parts))


def test_speech_is_found_where_it_is() -> None:
    samples = _syllables([("-", 1.0), ("s", 3.0), ("-", 1.5), ("s", 2.0), ("-", 1.0)])
    result = measure(samples)
    assert result.duration_seconds == pytest.approx(8.5)
    assert len(result.speech_segments) == 2
    (first_start, first_end), (second_start, second_end) = result.speech_segments
    assert first_start == pytest.approx(1.0, abs=0.2)
    assert first_end == pytest.approx(4.0, abs=0.4)
    assert second_start == pytest.approx(5.5, abs=0.2)
    assert second_end == pytest.approx(7.5, abs=0.4)
    assert result.speech_seconds == pytest.approx(
        sum(end - start for start, end in result.speech_segments), abs=0.001
    )


def test_short_gaps_are_merged_and_pauses_are_kept() -> None:
    short_gap = measure(_syllables([("-", 0.5), ("s", 1.0), ("-", 0.15), ("s", 1.0), ("-", 0.5)]))
    long_gap = measure(_syllables([("-", 0.5), ("s", 1.0), ("-", 0.6), ("s", 1.0), ("-", 0.5)]))
    assert len(short_gap.speech_segments) == 1
    assert len(long_gap.speech_segments) == 2


def test_segments_are_on_a_30_ms_grid() -> None:
    result = measure(corpus.to_int16(corpus.speech_like(5.0)))
    for start, end in result.speech_segments:
        assert round(start / 0.03, 6) == round(start / 0.03)
        assert end > start


def test_levels_of_a_known_tone() -> None:
    result = measure(corpus.to_int16(corpus.tone(2.0, dbfs=-12.0)))
    assert result.overall_dbfs == pytest.approx(-12.0, abs=0.05)
    assert result.peak_dbfs == pytest.approx(-9.0, abs=0.05)  # sine peak: RMS + 3 dB
    assert result.clipping_ratio == 0


def test_level_is_measured_over_speech_only() -> None:
    loud_speech = _syllables([("-", 4.0), ("s", 2.0), ("-", 4.0)], level_dbfs=-20.0)
    result = measure(loud_speech)
    assert result.level_dbfs == pytest.approx(-20.0, abs=1.5)
    assert result.overall_dbfs < result.level_dbfs - 5


def test_clipping_ratio_counts_full_scale_samples() -> None:
    samples = np.zeros(16000, dtype=np.int16)
    samples[:80] = 32767
    samples[80:160] = -32768
    samples[160:240] = 32000  # loud, not clipped
    assert measure(samples).clipping_ratio == pytest.approx(160 / 16000)


def test_digital_silence_is_at_the_floor_and_has_no_speech() -> None:
    result = measure(np.zeros(RATE * 3, dtype=np.int16))
    assert result.speech_segments == ()
    assert result.level_dbfs == result.peak_dbfs == result.overall_dbfs == DBFS_FLOOR
    assert to_dbfs(0.0) == DBFS_FLOOR


@pytest.mark.parametrize("dbfs", [-40.0, -20.0, -6.0])
def test_noise_is_not_speech_even_when_webrtcvad_says_so(dbfs: float) -> None:
    result = measure(corpus.to_int16(corpus.white_noise(5.0, dbfs=dbfs)))
    assert result.speech_seconds == 0
    assert result.flatness > 0.5


def test_speech_in_noise_is_still_found() -> None:
    speech = corpus.speech_like(6.0, level_dbfs=-22.0).astype(np.float64)
    noisy = speech + corpus.white_noise(6.0, dbfs=-34.0)  # about 12 dB below the speech
    result = measure(corpus.to_int16(noisy))
    clean = measure(corpus.to_int16(speech))
    assert result.speech_seconds == pytest.approx(clean.speech_seconds, rel=0.25)
    assert result.noise_floor_dbfs == pytest.approx(-34.0, abs=3.0)


@pytest.mark.parametrize("level", [-30.0, -50.0, -70.0])
def test_detection_does_not_depend_on_the_level(level: float) -> None:
    reference = measure(corpus.to_int16(corpus.speech_like(5.0, level_dbfs=-20.0)))
    quiet = measure(corpus.to_int16(corpus.speech_like(5.0, level_dbfs=level)))
    assert quiet.speech_seconds == pytest.approx(reference.speech_seconds, abs=0.3)
    assert quiet.level_dbfs == pytest.approx(level - 1.0, abs=1.5)


def test_tiny_inputs() -> None:
    for length in (0, 1, 479, 480, 481):
        result = measure(np.zeros(length, dtype=np.int16))
        assert result.speech_seconds == 0


def test_a_minute_is_measured_in_well_under_a_second() -> None:
    samples = corpus.to_int16(corpus.speech_like(60.0))
    started = time.perf_counter()
    measure(samples)
    assert time.perf_counter() - started < 0.5
