"""VoiceCache: an examiner line is synthesised once, then served from the BlobStore."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.errors import DependencyUnavailable
from shared.models.speech import SynthesizedSpeech
from shared.speech.voice_cache import CachedSpeech, VoiceCache, cache_key
from tests.fakes import FakeBlobs

BUCKET = "speaking-coach-audio"
LINE = "Good morning. What is your name?"
ROOT = Path(__file__).resolve().parents[2]


class CountingEngine:
    """A TextToSpeech that records each call and answers distinct bytes per call."""

    def __init__(self, identity: str | None = None) -> None:
        self.calls: list[tuple[str, str, float]] = []
        self.identity = identity

    def synthesize(self, text: str, *, voice: str, speaking_rate: float = 1.0) -> SynthesizedSpeech:
        self.calls.append((text, voice, speaking_rate))
        audio = f"{voice}|{speaking_rate}|{text}".encode()
        return SynthesizedSpeech(
            audio=audio, mime_type="audio/mpeg", duration_seconds=1.5, voice=voice
        )


class EngineWithIdentity(CountingEngine):
    def voice_identity(self, voice: str) -> str:
        return f"{self.identity}/{voice}"


class CountingBlobs(FakeBlobs):
    def __init__(self) -> None:
        super().__init__(buckets=[BUCKET])
        self.lookups = 0

    def exists(self, bucket: str, name: str) -> bool:
        self.lookups += 1
        return super().exists(bucket, name)


@pytest.fixture
def blobs() -> CountingBlobs:
    return CountingBlobs()


def _cache(engine: CountingEngine, blobs: FakeBlobs, **options: object) -> VoiceCache:
    return VoiceCache(engine, blobs, bucket=BUCKET, provider="google", **options)  # type: ignore[arg-type]


def test_a_line_said_twice_is_synthesised_once(blobs: CountingBlobs) -> None:
    engine = CountingEngine()
    cache = _cache(engine, blobs)
    first = cache.synthesize(LINE, voice="british")
    second = cache.synthesize(LINE, voice="british")
    assert len(engine.calls) == 1
    assert first.synthesized
    assert not second.synthesized
    assert first.blob_name == second.blob_name
    stored = blobs.stored(BUCKET, first.blob_name)
    assert stored is not None
    assert stored.content_type == "audio/mpeg"
    assert stored.data == b"british|1.0|" + LINE.encode()


def test_whitespace_does_not_make_a_new_line(blobs: CountingBlobs) -> None:
    engine = CountingEngine()
    cache = _cache(engine, blobs)
    cache.synthesize(LINE, voice="british")
    cache.synthesize("  Good   morning.\tWhat is your name?  ", voice="british")
    assert len(engine.calls) == 1


@pytest.mark.parametrize(
    ("voice", "rate", "text"),
    [("american", 1.0, LINE), ("british", 0.9, LINE), ("british", 1.0, LINE + " Thank you.")],
)
def test_another_voice_rate_or_text_is_synthesised_again(
    blobs: CountingBlobs, voice: str, rate: float, text: str
) -> None:
    engine = CountingEngine()
    cache = _cache(engine, blobs)
    first = cache.synthesize(LINE, voice="british")
    other = cache.synthesize(text, voice=voice, speaking_rate=rate)
    assert len(engine.calls) == 2
    assert other.synthesized
    assert other.blob_name != first.blob_name


def test_another_provider_or_provider_voice_is_another_blob(blobs: CountingBlobs) -> None:
    plain = _cache(CountingEngine(), blobs)
    flite = VoiceCache(CountingEngine(), blobs, bucket=BUCKET, provider="flite")
    neural2 = _cache(EngineWithIdentity("en-GB-Neural2-B"), blobs)
    chirp = _cache(EngineWithIdentity("en-GB-Chirp3-HD-Charon"), blobs)
    names = {cache.blob_name(LINE, voice="british") for cache in (plain, flite, neural2, chirp)}
    assert len(names) == 4


def test_another_instance_finds_the_stored_line(blobs: CountingBlobs) -> None:
    engine = CountingEngine()
    _cache(engine, blobs).synthesize(LINE, voice="australian")
    again = _cache(engine, blobs).synthesize(LINE, voice="australian")  # a new function instance
    assert len(engine.calls) == 1
    assert not again.synthesized


def test_a_remembered_line_skips_the_lookup(blobs: CountingBlobs) -> None:
    cache = _cache(CountingEngine(), blobs)
    cache.synthesize(LINE, voice="british")
    lookups = blobs.lookups
    cache.synthesize(LINE, voice="british")
    assert blobs.lookups == lookups


def test_without_memory_every_call_looks_the_line_up(blobs: CountingBlobs) -> None:
    cache = _cache(CountingEngine(), blobs, remembered=0)
    for _ in range(3):
        cache.synthesize(LINE, voice="british")
    assert blobs.lookups == 3


def test_a_racing_writer_wins_and_both_get_the_same_name(blobs: CountingBlobs) -> None:
    engine = CountingEngine()
    cache = _cache(engine, blobs)
    name = cache.blob_name(LINE, voice="british")

    class RacingEngine(CountingEngine):
        def synthesize(
            self, text: str, *, voice: str, speaking_rate: float = 1.0
        ) -> SynthesizedSpeech:
            blobs.put(BUCKET, name, b"first writer", content_type="audio/mpeg")
            return super().synthesize(text, voice=voice, speaking_rate=speaking_rate)

    result = _cache(RacingEngine(), blobs).synthesize(LINE, voice="british")
    assert result == CachedSpeech(BUCKET, name, synthesized=True)
    stored = blobs.stored(BUCKET, name)
    assert stored is not None
    assert stored.data == b"first writer"


def test_a_store_that_does_not_answer_propagates(blobs: CountingBlobs) -> None:
    engine = CountingEngine()
    blobs.fail_with = DependencyUnavailable()
    with pytest.raises(DependencyUnavailable):
        _cache(engine, blobs).synthesize(LINE, voice="british")
    assert engine.calls == []


def test_warming_synthesises_each_new_line_once(blobs: CountingBlobs) -> None:
    engine = CountingEngine()
    cache = _cache(engine, blobs)
    lines = ["Where do you live?", "Do you like it there?", "Where do you live?"]
    results = cache.warm(lines, voice="british")
    assert len(engine.calls) == 2
    assert [r.synthesized for r in results] == [True, True, False]


def test_bad_arguments_are_refused_before_any_work(blobs: CountingBlobs) -> None:
    engine = CountingEngine()
    cache = _cache(engine, blobs)
    with pytest.raises(ValueError, match="examiner voice"):
        cache.synthesize(LINE, voice="irish")
    with pytest.raises(ValueError, match="speaking rate"):
        cache.synthesize(LINE, voice="british", speaking_rate=5)
    assert engine.calls == []
    assert blobs.lookups == 0


# --- The key ------------------------------------------------------------------------------------
KEY_ARGS = {
    "provider": "google",
    "voice": "british",
    "speaking_rate": 1.0,
    "text": LINE,
    "voice_identity": "google/en-GB/en-GB-Neural2-B/ssml/MP3/natural",
}


def test_the_key_is_the_sha256_of_a_documented_canonical_json() -> None:
    canonical = (
        '{"engine_voice":"google/en-GB/en-GB-Neural2-B/ssml/MP3/natural","provider":"google",'
        '"rate":"1.000","text":"Good morning. What is your name?","v":1,"voice":"british"}'
    )
    expected = hashlib.sha256(canonical.encode()).hexdigest()
    assert cache_key(**KEY_ARGS) == expected  # type: ignore[arg-type]
    # Pinned: changing the key format strands every stored line; bump CACHE_KEY_VERSION instead.
    assert expected == "6016bfa4e45f20af8b756fb8b2c122695c1c42275579c0013bac7b5d72b95167"


def test_the_key_is_the_same_in_another_process() -> None:
    program = f"from shared.speech.voice_cache import cache_key\nprint(cache_key(**{KEY_ARGS!r}))\n"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert other.stdout.strip() == cache_key(**KEY_ARGS)  # type: ignore[arg-type]


def test_rates_that_round_to_the_same_thousandth_share_a_key() -> None:
    base = {**KEY_ARGS, "speaking_rate": 0.9}
    assert cache_key(**base) == cache_key(**{**base, "speaking_rate": 0.9000001})  # type: ignore[arg-type]
    assert cache_key(**base) != cache_key(**{**base, "speaking_rate": 0.91})  # type: ignore[arg-type]
