"""Long answers: cut at pauses, pieces transcribed concurrently, merged with the right times."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

import pytest

from shared.models.speech import TranscribedWord, Transcript
from shared.speech import long_answers
from shared.speech.long_answers import (
    Chunk,
    canonical_language,
    filled_pause_form,
    merge_transcripts,
    plan_chunks,
    strip_edge_punctuation,
    transcribe_long,
)
from shared.speech.pocketsphinx_stt import PocketsphinxSpeechToText
from tests.speech_samples import SENTENCES, LongAnswer, long_answer, word_error_rate

RATE = 16000

# Pauses between the 24 sentences: 0.6-1.65 s, with one long 2.5 s pause after sentence 9.
PAUSES = [0.6 + 0.35 * (index % 4) for index in range(len(SENTENCES) - 1)]
PAUSES[8] = 2.5


@pytest.fixture(scope="module")
def answer() -> LongAnswer:
    """About 110 s of speech: the fixed sentences (flite slt) with pauses between them."""
    return long_answer(SENTENCES, PAUSES)


def seconds_of(chunks: list[Chunk]) -> list[tuple[float, float]]:
    return [(c.start / RATE, c.end / RATE) for c in chunks]


def inside_a_pause(position: float, answer: LongAnswer) -> bool:
    return any(start <= position <= end for start, end in answer.pauses)


# --- planning the cuts ------------------------------------------------------------------------
def test_an_answer_within_the_limit_is_one_chunk(answer: LongAnswer) -> None:
    assert plan_chunks(answer.pcm16, RATE, limit_seconds=200) == [Chunk(0, len(answer.pcm16) // 2)]


@pytest.mark.parametrize("limit", [60.0, 30.0, 12.0])
def test_chunks_cover_the_answer_within_the_limit_cut_only_in_pauses(
    answer: LongAnswer, limit: float
) -> None:
    chunks = plan_chunks(answer.pcm16, RATE, limit_seconds=limit)

    assert chunks[0].start == 0
    assert chunks[-1].end == len(answer.pcm16) // 2
    assert all(a.end == b.start for a, b in itertools.pairwise(chunks))
    assert all(chunk.seconds(RATE) <= limit for chunk in chunks)
    # The fewest chunks the limit allows (sentences are ~4 s, so nothing forces more).
    assert len(chunks) <= int(answer.duration // (limit - 5)) + 1
    for _, end in seconds_of(chunks)[:-1]:
        assert inside_a_pause(end, answer), f"cut at {end:.2f} s is inside speech"


def test_the_longest_pause_within_reach_is_chosen(answer: LongAnswer) -> None:
    long_pause = answer.pauses[8]  # 2.5 s, at about 40 s

    chunks = plan_chunks(answer.pcm16, RATE, limit_seconds=80)

    assert len(chunks) == 2
    cut = chunks[0].end / RATE
    assert long_pause[0] < cut < long_pause[1]


def test_speech_with_no_pause_is_hard_cut_at_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    pcm = bytes(2 * RATE * 25)
    monkeypatch.setattr(long_answers, "speech_frames", lambda *_, **__: [True] * 833)

    chunks = plan_chunks(pcm, RATE, limit_seconds=10)

    assert seconds_of(chunks) == [(0, 10), (10, 20), (20, 25)]


def test_a_hard_cut_is_used_only_where_no_pause_is_in_reach(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 30 s: speech, one pause at 4.5-5.1 s, then 24.9 s of unbroken speech.
    flags = [True] * 1000
    flags[150:170] = [False] * 20
    monkeypatch.setattr(long_answers, "speech_frames", lambda *_, **__: flags)

    chunks = plan_chunks(bytes(2 * RATE * 30), RATE, limit_seconds=10)

    ends = [end for _, end in seconds_of(chunks)]
    assert all(chunk.seconds(RATE) <= 10 for chunk in chunks)
    assert ends[0] == pytest.approx(4.8)  # the pause, not a hard cut at 10 s
    assert len(chunks) == 4


def test_audio_webrtcvad_cannot_read_is_hard_cut() -> None:
    chunks = plan_chunks(bytes(2 * 22050 * 25), 22050, limit_seconds=10)

    assert [c.seconds(22050) for c in chunks] == [10, 10, 5]


# --- merging -----------------------------------------------------------------------------------
def piece(text: str, *times: tuple[float, float], language: str = "en-GB") -> Transcript:
    words = [
        TranscribedWord(text=w, start=s, end=e, filled_pause=w == "um")
        for w, (s, e) in zip(text.split(), times, strict=True)
    ]
    return Transcript(text=text, words=words, language=language, model="m", duration_seconds=9)


def test_merging_offsets_word_times_and_joins_texts_in_order() -> None:
    merged = merge_transcripts(
        [
            (0.0, piece("I like", (0.5, 0.7), (0.7, 1.0))),
            (8.0, piece("", language="und")),
            (20.5, piece("um tea", (0.2, 0.4), (1.0, 1.3))),
        ],
        duration_seconds=30.0,
        language="en",
        model="engine",
    )

    assert merged.text == "I like um tea"
    assert [(w.text, w.start, w.end) for w in merged.words] == [
        ("I", 0.5, 0.7),
        ("like", 0.7, 1.0),
        ("um", 20.7, 20.9),
        ("tea", 21.5, 21.8),
    ]
    assert merged.words[2].filled_pause
    assert merged.language == "en-GB"  # what the engine reported, from a piece with words
    assert merged.model == "engine"
    assert merged.duration_seconds == 30.0


def test_transcribe_long_keeps_order_when_pieces_finish_out_of_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flags = ([True] * 300 + [False] * 30) * 4  # four 9 s stretches of "speech", 0.9 s pauses
    monkeypatch.setattr(long_answers, "speech_frames", lambda *_, **__: flags)
    pcm = bytes(2 * RATE * 40)
    running = 0
    most = 0
    lock = threading.Lock()

    def transcribe(chunk: bytes, rate: int, language: str) -> Transcript:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        seconds = len(chunk) / 2 / rate
        time.sleep(0.2 if seconds > 10 else 0.05)  # the first piece finishes last
        with lock:
            running -= 1
        text = f"piece{round(seconds)}"
        return Transcript(
            text=text,
            words=[TranscribedWord(text=text, start=1.0, end=2.0)],
            language=language,
            model="fake",
            duration_seconds=seconds,
        )

    merged = transcribe_long(
        pcm,
        RATE,
        language="en-GB",
        transcribe_chunk=transcribe,
        limit_seconds=12,
        model="fake",
        max_workers=3,
    )

    chunks = plan_chunks(pcm, RATE, limit_seconds=12)
    assert [w.start for w in merged.words] == [c.start / RATE + 1.0 for c in chunks]
    assert merged.text.split() == [f"piece{round(c.seconds(RATE))}" for c in chunks]
    assert 1 < most <= 3
    assert merged.duration_seconds == 40


def test_a_failing_piece_fails_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(long_answers, "speech_frames", lambda *_, **__: [True] * 1000)

    def transcribe(chunk: bytes, rate: int, language: str) -> Transcript:
        raise TimeoutError("engine gave up")

    with pytest.raises(TimeoutError):
        transcribe_long(
            bytes(2 * RATE * 30),
            RATE,
            language="en",
            transcribe_chunk=transcribe,
            limit_seconds=10,
            model="x",
        )


# --- with the embedded engine on ~110 s of speech ---------------------------------------------
@pytest.fixture(scope="module")
def long_transcript(answer: LongAnswer) -> Iterator[tuple[Transcript, list[float]]]:
    engine = PocketsphinxSpeechToText(max_decoders=2)
    sizes: list[float] = []
    lock = threading.Lock()

    def transcribe(chunk: bytes, rate: int, language: str) -> Transcript:
        with lock:
            sizes.append(len(chunk) / 2 / rate)
        return engine._transcribe_chunk(chunk, rate, language)

    transcript = transcribe_long(
        answer.pcm16,
        RATE,
        language="en-US",
        transcribe_chunk=transcribe,
        limit_seconds=60,
        model=engine.model,
        max_workers=2,
    )
    return transcript, sizes


def test_a_long_answer_is_split_and_merged_with_correct_times(
    answer: LongAnswer, long_transcript: tuple[Transcript, list[float]]
) -> None:
    transcript, sizes = long_transcript

    assert answer.duration > 100
    assert len(sizes) >= 2
    assert max(sizes) <= 60
    assert transcript.duration_seconds == pytest.approx(answer.duration)
    assert word_error_rate([" ".join(SENTENCES)], [transcript.text]) <= 0.15

    words = transcript.words
    assert all(0 <= w.start <= w.end <= answer.duration for w in words)
    assert all(a.start <= b.start for a, b in itertools.pairwise(words))
    # Each sentence's first word starts within ±0.3 s of where its speech was placed.
    for index, placed in enumerate(answer.speech_starts):
        following = answer.speech_starts[index + 1] - 0.3 if index + 1 < len(SENTENCES) else 1e9
        first = next(w for w in words if placed - 0.3 <= w.start < following)
        assert first.start == pytest.approx(placed, abs=0.3), SENTENCES[index]


def test_the_engine_splits_answers_over_its_own_limit() -> None:
    engine = PocketsphinxSpeechToText(chunk_limit_seconds=20)
    shorter = long_answer(SENTENCES[:7], PAUSES[:6])

    transcript = engine.transcribe(shorter.pcm16, RATE, language="en")

    assert shorter.duration > 20
    assert transcript.duration_seconds == pytest.approx(shorter.duration)
    assert word_error_rate([" ".join(SENTENCES[:7])], [transcript.text]) <= 0.15
    assert transcript.words[-1].start > 20  # the second piece's words sit after the cut


# --- transcript helpers --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("word", "form"),
    [("um", "um"), ("Um,", "um"), ("uh...", "uh"), ("Erm", "er"), ("er", "er"), ("umbrella", None)],
)
def test_filled_pauses_are_recognised_in_any_spelling(word: str, form: str | None) -> None:
    assert filled_pause_form(word) == form


def test_edge_punctuation_is_stripped_but_apostrophes_stay() -> None:
    assert strip_edge_punctuation("flat.") == "flat"
    assert strip_edge_punctuation("¿don't?") == "don't"
    assert strip_edge_punctuation("...") == ""


@pytest.mark.parametrize(
    ("tag", "canonical"),
    [("en-gb", "en-GB"), ("EN", "en"), ("en_us", "en-US"), ("zh-hant-tw", "zh-Hant-TW")],
)
def test_language_tags_get_their_usual_casing(tag: str, canonical: str) -> None:
    assert canonical_language(tag) == canonical
