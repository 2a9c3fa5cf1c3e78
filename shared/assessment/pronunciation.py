"""Pronunciation from the audio: intelligibility proxies, prosody, chunking, and (tentatively)
words that may be worth practising.

Two entry points, for the two phases of scoring:

- ``pronunciation_quick(answers, pcm_by_turn)`` (phase 1, about 0.2 s for 11 minutes of
  speech): pitch by autocorrelation on 8 kHz-decimated audio and frame energy in numpy,
  the recogniser's word confidence when it gives one, and where the pauses fall. Its
  sub-score is provisional; the deep one replaces it.
- ``pronunciation_deep(answers, pcm_by_turn)`` (phase 2): Praat's pitch and intensity
  through parselmouth (about 2 s for 11 minutes), vowel-duration rhythm and per-word acoustic
  fit from pocketsphinx forced alignment (``shared.assessment.alignment``, about 0.1 x real
  time, so ~70 s for 11 minutes) within a time budget (60 s by default: the longest answers
  are aligned first, and ``aligned_word_share`` says how much was covered).
  ``deep_pronunciation`` also returns the full list of words to practise.

Words to practise, measured (bench/audio_eval.py, 141 espeak-ng sentence pairs, three
voices): an altered word scored below the same word said correctly in 89% of pairs; word
AUC 0.85; at the listing threshold (z <= -2.5) precision 0.56 and recall 0.52, with 3.7% of
correctly said words listed. Hence "tentative", a confidence with each word, and no weight
in the band.

What the sub-score leans on, and why: forced alignment tells which words fit the expected
sounds worse than the speaker's other words, but offline that signal is weak (FINDINGS.md:
useful for ranking a word against itself, not for flagging words reliably, and its scale
changes with the voice). So the band comes from measures that hold up: the recogniser's
confidence (intelligibility, when available), pitch variation and monotone stretches,
loudness variation, rhythm, and whether pauses fall between ideas or inside phrases. The
acoustic fit is reported but weighted 0 in ``calibration/audio_v1.toml`` until it is
calibrated on rated recordings. Words to practise are offered as a tentative, relative list
with a confidence, never as "mispronounced".

Metrics (all over the test):

- ``pitch_sd_semitones``: pitch spread within speech runs (mean of per-run standard
  deviations in semitones, weighted by voiced frames), ``pitch_range_semitones`` (5th to 95th
  percentile over the test), ``median_pitch_hz``.
- ``monotone_share``: share of runs (between pauses, at least 1.5 s) whose middle 80% of
  pitch spans less than ``monotone_range_semitones``.
- ``intensity_sd_db``: loudness variation within runs (stress and emphasis).
- ``rate_variability``: how much the articulation rate changes between runs (quick rhythm
  proxy); ``vowel_npvi``: normalised pairwise variability of aligned vowel durations (deep).
- ``mid_clause_pause_share``: pauses inside phrases among all pauses (chunking).
- ``mean_word_confidence``, ``low_confidence_share``: from the recogniser, when present.
- deep only: ``aligned_word_share``, ``acoustic_fit_outlier_share`` (words below the
  practise threshold), ``alignment_failed_chunks``.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import statistics
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from shared.assessment.fluency import (
    FluencyProfile,
    calibration,
    fluency_profile,
    normalise,
    weighted_band,
)
from shared.logging import get_logger
from shared.models.assessment import AnalyzerResult, AnswerText, Evidence

if TYPE_CHECKING:
    import numpy as np

    from shared.assessment.alignment import AlignedWord, ForcedAligner

__all__ = [
    "ANALYZER",
    "VERSION",
    "DeepPronunciation",
    "PracticeWord",
    "ProsodyTrack",
    "praat_track",
    "pronunciation_deep",
    "pronunciation_quick",
    "prosody_metrics",
    "quick_track",
    "relative_fit_scores",
]

_log = get_logger(__name__)

ANALYZER: Final = "pronunciation"
VERSION: Final = "1.0.0"
RATE_HZ: Final = 16000
PITCH_FLOOR_HZ: Final = 60.0
PITCH_CEILING_HZ: Final = 400.0
QUICK_STEP_SECONDS: Final = 0.02
DEEP_STEP_SECONDS: Final = 0.01
# The quick tracker calls a frame voiced when its normalised autocorrelation peak is above
# this (Praat's default voicing threshold is 0.45 on a similar measure).
_VOICING: Final = 0.5
# A voiced frame this far (semitones) from its neighbourhood's median is an octave slip.
_OUTLIER_SEMITONES: Final = 7.0
# Pitch and loudness statistics need this many voiced frames in a run.
_MIN_RUN_FRAMES: Final = 10
# Words whose acoustic fit is ranked: content words with at least this many phones (short
# function words are reduced in connected speech, so they misfit for no fault of the speaker).
_MIN_PHONES: Final = 3
_FUNCTION_TEXT: Final = """a an the and but or so to of in on at for with from by as is are was were
    be been am do does did have has had will would can could should i you he she it we they me
    him her us them my your his its our their this that these those there not no yes"""
_FUNCTION_WORDS: Final = frozenset(_FUNCTION_TEXT.split())
# Below this many phone observations, a phone's own spread is too noisy: blend with the
# speaker's spread over all phones.
_PHONE_PRIOR: Final = 20


@dataclass(frozen=True)
class ProsodyTrack:
    """Pitch (Hz, NaN when unvoiced) and level (dB) on frames ``step`` seconds apart, the
    first centred at ``step / 2``."""

    f0: np.ndarray
    level_db: np.ndarray
    step: float

    def frame(self, seconds: float) -> int:
        return max(0, int(seconds / self.step))


@dataclass(frozen=True)
class PracticeWord:
    """A word whose sounds fit the expected pronunciation less well than the speaker's others.

    ``z`` is the robust z-score of its fit within the speaker; ``confidence`` is how often a
    word this far down was a real deviation in our synthetic benchmark (a weak estimate).
    """

    turn_id: str
    text: str
    start: float
    end: float
    z: float
    confidence: float


@dataclass(frozen=True)
class DeepPronunciation:
    result: AnalyzerResult
    practice_words: tuple[PracticeWord, ...]


# ----------------------------------------------------------------------------- pitch tracks


def quick_track(pcm16: bytes, *, step: float = QUICK_STEP_SECONDS) -> ProsodyTrack:
    """Pitch and level in numpy: autocorrelation of 40 ms Hann-windowed frames of the audio
    decimated to 8 kHz (binomial low-pass), sub-harmonic peaks corrected, and frame energy.
    About 0.4 ms per second of audio at a 20 ms step."""
    import numpy as np

    x = np.frombuffer(pcm16, dtype="<i2").astype(np.float32)
    if len(x) < 16:
        return ProsodyTrack(np.zeros(0), np.zeros(0), step)
    # [1 4 6 4 1]/16 low-pass, then every other sample: 8 kHz, enough for pitch.
    y = (x[:-4:2] + 4 * x[1:-3:2] + 6 * x[2:-2:2] + 4 * x[3:-1:2] + x[4::2]) / 16
    rate, window = RATE_HZ // 2, 320
    hop = round(step * rate)
    count = 1 + (len(y) - window) // hop if len(y) >= window else 0
    f0 = np.full(count, np.nan, dtype=np.float64)
    level = np.zeros(count, dtype=np.float64)
    low, high = int(rate / PITCH_CEILING_HZ), int(rate / PITCH_FLOOR_HZ)
    hann = np.hanning(window).astype(np.float32)
    window_ac = np.fft.irfft(np.abs(np.fft.rfft(hann, 512)) ** 2, 512)[: high + 2]
    window_ac = window_ac / window_ac[0]
    offsets = np.arange(window)
    block = 2048
    for first in range(0, count, block):
        starts = hop * np.arange(first, min(count, first + block))
        frames = y[starts[:, None] + offsets[None, :]]
        frames = frames - frames.mean(axis=1, keepdims=True)
        power = np.mean(frames * frames, axis=1)
        level[first : first + len(frames)] = 10 * np.log10(power + 1.0)
        spectrum = np.fft.rfft(frames * hann, 512, axis=1)
        autocorr = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, 512, axis=1)[:, : high + 2]
        normalised = autocorr / (autocorr[:, :1] + 1e-9) / window_ac
        rows = np.arange(len(frames))
        lag = np.argmax(normalised[:, low : high + 1], axis=1) + low
        peak = normalised[rows, lag]
        # A peak at two or three periods is often as high as the true one: take the shortest
        # period whose peak is nearly as strong.
        for divisor in (3, 2):
            candidate = np.round(lag / divisor).astype(int)
            value = normalised[rows, np.clip(candidate, 0, high + 1)]
            better = (candidate >= low) & (value > 0.85 * peak)
            lag = np.where(better, candidate, lag)
            peak = np.where(better, value, peak)
        left = normalised[rows, lag - 1]
        right = normalised[rows, np.minimum(lag + 1, high + 1)]
        curve = left - 2 * peak + right
        shift = np.divide(
            0.5 * (left - right), curve, out=np.zeros_like(curve), where=np.abs(curve) > 1e-9
        )
        period = lag + np.clip(shift, -1.0, 1.0)
        pitch = rate / period
        pitch[peak < _VOICING] = np.nan
        f0[first : first + len(frames)] = pitch
    loud = np.nanpercentile(level, 95) if count else 0.0
    f0[level < loud - 35.0] = np.nan  # voicing in near-silence is noise
    return ProsodyTrack(f0=f0, level_db=level, step=step)


def praat_track(pcm16: bytes, *, step: float = DEEP_STEP_SECONDS) -> ProsodyTrack:
    """Praat's autocorrelation pitch and its intensity (via parselmouth), on a common grid."""
    import numpy as np
    import parselmouth

    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float64) / 32768.0
    count = int(len(samples) / RATE_HZ / step)
    if count < 8:
        return ProsodyTrack(np.zeros(0), np.zeros(0), step)
    sound = parselmouth.Sound(samples, sampling_frequency=RATE_HZ)
    pitch = sound.to_pitch_ac(
        time_step=step, pitch_floor=PITCH_FLOOR_HZ, pitch_ceiling=PITCH_CEILING_HZ
    )
    intensity = sound.to_intensity(minimum_pitch=PITCH_FLOOR_HZ, time_step=step)
    grid = (np.arange(count) + 0.5) * step
    frequency = pitch.selected_array["frequency"].astype(np.float64)
    frequency[frequency <= 0] = np.nan
    f0 = _on_grid(np.asarray(pitch.xs()), frequency, grid, step)
    level = _on_grid(np.asarray(intensity.xs()), np.asarray(intensity.values[0]), grid, step)
    return ProsodyTrack(f0=f0, level_db=np.nan_to_num(level, nan=0.0), step=step)


def _on_grid(times: np.ndarray, values: np.ndarray, grid: np.ndarray, step: float) -> np.ndarray:
    """Values at the nearest analysis time, NaN where Praat gave no frame."""
    import numpy as np

    out = np.full(len(grid), np.nan)
    if len(times) == 0:
        return out
    index = np.clip(np.round((grid - times[0]) / step).astype(int), 0, len(times) - 1)
    close = np.abs(times[index] - grid) <= step / 2 + 1e-9
    out[close] = values[index[close]]
    return out


# ----------------------------------------------------------------------------- prosody


@dataclass(frozen=True)
class _Run:
    turn_id: str
    start: float
    end: float
    words: int
    syllables: int
    pitch_sd: float | None
    pitch_range: float | None
    level_sd: float | None
    voiced_frames: int


def prosody_metrics(
    tracks: Mapping[str, ProsodyTrack],
    profile: FluencyProfile,
    answers: Sequence[AnswerText],
) -> tuple[dict[str, float], list[_Run]]:
    """Pitch, loudness and rhythm metrics over the runs of speech between pauses."""
    import numpy as np

    settings = calibration()["pronunciation"]
    semitones: dict[str, np.ndarray] = {}
    voiced_all: list[np.ndarray] = []
    for turn_id, turn_track in tracks.items():
        cleaned = _without_octave_slips(turn_track.f0)
        semitones[turn_id] = cleaned
        voiced_all.append(cleaned[~np.isnan(cleaned)])
    voiced = np.concatenate(voiced_all) if voiced_all else np.zeros(0)
    metrics: dict[str, float] = {}
    step = next(iter(tracks.values())).step if tracks else QUICK_STEP_SECONDS
    metrics["voiced_seconds"] = round(len(voiced) * step, 2)
    if len(voiced) == 0:
        return metrics, []
    reference = float(np.median(voiced))
    metrics["median_pitch_hz"] = round(reference, 1)
    low, high = np.percentile(12 * np.log2(voiced / reference), [5, 95])
    metrics["pitch_range_semitones"] = round(float(high - low), 2)
    by_turn = {answer.turn_id: answer for answer in answers}
    runs: list[_Run] = []
    for answer in profile.answers:
        track = tracks.get(answer.turn_id)
        if track is None or answer.turn_id not in by_turn:
            continue
        pitch = 12 * np.log2(semitones[answer.turn_id] / reference)
        source = by_turn[answer.turn_id]
        for words, start, end in answer.runs:
            span = slice(track.frame(start), track.frame(end) + 1)
            contour = pitch[span]
            contour = contour[~np.isnan(contour)]
            levels = track.level_db[span][~np.isnan(semitones[answer.turn_id][span])]
            enough = len(contour) >= _MIN_RUN_FRAMES
            run_syllables = _run_syllables(source, start, end)
            p10, p90 = np.percentile(contour, [10, 90]) if enough else (0.0, 0.0)
            runs.append(
                _Run(
                    turn_id=answer.turn_id,
                    start=start,
                    end=end,
                    words=words,
                    syllables=run_syllables,
                    pitch_sd=float(np.std(contour)) if enough else None,
                    pitch_range=float(p90 - p10) if enough else None,
                    level_sd=float(np.std(levels)) if enough else None,
                    voiced_frames=len(contour),
                )
            )
    measured = [run for run in runs if run.pitch_sd is not None]
    if measured:
        weights = [run.voiced_frames for run in measured]
        metrics["pitch_sd_semitones"] = round(
            _weighted([run.pitch_sd or 0.0 for run in measured], weights), 3
        )
        metrics["intensity_sd_db"] = round(
            _weighted([run.level_sd or 0.0 for run in measured], weights), 3
        )
    long_runs = [
        run
        for run in measured
        if run.end - run.start >= settings["min_run_seconds"] and run.pitch_range is not None
    ]
    if long_runs:
        flat = [
            run
            for run in long_runs
            if (run.pitch_range or 0.0) < settings["monotone_range_semitones"]
        ]
        metrics["monotone_runs"] = float(len(flat))
        metrics["monotone_share"] = round(len(flat) / len(long_runs), 3)
    rates = [
        run.syllables / (run.end - run.start)
        for run in runs
        if run.words >= 3 and run.end - run.start > 0.5
    ]
    if len(rates) >= 5:
        metrics["rate_variability"] = round(statistics.pstdev(rates) / statistics.fmean(rates), 3)
    return metrics, runs


def _run_syllables(answer: AnswerText, start: float, end: float) -> int:
    from shared.assessment.fluency import syllables

    return sum(
        syllables(word.text)
        for word in answer.words
        if not word.filled_pause and word.start >= start - 1e-6 and word.end <= end + 1e-6
    )


def _weighted(values: Sequence[float], weights: Sequence[int]) -> float:
    total = sum(weights)
    return sum(v * w for v, w in zip(values, weights, strict=True)) / total if total else 0.0


def _without_octave_slips(f0: np.ndarray) -> np.ndarray:
    """Voiced frames more than ``_OUTLIER_SEMITONES`` from the median of their neighbourhood
    (15 voiced frames) set unvoiced: octave jumps of the tracker, not intonation."""
    import numpy as np

    out = f0.astype(np.float64).copy()
    index = np.flatnonzero(~np.isnan(out))
    if len(index) < 5:
        return out
    values = 12 * np.log2(out[index])
    half = 7
    padded = np.pad(values, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    local = np.median(windows, axis=1)
    out[index[np.abs(values - local) > _OUTLIER_SEMITONES]] = np.nan
    return out


def _confidence_metrics(answers: Sequence[AnswerText]) -> dict[str, float]:
    scores = [
        word.confidence
        for answer in answers
        for word in answer.words
        if word.confidence is not None and not word.filled_pause
    ]
    if len(scores) < 20:
        return {}
    return {
        "mean_word_confidence": round(statistics.fmean(scores), 3),
        "low_confidence_share": round(sum(score < 0.6 for score in scores) / len(scores), 3),
    }


# ----------------------------------------------------------------------------- results


def pronunciation_quick(
    answers: Sequence[AnswerText], pcm_by_turn: Mapping[str, bytes]
) -> AnalyzerResult:
    """Phase 1: fast prosody (numpy), confidence and chunking; a provisional sub-score."""
    tracks = {
        answer.turn_id: quick_track(pcm_by_turn[answer.turn_id])
        for answer in answers
        if pcm_by_turn.get(answer.turn_id)
    }
    return _result(answers, pcm_by_turn, tracks, {}, [], "quick")


def pronunciation_deep(
    answers: Sequence[AnswerText],
    pcm_by_turn: Mapping[str, bytes],
    *,
    aligner: ForcedAligner | None = None,
    time_budget_seconds: float = 60.0,
) -> AnalyzerResult:
    """Phase 2: Praat prosody, alignment rhythm and acoustic fit, words to practise."""
    return deep_pronunciation(
        answers, pcm_by_turn, aligner=aligner, time_budget_seconds=time_budget_seconds
    ).result


def deep_pronunciation(
    answers: Sequence[AnswerText],
    pcm_by_turn: Mapping[str, bytes],
    *,
    aligner: ForcedAligner | None = None,
    time_budget_seconds: float = 60.0,
) -> DeepPronunciation:
    """``pronunciation_deep`` with the full list of words to practise.

    Prosody falls back to the quick tracker when parselmouth is not installed, and alignment
    is left out when pocketsphinx is not (the deployed functions may lack it): the result
    says which in ``metrics`` (``praat_prosody``, ``aligned_word_share``).
    """
    started = time.monotonic()
    with_audio = [answer for answer in answers if pcm_by_turn.get(answer.turn_id)]
    tracks: dict[str, ProsodyTrack] = {}
    praat = True
    for answer in with_audio:
        pcm = pcm_by_turn[answer.turn_id]
        try:
            tracks[answer.turn_id] = praat_track(pcm)
        except ImportError:
            praat = False
            tracks[answer.turn_id] = quick_track(pcm)
    extra: dict[str, float] = {"praat_prosody": float(praat)}
    practice: list[PracticeWord] = []
    vowel_runs: list[list[float]] = []
    if aligner is None:
        aligner = _default_aligner()
    aligned: dict[str, tuple[AlignedWord, ...]] = {}
    if aligner is not None:
        deadline = started + time_budget_seconds
        try:
            aligned, failed = _align_all(aligner, with_audio, pcm_by_turn, deadline)
            extra["alignment_failed_chunks"] = float(failed)
        except ImportError:
            _log.warning("alignment_unavailable", reason="pocketsphinx not installed")
    if aligned:
        words_total = sum(
            1 for answer in with_audio for word in answer.words if not word.filled_pause
        )
        scored = [word for words in aligned.values() for word in words if not word.filled_pause]
        extra["aligned_word_share"] = round(len(scored) / max(1, words_total), 3)
        practice, outlier_share = _practice_words(aligned)
        if outlier_share is not None:
            extra["acoustic_fit_outlier_share"] = outlier_share
        vowel_runs = _vowel_runs(aligned)
        npvi = _npvi(vowel_runs)
        if npvi is not None:
            extra["vowel_npvi"] = round(npvi, 2)
    extra["deep_seconds"] = round(time.monotonic() - started, 3)
    result = _result(answers, pcm_by_turn, tracks, extra, practice, "deep")
    return DeepPronunciation(result=result, practice_words=tuple(practice))


@functools.cache
def _default_aligner() -> ForcedAligner:
    """One aligner per process: its decoder loads once (~0.1 s) and is shared, one alignment
    at a time."""
    from shared.assessment.alignment import ForcedAligner

    return ForcedAligner()


def _align_all(
    aligner: ForcedAligner,
    answers: Sequence[AnswerText],
    pcm_by_turn: Mapping[str, bytes],
    deadline: float,
) -> tuple[dict[str, tuple[AlignedWord, ...]], int]:
    """Align the answers, longest first (Part 2 and 3 hold most of the connected speech) until
    the deadline."""
    aligned: dict[str, tuple[AlignedWord, ...]] = {}
    failed = 0
    for answer in sorted(answers, key=lambda a: -len(a.words)):
        if not answer.words or time.monotonic() >= deadline:
            continue
        alignment = aligner.align(pcm_by_turn[answer.turn_id], answer.words, deadline=deadline)
        failed += alignment.failed_chunks
        if alignment.words:
            aligned[answer.turn_id] = alignment.words
    return aligned, failed


def relative_fit_scores(words: Sequence[AlignedWord]) -> list[float | None]:
    """Each word's fit as a robust z-score within the speaker (``words`` are all the speaker's
    aligned words): per phone, its fit against the speaker's other instances of that phone;
    per word, the mean of its two worst phones. A word aligned without phones (the phone pass
    failed) is scored by its whole-word fit against the speaker's other words. Fillers get
    None.

    Why this form: on 144 synthetic sentence pairs (bench/audio_eval.py), normalising each
    phone by the speaker's own instances of it beat whole-word fit and the single worst phone
    (the acoustic model fits some phones worse than others for everyone, and each voice
    differently).
    """
    import numpy as np

    by_phone: dict[str, list[float]] = defaultdict(list)
    for word in words:
        for fit in word.phones:
            by_phone[fit.phone].append(fit.fit)
    # The prior spread is the pooled spread *within* phones (each fit less its phone's median).
    residuals = [fit - float(np.median(fits)) for fits in by_phone.values() for fit in fits] or [
        word.fit for word in words
    ]
    pooled_mad = _mad(np.asarray(residuals))
    stats = {}
    for phone, fits in by_phone.items():
        values = np.asarray(fits)
        weight = len(values) / (len(values) + _PHONE_PRIOR)
        spread = weight * _mad(values) + (1 - weight) * pooled_mad
        stats[phone] = (float(np.median(values)), max(spread, 1e-6))
    word_fits = np.asarray([word.fit for word in words])
    word_median = float(np.median(word_fits)) if len(word_fits) else 0.0
    word_mad = max(_mad(word_fits), 1e-6) if len(word_fits) else 1.0
    scores: list[float | None] = []
    for word in words:
        if word.filled_pause:
            scores.append(None)
            continue
        if word.phones:
            z = sorted((p.fit - stats[p.phone][0]) / stats[p.phone][1] for p in word.phones)
            scores.append(float(np.mean(z[:2])))
        else:
            scores.append((word.fit - word_median) / word_mad)
    return scores


def _mad(values: np.ndarray) -> float:
    import numpy as np

    if len(values) == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def _practice_words(
    aligned: Mapping[str, Sequence[AlignedWord]],
) -> tuple[list[PracticeWord], float | None]:
    settings = calibration()["pronunciation"]
    flat = [(turn_id, word) for turn_id, words in aligned.items() for word in words]
    scores = relative_fit_scores([word for _, word in flat])
    candidates = []
    eligible = 0
    for (turn_id, word), z in zip(flat, scores, strict=True):
        if z is None or normalise(word.text) in _FUNCTION_WORDS:
            continue
        if word.phones and len(word.phones) < _MIN_PHONES:
            continue
        eligible += 1
        if z <= settings["practice_z"]:
            candidates.append(
                PracticeWord(
                    turn_id=turn_id,
                    text=word.text,
                    start=word.start,
                    end=word.end,
                    z=round(z, 2),
                    confidence=0.0,  # set below, once the speaker's share is known
                )
            )
    candidates.sort(key=lambda item: item.z)
    share = round(len(candidates) / eligible, 4) if eligible >= 50 else None
    # How many listed words chance alone would list: a speaker whose share of low words is
    # near the false-alarm rate gives little reason to believe any one of them.
    chance = settings["practice_false_alarm_share"]
    bench = settings["practice_benchmark_share"]
    factor = 0.5 if share is None else _excess(share, chance) / _excess(bench, chance)
    factor = min(1.0, factor)
    listed = []
    for candidate in candidates[: settings["max_practice_words"]]:
        confidence = round(_practice_confidence(candidate.z) * factor, 2)
        if confidence >= settings["min_practice_confidence"]:
            listed.append(dataclasses.replace(candidate, confidence=confidence))
    return listed, share


def _excess(share: float, chance: float) -> float:
    """The part of a share of low-scoring words that chance does not explain."""
    return max(0.0, 1 - chance / share) if share > 0 else 0.0


def _practice_confidence(z: float) -> float:
    from shared.assessment.fluency import anchored_band

    return anchored_band(z, calibration()["pronunciation"]["practice_confidence"])


def _vowel_runs(aligned: Mapping[str, Sequence[AlignedWord]]) -> list[list[float]]:
    """Vowel durations (s) in each stretch of consecutive aligned words (no gap > 0.3 s)."""
    from shared.assessment.alignment import VOWELS

    runs: list[list[float]] = []
    for words in aligned.values():
        current: list[float] = []
        previous_end: float | None = None
        for word in words:
            if previous_end is not None and word.start - previous_end > 0.3:
                runs.append(current)
                current = []
            previous_end = word.end
            current.extend(p.end - p.start for p in word.phones if p.phone in VOWELS)
        runs.append(current)
    return [run for run in runs if len(run) >= 4]


def _npvi(runs: Sequence[Sequence[float]]) -> float | None:
    terms = [
        abs(a - b) / ((a + b) / 2) for run in runs for a, b in itertools.pairwise(run) if a + b > 0
    ]
    return 100 * statistics.fmean(terms) if len(terms) >= 20 else None


def _result(
    answers: Sequence[AnswerText],
    pcm_by_turn: Mapping[str, bytes],
    tracks: Mapping[str, ProsodyTrack],
    extra: Mapping[str, float],
    practice: Sequence[PracticeWord],
    depth: str,
) -> AnalyzerResult:
    settings = calibration()
    rules = settings["pronunciation"]
    version = f"{VERSION}+{settings['version']}"
    with_audio = [answer for answer in answers if pcm_by_turn.get(answer.turn_id)]
    if not with_audio:
        return AnalyzerResult(
            analyzer=f"{ANALYZER}_{depth}",
            version=version,
            criterion="pronunciation",
            not_scored_reason="no audio: pronunciation is judged from the recording only",
        )
    profile = fluency_profile(with_audio, pcm_by_turn)
    metrics, runs = prosody_metrics(tracks, profile, with_audio)
    metrics.update(_confidence_metrics(with_audio))
    pauses = profile.metrics.get("silent_pauses", 0.0)
    if pauses >= 5:
        metrics["mid_clause_pause_share"] = profile.metrics["mid_clause_pause_share"]
    metrics.update(extra)
    if metrics.get("voiced_seconds", 0.0) < rules["min_speech_seconds"]:
        return AnalyzerResult(
            analyzer=f"{ANALYZER}_{depth}",
            version=version,
            criterion="pronunciation",
            metrics=metrics,
            not_scored_reason=(
                f"too little speech to judge pronunciation "
                f"({metrics.get('voiced_seconds', 0.0):.0f} s voiced)"
            ),
        )
    score, bands = weighted_band(metrics, rules["components"])
    for name, band in bands.items():
        metrics[f"band_{name}"] = band
    evidence = _evidence(metrics, bands, runs, with_audio, practice)
    return AnalyzerResult(
        analyzer=f"{ANALYZER}_{depth}",
        version=version,
        criterion="pronunciation",
        metrics=metrics,
        evidence=tuple(evidence),
        sub_score=round(score, 2) if score is not None else None,
    )


def _evidence(
    metrics: Mapping[str, float],
    bands: Mapping[str, float],
    runs: Sequence[_Run],
    answers: Sequence[AnswerText],
    practice: Sequence[PracticeWord],
) -> list[Evidence]:
    items: list[Evidence] = []
    confidence = metrics.get("mean_word_confidence")
    if confidence is not None:
        items.append(
            Evidence(
                kind="metric",
                criterion="pronunciation",
                note=(
                    f"The speech recogniser was on average {confidence:.0%} sure of your words "
                    "(a rough guide to how easy you are to understand)."
                ),
                metric="mean_word_confidence",
                value=confidence,
                positive=bands.get("mean_word_confidence", 0.0) >= 7.0,
            )
        )
    spread = metrics.get("pitch_sd_semitones")
    if spread is not None:
        lively = bands.get("pitch_sd_semitones", 0.0) >= 7.0
        items.append(
            Evidence(
                kind="metric",
                criterion="pronunciation",
                note=(
                    f"Your pitch moved by about {spread:.1f} semitones within phrases: "
                    + (
                        "lively intonation that helps listeners follow."
                        if lively
                        else "fairly flat; rising and falling more would mark what matters."
                    )
                ),
                metric="pitch_sd_semitones",
                value=spread,
                positive=lively,
            )
        )
    flat = [
        run
        for run in runs
        if run.pitch_range is not None
        and run.end - run.start >= calibration()["pronunciation"]["min_run_seconds"]
        and run.pitch_range < calibration()["pronunciation"]["monotone_range_semitones"]
    ]
    if flat:
        longest = max(flat, key=lambda run: run.end - run.start)
        answer = next(a for a in answers if a.turn_id == longest.turn_id)
        quote = " ".join(
            word.text
            for word in answer.words
            if word.start >= longest.start - 1e-6 and word.end <= longest.end + 1e-6
        )
        items.append(
            Evidence(
                kind="quote",
                criterion="pronunciation",
                note=(
                    f"Said on an almost level pitch ({longest.pitch_range or 0.0:.1f} "
                    "semitones): stressing the key word would make it easier to follow."
                ),
                quote=quote,
                turn_id=longest.turn_id,
                start_seconds=longest.start,
                end_seconds=longest.end,
            )
        )
    share = metrics.get("mid_clause_pause_share")
    if share is not None and len(items) < 4:
        good = bands.get("mid_clause_pause_share", 0.0) >= 7.0
        items.append(
            Evidence(
                kind="metric",
                criterion="pronunciation",
                note=(
                    f"{share:.0%} of your pauses fell inside a phrase rather than between ideas"
                    + ("." if good else ": grouping words into phrases helps listeners.")
                ),
                metric="mid_clause_pause_share",
                value=share,
                positive=good,
            )
        )
    # One tentative word at most among the evidence (the full list is in DeepPronunciation):
    # it is the weakest signal here, so it never crowds out the measures the band rests on.
    if practice:
        items = items[:3]
    for word in practice[:1]:
        items.append(
            Evidence(
                kind="quote",
                criterion="pronunciation",
                note=(
                    f"Tentative: \u201c{word.text}\u201d may be worth practising; its sounds "
                    "matched the usual pronunciation less closely than your other words "
                    f"(automatic estimate, confidence {word.confidence:.0%})."
                ),
                quote=word.text,
                turn_id=word.turn_id,
                start_seconds=word.start,
                end_seconds=word.end,
                metric="relative_fit_z",
                value=word.z,
            )
        )
    return items[:4]
