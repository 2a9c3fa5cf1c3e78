"""The embedded speech-to-text engine on real (synthetic) speech: accuracy, timings, fillers."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shared.models.speech import Transcript
from shared.speech import pocketsphinx_stt
from shared.speech.pocketsphinx_stt import (
    MODEL,
    PocketsphinxSpeechToText,
    _DecoderPool,
    words_from_segments,
)
from tests.speech_samples import SENTENCES, seconds, synthesize, word_error_rate

RATE = 16000
WER_LIMIT = 0.15


@pytest.fixture(scope="module")
def engine() -> PocketsphinxSpeechToText:
    return PocketsphinxSpeechToText(max_decoders=2)


@pytest.fixture(scope="module")
def slt_transcripts(engine: PocketsphinxSpeechToText) -> list[Transcript]:
    """The fixed sentence set spoken by flite's slt voice."""
    return [engine.transcribe(synthesize(s), RATE, language="en-GB") for s in SENTENCES]


# --- segments to words (no audio) ----------------------------------------------------------
def test_silence_and_noise_tokens_are_dropped_and_variants_lose_their_number() -> None:
    segments = [
        ("<s>", 0, 20),
        ("i'm(2)", 21, 40),
        ("<sil>", 41, 50),
        ("[NOISE]", 51, 60),
        ("going", 61, 90),
        ("[SPEECH]", 91, 95),
        ("</s>", 96, 99),
    ]

    words = words_from_segments(segments, frames_per_second=100, duration_seconds=1.0)

    assert [(w.text, w.start, w.end) for w in words] == [("i'm", 0.21, 0.41), ("going", 0.61, 0.91)]
    assert all(w.confidence is None and not w.filled_pause for w in words)


def test_hesitations_are_kept_as_filled_pauses() -> None:
    segments = [
        ("++UH++", 0, 9),
        ("well", 10, 30),
        ("++ER++", 31, 50),
        ("um", 51, 70),
        ("hmm", 71, 80),
        ("uh(2)", 81, 90),
    ]

    words = words_from_segments(segments, frames_per_second=100, duration_seconds=2.0)

    assert [(w.text, w.filled_pause) for w in words] == [
        ("uh", True),
        ("well", False),
        ("er", True),
        ("um", True),
        ("um", True),
        ("uh", True),
    ]


def test_word_ends_never_pass_the_end_of_the_audio() -> None:
    words = words_from_segments([("flat", 90, 99)], frames_per_second=100, duration_seconds=0.995)

    assert words[0].end == 0.995


# --- real speech ---------------------------------------------------------------------------
def test_word_error_rate_on_the_fixed_set_is_at_most_15_percent(
    slt_transcripts: list[Transcript],
) -> None:
    wer = word_error_rate(SENTENCES, [t.text for t in slt_transcripts])

    assert len(SENTENCES) >= 20
    assert wer <= WER_LIMIT, f"WER {wer:.3f} on flite slt"


def test_word_timings_increase_and_lie_within_the_audio(
    slt_transcripts: list[Transcript],
) -> None:
    for sentence, transcript in zip(SENTENCES, slt_transcripts, strict=True):
        duration = seconds(synthesize(sentence))
        assert transcript.duration_seconds == pytest.approx(duration)
        assert transcript.words, sentence
        previous_start = 0.0
        for word in transcript.words:
            assert 0 <= word.start <= word.end <= duration
            assert word.start >= previous_start
            previous_start = word.start
        # The first word starts after flite's lead-in silence, the last ends near the end.
        assert transcript.words[0].start < 0.6
        assert transcript.words[-1].end > duration - 0.6


def test_transcripts_describe_the_engine(slt_transcripts: list[Transcript]) -> None:
    transcript = slt_transcripts[0]

    assert transcript.model == MODEL == "pocketsphinx-en-us"
    assert transcript.language == "en-US"
    assert transcript.text == " ".join(w.text for w in transcript.words)
    assert all(w.confidence is None for w in transcript.words)


def test_a_spoken_hesitation_comes_back_as_a_filled_pause(
    engine: PocketsphinxSpeechToText,
) -> None:
    transcript = engine.transcribe(
        synthesize("Well, er, I am not sure about that."), RATE, language="en"
    )

    pauses = [w for w in transcript.words if w.filled_pause]
    assert [w.text for w in pauses] == ["er"]
    assert pauses[0].start > transcript.words[0].start  # after "well"


def test_digital_silence_gives_an_empty_transcript(engine: PocketsphinxSpeechToText) -> None:
    transcript = engine.transcribe(bytes(2 * RATE), RATE, language="en")

    assert transcript.text == ""
    assert transcript.words == []
    assert transcript.duration_seconds == 1.0


def test_audio_shorter_than_a_syllable_is_not_decoded(engine: PocketsphinxSpeechToText) -> None:
    assert engine.transcribe(b"", RATE, language="en").words == []
    assert engine.transcribe(bytes(400), RATE, language="en").duration_seconds == 0.0125


@pytest.mark.parametrize(
    ("pcm", "rate", "language", "problem"),
    [
        (bytes(3200), 8000, "en", "16000 Hz"),
        (bytes(3201), RATE, "en", "even number"),
        (bytes(3200), RATE, "fr-FR", "only recognises English"),
    ],
)
def test_input_it_cannot_handle_is_refused(
    pcm: bytes, rate: int, language: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        PocketsphinxSpeechToText().transcribe(pcm, rate, language=language)


# --- decoders: lazy, pooled, thread-safe --------------------------------------------------------
def test_the_decoder_is_made_on_first_use_and_reused() -> None:
    engine = PocketsphinxSpeechToText(max_decoders=2)
    assert engine.decoders_created == 0

    first = engine.transcribe(synthesize(SENTENCES[0]), RATE, language="en")
    second = engine.transcribe(synthesize(SENTENCES[0]), RATE, language="en")

    assert engine.decoders_created == 1
    assert first == second  # nothing carries over between answers; the dither is seeded


def test_concurrent_calls_never_share_a_decoder(engine: PocketsphinxSpeechToText) -> None:
    sentences = SENTENCES[:3]
    alone = [engine.transcribe(synthesize(s), RATE, language="en") for s in sentences]

    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(
            pool.map(lambda s: engine.transcribe(synthesize(s), RATE, language="en"), sentences)
        )

    assert together == alone
    assert engine.decoders_created <= 2


def test_the_pool_lends_each_decoder_to_one_thread_at_a_time() -> None:
    made: list[object] = []
    in_use: set[int] = set()
    overlaps: list[int] = []
    lock = threading.Lock()

    def factory() -> object:
        made.append(object())
        return made[-1]

    pool = _DecoderPool(factory, 2)

    def work(_: int) -> None:
        with pool.lease() as decoder:
            with lock:
                if id(decoder) in in_use:
                    overlaps.append(id(decoder))
                in_use.add(id(decoder))
            threading.Event().wait(0.005)
            with lock:
                in_use.discard(id(decoder))

    with ThreadPoolExecutor(max_workers=6) as executor:
        list(executor.map(work, range(60)))

    assert overlaps == []
    assert len(made) == 2


class FakeDecoder:
    """Fails its lattice search like pocketsphinx sometimes does, unless bestpath is off."""

    def __init__(self) -> None:
        self.config: dict[str, Any] = {"bestpath": True, "frate": 100}
        self.reinits = 0

    def reinit_feat(self) -> None: ...

    def start_utt(self) -> None: ...

    def process_raw(self, audio: bytes, full_utt: bool) -> None: ...

    def end_utt(self) -> None: ...

    def reinit(self) -> None:
        self.reinits += 1

    def hyp(self) -> object | None:
        return None if self.config["bestpath"] else object()

    def seg(self) -> list[Any]:
        class Seg:
            word, start_frame, end_frame = "hello", 10, 50

        return [Seg()]


def test_a_failed_best_path_falls_back_to_the_first_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDecoder()
    engine = PocketsphinxSpeechToText(max_decoders=1)
    monkeypatch.setattr(engine, "_pool", _DecoderPool(lambda: fake, 1))

    transcript = engine.transcribe(bytes(RATE), RATE, language="en")

    assert [w.text for w in transcript.words] == ["hello"]
    assert fake.config["bestpath"] is True  # restored for the next answer
    assert fake.reinits == 2


def test_a_decoder_that_raised_is_not_lent_again() -> None:
    made: list[object] = []
    pool = _DecoderPool(lambda: made.append(object()) or made[-1], 1)

    with pytest.raises(RuntimeError), pool.lease():
        raise RuntimeError("decoder broke")
    with pool.lease() as decoder:
        assert decoder is made[1]


def test_the_noise_dictionary_adds_hesitation_fillers() -> None:
    with open(pocketsphinx_stt._noise_dictionary(), encoding="utf-8") as handle:
        lines = handle.read().splitlines()

    assert "<sil> SIL" in lines
    assert "++UH++ AH" in lines
    assert "++ER++ ER" in lines
