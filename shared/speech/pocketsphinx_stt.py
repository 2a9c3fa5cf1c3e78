"""Embedded speech-to-text on pocketsphinx and its en-US model (the local stack's engine).

- A decoder loads its model for about 0.2 s and holds about 90 MB, and is not thread-safe:
  each instance keeps a small pool of decoders, made on first use (one at a time, under a
  lock) and lent to one thread at a time. ``max_decoders`` bounds memory and concurrency.
  pocketsphinx's binding holds the GIL while it decodes, so threads do not decode in
  parallel: the default is one decoder (a second adds memory, not speed).
- Input is 16 kHz mono s16le PCM (what ``shared.speech`` intake produces); ±1 LSB of
  fixed-seed dither is added, since pocketsphinx hears words in exact digital silence.
- Each answer is decoded from a fresh feature state, so the words of one answer never depend
  on the answers decoded before it (by this or any learner).
- Word times come from ``decoder.seg()`` (100 frames a second); pocketsphinx gives no usable
  word confidence (``prob`` is 0), so ``confidence`` is None.
- Silence and noise tokens (``<s>``, ``</s>``, ``<sil>``, ``[NOISE]``, ``[SPEECH]``) are
  dropped; hesitations are kept as filled pauses (``um``, ``uh``, ``er``). The stock noise
  dictionary has none, so we add ``++UH++`` and ``++ER++`` fillers (the decoder may then put
  a hesitation anywhere without the language model's permission); ``um`` comes from the
  dictionary word.
- Pronunciation variants (``word(2)``) are reported as the word.
- Answers longer than ``chunk_limit_seconds`` are split at pauses and the pieces decoded on
  the free decoders (``shared.speech.long_answers``).

Decoder settings are pocketsphinx's defaults: on the fixed evaluation set (flite voices),
wider beams cost 50-100% more time for no gain, and other language-model weights or
``bestpath=False`` were worse. The stock general-English language model is kept: a model
built from the evaluation sentences would only measure itself.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shared.logging import get_logger
from shared.models.speech import TranscribedWord, Transcript
from shared.speech.long_answers import filled_pause_form, transcribe_long

_log = get_logger(__name__)

MODEL = "pocketsphinx-en-us"
LANGUAGE = "en-US"
SAMPLE_RATE_HZ = 16000
MIN_SECONDS = 0.1  # shorter than a syllable: nothing to decode

# Hesitation fillers added to the model's noise dictionary, with the phone they sound like.
# Fillers must be one phone (pocketsphinx ignores longer ones), so "um" (AH M) is left to the
# dictionary word "um".
_FILLERS = {"++UH++": "AH", "++ER++": "ER"}
_FILLER_TEXT = {"++UH++": "uh", "++ER++": "er"}
_VARIANT = re.compile(r"\(\d+\)$")


def words_from_segments(
    segments: Iterable[tuple[str, int, int]],
    *,
    frames_per_second: int,
    duration_seconds: float,
) -> list[TranscribedWord]:
    """Transcribed words from pocketsphinx segments ``(word, start_frame, end_frame)``."""
    words: list[TranscribedWord] = []
    for token, start_frame, end_frame in segments:
        text = _VARIANT.sub("", token)
        pause = _FILLER_TEXT.get(text)
        if pause is None and text.startswith(("<", "[", "+")):
            continue  # silence, sentence markers, noise
        if pause is None:
            pause = filled_pause_form(text)
        start = min(round(start_frame / frames_per_second, 3), duration_seconds)
        end = min(round((end_frame + 1) / frames_per_second, 3), duration_seconds)
        words.append(
            TranscribedWord(
                text=pause or text,
                start=start,
                end=max(start, end),
                confidence=None,
                filled_pause=pause is not None,
            )
        )
    return words


class _DecoderPool:
    """Decoders made on demand (at most ``size``), each lent to one thread at a time."""

    def __init__(self, factory: Any, size: int) -> None:
        self._factory = factory
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle: list[Any] = []
        self.created = 0

    @contextmanager
    def lease(self) -> Iterator[Any]:
        with self._slots:
            with self._lock:
                if self._idle:
                    decoder = self._idle.pop()
                else:
                    # Under the lock: models load one at a time, bounding the memory peak.
                    decoder = self._factory()
                    self.created += 1
            try:
                yield decoder
            except BaseException:
                # A decoder that failed mid-utterance may be in any state: let it go.
                with self._lock:
                    self.created -= 1
                raise
            with self._lock:
                self._idle.append(decoder)


class PocketsphinxSpeechToText:
    """``SpeechToText`` in process, for the local stack and tests.

    Args:
        max_decoders: decoders kept (one per concurrent transcription); ~90 MB each.
            The binding holds the GIL while decoding, so more decoders add no throughput.
        chunk_limit_seconds: longer answers are split at pauses and decoded concurrently.
        decoder_options: extra pocketsphinx settings (e.g. ``{"beam": 1e-60}``).
    """

    model = MODEL

    def __init__(
        self,
        *,
        max_decoders: int = 1,
        chunk_limit_seconds: float = 30.0,
        decoder_options: Mapping[str, Any] | None = None,
    ) -> None:
        if max_decoders < 1:
            raise ValueError("max_decoders must be at least 1")
        self._max_decoders = max_decoders
        self._chunk_limit = chunk_limit_seconds
        self._options = dict(decoder_options or {})
        self._pool = _DecoderPool(self._new_decoder, max_decoders)

    @property
    def decoders_created(self) -> int:
        return self._pool.created

    def preload(self) -> None:
        """Load one decoder now (at cold start) instead of on the first answer."""
        with self._pool.lease():
            pass

    def transcribe(self, pcm16: bytes, sample_rate_hz: int, *, language: str) -> Transcript:
        """Transcribe 16 kHz mono s16le PCM; ``language`` must be English (any variant)."""
        if sample_rate_hz != SAMPLE_RATE_HZ:
            raise ValueError(f"pocketsphinx's model takes {SAMPLE_RATE_HZ} Hz audio")
        if len(pcm16) % 2:
            raise ValueError("16-bit PCM must have an even number of bytes")
        if language and language.replace("_", "-").split("-")[0].lower() != "en":
            raise ValueError(f"the embedded model only recognises English, not {language!r}")
        duration = len(pcm16) / 2 / sample_rate_hz
        if duration > self._chunk_limit:
            return transcribe_long(
                pcm16,
                sample_rate_hz,
                language=LANGUAGE,
                transcribe_chunk=self._transcribe_chunk,
                limit_seconds=self._chunk_limit,
                model=MODEL,
                max_workers=self._max_decoders,
            )
        return self._transcribe_chunk(pcm16, sample_rate_hz, LANGUAGE)

    def _transcribe_chunk(self, pcm16: bytes, sample_rate_hz: int, _language: str) -> Transcript:
        duration = len(pcm16) / 2 / sample_rate_hz
        if duration < MIN_SECONDS:
            return Transcript(
                text="", words=[], language=LANGUAGE, model=MODEL, duration_seconds=duration
            )
        audio = _dithered(pcm16)
        started = time.perf_counter()
        with self._pool.lease() as decoder:
            segments = _decode(decoder, audio)
            if segments is None:
                segments = self._decode_without_bestpath(decoder, audio)
            frames_per_second = int(decoder.config["frate"])
        words = words_from_segments(
            segments, frames_per_second=frames_per_second, duration_seconds=duration
        )
        elapsed = time.perf_counter() - started
        _log.info(
            "speech_transcribed",
            engine=MODEL,
            duration_seconds=round(duration, 2),
            words=len(words),
            filled_pauses=sum(word.filled_pause for word in words),
            real_time_factor=round(elapsed / duration, 3),
        )
        return Transcript(
            text=" ".join(word.text for word in words),
            words=words,
            language=LANGUAGE,
            model=MODEL,
            duration_seconds=duration,
        )

    def _decode_without_bestpath(self, decoder: Any, audio: bytes) -> list[Segment]:
        """Decode again with the first-pass result when the lattice's best path failed.

        pocketsphinx now and then scores every lattice path -inf (about one 10-45 s chunk in
        a hundred with the filler words) and then has no hypothesis at all.
        """
        _log.warning("speech_bestpath_failed", engine=MODEL)
        decoder.config["bestpath"] = False
        decoder.reinit()
        try:
            segments = _decode(decoder, audio)
        finally:
            decoder.config["bestpath"] = self._options.get("bestpath", True)
            decoder.reinit()
        return segments or []

    def _new_decoder(self) -> Any:
        from pocketsphinx import Decoder  # ~0.2 s and 90 MB: only when used

        started = time.perf_counter()
        options: dict[str, Any] = {
            "samprate": SAMPLE_RATE_HZ,
            "loglevel": "FATAL",
            "fdict": _noise_dictionary(),
            **self._options,
        }
        decoder = Decoder(**options)
        _log.info(
            "speech_model_loaded",
            engine=MODEL,
            seconds=round(time.perf_counter() - started, 3),
        )
        return decoder


Segment = tuple[str, int, int]


def _decode(decoder: Any, audio: bytes) -> list[Segment] | None:
    """One utterance; its segments, or None when the decoder found no hypothesis."""
    # Fresh feature state (cepstral mean): otherwise one answer shifts the next one's words.
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(audio, full_utt=True)
    decoder.end_utt()
    if decoder.hyp() is None:
        return None
    # Copy the segments out now: the decoder reuses them for its next utterance.
    return [(seg.word, seg.start_frame, seg.end_frame) for seg in decoder.seg()]


def _dithered(pcm16: bytes) -> bytes:
    """The audio plus ±1 LSB of fixed-seed noise, so stretches of digital silence decode as
    silence (pocketsphinx hears words in exact zeros) and the same input gives the same words."""
    import numpy as np

    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.int32)
    noise = np.random.default_rng(0).integers(-1, 2, size=samples.size, dtype=np.int32)
    return bytes(np.clip(samples + noise, -32768, 32767).astype("<i2").tobytes())


_noise_dictionary_lock = threading.Lock()
_noise_dictionary_path: str | None = None


def _noise_dictionary() -> str:
    """The model's noise dictionary plus hesitation fillers, written once per process.

    The file stays for the process's life: a decoder re-reads it when it is re-initialised.
    """
    global _noise_dictionary_path
    with _noise_dictionary_lock:
        if _noise_dictionary_path is None or not os.path.exists(_noise_dictionary_path):
            from pocketsphinx import get_model_path

            stock = Path(get_model_path("en-us/en-us"), "noisedict").read_text(encoding="utf-8")
            fillers = "".join(f"{word} {phones}\n" for word, phones in _FILLERS.items())
            handle, path = tempfile.mkstemp(prefix="pocketsphinx-noisedict-", suffix=".dict")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(stock.rstrip("\n") + "\n" + fillers)
            atexit.register(_remove, path)
            _noise_dictionary_path = path
        return _noise_dictionary_path


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
