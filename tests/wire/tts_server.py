"""A local stand-in for Cloud Text-to-Speech v1 that speaks its REST wire format.

``POST /v1/text:synthesize`` takes the camelCase JSON the real client sends
(``{"input": {"text"|"ssml"}, "voice": {"languageCode", "name"}, "audioConfig":
{"audioEncoding", "speakingRate", "sampleRateHertz"}}``), checks it as the real service does
(exactly one of text and SSML, at most 5,000 bytes, well-formed SSML under ``<speak>``, a voice
name of the requested language, a known encoding, a rate from 0.25 to 4.0) and answers
``{"audioContent": <base64 MP3>}`` (the v1 response has no other field) or a Google error body
``{"error": {"code", "message", "status"}}``. The MP3 is real (libmp3lame through PyAV, with
the ID3 tag and Info frame an encoder writes): a tone whose length follows the words and
breaks, at the voice's 24 kHz unless ``sampleRateHertz`` asks otherwise.

Every request is recorded, with the audio answered, so a test can check what was sent and in
which order. ``fail_next(503)`` makes the next request fail with that status.

    with TtsServer() as server:
        client = TextToSpeechClient(transport="rest", credentials=AnonymousCredentials(),
                                    client_options=ClientOptions(api_endpoint=server.endpoint))
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np

from tests.wire.local_server import QuietJsonHandler, RecordingServer

INPUT_LIMIT_BYTES = 5000
NATURAL_SAMPLE_RATE_HZ = 24000
_ENCODINGS = {"LINEAR16", "MP3", "OGG_OPUS", "MULAW", "ALAW", "PCM", "M4A"}
_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_BREAK = re.compile(r'<break\s+time="(\d+(?:\.\d+)?)(ms|s)"\s*/>')


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it, and what it answered."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int
    audio: bytes = b""

    @property
    def ssml(self) -> str | None:
        value = self.body.get("input", {}).get("ssml")
        return value if isinstance(value, str) else None

    @property
    def text(self) -> str | None:
        value = self.body.get("input", {}).get("text")
        return value if isinstance(value, str) else None

    @property
    def input_bytes(self) -> int:
        return len((self.ssml or self.text or "").encode("utf-8"))

    @property
    def voice(self) -> dict[str, Any]:
        return dict(self.body.get("voice", {}))

    @property
    def audio_config(self) -> dict[str, Any]:
        return dict(self.body.get("audioConfig", {}))


@dataclass
class _Failure:
    status: int
    message: str


@dataclass
class _State:
    seconds_per_word: float
    requests: list[RecordedRequest] = field(default_factory=list)
    failures: deque[_Failure] = field(default_factory=deque)
    canned_audio: deque[bytes] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)


class TtsServer(RecordingServer[RecordedRequest]):
    """The fake service on 127.0.0.1 and a free port, in a background thread.

    Args:
        seconds_per_word: how long the answered audio is per spoken word (tests of long
            texts pass a small value: encoding minutes of MP3 takes seconds).
    """

    def __init__(self, *, seconds_per_word: float = 0.3) -> None:
        self._state = _State(seconds_per_word=seconds_per_word)
        super().__init__(_Handler, self._state)

    def fail_next(self, status: int, *, times: int = 1, message: str = "") -> None:
        """Answer the next ``times`` requests with ``status`` and a Google error body."""
        with self._state.lock:
            for _ in range(times):
                self._state.failures.append(_Failure(status, message or _STATUS.get(status, "")))

    def answer_next_with(self, audio: bytes) -> None:
        """Answer the next valid request with ``audio`` instead of a synthesised tone."""
        with self._state.lock:
            self._state.canned_audio.append(audio)


class _Handler(QuietJsonHandler):
    server_state: _State

    def do_POST(self) -> None:  # noqa: N802  (the name http.server calls)
        body = self.read_json()
        status, answer, audio = self._answer(body)
        with self.server_state.lock:
            self.server_state.requests.append(
                RecordedRequest(
                    path=self.path,
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=body if isinstance(body, dict) else {},
                    status=status,
                    audio=audio,
                )
            )
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _answer(self, body: Any) -> tuple[int, dict[str, Any], bytes]:
        if self.path.split("?", 1)[0] != "/v1/text:synthesize":
            return _error(404, f"Method not found: {self.path}")
        with self.server_state.lock:
            failure = self.server_state.failures.popleft() if self.server_state.failures else None
        if failure is not None:
            return _error(failure.status, failure.message)
        if not isinstance(body, dict):
            return _error(400, "Invalid JSON payload received.")
        problem = _problem(body)
        if problem:
            return _error(400, problem)
        with self.server_state.lock:
            canned = self.server_state.canned_audio
            audio = canned.popleft() if canned else None
        if audio is None:
            seconds = _spoken_seconds(body, self.server_state.seconds_per_word)
            rate = int(body["audioConfig"].get("sampleRateHertz") or NATURAL_SAMPLE_RATE_HZ)
            audio = mp3_tone(seconds, sample_rate=rate)
        return 200, {"audioContent": base64.b64encode(audio).decode("ascii")}, audio


def _error(status: int, message: str) -> tuple[int, dict[str, Any], bytes]:
    body = {"error": {"code": status, "message": message, "status": _STATUS.get(status, "")}}
    return status, body, b""


def _problem(body: dict[str, Any]) -> str | None:
    """What the real service would refuse in ``body``, or None."""
    given = body.get("input") or {}
    text, ssml = given.get("text"), given.get("ssml")
    if (text is None) == (ssml is None):
        return "Either `input.text` or `input.ssml` needs to be set, but not both."
    content = text if text is not None else ssml
    if len(str(content).encode("utf-8")) > INPUT_LIMIT_BYTES:
        return (
            "Either `input.text` or `input.ssml` is longer than the limit of "
            f"{INPUT_LIMIT_BYTES} bytes."
        )
    if ssml is not None:
        try:
            root = ET.fromstring(ssml)
        except ET.ParseError:
            return "Invalid SSML: the document is not well-formed."
        if root.tag != "speak":
            return "Invalid SSML: the root element must be <speak>."
    voice = body.get("voice") or {}
    language = voice.get("languageCode")
    if not language:
        return "Voice language code is required."
    name = voice.get("name")
    if name and not str(name).lower().startswith(str(language).lower() + "-"):
        return f"Voice '{name}' does not exist for language code '{language}'."
    config = body.get("audioConfig") or {}
    if config.get("audioEncoding") not in _ENCODINGS:
        return "audioConfig.audioEncoding is required."
    rate = config.get("speakingRate")
    if rate is not None and not 0.25 <= float(rate) <= 4.0:
        return "speakingRate must be between 0.25 and 4.0."
    return None


def _spoken_seconds(body: dict[str, Any], seconds_per_word: float) -> float:
    given = body["input"]
    content = given.get("text") or given.get("ssml") or ""
    pauses = sum(
        float(value) / (1000 if unit == "ms" else 1) for value, unit in _BREAK.findall(content)
    )
    words = len(re.sub(r"<[^>]+>", " ", content).split())
    rate = float(body["audioConfig"].get("speakingRate") or 1.0)
    return max(0.2, words * seconds_per_word / rate + pauses)


def mp3_tone(seconds: float, *, sample_rate: int = NATURAL_SAMPLE_RATE_HZ) -> bytes:
    """A real MP3 (32 kbit/s mono, ID3 tag and Info frame included) of a quiet 220 Hz tone."""
    out_buffer = io.BytesIO()
    with av.open(out_buffer, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=sample_rate, layout="mono")
        stream.bit_rate = 32000
        times = np.arange(int(seconds * sample_rate)) / sample_rate
        samples = (0.2 * np.sin(2 * np.pi * 220 * times)).astype(np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = sample_rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out_buffer.getvalue()
