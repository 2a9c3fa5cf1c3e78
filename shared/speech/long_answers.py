"""Long answers: split at pauses, transcribe the pieces concurrently, merge in order.

Synchronous recognition has a length limit (Google's ``Recognize``: one minute), and a
recogniser does better and faster on shorter pieces. ``transcribe_long`` splits an answer
into chunks no longer than ``limit_seconds``:

1. webrtcvad labels 30 ms frames speech or not; every run of non-speech frames is a
   candidate cut, at its middle.
2. Cut points are chosen by cost: each cut costs a little (one more request) plus more the
   shorter its pause, so the answer is cut in its clearest silences and never inside speech
   when a pause exists in reach. Only a stretch of speech longer than the limit with no
   pause at all is hard-cut.
3. Chunks are transcribed concurrently (a thread pool; the engine must be thread-safe), and
   the transcripts merged: word times offset by each chunk's start, words in order, texts
   joined.

Also here: the transcript helpers both engines share (filled pauses, language tags).
"""

from __future__ import annotations

import contextvars
import math
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from shared.logging import get_logger
from shared.models.speech import TranscribedWord, Transcript

_log = get_logger(__name__)

FRAME_MS = 30
VAD_SAMPLE_RATES = (8000, 16000, 32000, 48000)
DEFAULT_VAD_MODE = 2  # aggressiveness 0-3: pauses must be found, not every noise rejected
PAUSE_WEIGHT = 20.0  # frames: how much a short pause costs over a long one (see _cut_cost)
HARD_CUT_COST = 1e6  # a cut inside speech, only where no pause is in reach

# A transcribe call for one chunk: (pcm16, sample_rate_hz, language) -> Transcript.
ChunkTranscriber = Callable[[bytes, int, str], Transcript]

# How engines spell hesitations, and the one spelling we keep (British "er" for the schwa).
_FILLED_PAUSES = {
    "um": "um",
    "umm": "um",
    "uhm": "um",
    "hmm": "um",
    "mm": "um",
    "uh": "uh",
    "uhh": "uh",
    "ah": "uh",
    "er": "er",
    "erm": "er",
}
_EDGE_PUNCTUATION = re.compile(r"^[^\w']+|[^\w']+$")


def strip_edge_punctuation(word: str) -> str:
    """``word`` without punctuation before or after it ("flat." → "flat"; "don't" kept)."""
    return _EDGE_PUNCTUATION.sub("", word)


def filled_pause_form(word: str) -> str | None:
    """The hesitation ``word`` stands for (um, uh or er), whatever its case and punctuation;
    None for any other word."""
    return _FILLED_PAUSES.get(strip_edge_punctuation(word).lower())


def canonical_language(tag: str) -> str:
    """A BCP-47 tag in its usual casing: ``en-gb`` → ``en-GB``, ``EN`` → ``en``."""
    parts = tag.replace("_", "-").split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 2 and part.isalpha():
            out.append(part.upper())
        elif len(part) == 4 and part.isalpha():
            out.append(part.title())
        else:
            out.append(part.lower())
    return "-".join(out)


@dataclass(frozen=True)
class Chunk:
    """A piece of the answer, in samples: ``[start, end)``."""

    start: int
    end: int

    def seconds(self, sample_rate_hz: int) -> float:
        return (self.end - self.start) / sample_rate_hz


@dataclass(frozen=True)
class _Cut:
    position: int  # sample index
    pause_frames: int  # 0 for a hard cut inside speech


def speech_frames(
    pcm16: bytes, sample_rate_hz: int, *, vad_mode: int = DEFAULT_VAD_MODE
) -> list[bool]:
    """webrtcvad's decision for each whole 30 ms frame (a trailing partial frame is dropped)."""
    import webrtcvad  # imported on first use: only long answers need it

    if sample_rate_hz not in VAD_SAMPLE_RATES:
        raise ValueError(f"webrtcvad does not take {sample_rate_hz} Hz")
    vad = webrtcvad.Vad(vad_mode)
    frame_bytes = sample_rate_hz * FRAME_MS // 1000 * 2
    return [
        bool(vad.is_speech(pcm16[offset : offset + frame_bytes], sample_rate_hz))
        for offset in range(0, len(pcm16) - frame_bytes + 1, frame_bytes)
    ]


def _pause_cuts(flags: Sequence[bool], frame_samples: int) -> list[_Cut]:
    """A cut at the middle of every run of non-speech frames."""
    cuts: list[_Cut] = []
    run_start: int | None = None
    for index, is_speech in enumerate([*flags, True]):
        if not is_speech and run_start is None:
            run_start = index
        elif is_speech and run_start is not None:
            length = index - run_start
            middle = (run_start * 2 + length) * frame_samples // 2
            cuts.append(_Cut(middle, length))
            run_start = None
    return cuts


def plan_chunks(
    pcm16: bytes,
    sample_rate_hz: int,
    *,
    limit_seconds: float,
    vad_mode: int = DEFAULT_VAD_MODE,
) -> list[Chunk]:
    """Chunks of at most ``limit_seconds`` covering the whole answer, cut in pauses."""
    if limit_seconds <= FRAME_MS / 1000:
        raise ValueError("limit_seconds is too short to split on pauses")
    total = len(pcm16) // 2
    limit = int(limit_seconds * sample_rate_hz)
    if total <= limit:
        return [Chunk(0, total)]
    if sample_rate_hz in VAD_SAMPLE_RATES:
        frame_samples = sample_rate_hz * FRAME_MS // 1000
        pauses = _pause_cuts(speech_frames(pcm16, sample_rate_hz, vad_mode=vad_mode), frame_samples)
    else:
        _log.warning("long_answer_no_vad", sample_rate_hz=sample_rate_hz)
        pauses = []
    cuts = _with_hard_cuts([c for c in pauses if 0 < c.position < total], total, limit)
    return _best_chunks(cuts, total, limit)


def _with_hard_cuts(pauses: list[_Cut], total: int, limit: int) -> list[_Cut]:
    """Add hard cuts every ``limit`` samples across any stretch with no pause in reach."""
    out: list[_Cut] = []
    previous = 0
    for cut in [*pauses, _Cut(total, 0)]:
        position = previous
        while cut.position - position > limit:
            position += limit
            out.append(_Cut(position, 0))
        if cut.position < total:
            out.append(cut)
        previous = cut.position
    return out


def _cut_cost(cut: _Cut) -> float:
    """What a cut costs: 1 for the extra piece, plus more the shorter its pause.

    A 30 ms gap between words costs 21, a 0.3 s pause 3, a 1.5 s pause 1.4: a longer pause
    wins over a shorter one, and two clear pauses over one gap that may be inside a word.
    """
    if cut.pause_frames == 0:
        return HARD_CUT_COST
    return 1.0 + PAUSE_WEIGHT / cut.pause_frames


def _best_chunks(cuts: list[_Cut], total: int, limit: int) -> list[Chunk]:
    """The cheapest set of cuts with every chunk within ``limit`` (dynamic programming).

    Nodes are the start, every candidate cut and the end, in order; from each node the next
    reachable nodes lie within ``limit`` samples (``_with_hard_cuts`` guarantees one does).
    """
    positions = [0, *(cut.position for cut in cuts), total]
    costs = [0.0, *(_cut_cost(cut) for cut in cuts), 0.0]
    best = [math.inf] * len(positions)
    back = [0] * len(positions)
    best[0] = 0.0
    first = 0
    for node in range(1, len(positions)):
        while positions[node] - positions[first] > limit:
            first += 1
        for prev in range(first, node):
            candidate = best[prev] + costs[node]
            if candidate < best[node]:
                best[node], back[node] = candidate, prev
    chunks: list[Chunk] = []
    node = len(positions) - 1
    while node > 0:
        chunks.append(Chunk(positions[back[node]], positions[node]))
        node = back[node]
    return chunks[::-1]


def merge_transcripts(
    parts: Sequence[tuple[float, Transcript]],
    *,
    duration_seconds: float,
    language: str,
    model: str,
) -> Transcript:
    """One transcript from chunk transcripts, each given with its start (seconds)."""
    words: list[TranscribedWord] = []
    texts: list[str] = []
    reported_language: str | None = None
    for offset, part in parts:
        if part.text.strip():
            texts.append(part.text.strip())
        if part.words and reported_language is None:
            reported_language = part.language
        for word in part.words:
            start = min(round(word.start + offset, 3), duration_seconds)
            end = min(max(round(word.end + offset, 3), start), duration_seconds)
            words.append(word.model_copy(update={"start": start, "end": end}))
    return Transcript(
        text=" ".join(texts),
        words=words,
        language=reported_language or language,
        model=model,
        duration_seconds=duration_seconds,
    )


def transcribe_long(
    pcm16: bytes,
    sample_rate_hz: int,
    *,
    language: str,
    transcribe_chunk: ChunkTranscriber,
    limit_seconds: float,
    model: str,
    max_workers: int = 2,
    vad_mode: int = DEFAULT_VAD_MODE,
) -> Transcript:
    """Transcribe an answer of any length with an engine that takes at most ``limit_seconds``.

    ``transcribe_chunk`` is called concurrently from up to ``max_workers`` threads.
    """
    if len(pcm16) % 2:
        raise ValueError("16-bit PCM must have an even number of bytes")
    duration = len(pcm16) / 2 / sample_rate_hz
    chunks = plan_chunks(pcm16, sample_rate_hz, limit_seconds=limit_seconds, vad_mode=vad_mode)
    if len(chunks) == 1:
        return transcribe_chunk(pcm16, sample_rate_hz, language)
    _log.info(
        "long_answer_split",
        duration_seconds=round(duration, 2),
        chunks=len(chunks),
        longest_chunk_seconds=round(max(c.seconds(sample_rate_hz) for c in chunks), 2),
    )

    def run(chunk: Chunk) -> Transcript:
        return transcribe_chunk(pcm16[chunk.start * 2 : chunk.end * 2], sample_rate_hz, language)

    with ThreadPoolExecutor(
        max_workers=max(1, min(max_workers, len(chunks))), thread_name_prefix="stt-chunk"
    ) as pool:
        # Each task runs in a copy of our context, so its log lines keep the request's fields.
        futures = [pool.submit(contextvars.copy_context().run, run, chunk) for chunk in chunks]
        try:
            parts = [
                (chunk.start / sample_rate_hz, future.result())
                for chunk, future in zip(chunks, futures, strict=True)
            ]
        finally:
            for future in futures:
                future.cancel()  # after a failure, pieces not yet started are not worth doing
    return merge_transcripts(parts, duration_seconds=duration, language=language, model=model)
