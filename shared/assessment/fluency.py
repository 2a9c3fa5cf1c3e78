"""Fluency from word timings: speed, pauses, hesitation, repetition, repair, answer length.

The speed-and-hesitation half of Fluency and Coherence (the text half is ``coherence``). Pure
Python on the transcript's word timings, so it runs in phase 1 of scoring (a 14-minute test
in milliseconds); given the answers' audio it also finds silent pauses in the signal itself
(numpy, about 30 ms for 11 minutes), because a recogniser's word edges drift into silence.

Definitions (all over the whole test; "words" are lexical words, filled pauses left out):

- speaking time: first word's start to last word's end, per answer, summed.
- silent pause: silence of at least ``MIN_PAUSE_SECONDS`` (0.25 s, the usual threshold in
  fluency research) between two words of an answer. Silence before the first word (thinking
  time after the question) is not a pause.
- phonation time: speaking time minus silent pauses and filled pauses.
- speech rate: words (and syllables) per minute of speaking time; articulation rate: per
  minute of phonation time.
- mean length of run: words between silent pauses (answer edges end a run too).
- a pause is at a *boundary* when the word before it ends a sentence or clause (punctuation
  in the transcript, when the recogniser gives it) or the word after it opens one (a
  conjunction, discourse marker, relative or question word, or a subject pronoun after a
  word that can end a clause, or a noun phrase and a finite verb); pauses right after a
  determiner, preposition, auxiliary or conjunction are always mid-clause: the speaker has
  committed to a phrase and stopped inside it. Where none of these decides, the trigram
  language model does: a boundary when a sentence break there is at least a tenth as likely
  as the words running on (``SENTENCE_BREAK_ODDS``; ``bench/sentence_breaks.py``).
  Otherwise it is *mid-clause*.
- filled pause: a run of um/uh/er (``TimedWord.filled_pause``) with no silent pause inside.
  With the audio, also a *held sound*: a stretch of sound between two silences (at least
  30 ms each), 0.2-1.2 s long, voiced nearly throughout (90% of 10 ms frames), with a
  spectrum that holds still for part of it (a vowel or a hum held, as in "uhh", "umm"; a
  larger part when the recogniser heard two words in it), holding at most two recognised
  words besides fillers, each inside it (a word that runs on past the silence is a word
  with a stop in it, not a hesitation), or none at all. pocketsphinx hears a held "um" as
  "them", "and" or "I'm" far more often than as a filler, and often hears the start of a
  held "er" as "the" or "though"; those words are then counted as the hesitation, not as
  words. A held sound is one hesitation whose edges are its silences, plus the hum of an
  "um" when that comes after a dip under 60 ms. Measured on synthetic hesitations by
  ``bench/audio_eval.py`` (answers it was tuned on and answers held out).
- repetition: a word or a 2-3 word chunk said again at once ("I I", "in the in the").
- self-correction: a restart that changes a word ("I go, I went", "my brother, my sister",
  with the changed word related or a hesitation before the restart) or an explicit repair
  ("no, I mean", "or rather").

The band mapping is data (``calibration/audio_v1.toml``): each measure mapped to a band along
anchors, their weighted mean held to at most a margin above the weakest sign of hesitation
(``hesitation_ceiling``: slow speech, pauses inside phrases, fillers, repairs), less a
penalty when answers are short for their part in both time and words.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import statistics
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from shared.assessment.naturalness import sentence_break_odds
from shared.models.assessment import AnalyzerResult, AnswerText, Evidence, TimedWord

__all__ = [
    "ANALYZER",
    "CALIBRATION_FILE",
    "MIN_PAUSE_SECONDS",
    "SENTENCE_BREAK_ODDS",
    "VERSION",
    "FluencyProfile",
    "Pause",
    "Repair",
    "anchored_band",
    "calibration",
    "find_pauses",
    "find_repairs",
    "fluency_analysis",
    "fluency_profile",
    "held_sounds",
    "hesitation_ceiling",
    "silent_intervals",
    "syllables",
    "weighted_band",
]

ANALYZER: Final = "fluency"
VERSION: Final = "1.2.0"
CALIBRATION_FILE: Final = Path(__file__).with_name("calibration") / "audio_v1.toml"

MIN_PAUSE_SECONDS: Final = 0.25
# Filled pauses closer than this are one hesitation ("uh er" is how a recogniser often hears
# one long "uhm").
_FILLER_JOIN_SECONDS: Final = MIN_PAUSE_SECONDS
# A hesitation is a held sound: shorter than this, it was part of a word.
_MIN_FILLER_SECONDS: Final = 0.08
_EDGE_SILENCE_SECONDS: Final = 0.06
# Held sounds (see the module doc): the silences around them, their length, how much of them
# must be voiced, and the share of frames whose spectrum holds still.
_HELD_BORDER_SECONDS: Final = 0.03
_HELD_SECONDS: Final = (0.2, 1.2)
_HELD_VOICED_SHARE: Final = 0.9
# Holding still: the share of frames for a sound with one recognised word (or none), and for
# one with two (two real words said together change more than one word drawn out).
_HELD_STABLE_SHARE: Final = (0.1, 0.2)
_HELD_WORD_INSIDE: Final = 0.7  # share of each overlapping word's time inside the sound
_HELD_MAX_WORDS: Final = 2  # recognised words (not fillers) a held sound may hold
# The hum of an "um" after its vowel: at most this far after it, at most this long.
_HUM_GAP_SECONDS: Final = 0.06
_HUM_SECONDS: Final = 0.15
_STABLE_CEPSTRAL_SD: Final = 2.5  # spread of 12 cepstra over +-50 ms, below = holding still
_RATE_HZ: Final = 16000
_FRAME: Final = 160  # 10 ms
# Silence: below max(noise floor + 9 dB, loud speech - 35 dB) per 10 ms frame; blips of up to
# 20 ms (clicks, a breath's tail) inside a silence do not end it.
_FLOOR_MARGIN_DB: Final = 9.0
_SPEECH_MARGIN_DB: Final = 35.0
_MAX_BLIP_FRAMES: Final = 2
_MIN_RANGE_DB: Final = 15.0

# A pause the rules leave open is at a boundary when the language model finds a sentence
# break at least this likely against the words running on (log10 odds; see
# ``naturalness.sentence_break_odds``). On learners' essays 89% of sentence ends and 12% of
# unmarked gaps reach it (bench/sentence_breaks.py); erring towards "boundary" gives the
# learner the benefit of the doubt, since mid-clause pauses lower the band.
SENTENCE_BREAK_ODDS: Final = -1.0

_WORD = re.compile(r"[^\w']+")
_ENDS_CLAUSE = re.compile(r"[.!?;:,\u2014\u2013]|--|\.\.\.$")
_CUT_OFF = re.compile(r"(-|\u2014|\u2013|\.\.\.)$")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that open a clause: a pause before them falls between ideas.
CLAUSE_OPENERS: Final = _words(
    """and but so or because since although though while whereas when whenever where wherever
    if unless until before after then also however therefore anyway actually basically well
    which who whom whose what why how that's there's i'm it's nowadays firstly secondly
    finally besides moreover furthermore otherwise instead yes no yeah okay ok"""
)
SUBJECT_PRONOUNS: Final = _words("i we they he she you there it people")
# After these a phrase must continue: a pause here is inside it.
PHRASE_OPENERS: Final = _words(
    """a an the this that these those my your his her its our their some any every each no
    of in on at to for with from by about into onto over under between through during without
    like as than and but or because so if when is are was were be been being am do does did
    have has had will would can could should must might may shall very really quite more most
    less such not"""
)
_DETERMINERS: Final = _words("a an the this that these those my your his her its our their some")
_FINITE_VERBS: Final = _words(
    "is are was were has have had can could will would does did do must should may might"
)
# Said twice on purpose ("very very", "had had"): not a repetition.
_DELIBERATE_DOUBLES: Final = _words("very so that had bye no yes really many much")
# Explicit repairs. A bare "I mean" is left out: it is as often a discourse marker.
_REPAIR_PHRASES: Final = (
    ("no", "i", "mean"),
    ("sorry", "i", "mean"),
    ("or", "rather"),
    ("i", "meant"),
    ("let", "me", "rephrase"),
    ("what", "i", "meant"),
)
# Word pairs a speaker swaps when repairing: irregular forms and article/pronoun swaps.
_RELATED: Final = tuple(
    _words(group)
    for group in (
        "go goes went gone going",
        "is was are were be been am",
        "have has had having",
        "do does did done",
        "a an the",
        "he she they it",
        "him her them",
        "his her their its",
        "this that these those",
        "buy bought",
        "think thought",
        "get got gotten",
        "make made",
        "take took taken",
        "come came",
        "see saw seen",
        "say said",
        "tell told",
        "give gave given",
        "know knew known",
        "in on at",
        "much many",
        "more most",
    )
)

Location = Literal["boundary", "mid_clause"]


@dataclass(frozen=True)
class Pause:
    """A silent pause inside an answer; ``before``/``after`` index the answer's words."""

    turn_id: str
    start: float
    end: float
    before: int
    after: int
    location: Location

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Repair:
    """A repetition or self-correction: the words involved, quoted as said."""

    turn_id: str
    kind: Literal["repetition", "self_correction"]
    first: int  # word indices, inclusive
    last: int
    quote: str
    start: float
    end: float


@dataclass(frozen=True)
class AnswerFluency:
    turn_id: str
    part: int
    speaking_seconds: float
    words: int
    syllables: int
    pauses: tuple[Pause, ...]
    filled_pauses: tuple[tuple[float, float], ...]
    repairs: tuple[Repair, ...]
    runs: tuple[tuple[int, float, float], ...]  # (words, start, end) between pauses


@dataclass(frozen=True)
class FluencyProfile:
    """Everything measured, per answer and over the test; ``metrics`` is what is reported."""

    answers: tuple[AnswerFluency, ...]
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def pauses(self) -> tuple[Pause, ...]:
        return tuple(pause for answer in self.answers for pause in answer.pauses)

    @property
    def repairs(self) -> tuple[Repair, ...]:
        return tuple(repair for answer in self.answers for repair in answer.repairs)


# ----------------------------------------------------------------------------- calibration


@functools.cache
def calibration() -> dict[str, Any]:
    """The band mapping (``calibration/audio_v1.toml``), read once."""
    return tomllib.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))


def anchored_band(value: float, anchors: Sequence[Sequence[float]]) -> float:
    """``value`` mapped by straight lines between ``[metric, band]`` anchors (sorted by metric,
    either direction of band), flat beyond the ends."""
    points = sorted((float(x), float(y)) for x, y in anchors)
    if value <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if value <= x1:
            return y0 + (y1 - y0) * (value - x0) / (x1 - x0)
    return points[-1][1]


def weighted_band(
    metrics: Mapping[str, float], components: Mapping[str, Mapping[str, Any]]
) -> tuple[float | None, dict[str, float]]:
    """The weighted mean band of the components present in ``metrics`` (weights renormalised),
    and each component's band. None when no weighted component could be measured."""
    bands: dict[str, float] = {}
    total = weight_sum = 0.0
    for name, spec in components.items():
        value = metrics.get(name)
        if value is None or math.isnan(value):
            continue
        band = anchored_band(value, spec["anchors"])
        bands[name] = round(band, 2)
        weight = float(spec["weight"])
        total += weight * band
        weight_sum += weight
    if weight_sum <= 0:
        return None, bands
    return total / weight_sum, bands


def hesitation_ceiling(bands: Mapping[str, float], rule: Mapping[str, Any]) -> float | None:
    """The highest sub-score the signs of hesitation allow: ``rule["margin"]`` above the band
    of the weakest of ``rule["components"]`` that was measured (None when none was).

    The descriptors make each sign of effort a limit of its own (band 5 relies on repetition,
    self-correction and/or slow speech), so fast speech must not buy back frequent repairs.
    """
    measured = [bands[name] for name in rule["components"] if name in bands]
    if not measured:
        return None
    return min(measured) + float(rule["margin"])


# ----------------------------------------------------------------------------- words


def normalise(word: str) -> str:
    """Lower case without surrounding punctuation ("Flat." -> "flat"; "don't" kept)."""
    return _WORD.sub("", word.lower().replace("\u2019", "'")).strip("'")


_VOWEL_GROUPS: Final = re.compile(r"[aeiouy]+")
# Vowel pairs that are two syllables (go-ing, i-de-a, vi-de-o, ri-ot, qui-et ...).
_HIATUS: Final = re.compile(
    r"[aeiouy](?:ing|ings)$|[^aeiouc]ia(?!n$)|[^aeious]ea(?=$|s$)|[^g]eo|ua|uo|[^c]iet|ier$|iu|"
    r"ii|[aeiou]y[aeiou]|eate|ience|ious|iod|dio|ire$|our$|our?s$"
)


def syllables(word: str) -> int:
    """Syllables in an English word by vowel groups with the usual corrections (silent final
    e, -ed, -es, vowel pairs said apart): 93% exact on the 5,000 commonest words against the
    CMU dictionary, and within 1% in total."""
    text = re.sub(r"[^a-z]", "", word.lower())
    if not text:
        return 1 if any(ch.isdigit() for ch in word) else 0
    count = len(_VOWEL_GROUPS.findall(text))
    if re.search(r"[^aeiouy]e$", text) and count > 1 and not re.search(r"[^aeiouy]le$", text):
        count -= 1
    if re.search(r"[^aeiouytd]ed$", text) and count > 1:
        count -= 1
    if re.search(r"[^aeiouysxzhgc]es$", text) and count > 1:
        count -= 1
    if re.search(r"[^aeiou]e(ly|ment|ful|less|ness|s)$", text) and count > 2:
        count -= 1
    count += len(_HIATUS.findall(text))
    return max(1, count)


def _punctuation_after(answer: AnswerText) -> list[bool]:
    """Per word: does the transcript put clause punctuation right after it? Recognisers that
    punctuate put it in the text, not always in the timed words, so the two are matched in
    order by their letters."""
    flags = [bool(_ENDS_CLAUSE.search(word.text.strip())) for word in answer.words]
    tokens = answer.text.split()
    position = 0
    for index, word in enumerate(answer.words):
        target = normalise(word.text)
        if not target:
            continue
        for look in range(position, min(position + 4, len(tokens))):
            if normalise(tokens[look]) == target:
                flags[index] = flags[index] or bool(_ENDS_CLAUSE.search(tokens[look]))
                position = look + 1
                break
    return flags


# ----------------------------------------------------------------------------- audio


def silent_intervals(
    pcm16: bytes, *, min_seconds: float = MIN_PAUSE_SECONDS
) -> tuple[tuple[float, float], ...] | None:
    """Silences of at least ``min_seconds`` in 16 kHz mono s16le audio, in seconds; None when
    the recording cannot tell silence from speech (loud speech less than 15 dB above the
    noise floor), and the caller should fall back on word timings.

    An energy detector on 10 ms frames with a threshold set from this recording (its noise
    floor and its loud speech), so it works at any gain; webrtcvad's 30 ms frames and
    hangover would blur pause edges by 100-300 ms, which is the precision pauses need.
    """
    import numpy as np

    samples = np.frombuffer(pcm16, dtype="<i2")
    count = len(samples) // _FRAME
    if count < 3:
        return ()
    frames = samples[: count * _FRAME].astype(np.float32).reshape(count, _FRAME)
    frames -= frames.mean(axis=1, keepdims=True)
    level = 10 * np.log10(np.mean(frames * frames, axis=1) + 1.0)
    floor = float(np.percentile(level, 5))
    loud = float(np.percentile(level, 95))
    if loud - floor < _MIN_RANGE_DB:
        return None
    threshold = max(floor + _FLOOR_MARGIN_DB, loud - _SPEECH_MARGIN_DB)
    quiet = level < threshold
    # Blips (short loud stretches between quiet ones) count as quiet. With quiet padding at
    # both ends, the change points pair up as the loud runs.
    padded = np.concatenate([[True], quiet, [True]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    for start, end in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        if end - start <= _MAX_BLIP_FRAMES and start > 0 and end < count:
            quiet[start:end] = True
    padded = np.concatenate([[False], quiet, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    minimum = math.ceil(min_seconds * 100 - 1e-9)
    return tuple(
        (start / 100, end / 100)
        for start, end in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True)
        if end - start >= minimum
    )


def _mel_dct() -> tuple[Any, Any]:
    """26 triangular mel filters (100-4000 Hz) on a 512-point spectrum, and the DCT to 12
    cepstra (the spectrum's shape without its level)."""
    import numpy as np

    def mel(hz: Any) -> Any:
        return 2595 * np.log10(1 + hz / 700)

    edges = 700 * (10 ** (np.linspace(mel(100.0), mel(4000.0), 28) / 2595) - 1) / (_RATE_HZ / 512)
    bins = np.arange(257)
    filters = np.stack(
        [
            np.clip(np.minimum((bins - a) / (b - a), (c - bins) / (c - b)), 0, None)
            for a, b, c in zip(edges[:-2], edges[1:-1], edges[2:], strict=True)
        ]
    )
    dct = np.cos(np.pi / 26 * (np.arange(26)[None, :] + 0.5) * np.arange(1, 13)[:, None])
    return filters, dct * math.sqrt(2 / 26)


def _held_sound(samples: Any) -> tuple[float, float]:
    """(voiced share, stable share) of 10 ms frames (25 ms windows) of a stretch of audio."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    window = 400
    count = (len(samples) - window) // _FRAME + 1
    if count < 11:
        return 0.0, 0.0
    frames = sliding_window_view(samples, window)[::_FRAME][:count].astype(np.float32)
    frames = frames - frames.mean(axis=1, keepdims=True)
    power = np.abs(np.fft.rfft(frames * np.hanning(window), 512, axis=1)) ** 2
    filters, dct = _mel_dct()
    cepstra = np.log(power @ filters.T + 1.0) @ dct.T
    spans = sliding_window_view(cepstra, 11, axis=0)  # frames, 12, 11
    spread = np.sqrt(((spans - spans.mean(axis=2, keepdims=True)) ** 2).mean(axis=2).sum(axis=1))
    # The pronunciation analyzer's pitch tracker (10 ms steps): NaN where unvoiced.
    from shared.assessment.pronunciation import quick_track

    pitch = quick_track(samples.astype("<i2").tobytes(), step=0.01).f0
    voiced = float(np.mean(~np.isnan(pitch))) if len(pitch) else 0.0
    stable = float(np.sum(spread < _STABLE_CEPSTRAL_SD) / count)
    return voiced, stable


def held_sounds(
    pcm16: bytes, words: Sequence[TimedWord], silences: Sequence[tuple[float, float]]
) -> list[tuple[float, float]]:
    """Hesitations heard as words: held sounds (see the module doc) in 16 kHz mono s16le
    audio, given its ``silences`` (of at least 30 ms) and the recogniser's ``words``."""
    import numpy as np

    samples = np.frombuffer(pcm16, dtype="<i2")
    total = len(samples) / _RATE_HZ
    starts = [0.0, *(end for _, end in silences)]
    ends = [*(start for start, _ in silences), total]
    found: list[tuple[float, float]] = []
    low, high = _HELD_SECONDS
    for index, (start, end) in enumerate(zip(starts, ends, strict=True)):
        if not low <= end - start <= high:
            continue
        inside = [w for w in words if min(end, w.end) - max(start, w.start) > 0.02]
        lexical = [w for w in inside if not w.filled_pause]
        if len(lexical) > _HELD_MAX_WORDS:
            continue
        if any(
            min(end, w.end) - max(start, w.start) < _HELD_WORD_INSIDE * (w.end - w.start)
            for w in lexical
        ):
            continue  # a word runs on past the silence: a stop inside a word
        voiced, stable = _held_sound(samples[round(start * _RATE_HZ) : round(end * _RATE_HZ)])
        needed = _HELD_STABLE_SHARE[min(1, max(0, len(lexical) - 1))]
        if voiced >= _HELD_VOICED_SHARE and stable >= needed:
            found.append((start, _hum_after(index, starts, ends, words)))
    return found


def _hum_after(
    index: int, starts: Sequence[float], ends: Sequence[float], words: Sequence[TimedWord]
) -> float:
    """Where the held sound ``index`` ends, taking in the hum of an "um": a short sound
    right after it (the nasal, quieter than the vowel, often just below the silence
    threshold at the join) that holds the middle of no recognised word."""
    end = ends[index]
    if index + 1 >= len(starts):
        return end
    gap, tail = starts[index + 1] - end, ends[index + 1] - starts[index + 1]
    if gap > _HUM_GAP_SECONDS or tail > _HUM_SECONDS:
        return end
    if any(starts[index + 1] < (w.start + w.end) / 2 < ends[index + 1] for w in words):
        return end
    return ends[index + 1]


def _with_held_sounds(
    answer: AnswerText, pcm16: bytes, silences: Sequence[tuple[float, float]]
) -> tuple[AnswerText, list[tuple[float, float]]]:
    """The answer with words inside held sounds marked as filled pauses, and the sounds."""
    borders = [(a, b) for a, b in silences if b - a >= _HELD_BORDER_SECONDS - 1e-9]
    held = held_sounds(pcm16, answer.words, borders)
    if not held:
        return answer, held
    marked = tuple(
        word.model_copy(update={"filled_pause": True})
        if not word.filled_pause
        and any(min(b, word.end) - max(a, word.start) > 0.02 for a, b in held)
        else word
        for word in answer.words
    )
    return answer.model_copy(update={"words": marked}), held


# ----------------------------------------------------------------------------- analysis


def find_pauses(
    answer: AnswerText, silences: Sequence[tuple[float, float]] | None = None
) -> list[Pause]:
    """Silent pauses between the answer's words: from the audio's ``silences`` when given,
    else from gaps between word timings."""
    words = answer.words
    if len(words) < 2:
        return []
    boundary_after = _punctuation_after(answer)
    spans: list[tuple[float, float, int]] = []  # start, end, index of the word after
    if silences is None:
        for index in range(1, len(words)):
            start, end = words[index - 1].end, words[index].start
            if end - start >= MIN_PAUSE_SECONDS - 1e-9:
                spans.append((start, end, index))
    else:
        centres = [(word.start + word.end) / 2 for word in words]
        for start, end in silences:
            if end - start < MIN_PAUSE_SECONDS - 1e-9:
                continue
            middle = (start + end) / 2
            after = next((i for i, centre in enumerate(centres) if centre > middle), None)
            if after is None or after == 0:
                continue  # before the first word or after the last: not inside the answer
            spans.append((start, end, after))
    pauses = []
    for start, end, after in spans:
        before = after - 1
        pauses.append(
            Pause(
                turn_id=answer.turn_id,
                start=round(start, 3),
                end=round(end, 3),
                before=before,
                after=after,
                location=_pause_location(words, before, after, boundary_after),
            )
        )
    return pauses


def _pause_location(
    words: Sequence[TimedWord], before: int, after: int, punctuated: Sequence[bool]
) -> Location:
    """Boundary or mid-clause, from the lexical words either side (filled pauses skipped)."""
    left = next((i for i in range(before, -1, -1) if not words[i].filled_pause), None)
    right = next((i for i in range(after, len(words)) if not words[i].filled_pause), None)
    if left is None or right is None:
        return "boundary"
    if punctuated[left]:
        return "boundary"
    previous, following = normalise(words[left].text), normalise(words[right].text)
    if previous in PHRASE_OPENERS:
        return "mid_clause"
    if following in CLAUSE_OPENERS or following in SUBJECT_PRONOUNS:
        return "boundary"
    # "...my flat | my hometown is...": a noun phrase then a finite verb opens a new clause
    # (what tells sentences apart when the recogniser gives no punctuation).
    if following in _DETERMINERS:
        ahead = [normalise(word.text) for word in words[right + 1 : right + 4]]
        if any(word in _FINITE_VERBS for word in ahead):
            return "boundary"
    # Otherwise the language model: "...when I was young | the library near my house..."
    lexical = [normalise(word.text) for word in words if not word.filled_pause]
    cut = sum(1 for word in words[: left + 1] if not word.filled_pause)
    odds = sentence_break_odds(lexical[max(0, cut - 2) : cut], lexical[cut : cut + 2])
    if odds is not None and odds >= SENTENCE_BREAK_ODDS:
        return "boundary"
    return "mid_clause"


def _filled_pauses(
    words: Sequence[TimedWord],
    silences: Sequence[tuple[float, float]] | None = None,
    held: Sequence[tuple[float, float]] = (),
) -> list[tuple[float, float]]:
    """Hesitations: runs of filled-pause words with no silent pause inside.

    With the audio's ``silences``, each held sound is a hesitation with its own edges (the
    silences around it), whatever words the recogniser heard in it, and each run of other
    filled-pause words is widened to the sound around it (between the silences either side,
    never into the neighbouring words) and dropped when that sound is shorter than
    ``_MIN_FILLER_SECONDS``: pocketsphinx gives a hesitation a one-phone filler of 30-60 ms
    anywhere in the sound, and when the sound around it is that short it was a stretch of a
    word, not an "uh".
    """
    if silences is not None:
        words = [
            word
            for word in words
            if not any(min(b, word.end) - max(a, word.start) > 0.02 for a, b in held)
        ]
    spans: list[list[float]] = []
    neighbours: list[list[float]] = []  # end of the word before, start of the word after
    previous_end = 0.0
    for index, word in enumerate(words):
        if not word.filled_pause:
            previous_end = word.end
            if neighbours and math.isinf(neighbours[-1][1]):
                neighbours[-1][1] = word.start
            continue
        if spans and word.start - spans[-1][1] < _FILLER_JOIN_SECONDS:
            spans[-1][1] = word.end
            continue
        spans.append([word.start, word.end])
        neighbours.append([previous_end if index else 0.0, math.inf])
    if silences is None:
        return [(round(start, 3), round(end, 3)) for start, end in spans]
    widened: list[list[float]] = [[a, b] for a, b in held]
    for (start, end), (left_word, right_word) in zip(spans, neighbours, strict=True):
        left = max([left_word, *(b for a, b in silences if b <= start + 0.02)])
        right = min([right_word, *(a for a, b in silences if a >= end - 0.02)])
        if math.isinf(right):
            right = end  # nothing after it: keep the recogniser's edge
        left, right = min(left, start), max(right, end)
        if right - left >= _MIN_FILLER_SECONDS:
            widened.append([left, right])
    merged: list[list[float]] = []
    for start, end in sorted(widened):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(round(start, 3), round(end, 3)) for start, end in merged]


def find_repairs(answer: AnswerText) -> list[Repair]:
    """Repetitions and self-corrections in the answer's words (filled pauses skipped).

    Precision first: a silent pause before a restart is not enough ("...my flat. My
    hometown is..." is two sentences, not a repair), so a restart counts when the changed
    word is related to the first (another form of it, a swapped article, pronoun or
    preposition) or when the speaker cut the word off or said "um"/"uh" before restarting.
    """
    lexical = [i for i, word in enumerate(answer.words) if not word.filled_pause]
    tokens = [normalise(answer.words[i].text) for i in lexical]
    hesitant_before = _hesitation_before(answer)
    repairs: list[Repair] = []
    claimed: set[int] = set()

    def add(kind: Literal["repetition", "self_correction"], first: int, last: int) -> None:
        claimed.update(range(first, last + 1))
        start_word, end_word = answer.words[lexical[first]], answer.words[lexical[last]]
        quote = " ".join(answer.words[i].text for i in range(lexical[first], lexical[last] + 1))
        repairs.append(
            Repair(
                turn_id=answer.turn_id,
                kind=kind,
                first=lexical[first],
                last=lexical[last],
                quote=quote,
                start=start_word.start,
                end=end_word.end,
            )
        )

    position = 0
    while position < len(tokens):
        found = False
        for size in (3, 2, 1):
            chunk = tokens[position : position + size]
            again = tokens[position + size : position + 2 * size]
            if len(chunk) < size or chunk != again or not all(chunk):
                continue
            if size == 1 and chunk[0] in _DELIBERATE_DOUBLES:
                continue
            add("repetition", position, position + 2 * size - 1)
            position += size
            found = True
            break
        if found:
            continue
        repair = _restart(tokens, position, lexical, hesitant_before)
        if repair is not None and position not in claimed:
            add("self_correction", position, repair)
            position = repair
            continue
        marker = _repair_marker(tokens, position)
        if marker is not None:
            add("self_correction", position, marker)
            position = marker + 1
            continue
        position += 1
    return repairs


def _hesitation_before(answer: AnswerText) -> set[int]:
    """Word indices right after a filled pause or a cut-off word ("go-", "go—", "go...")."""
    marks: set[int] = set()
    for index, word in enumerate(answer.words):
        if word.filled_pause and index + 1 < len(answer.words):
            marks.add(index + 1)
        if _CUT_OFF.search(word.text.strip()) and index + 1 < len(answer.words):
            marks.add(index + 1)
    return marks


def _restart(
    tokens: Sequence[str],
    position: int,
    lexical: Sequence[int],
    hesitant_before: set[int],
) -> int | None:
    """``X A X B`` (lead X of 1-2 words said again, A changed to B): index of B, or None.

    Counted when A and B are related (a form of the same word, a swapped article or pronoun,
    or sharing their first three letters), or the restart follows an "um" or a cut-off and
    A and B are of a kind (both function words or both content words: "my brother, um, my
    sister" is a repair; "I think, um, I will" is not).
    """
    for lead in (2, 1):
        head = tokens[position : position + lead]
        if len(head) < lead or not all(head):
            continue
        for changed in (1, 2):
            second = position + lead + changed
            if tokens[second : second + lead] != head:
                continue
            replaced_index = second + lead
            if replaced_index >= len(tokens):
                continue
            old = tokens[position + lead]
            new = tokens[replaced_index]
            if old == new:
                continue  # a repetition, counted as such
            cue = lexical[second] in hesitant_before and (
                (old in PHRASE_OPENERS) == (new in PHRASE_OPENERS)
            )
            if _related(old, new) or cue:
                return replaced_index
    # "a apple an apple", "he go she go": a word swapped for a related one before the same
    # continuation.
    window = tokens[position : position + 4]
    if (
        len(window) == 4
        and window[1] == window[3]
        and window[0] != window[2]
        and window[1]
        and _related(window[0], window[2])
    ):
        return position + 3
    return None


def _related(old: str, new: str) -> bool:
    if len(old) >= 3 and len(new) >= 3 and old[:3] == new[:3]:
        return True
    return any(old in group and new in group for group in _RELATED)


def _repair_marker(tokens: Sequence[str], position: int) -> int | None:
    for phrase in _REPAIR_PHRASES:
        if tuple(tokens[position : position + len(phrase)]) == phrase:
            return position + len(phrase) - 1
    return None


def _runs(answer: AnswerText, pauses: Sequence[Pause]) -> list[tuple[int, float, float]]:
    """Lexical words between silent pauses, with the run's start and end."""
    cuts = sorted(pause.after for pause in pauses)
    runs: list[tuple[int, float, float]] = []
    bounds = [0, *cuts, len(answer.words)]
    for low, high in itertools.pairwise(bounds):
        segment = [word for word in answer.words[low:high] if not word.filled_pause]
        if segment:
            runs.append((len(segment), segment[0].start, segment[-1].end))
    return runs


def answer_fluency(
    answer: AnswerText,
    silences: Sequence[tuple[float, float]] | None = None,
    held: Sequence[tuple[float, float]] = (),
) -> AnswerFluency:
    """One answer's measures; ``held`` are held sounds already marked as filled pauses in
    its words (their edges are the sound's, which the words' edges only approximate)."""
    pauses = find_pauses(answer, silences)
    lexical = [word for word in answer.words if not word.filled_pause]
    speaking = answer.words[-1].end - answer.words[0].start if answer.words else 0.0
    return AnswerFluency(
        turn_id=answer.turn_id,
        part=answer.part,
        speaking_seconds=max(0.0, speaking),
        words=len(lexical),
        syllables=sum(syllables(word.text) for word in lexical),
        pauses=tuple(pauses),
        filled_pauses=tuple(_filled_pauses(answer.words, silences, held)),
        repairs=tuple(find_repairs(answer)),
        runs=tuple(_runs(answer, pauses)),
    )


def fluency_profile(
    answers: Sequence[AnswerText], pcm_by_turn: Mapping[str, bytes] | None = None
) -> FluencyProfile:
    """Measure every answer (with its audio when ``pcm_by_turn`` has it) and the test."""
    measured = []
    heard: list[AnswerText] = []
    for answer in answers:
        pcm = (pcm_by_turn or {}).get(answer.turn_id)
        # Short silences too: they bound hesitations; pauses keep only the long ones.
        short = silent_intervals(pcm, min_seconds=_HELD_BORDER_SECONDS) if pcm else None
        silences = None
        held: list[tuple[float, float]] = []
        if pcm and short is not None:
            answer, held = _with_held_sounds(answer, pcm, short)
            silences = tuple((a, b) for a, b in short if b - a >= _EDGE_SILENCE_SECONDS - 1e-9)
        measured.append(answer_fluency(answer, silences, held))
        heard.append(answer)
    return FluencyProfile(answers=tuple(measured), metrics=_metrics(measured, heard))


def _metrics(measured: Sequence[AnswerFluency], answers: Sequence[AnswerText]) -> dict[str, float]:
    speaking = sum(answer.speaking_seconds for answer in measured)
    words = sum(answer.words for answer in measured)
    syllable_count = sum(answer.syllables for answer in measured)
    pauses = [pause for answer in measured for pause in answer.pauses]
    pause_seconds = sum(pause.seconds for pause in pauses)
    fillers = [span for answer in measured for span in answer.filled_pauses]
    filler_seconds = sum(end - start for start, end in fillers)
    phonation = max(1e-6, speaking - pause_seconds - filler_seconds)
    minutes = speaking / 60 if speaking > 0 else math.nan
    runs = [run[0] for answer in measured for run in answer.runs]
    mid = [pause for pause in pauses if pause.location == "mid_clause"]
    repairs = [repair for answer in measured for repair in answer.repairs]
    repetitions = sum(repair.kind == "repetition" for repair in repairs)
    corrections = len(repairs) - repetitions
    per_100 = 100 / words if words else math.nan
    metrics: dict[str, float] = {
        "answers": float(len(measured)),
        "words": float(words),
        "syllables": float(syllable_count),
        "speaking_seconds": round(speaking, 2),
        "phonation_seconds": round(phonation, 2),
        "speech_rate_wpm": _round(words / minutes),
        "speech_rate_spm": _round(syllable_count / minutes),
        "articulation_rate_wpm": _round(words / (phonation / 60)),
        "articulation_rate_spm": _round(syllable_count / (phonation / 60)),
        "mean_length_of_run": _round(statistics.fmean(runs)) if runs else math.nan,
        "mean_length_of_run_syllables": _round(syllable_count / len(runs) if runs else math.nan),
        "silent_pauses": float(len(pauses)),
        "silent_pauses_per_minute": _round(len(pauses) / minutes),
        "mean_pause_seconds": _round(pause_seconds / len(pauses)) if pauses else 0.0,
        "pause_time_ratio": _round(pause_seconds / speaking) if speaking else math.nan,
        "mid_clause_pauses": float(len(mid)),
        "mid_clause_pauses_per_minute": _round(len(mid) / minutes),
        "mid_clause_pause_share": _round(len(mid) / len(pauses)) if pauses else 0.0,
        "filled_pauses": float(len(fillers)),
        "filled_pauses_per_minute": _round(len(fillers) / minutes),
        "filled_pauses_per_100_words": _round(len(fillers) * per_100),
        "repetitions": float(repetitions),
        "self_corrections": float(corrections),
        "repairs_per_100_words": _round(len(repairs) * per_100),
    }
    metrics.update(_length_metrics(measured, answers))
    # Without punctuation (the embedded recogniser gives none) sentence ends are found only
    # by the words after a pause, and some are taken for mid-clause pauses: say so.
    punctuated = sum(bool(re.search(r"[.!?]", answer.text)) for answer in answers)
    metrics["punctuated_share"] = _round(punctuated / len(answers)) if answers else 0.0
    return metrics


def _length_metrics(
    measured: Sequence[AnswerFluency], answers: Sequence[AnswerText]
) -> dict[str, float]:
    rules = calibration()["fluency"]
    expected, enough_words = rules["answer_seconds"], rules["answer_words"]
    short = long = 0
    by_part: dict[int, list[float]] = {1: [], 2: [], 3: []}
    for answer, source in zip(measured, answers, strict=True):
        seconds = answer.speaking_seconds or source.duration_seconds
        low, high = expected[f"part{answer.part}"]
        # Short: under the part's time and its words (a fast speaker's full answer is not).
        short += seconds < low and answer.words < enough_words[f"part{answer.part}"]
        long += seconds > high
        by_part[answer.part].append(seconds)
    count = len(measured)
    out = {
        "answers_short": float(short),
        "answers_long": float(long),
        "answer_length_in_range_share": _round((count - short - long) / count) if count else 0.0,
    }
    for part, values in by_part.items():
        if values:
            out[f"part{part}_mean_seconds"] = _round(statistics.fmean(values))
    return out


def _round(value: float, digits: int = 3) -> float:
    if math.isnan(value) or math.isinf(value):
        return math.nan
    return round(value, digits)


# ----------------------------------------------------------------------------- result


def fluency_analysis(
    answers: Sequence[AnswerText], pcm_by_turn: Mapping[str, bytes] | None = None
) -> AnalyzerResult:
    """Fluency metrics, evidence and a sub-score for Fluency and Coherence (phase 1, fast).

    ``pcm_by_turn`` (16 kHz mono s16le per turn id) is optional: with it, silent pauses come
    from the audio; without it, from gaps between word timings.
    """
    settings = calibration()
    timed = [answer for answer in answers if answer.words]
    profile = fluency_profile(timed, pcm_by_turn)
    metrics = {key: value for key, value in profile.metrics.items() if not math.isnan(value)}
    version = f"{VERSION}+{settings['version']}"
    rules = settings["fluency"]
    if not timed:
        return AnalyzerResult(
            analyzer=ANALYZER,
            version=version,
            criterion="fluency_coherence",
            metrics=metrics,
            not_scored_reason="no answers with word timings",
        )
    if (
        metrics["words"] < rules["min_words"]
        or metrics["speaking_seconds"] < rules["min_speaking_seconds"]
    ):
        return AnalyzerResult(
            analyzer=ANALYZER,
            version=version,
            criterion="fluency_coherence",
            metrics=metrics,
            evidence=tuple(_evidence(profile, timed, {})[:2]),
            not_scored_reason=(
                f"too little speech to judge fluency ({int(metrics['words'])} words, "
                f"{metrics['speaking_seconds']:.0f} s)"
            ),
        )
    score, bands = weighted_band(metrics, rules["components"])
    if score is not None:
        ceiling = hesitation_ceiling(bands, rules["ceiling"])
        if ceiling is not None:
            metrics["hesitation_ceiling"] = round(ceiling, 3)
            score = min(score, ceiling)
        short_share = metrics["answers_short"] / max(1.0, metrics["answers"])
        score = max(0.0, min(9.0, score - rules["short_answer_penalty"] * short_share))
        metrics["short_answer_penalty"] = round(rules["short_answer_penalty"] * short_share, 3)
    for name, band in bands.items():
        metrics[f"band_{name}"] = band
    return AnalyzerResult(
        analyzer=ANALYZER,
        version=version,
        criterion="fluency_coherence",
        metrics=metrics,
        evidence=tuple(_evidence(profile, timed, bands)),
        sub_score=round(score, 2) if score is not None else None,
    )


# (note when it holds the band down, note when it is a strength)
_METRIC_NOTES: Final = {
    "speech_rate_wpm": (
        "About {value:.0f} words a minute overall, pauses included: slower than relaxed "
        "conversation (roughly 120-180).",
        "About {value:.0f} words a minute overall, pauses included: a comfortable pace.",
    ),
    "mean_length_of_run": (
        "On average {value:.1f} words between pauses: short bursts of speech.",
        "On average {value:.1f} words between pauses: you keep going at length.",
    ),
    "silent_pauses_per_minute": (
        "{value:.1f} pauses of a quarter second or more per minute of speaking.",
        "Only {value:.1f} pauses of a quarter second or more per minute of speaking.",
    ),
    "mid_clause_pauses_per_minute": (
        "{value:.1f} pauses a minute fall inside a phrase rather than between ideas.",
        "Few pauses inside phrases ({value:.1f} a minute): you pause between ideas.",
    ),
    "filled_pauses_per_100_words": (
        "{value:.1f} filled pauses (um, uh, er) per 100 words.",
        "Few filled pauses (um, uh, er): {value:.1f} per 100 words.",
    ),
    "repairs_per_100_words": (
        "{value:.1f} repetitions or self-corrections per 100 words.",
        "Little repetition or self-correction ({value:.1f} per 100 words).",
    ),
}


def _evidence(
    profile: FluencyProfile, answers: Sequence[AnswerText], bands: Mapping[str, float]
) -> list[Evidence]:
    """Two to four items, most telling first: the weakest measured component, a Part 2 talk
    that stopped short, the learner's own words around the longest pause inside a phrase and
    around a repetition or self-correction, then the strongest component as a strength."""
    metrics = profile.metrics
    by_turn = {answer.turn_id: answer for answer in answers}
    ranked = sorted(bands.items(), key=lambda item: item[1])
    weakest = [name for name, band in ranked if band < 7.0]
    strongest = [name for name, band in reversed(ranked) if band >= 7.0]
    if not bands:  # not scored: say what was measured
        weakest = ["speech_rate_wpm", "mean_length_of_run"]
    items: list[Evidence | None] = []
    if weakest:
        items.append(_metric_item(weakest[0], metrics, bands))
    short = [
        answer
        for answer in profile.answers
        if answer.part == 2
        and answer.speaking_seconds < calibration()["fluency"]["answer_seconds"]["part2"][0]
    ]
    if short:
        answer = short[0]
        items.append(
            Evidence(
                kind="metric",
                criterion="fluency_coherence",
                note=(
                    f"The Part 2 talk lasted {answer.speaking_seconds:.0f} s; the long turn "
                    "asks for one to two minutes."
                ),
                turn_id=answer.turn_id,
                metric="part2_seconds",
                value=round(answer.speaking_seconds, 1),
            )
        )
    mid = sorted(
        (pause for pause in profile.pauses if pause.location == "mid_clause"),
        key=lambda pause: -pause.seconds,
    )
    if mid:
        items.append(_pause_quote(mid[0], by_turn[mid[0].turn_id]))
    repairs = profile.repairs
    if repairs:
        repair = repairs[0]
        what = "said again" if repair.kind == "repetition" else "restarted and changed"
        items.append(
            Evidence(
                kind="quote",
                criterion="fluency_coherence",
                note=f"Words {what} mid-sentence ({len(repairs)} such places in the test).",
                quote=repair.quote,
                turn_id=repair.turn_id,
                start_seconds=repair.start,
                end_seconds=repair.end,
            )
        )
    for name in [*strongest[:1], *weakest[1:2]]:
        items.append(_metric_item(name, metrics, bands))
    return [item for item in items if item is not None][:4]


def _metric_item(
    name: str, metrics: Mapping[str, float], bands: Mapping[str, float]
) -> Evidence | None:
    value = metrics.get(name, math.nan)
    if math.isnan(value):
        return None
    strength = bands.get(name, 0.0) >= 7.0
    weak_note, strong_note = _METRIC_NOTES[name]
    return Evidence(
        kind="metric",
        criterion="fluency_coherence",
        note=(strong_note if strength else weak_note).format(value=value),
        metric=name,
        value=float(value),
        positive=strength,
    )


def _pause_quote(pause: Pause, answer: AnswerText) -> Evidence:
    low = max(0, pause.before - 2)
    high = min(len(answer.words), pause.after + 2)
    quote = " ".join(word.text for word in answer.words[low:high])
    before = answer.words[pause.before].text
    return Evidence(
        kind="quote",
        criterion="fluency_coherence",
        note=(
            f"A {pause.seconds:.1f} s pause after \u201c{before}\u201d, inside a phrase: "
            "listeners notice pauses mid-phrase more than pauses between ideas."
        ),
        quote=quote,
        turn_id=pause.turn_id,
        start_seconds=pause.start,
        end_seconds=pause.end,
    )
