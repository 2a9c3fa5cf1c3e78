"""Contract tests: the Speech-to-Text v2 adapter against a local server speaking the REST wire
format (tests/wire/speech_server.py), through the real google-cloud-speech client."""

from __future__ import annotations

import base64
import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest

from shared.adapters.google_speech_to_text import (
    GoogleSpeechConfig,
    GoogleSpeechToText,
)
from shared.errors import DependencyUnavailable, InternalError
from shared.models.speech import Transcript
from tests.speech_samples import SENTENCES, long_answer, synthesize
from tests.wire.speech_server import (
    RecordedRequest,
    SpeechServer,
    recognize_response,
    result,
    word,
)

RATE = 16000
PROJECT = "demo-speaking-coach"


@pytest.fixture
def server() -> Iterator[SpeechServer]:
    with SpeechServer() as running:
        yield running


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def adapter(server: SpeechServer, sleeps: Sleeps, **overrides: Any) -> GoogleSpeechToText:
    config = GoogleSpeechConfig(
        project=PROJECT, endpoint=server.endpoint, transport="rest", **overrides
    )
    return GoogleSpeechToText(config, sleep=sleeps)


def two_results() -> dict[str, Any]:
    """What Speech-to-Text says to "Um, I usually walk to work. It's close to my flat.\""""
    return recognize_response(
        [
            result(
                [
                    word("Um,", 0.3, 0.6, 0.71),
                    word("I", 0.8, 0.9, 0.98),
                    word("usually", 0.9, 1.4, 0.95),
                    word("walk", 1.4, 1.7, 0.93),
                    word("to", 1.7, 1.8, 0.99),
                    word("work.", 1.8, 2.2, 0.97),
                ],
                transcript="Um, I usually walk to work.",
            ),
            result(
                [
                    word("It's", 3.1, 3.3, 0.9),
                    word("close", 3.3, 3.7, 0.96),
                    word("to", 3.7, 3.8, 0.99),
                    word("my", 3.8, 4.0, 0.98),
                    word("flat.", 4.0, 4.5, 0.88),
                ],
                transcript=" It's close to my flat.",
            ),
        ],
        billed_seconds=5,
    )


# --- the request ----------------------------------------------------------------------------
def test_the_request_carries_the_model_features_decoding_and_audio(
    server: SpeechServer, sleeps: Sleeps
) -> None:
    pcm = synthesize(SENTENCES[0])
    server.answer(two_results())

    adapter(server, sleeps).transcribe(pcm, RATE, language="en")

    [sent] = server.requests
    assert sent.route == f"/v2/projects/{PROJECT}/locations/europe-west4/recognizers/_:recognize"
    assert sent.query == "$alt=json;enum-encoding=int"
    assert "recognizer" not in sent.body  # transcoded into the path
    assert sent.config["model"] == "chirp_2"
    assert sent.config["languageCodes"] == ["en-GB"]
    assert sent.encoding == "LINEAR16"
    assert sent.decoding["sampleRateHertz"] == 16000
    assert sent.decoding["audioChannelCount"] == 1
    assert "autoDecodingConfig" not in sent.config
    features = sent.features
    assert features["enableWordTimeOffsets"] is True
    assert features["enableWordConfidence"] is True
    assert features["enableAutomaticPunctuation"] is True
    assert features.get("profanityFilter", False) is False
    assert sent.body["content"] == base64.b64encode(pcm).decode("ascii")
    assert sent.audio == pcm
    assert sent.headers["content-type"].startswith("application/json")


def test_model_recognizer_location_and_language_are_configurable(
    server: SpeechServer, sleeps: Sleeps
) -> None:
    stt = adapter(server, sleeps, location="us-central1", recognizer="ielts", model="long")

    stt.transcribe(bytes(3200), RATE, language="en-US")
    stt.transcribe(bytes(3200), 8000, language="en-au")

    first, second = server.requests
    assert first.route == (
        f"/v2/projects/{PROJECT}/locations/us-central1/recognizers/ielts:recognize"
    )
    assert first.config["model"] == "long"
    assert first.config["languageCodes"] == ["en-US"]
    assert second.config["languageCodes"] == ["en-AU"]
    assert second.decoding["sampleRateHertz"] == 8000


def test_the_endpoint_follows_the_location() -> None:
    assert GoogleSpeechConfig(project=PROJECT).api_endpoint == "europe-west4-speech.googleapis.com"
    assert GoogleSpeechConfig(project=PROJECT, location="global").api_endpoint == (
        "speech.googleapis.com"
    )
    full = "projects/p/locations/eu/recognizers/r"
    assert GoogleSpeechConfig(project=PROJECT, recognizer=full).recognizer_name == full


# --- the response -------------------------------------------------------------------------------
def test_results_are_parsed_in_order_with_times_confidence_and_filled_pauses(
    server: SpeechServer, sleeps: Sleeps
) -> None:
    server.answer(two_results())

    transcript = adapter(server, sleeps).transcribe(bytes(2 * RATE * 5), RATE, language="en")

    assert transcript.text == "Um, I usually walk to work. It's close to my flat."
    assert [w.text for w in transcript.words] == [
        "um",
        "I",
        "usually",
        "walk",
        "to",
        "work",
        "It's",
        "close",
        "to",
        "my",
        "flat",
    ]
    assert transcript.words[0].filled_pause
    assert not any(w.filled_pause for w in transcript.words[1:])
    assert (transcript.words[1].start, transcript.words[1].end) == (0.8, 0.9)
    assert (transcript.words[-1].start, transcript.words[-1].end) == (4.0, 4.5)
    assert transcript.words[0].confidence == pytest.approx(0.71)
    assert transcript.words[-1].confidence == pytest.approx(0.88)
    assert transcript.language == "en-GB"  # reported as "en-gb"
    assert transcript.model == "google/chirp_2"
    assert transcript.duration_seconds == 5.0


def test_no_speech_is_an_empty_transcript_not_an_error(
    server: SpeechServer, sleeps: Sleeps
) -> None:
    transcript = adapter(server, sleeps).transcribe(bytes(2 * RATE * 3), RATE, language="en")

    assert transcript == Transcript(
        text="", words=[], language="en-GB", model="google/chirp_2", duration_seconds=3.0
    )
    assert len(server.requests) == 1


def test_a_result_without_alternatives_or_offsets_is_handled(
    server: SpeechServer, sleeps: Sleeps
) -> None:
    server.answer(
        recognize_response(
            [
                {"resultEndOffset": "1s", "languageCode": "en-gb"},
                result([word("Yes", 0.0, 0.4, None)]),
            ]
        )
    )

    transcript = adapter(server, sleeps).transcribe(bytes(2 * RATE), RATE, language="en")

    [yes] = transcript.words
    assert (yes.text, yes.start, yes.end, yes.confidence) == ("Yes", 0.0, 0.4, None)


def test_no_audio_sends_no_request(server: SpeechServer, sleeps: Sleeps) -> None:
    transcript = adapter(server, sleeps).transcribe(b"", RATE, language="en")

    assert transcript.words == []
    assert transcript.duration_seconds == 0
    assert server.requests == []


@pytest.mark.parametrize(("pcm", "rate"), [(bytes(3), RATE), (bytes(4), 4000)])
def test_audio_it_cannot_send_is_refused(
    server: SpeechServer, sleeps: Sleeps, pcm: bytes, rate: int
) -> None:
    with pytest.raises(ValueError, match=r"PCM|kHz"):
        adapter(server, sleeps).transcribe(pcm, rate, language="en")


# --- failures -------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [503, 429, 500])
def test_a_transient_failure_is_retried(server: SpeechServer, sleeps: Sleeps, status: int) -> None:
    server.fail_next(status)
    server.answer(two_results())

    transcript = adapter(server, sleeps).transcribe(bytes(2 * RATE * 5), RATE, language="en")

    assert len(transcript.words) == 11
    assert [r.status for r in server.requests] == [status, 200]
    assert server.requests[0].body == server.requests[1].body  # the same request again
    assert len(sleeps) == 1


def test_a_refused_request_is_not_retried(server: SpeechServer, sleeps: Sleeps) -> None:
    server.fail_next(400, message="Invalid recognizer configuration.")

    with pytest.raises(InternalError) as caught:
        adapter(server, sleeps).transcribe(bytes(3200), RATE, language="en")

    assert caught.value.details == {
        "dependency": "speech_to_text",
        "status": 400,
        "reason": "BadRequest",
    }
    assert len(server.requests) == 1
    assert sleeps == []


def test_an_outage_ends_in_dependency_unavailable_then_the_breaker_fails_fast(
    server: SpeechServer, sleeps: Sleeps
) -> None:
    stt = adapter(server, sleeps, attempts=3, breaker_failures=5)
    server.fail_next(503, times=5)

    with pytest.raises(DependencyUnavailable):
        stt.transcribe(bytes(3200), RATE, language="en")
    assert len(server.requests) == 3
    with pytest.raises(DependencyUnavailable) as caught:
        stt.transcribe(bytes(3200), RATE, language="en")

    # Two more failures reached the threshold of five; the third attempt was refused at once.
    assert len(server.requests) == 5
    assert caught.value.details["circuit"] == "open"
    with pytest.raises(DependencyUnavailable):
        stt.transcribe(bytes(3200), RATE, language="en")
    assert len(server.requests) == 5


def test_the_timeout_reaches_the_http_call(server: SpeechServer, sleeps: Sleeps) -> None:
    stt = adapter(server, sleeps, timeout_seconds=0.3, attempts=2)
    server.answer(two_results(), delay_seconds=1.5)
    server.answer(two_results())

    started = time.monotonic()
    transcript = stt.transcribe(bytes(2 * RATE * 5), RATE, language="en")

    assert time.monotonic() - started < 1.4  # gave up on the slow answer, retried at once
    assert len(transcript.words) == 11
    assert len(sleeps) == 1


# --- long answers -------------------------------------------------------------------------------
def test_a_long_answer_is_sent_in_pieces_within_the_sync_limit_and_merged(
    server: SpeechServer, sleeps: Sleeps
) -> None:
    answer = long_answer(SENTENCES[:20], [0.7 + 0.3 * (i % 3) for i in range(19)])
    pcm = answer.pcm16

    def respond(request: RecordedRequest) -> tuple[int, dict[str, Any]]:
        # One word a second after the piece starts and one a second before it ends.
        length = request.audio_seconds
        return 200, recognize_response(
            [result([word("first", 1.0, 1.5), word("last", length - 1.0, length - 0.5)])]
        )

    with SpeechServer(responder=respond) as fake:
        transcript = adapter(fake, sleeps).transcribe(pcm, RATE, language="en")
        sent = fake.requests

    assert answer.duration > 60
    assert len(sent) >= 2
    assert all(r.status == 200 and r.audio_seconds <= 55 for r in sent)  # the fake refuses > 60 s
    # Pieces may arrive in any order: place each by finding its audio in the answer.
    pieces = sorted((pcm.find(r.audio) / 2 / RATE, r.audio_seconds) for r in sent)
    assert pieces[0][0] == 0
    assert all(a + length == pytest.approx(b) for (a, length), (b, _) in itertools.pairwise(pieces))
    expected = []
    for start, length in pieces:
        expected += [round(start + 1.0, 3), round(start + length - 1.0, 3)]
    assert [w.start for w in transcript.words] == pytest.approx(expected, abs=0.002)
    assert transcript.text == " ".join(["first last"] * len(sent))
    assert transcript.duration_seconds == pytest.approx(answer.duration)
    for start, _ in pieces[1:]:
        assert any(a <= start <= b for a, b in answer.pauses), "cut inside speech"


# --- the client -----------------------------------------------------------------------------------
def test_the_client_is_made_once_on_first_use(server: SpeechServer, sleeps: Sleeps) -> None:
    stt = adapter(server, sleeps)
    assert stt._client is None

    stt.transcribe(bytes(3200), RATE, language="en")
    client = stt._client
    stt.transcribe(bytes(3200), RATE, language="en")

    assert client is not None
    assert stt._client is client


@pytest.mark.parametrize(
    "overrides",
    [
        {"project": ""},
        {"attempts": 0},
        {"sync_limit_seconds": 61},
        {"max_concurrent_requests": 0},
    ],
)
def test_nonsense_configuration_is_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"required|must be"):
        GoogleSpeechConfig(**{"project": PROJECT, **overrides})
