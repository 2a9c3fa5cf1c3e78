"""GoogleTextToSpeech against a local server speaking the Text-to-Speech v1 REST wire format.

The real client library (REST transport) sends real requests; the server checks them as the
service would and answers real MP3. Backoff sleeps and the breaker's clock are faked.
"""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Iterator
from typing import Any

import av
import pytest
import structlog
from google.cloud import texttospeech

from shared.adapters.google_text_to_speech import (
    GoogleTextToSpeech,
    GoogleTextToSpeechConfig,
    concatenate_mp3,
    mp3_duration_seconds,
)
from shared.errors import DependencyUnavailable, InternalError
from shared.speech.examiner_voice import GOOGLE_INPUT_LIMIT_BYTES, GOOGLE_VOICES, GoogleVoice
from tests.wire.tts_server import TtsServer, mp3_tone

GREETING = "Good morning. My name is Sarah. Can you tell me your full name, please?"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True, scope="module")
def _google_logs_keep_propagating() -> Iterator[None]:
    """The first Google client made in a process sets the "google" logger not to propagate
    (api_core's initialize_logging) unless it was configured; undo that for later tests."""
    google = logging.getLogger("google")
    propagate = google.propagate
    yield
    google.propagate = propagate


@pytest.fixture
def server() -> Iterator[TtsServer]:
    with TtsServer() as running:
        yield running


def _tts(
    endpoint: str, sleeps: list[float] | None = None, clock: FakeClock | None = None, **config: Any
) -> GoogleTextToSpeech:
    return GoogleTextToSpeech(
        GoogleTextToSpeechConfig(endpoint=endpoint, transport="rest", **config),
        sleep=(sleeps if sleeps is not None else []).append,
        clock=clock or FakeClock(),
    )


def _decoded_seconds(mp3: bytes) -> float:
    samples, rate = 0, 1
    with av.open(io.BytesIO(mp3), "r") as container:
        for frame in container.decode(audio=0):
            samples, rate = samples + frame.samples, frame.sample_rate
    return samples / rate


# --- What we send ---------------------------------------------------------------------------
def test_a_line_is_one_ssml_request_with_voice_encoding_and_rate(server: TtsServer) -> None:
    speech = _tts(server.endpoint).synthesize(GREETING, voice="british", speaking_rate=0.9)

    (request,) = server.requests
    assert request.path == "/v1/text:synthesize"
    assert request.body["voice"] == {"languageCode": "en-GB", "name": "en-GB-Neural2-B"}
    assert set(request.body["input"]) == {"ssml"}
    assert request.ssml is not None
    assert request.ssml.startswith('<speak>Good morning.<break time="600ms"/>')
    assert request.audio_config == {"audioEncoding": "MP3", "speakingRate": 0.9}
    assert speech.mime_type == "audio/mpeg"
    assert speech.audio == request.audio  # one part is returned untouched
    assert speech.voice == "british"
    assert speech.duration_seconds == pytest.approx(_decoded_seconds(speech.audio), abs=0.1)


@pytest.mark.parametrize("voice", ["american", "australian"])
def test_each_accent_asks_for_its_own_voice(server: TtsServer, voice: str) -> None:
    _tts(server.endpoint).synthesize("Where do you live?", voice=voice)
    expected = GOOGLE_VOICES[voice]  # type: ignore[index]
    assert server.requests[0].voice == {
        "languageCode": expected.language_code,
        "name": expected.name,
    }


def test_a_voice_without_ssml_gets_plain_text(server: TtsServer) -> None:
    voices = {**GOOGLE_VOICES, "british": GoogleVoice("en-GB", "en-GB-Chirp3-HD-Charon", False)}
    _tts(server.endpoint, voices=voices).synthesize(GREETING, voice="british")
    (request,) = server.requests
    assert request.body["input"] == {"text": GREETING}


def test_a_configured_sample_rate_is_requested_and_counted(server: TtsServer) -> None:
    speech = _tts(server.endpoint, sample_rate_hertz=16000).synthesize(GREETING, voice="british")
    assert server.requests[0].audio_config["sampleRateHertz"] == 16000
    assert speech.duration_seconds == pytest.approx(_decoded_seconds(speech.audio), abs=0.1)


def test_text_with_markup_characters_reaches_the_service_well_formed(server: TtsServer) -> None:
    # The server refuses malformed SSML with a 400, as the real service does.
    _tts(server.endpoint).synthesize('You said "fish & chips <3". Why?', voice="british")
    (request,) = server.requests
    assert request.status == 200
    assert request.ssml is not None
    assert "fish &amp; chips &lt;3" in request.ssml


def test_a_text_over_the_limit_is_split_and_the_audio_joined_in_order() -> None:
    sentences = [
        f"Question {i}: what did you do on day number {i} of your trip?" for i in range(90)
    ]
    text = " ".join(sentences)
    assert len(text.encode()) > GOOGLE_INPUT_LIMIT_BYTES
    with TtsServer(seconds_per_word=0.02) as server:
        speech = _tts(server.endpoint).synthesize(text, voice="british")
        requests = server.requests

    assert len(requests) >= 2
    assert all(r.status == 200 and r.input_bytes <= GOOGLE_INPUT_LIMIT_BYTES for r in requests)
    sent_words = [w for r in requests for w in (r.ssml or "").replace("<speak>", " ").split()]
    assert " ".join(sent_words).replace("</speak>", "").split() == text.split()
    # Each part's audio appears in the result, in request order, without tags or info frames.
    positions = [speech.audio.find(r.audio[-300:]) for r in requests]
    assert -1 not in positions
    assert positions == sorted(positions)
    assert speech.audio[:3] != b"ID3"
    parts_seconds = sum(_decoded_seconds(r.audio) for r in requests)
    assert speech.duration_seconds == pytest.approx(_decoded_seconds(speech.audio), abs=0.05)
    assert speech.duration_seconds == pytest.approx(parts_seconds, abs=0.1 * len(requests))


# --- Failures -----------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [429, 500, 503, 504])
def test_a_transient_failure_is_retried(server: TtsServer, status: int) -> None:
    sleeps: list[float] = []
    server.fail_next(status)
    speech = _tts(server.endpoint, sleeps).synthesize(GREETING, voice="british")
    assert [r.status for r in server.requests] == [status, 200]
    assert len(sleeps) == 1  # one backoff wait, faked
    assert speech.duration_seconds > 0


@pytest.mark.parametrize("status", [400, 403, 404])
def test_a_refused_request_is_not_retried(server: TtsServer, status: int) -> None:
    sleeps: list[float] = []
    server.fail_next(status)
    with pytest.raises(InternalError) as raised:
        _tts(server.endpoint, sleeps).synthesize(GREETING, voice="british")
    assert raised.value.details["status"] == status
    assert [r.status for r in server.requests] == [status]
    assert sleeps == []


def test_a_service_that_keeps_failing_is_unavailable_after_the_attempts(
    server: TtsServer,
) -> None:
    server.fail_next(503, times=5)
    with pytest.raises(DependencyUnavailable):
        _tts(server.endpoint, attempts=3).synthesize(GREETING, voice="british")
    assert [r.status for r in server.requests] == [503, 503, 503]


def test_the_breaker_opens_and_fails_fast_then_lets_a_trial_through(server: TtsServer) -> None:
    clock = FakeClock()
    tts = _tts(server.endpoint, clock=clock, attempts=1, breaker_failures=2)
    server.fail_next(503, times=2)
    for _ in range(2):
        with pytest.raises(DependencyUnavailable):
            tts.synthesize(GREETING, voice="british")
    with pytest.raises(DependencyUnavailable) as raised:
        tts.synthesize(GREETING, voice="british")
    assert raised.value.details["circuit"] == "open"
    assert len(server.requests) == 2  # the third call never left the process

    clock.now += 31  # past the cool-down: one trial call, which succeeds and closes it
    assert tts.synthesize(GREETING, voice="british").duration_seconds > 0
    assert len(server.requests) == 3


def test_refusals_do_not_open_the_breaker(server: TtsServer) -> None:
    tts = _tts(server.endpoint, breaker_failures=1)
    server.fail_next(400, times=3)
    for _ in range(3):
        with pytest.raises(InternalError):
            tts.synthesize(GREETING, voice="british")
    assert tts.synthesize(GREETING, voice="british").duration_seconds > 0


def test_an_endpoint_that_refuses_connections_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    with pytest.raises(DependencyUnavailable):
        _tts(f"http://127.0.0.1:{port}", sleeps, attempts=2).synthesize("Hi.", voice="british")
    assert len(sleeps) == 1


def test_an_answer_without_mp3_audio_is_an_internal_error(server: TtsServer) -> None:
    server.answer_next_with(b"<html>not audio</html>")
    with pytest.raises(InternalError) as raised:
        _tts(server.endpoint).synthesize(GREETING, voice="british")
    assert raised.value.details["reason"] == "no_audio_frames"


def test_bad_arguments_fail_before_any_request(server: TtsServer) -> None:
    tts = _tts(server.endpoint)
    with pytest.raises(ValueError, match="examiner voice"):
        tts.synthesize(GREETING, voice="klingon")
    with pytest.raises(ValueError, match="speaking rate"):
        tts.synthesize(GREETING, voice="british", speaking_rate=3.0)
    with pytest.raises(ValueError, match="nothing to say"):
        tts.synthesize("  ", voice="british")
    assert server.requests == []


# --- Client and logs ----------------------------------------------------------------------------
def test_the_client_is_created_on_first_use_and_once(
    server: TtsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[object] = []
    real = texttospeech.TextToSpeechClient

    def counting(*args: Any, **kwargs: Any) -> texttospeech.TextToSpeechClient:
        made.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(texttospeech, "TextToSpeechClient", counting)
    tts = _tts(server.endpoint)
    assert made == []
    tts.synthesize("Hello.", voice="british")
    tts.synthesize("Goodbye.", voice="american")
    assert len(made) == 1


def test_logs_never_carry_the_text(server: TtsServer) -> None:
    secret = "My neighbour Zanzibar-Quinn told me"
    with structlog.testing.capture_logs() as logs:
        _tts(server.endpoint).synthesize(f"{secret}. Do you agree?", voice="british")
    assert logs
    assert all("Zanzibar" not in repr(entry) for entry in logs)
    assert logs[-1]["event"] == "speech_synthesized"
    assert logs[-1]["requests"] == 1


def test_the_voice_identity_changes_with_the_configured_voice() -> None:
    default = GoogleTextToSpeech(GoogleTextToSpeechConfig())
    voices = {**GOOGLE_VOICES, "british": GoogleVoice("en-GB", "en-GB-Neural2-D")}
    other = GoogleTextToSpeech(GoogleTextToSpeechConfig(voices=voices))
    assert default.voice_identity("british") != other.voice_identity("british")
    assert default.voice_identity("american") == other.voice_identity("american")


def test_a_config_missing_an_accent_is_refused() -> None:
    with pytest.raises(ValueError, match="australian"):
        GoogleTextToSpeechConfig(voices={"british": GOOGLE_VOICES["british"]})


# --- MP3 frames ---------------------------------------------------------------------------------
def test_the_duration_of_one_mp3_is_counted_from_its_frames() -> None:
    for seconds, rate in [(2.0, 24000), (1.0, 16000), (0.5, 44100)]:
        audio = mp3_tone(seconds, sample_rate=rate)
        # A gapless decoder also trims the encoder's delay and padding (about 50 ms).
        assert mp3_duration_seconds(audio) == pytest.approx(_decoded_seconds(audio), abs=0.1)


def test_one_part_is_returned_unchanged() -> None:
    audio = mp3_tone(0.5)
    assert concatenate_mp3([audio]) == audio


def test_joined_parts_drop_tags_and_info_frames_and_keep_every_frame() -> None:
    parts = [mp3_tone(1.0), mp3_tone(0.4), mp3_tone(0.7)]
    joined = concatenate_mp3(parts)
    assert joined[:2] == b"\xff\xf3"  # starts on an MPEG-2 layer III frame, no ID3 tag
    assert b"Info" not in joined
    assert b"Xing" not in joined
    assert mp3_duration_seconds(joined) == pytest.approx(_decoded_seconds(joined), abs=0.001)
    assert mp3_duration_seconds(joined) == pytest.approx(
        sum(mp3_duration_seconds(p) for p in parts)
    )


def test_junk_tags_and_a_truncated_last_frame_are_skipped() -> None:
    first, second, third = mp3_tone(0.5), mp3_tone(0.5), mp3_tone(0.5)
    id3v1 = b"TAG" + bytes(125)
    joined = concatenate_mp3([first + b"junk" * 10, second + id3v1, third[:-50]])
    expected = sum(mp3_duration_seconds(part) for part in (first, second, third))
    assert mp3_duration_seconds(joined) == pytest.approx(expected - 576 / 24000)
    assert b"junk" not in joined
    assert b"TAG" not in joined
    assert mp3_duration_seconds(joined) == pytest.approx(_decoded_seconds(joined), abs=0.001)


@pytest.mark.parametrize(
    "data", [b"", b"\xff\xfb", b"ID3\x04\x00\x00\x00\x00\x00\x10", bytes(4000)]
)
def test_no_frames_means_no_duration(data: bytes) -> None:
    assert mp3_duration_seconds(data) == 0.0
