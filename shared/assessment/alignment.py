"""Forced alignment of a transcript to its audio with pocketsphinx, and how well each word fits.

For each word the aligner reports its *relative acoustic fit*: the acoustic log-likelihood of
the audio under the word's dictionary pronunciation (forced alignment, triphones) minus that
under a free context-independent phone loop over the same frames, per 10 ms frame. A word
said as the dictionary expects scores near the speaker's usual value; one said otherwise
scores lower, because the free phone loop explains its audio better than the expected phones
do. The numbers depend on the voice and the recording, so only comparisons within one
speaker mean anything (see ``shared.assessment.pronunciation``), and the signal is weak:
FINDINGS.md ("Pronunciation offline: a weak signal, say so").

How it stays robust and bounded:

- The transcript is cut into chunks at pauses, filled pauses are kept in the text (they are
  sound that must go somewhere), and words the dictionary lacks end a chunk (pocketsphinx has
  no letter-to-sound rules; their audio is left out). A chunk is at most ``max_chunk_seconds``
  long, so one decoder call is short.
- ``bestpath=False``: with the default lattice best path the second (phone) pass fails with
  "Alignment failed" on about a quarter of sentences (phones of impossible one-frame
  duration); without it, none of 96 flite sentences failed. When the word pass fails (speech
  far from the expected sounds falls out of the default beams: 19 of 288 espeak-ng
  utterances in the benchmark), it is tried again with wide beams on a second decoder; if
  the phone pass fails, the first pass's word scores are used (no phones); if nothing
  aligns, the chunk is counted as failed. Nothing here raises on a bad chunk.
- A deadline (``time.monotonic()`` value) is checked before each chunk; chunks not reached
  are reported as skipped. Each pass costs about 0.06 x real time; the word, phone and
  phone-loop passes with the occasional retry about 0.2-0.25 x.
- ``hyp()`` is never asked for in the phone pass: it crashes the process there.

Alignment entries are copied into plain tuples at once: pocketsphinx reuses (and frees) them
on the next utterance, and holding on to them crashes the process.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final, Literal

from shared.logging import get_logger
from shared.models.assessment import TimedWord

__all__ = [
    "AlignedWord",
    "Alignment",
    "ForcedAligner",
    "PhoneFit",
    "dictionary_form",
]

_log = get_logger(__name__)

RATE_HZ: Final = 16000
FRAMES_PER_SECOND: Final = 100
# A gap this long between transcript words ends a chunk: alignment across a long silence only
# adds frames where the two searches compete over nothing.
CHUNK_GAP_SECONDS: Final = 0.3
# Audio kept either side of a chunk's first and last word: recogniser word edges are
# approximate, and the aligner needs a little silence to place the first phone.
EDGE_SECONDS: Final = 0.15
# Vowels in the model's phone set (ARPAbet without stress marks): rhythm reads their lengths.
VOWELS: Final = frozenset(
    ["AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"]
)
_VARIANT = re.compile(r"\(\d+\)$")
_KEEP = re.compile(r"[^a-z']")
# British spellings the American dictionary lacks, tried in order: colour, organise, centre...
_SPELLING_RULES: Final = (
    (re.compile(r"isation"), "ization"),
    (re.compile(r"is(e|ed|es|ing)$"), r"iz\1"),
    (re.compile(r"our(s|ed|ing|ite|ites|able)?$"), r"or\1"),
    (re.compile(r"tre(s)?$"), r"ter\1"),
    (re.compile(r"ll(ed|ing|er)$"), r"l\1"),
    (re.compile(r"ogue$"), "og"),
)


_PhoneEntry = tuple[str, int, int, int]  # phone, start frame, frames, score
_Segment = tuple[str, int, int, float]  # word, first frame, last frame, acoustic score
# Beams for a second try when a chunk does not align with pocketsphinx's defaults
# (1e-48, 7e-29, 1e-48): wide enough for every sentence of the benchmark.
_WIDE_BEAMS: Final = {"beam": 1e-100, "wbeam": 1e-80, "pbeam": 1e-100}


@dataclass(frozen=True)
class PhoneFit:
    phone: str
    start: float
    end: float
    fit: float  # per-frame log-likelihood difference, aligned minus phone loop


@dataclass(frozen=True)
class AlignedWord:
    """One transcript word as aligned; ``index`` is its position in the answer's words."""

    index: int
    text: str
    start: float
    end: float
    fit: float  # per frame over the whole word
    worst_phone_fit: float | None  # the lowest phone's fit; None when only words aligned
    phones: tuple[PhoneFit, ...]
    filled_pause: bool = False

    @property
    def frames(self) -> int:
        return max(1, round((self.end - self.start) * FRAMES_PER_SECOND))


@dataclass(frozen=True)
class Alignment:
    """The outcome for one answer: aligned words and what could not be done."""

    words: tuple[AlignedWord, ...]
    chunks: int
    failed_chunks: int  # no alignment at all
    word_only_chunks: int  # the phone pass failed: word scores from the first pass
    skipped_chunks: int  # the time budget ran out first
    unknown_words: tuple[str, ...]  # not in the dictionary: not aligned
    seconds_aligned: float
    elapsed_seconds: float

    @property
    def status(self) -> Literal["ok", "partial", "failed"]:
        if not self.words:
            return "failed"
        if self.failed_chunks or self.skipped_chunks or self.unknown_words:
            return "partial"
        return "ok"


@dataclass(frozen=True)
class _Chunk:
    indices: tuple[int, ...]  # positions in the answer's words
    tokens: tuple[str, ...]  # dictionary forms, one per index
    start: float  # audio slice, seconds
    end: float


def dictionary_form(word: str, lookup: Any) -> str | None:
    """The dictionary spelling of a transcript ``word`` (lower case, no punctuation, American
    spelling when only that is listed); None when the dictionary has no form of it."""
    text = _KEEP.sub("", word.lower().replace("’", "'")).strip("'")
    if not text:
        return None
    if lookup(text):
        return text
    for pattern, replacement in _SPELLING_RULES:
        candidate = pattern.sub(replacement, text)
        if candidate != text and lookup(candidate):
            return candidate
    return None


class ForcedAligner:
    """Aligns answers to their audio; one pocketsphinx decoder, loaded on first use.

    Thread-safe (one alignment at a time: the decoder is not re-entrant, and pocketsphinx
    holds the GIL while it decodes, so a second decoder would add memory, not speed).

    Args:
        max_chunk_seconds: longest audio given to one decoder call.
        decoder_options: extra pocketsphinx settings (tests and benchmarks).
    """

    def __init__(
        self,
        *,
        max_chunk_seconds: float = 12.0,
        decoder_options: dict[str, Any] | None = None,
    ) -> None:
        self._max_chunk = max_chunk_seconds
        self._options = dict(decoder_options or {})
        self._lock = threading.Lock()
        self._decoder: Any = None
        self._wide: Any = None
        self._log_base = 1.0001

    def preload(self) -> None:
        with self._session():
            pass

    def align(
        self,
        pcm16: bytes,
        words: Sequence[TimedWord],
        *,
        deadline: float | None = None,
    ) -> Alignment:
        """Align ``words`` (an answer's transcript, times in seconds) to 16 kHz mono s16le
        ``pcm16``. ``deadline`` is a ``time.monotonic()`` value after which no chunk starts."""
        started = time.perf_counter()
        with self._session() as decoder:
            chunks, unknown = self._chunks(words, decoder, len(pcm16) / 2 / RATE_HZ)
            aligned: list[AlignedWord] = []
            failed = word_only = skipped = 0
            seconds = 0.0
            for chunk in chunks:
                if deadline is not None and time.monotonic() >= deadline:
                    skipped += 1
                    continue
                result = self._align_chunk(decoder, pcm16, chunk, words)
                if result is None:
                    failed += 1
                    continue
                chunk_words, phones_ok = result
                word_only += not phones_ok
                seconds += chunk.end - chunk.start
                aligned.extend(chunk_words)
        elapsed = time.perf_counter() - started
        _log.info(
            "answer_aligned",
            chunks=len(chunks),
            failed=failed,
            word_only=word_only,
            skipped=skipped,
            unknown_words=len(unknown),
            seconds=round(seconds, 2),
            elapsed=round(elapsed, 3),
        )
        return Alignment(
            words=tuple(aligned),
            chunks=len(chunks),
            failed_chunks=failed,
            word_only_chunks=word_only,
            skipped_chunks=skipped,
            unknown_words=tuple(unknown),
            seconds_aligned=round(seconds, 3),
            elapsed_seconds=round(elapsed, 4),
        )

    @contextmanager
    def _session(self) -> Iterator[Any]:
        with self._lock:
            if self._decoder is None:
                self._decoder = self._new_decoder()
            yield self._decoder

    def _wide_decoder(self) -> Any:
        """A second decoder with wide beams, made on the first chunk that needs it (~80 MB
        more; changing a decoder's beams means re-initialising it, which costs as much as
        making it and drops the phone loop)."""
        if self._wide is None:
            self._wide = self._new_decoder(_WIDE_BEAMS)
        return self._wide

    def _new_decoder(self, extra: dict[str, Any] | None = None) -> Any:
        from pocketsphinx import Decoder, get_model_path  # ~0.1 s and ~80 MB: only when used

        options: dict[str, Any] = {
            "samprate": RATE_HZ,
            "lm": None,
            # Without it the acoustic scores of senones outside the beam are not computed,
            # and the phone pass fails or drops words at sentence ends (FINDINGS).
            "compallsen": True,
            "bestpath": False,
            "allphone_ci": True,
            "loglevel": "FATAL",
            **self._options,
            **(extra or {}),
        }
        decoder = Decoder(**options)
        decoder.add_allphone_file("phone_loop", get_model_path("en-us-phone.lm.bin"))
        self._log_base = float(decoder.config["logbase"])
        return decoder

    def _chunks(
        self, words: Sequence[TimedWord], decoder: Any, duration: float
    ) -> tuple[list[_Chunk], list[str]]:
        """Runs of words between pauses and unknown words, no longer than the chunk limit."""
        chunks: list[_Chunk] = []
        unknown: list[str] = []
        current: list[tuple[int, str]] = []

        def close(next_start: float) -> None:
            if not current:
                return
            first, last = words[current[0][0]], words[current[-1][0]]
            previous_end = words[current[0][0] - 1].end if current[0][0] > 0 else 0.0
            start = max(previous_end, first.start - EDGE_SECONDS, 0.0)
            end = min(next_start, last.end + EDGE_SECONDS, duration)
            if end - start >= 0.1:
                chunks.append(
                    _Chunk(
                        indices=tuple(index for index, _ in current),
                        tokens=tuple(token for _, token in current),
                        start=start,
                        end=end,
                    )
                )
            current.clear()

        for index, word in enumerate(words):
            form = dictionary_form(word.text, decoder.lookup_word)
            if word.filled_pause and form is None:
                form = "uh"
            if form is None:
                unknown.append(word.text)
                close(word.start)
                continue
            if current:
                last = words[current[-1][0]]
                too_long = word.end - words[current[0][0]].start > self._max_chunk
                if word.start - last.end >= CHUNK_GAP_SECONDS or too_long:
                    close(word.start)
            current.append((index, form))
        close(duration)
        return chunks, unknown

    def _align_chunk(
        self, decoder: Any, pcm16: bytes, chunk: _Chunk, words: Sequence[TimedWord]
    ) -> tuple[list[AlignedWord], bool] | None:
        from shared.speech.pocketsphinx_stt import _dithered

        first = round(chunk.start * RATE_HZ) * 2
        audio = _dithered(pcm16[first : round(chunk.end * RATE_HZ) * 2])
        word_segments, phones = _align_passes(decoder, audio, chunk.tokens)
        if not word_segments:
            # Speech far from the expected sounds falls out of the default beams; wider ones
            # aligned every such sentence in the benchmark, at about twice the cost.
            word_segments, phones = _align_passes(self._wide_decoder(), audio, chunk.tokens)
        if not word_segments:
            _log.info("alignment_failed", words=len(chunk.tokens), stage="words")
            return None
        try:
            decoder.activate_search("phone_loop")
            loop = _run(decoder, audio, lambda: _segments(decoder))
        except RuntimeError:
            loop = None
        if not loop:
            return None
        baseline = self._frame_scores(loop)
        offset = chunk.start
        spoken = [segment for segment in word_segments if not _is_silence(segment[0])]
        if len(spoken) != len(chunk.tokens):
            return None  # the aligner lost a word: positions would not match the transcript
        results: list[AlignedWord] = []
        phone_words = phones or []
        use_phones = len(phone_words) == len(spoken) and all(phone_words)
        for position, (index, (_, start_frame, end_frame, ascore)) in enumerate(
            zip(chunk.indices, spoken, strict=True)
        ):
            frames = max(1, end_frame - start_frame + 1)
            word_score = self._log(ascore)
            phone_fits: list[PhoneFit] = []
            if use_phones:
                entries = phone_words[position]
                start_frame = entries[0][1]
                end_frame = entries[-1][1] + entries[-1][2] - 1
                frames = max(1, end_frame - start_frame + 1)
                word_score = float(sum(entry[3] for entry in entries))
                for name, phone_start, duration, score in entries:
                    base = _sum(baseline, phone_start, phone_start + duration)
                    phone_fits.append(
                        PhoneFit(
                            phone=name,
                            start=round(offset + phone_start / FRAMES_PER_SECOND, 3),
                            end=round(offset + (phone_start + duration) / FRAMES_PER_SECOND, 3),
                            fit=(score - base) / max(1, duration),
                        )
                    )
            base = _sum(baseline, start_frame, end_frame + 1)
            results.append(
                AlignedWord(
                    index=index,
                    text=words[index].text,
                    start=round(offset + start_frame / FRAMES_PER_SECOND, 3),
                    end=round(offset + (end_frame + 1) / FRAMES_PER_SECOND, 3),
                    fit=(word_score - base) / frames,
                    worst_phone_fit=min((p.fit for p in phone_fits), default=None),
                    phones=tuple(phone_fits),
                    filled_pause=words[index].filled_pause,
                )
            )
        return results, use_phones

    def _log(self, probability: float) -> float:
        """The binding hands scores back as probabilities; pocketsphinx's own log units."""
        if probability <= 0:
            return -1e9
        return math.log(probability) / math.log(self._log_base)

    def _frame_scores(self, loop: list[tuple[str, int, int, float]]) -> list[float]:
        """Cumulative phone-loop score per frame (each phone's score spread evenly)."""
        total = max(end for _, _, end, _ in loop) + 1
        per_frame = [0.0] * total
        for _, start, end, ascore in loop:
            share = self._log(ascore) / max(1, end - start + 1)
            for frame in range(start, end + 1):
                per_frame[frame] = share
        cumulative = [0.0]
        for value in per_frame:
            cumulative.append(cumulative[-1] + value)
        return cumulative


def _sum(cumulative: list[float], start: int, end: int) -> float:
    """Sum of per-frame scores over [start, end), clipped to what the loop covered."""
    last = len(cumulative) - 1
    return cumulative[min(max(end, 0), last)] - cumulative[min(max(start, 0), last)]


def _align_passes(
    decoder: Any, audio: bytes, tokens: Sequence[str]
) -> tuple[list[_Segment] | None, list[list[_PhoneEntry]] | None]:
    """Word pass, then phone pass: the word segments (None when the words could not be
    aligned) and the phones per word (None when only the phone pass failed)."""
    try:
        decoder.set_align_text(" ".join(tokens))
        word_segments = _run(decoder, audio, lambda: _segments(decoder))
    except RuntimeError:
        return None, None
    if not word_segments:
        return None, None
    try:
        decoder.set_alignment()
        phones = _run(decoder, audio, lambda: _phone_entries(decoder), phone_pass=True)
    except RuntimeError:
        phones = None  # "Alignment failed": keep the first pass's word scores
    return word_segments, phones


def _run(decoder: Any, audio: bytes, read: Any, *, phone_pass: bool = False) -> Any:
    decoder.reinit_feat()  # fresh cepstral mean: each chunk on its own
    decoder.start_utt()
    decoder.process_raw(audio, full_utt=True)
    decoder.end_utt()
    # hyp() crashes the process in the phone pass (state alignment has no hypothesis to give);
    # a failed phone pass raises from end_utt instead.
    if not phone_pass and decoder.hyp() is None:
        return None
    return read()


def _segments(decoder: Any) -> list[_Segment]:
    return [
        (_VARIANT.sub("", seg.word), seg.start_frame, seg.end_frame, seg.ascore)
        for seg in decoder.seg()
    ]


def _is_silence(token: str) -> bool:
    return token.startswith(("<", "[", "+"))


def _phone_entries(decoder: Any) -> list[list[_PhoneEntry]]:
    """Per spoken word, its phones: copied out at once (the entries die with the utterance)."""
    alignment = decoder.get_alignment()
    if alignment is None:
        return []
    words: list[list[_PhoneEntry]] = []
    for word in alignment:
        if _is_silence(word.name):
            continue
        words.append([(phone.name, phone.start, phone.duration, phone.score) for phone in word])
    return words
