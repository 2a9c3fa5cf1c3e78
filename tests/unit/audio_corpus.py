"""Generate the audio the audio-intake tests need: good answers in every accepted format and
bad files (mutated, truncated, lying headers), made with numpy and encoded with PyAV.

Nothing here reads a file from disk: every test builds its own corpus, deterministically
(fixed seeds), so a failure reproduces byte for byte.
"""

from __future__ import annotations

import functools
import io
import struct
from fractions import Fraction

import av
import numpy as np
from av.audio.stream import AudioStream

# Formants (Hz) of five vowels: enough variety for a voice activity detector to call it speech.
_VOWELS = (
    (730.0, 1090.0, 2440.0),
    (270.0, 2290.0, 3010.0),
    (300.0, 870.0, 2240.0),
    (530.0, 1840.0, 2480.0),
    (570.0, 840.0, 2410.0),
)
_BANDWIDTHS = (90.0, 110.0, 170.0)


def speech_like(
    seconds: float,
    *,
    rate: int = 16000,
    level_dbfs: float = -22.0,
    seed: int = 0,
    lead_silence: float = 0.3,
) -> np.ndarray:
    """A mono float32 signal in [-1, 1] shaped like read speech.

    Syllables of voiced harmonics (pitch 90-220 Hz with drift, vowel formants, spectral tilt)
    with short noise consonants, grouped into words and phrases separated by pauses; the
    active parts sit near ``level_dbfs`` RMS (full-scale square wave = 0 dBFS).
    """
    rng = np.random.default_rng(seed)
    total = round(seconds * rate)
    out = np.zeros(total, dtype=np.float64)
    cursor = int(lead_silence * rate)
    base_f0 = rng.uniform(100.0, 180.0)
    while cursor < total - int(0.25 * rate):
        for _word in range(int(rng.integers(2, 6))):
            for _syllable in range(int(rng.integers(1, 4))):
                burst = int(rng.uniform(0.03, 0.07) * rate) if rng.random() < 0.5 else 0
                length = int(rng.uniform(0.12, 0.28) * rate)
                if cursor + burst + length >= total:
                    break
                if burst:  # a consonant before some syllables
                    noise = rng.standard_normal(burst) * 0.08
                    out[cursor : cursor + burst] += noise * np.hanning(burst)
                    cursor += burst
                out[cursor : cursor + length] += _syllable_wave(length, rate, base_f0, rng)
                cursor += length + int(rng.uniform(0.01, 0.05) * rate)
            cursor += int(rng.uniform(0.05, 0.15) * rate)  # between words
        cursor += int(rng.uniform(0.35, 0.8) * rate)  # between phrases
    active = np.abs(out) > 1e-4
    if active.any():
        rms = float(np.sqrt(np.mean(out[active] ** 2)))
        out *= 10 ** (level_dbfs / 20) / rms
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def continuous_speech(
    seconds: float, *, rate: int = 16000, level_dbfs: float = -22.0, seed: int = 0
) -> np.ndarray:
    """Voiced syllables back to back (gaps of 10-40 ms, as inside words): one speech run."""
    rng = np.random.default_rng(seed)
    total = round(seconds * rate)
    out = np.zeros(total, dtype=np.float64)
    base_f0 = rng.uniform(100.0, 180.0)
    cursor = 0
    while total - cursor >= int(0.06 * rate):
        length = min(int(rng.uniform(0.12, 0.28) * rate), total - cursor)
        out[cursor : cursor + length] = _syllable_wave(length, rate, base_f0, rng)
        cursor += length + int(rng.uniform(0.01, 0.04) * rate)
    rms = float(np.sqrt(np.mean(out[:cursor] ** 2)))
    return np.clip(out * 10 ** (level_dbfs / 20) / rms, -1.0, 1.0).astype(np.float32)


def _syllable_wave(length: int, rate: int, base_f0: float, rng: np.random.Generator) -> np.ndarray:
    formants = _VOWELS[int(rng.integers(len(_VOWELS)))]
    t = np.arange(length) / rate
    f0 = base_f0 * (1 + 0.12 * np.sin(2 * np.pi * rng.uniform(1, 3) * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    wave = np.zeros(length)
    for k in range(1, int(4000 / base_f0)):
        freq = k * base_f0
        gain = sum(
            1 / np.sqrt(1 + ((freq - f) / (b / 2)) ** 2)
            for f, b in zip(formants, _BANDWIDTHS, strict=True)
        )
        wave += gain / k * np.sin(k * phase)
    return wave * np.hanning(length) ** 0.5


def tone(
    seconds: float, *, rate: int = 16000, freq: float = 440.0, dbfs: float = -12.0
) -> np.ndarray:
    """A sine wave with ``dbfs`` RMS (full-scale square = 0 dBFS)."""
    t = np.arange(int(seconds * rate)) / rate
    return (np.sqrt(2) * 10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def white_noise(
    seconds: float, *, rate: int = 16000, dbfs: float = -20.0, seed: int = 1
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.standard_normal(int(seconds * rate)) * 10 ** (dbfs / 20), -1, 1).astype(
        np.float32
    )


def silence(seconds: float, *, rate: int = 16000) -> np.ndarray:
    return np.zeros(int(seconds * rate), dtype=np.float32)


# --- Encoding -----------------------------------------------------------------------------
# name: (container format, codec, sample format, container options, codec options)
FORMATS: dict[str, tuple[str, str, str, dict[str, str], dict[str, str]]] = {
    "webm/opus": ("webm", "libopus", "flt", {}, {}),
    # As Chrome's MediaRecorder writes it: unknown-size segment and clusters, no duration, no cues.
    "webm/live": ("webm", "libopus", "flt", {"live": "1"}, {}),
    "webm/vorbis": ("webm", "vorbis", "fltp", {}, {"strict": "experimental"}),  # older Firefox
    "ogg/opus": ("ogg", "libopus", "flt", {}, {}),
    "ogg/vorbis": ("ogg", "vorbis", "fltp", {}, {"strict": "experimental"}),
    "mp4/aac": ("mp4", "aac", "fltp", {}, {}),
    "mp4/opus": ("mp4", "libopus", "flt", {}, {}),  # Chrome's MediaRecorder can write it
    # Safari's MediaRecorder writes fragmented mp4: an empty moov, then moof+mdat pairs.
    "fmp4/aac": (
        "mp4",
        "aac",
        "fltp",
        {"movflags": "frag_keyframe+empty_moov+default_base_moof", "frag_duration": "1000000"},
        {},
    ),
    "wav": ("wav", "pcm_s16le", "s16", {}, {}),
    "mp3": ("mp3", "libmp3lame", "fltp", {}, {}),
    "flac": ("flac", "flac", "s16", {}, {}),
}
# The format string shared.speech reports for each corpus format.
REPORTED = {
    "webm/opus": "webm/opus",
    "webm/live": "webm/opus",
    "webm/vorbis": "webm/vorbis",
    "ogg/opus": "ogg/opus",
    "ogg/vorbis": "ogg/vorbis",
    "mp4/aac": "mp4/aac",
    "mp4/opus": "mp4/opus",
    "fmp4/aac": "mp4/aac",
    "wav": "wav/pcm_s16le",
    "mp3": "mp3/mp3",
    "flac": "flac/flac",
}
_NATIVE_RATES = {"libopus": 48000}


def encode(
    samples: np.ndarray,
    fmt: str,
    *,
    rate: int = 16000,
    bitrate: int | None = None,
    codec_options: dict[str, str] | None = None,
) -> bytes:
    """Encode float32 samples, shape (n,) or (channels, n), into ``fmt`` (a key of FORMATS)."""
    container_format, codec, sample_format, container_options, options = FORMATS[fmt]
    planar = samples.reshape(1, -1) if samples.ndim == 1 else samples
    if codec == "vorbis" and planar.shape[0] == 1:
        planar = np.vstack([planar, planar])  # FFmpeg's own vorbis encoder is stereo only
    channels = planar.shape[0]
    out_rate = _NATIVE_RATES.get(codec, rate)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container_format, options=container_options) as out:
        stream = out.add_stream(codec, rate=out_rate, options={**options, **(codec_options or {})})
        assert isinstance(stream, AudioStream)
        stream.layout = "mono" if channels == 1 else "stereo"
        if bitrate or codec == "libopus":
            stream.bit_rate = bitrate or 64000  # libopus complains when left to choose
        resampler = av.AudioResampler(format=sample_format, layout=stream.layout, rate=out_rate)
        frame_size = 960 if codec == "libopus" else 1024
        chunk = max(1, frame_size * rate // out_rate)
        pts = 0
        for start in range(0, planar.shape[1], chunk):
            block = np.ascontiguousarray(planar[:, start : start + chunk], dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=stream.layout)
            frame.sample_rate = rate
            frame.pts = pts
            frame.time_base = Fraction(1, rate)
            pts += block.shape[1]
            for resampled in resampler.resample(frame):
                out.mux(stream.encode(resampled))
        for resampled in resampler.resample(None):
            out.mux(stream.encode(resampled))
        out.mux(stream.encode(None))
    return buffer.getvalue()


def wav_bytes(
    pcm: np.ndarray,
    *,
    rate: int = 16000,
    channels: int = 1,
    data_size: int | None = None,
    sample_format: int = 1,
    bits: int = 16,
) -> bytes:
    """A hand-made wav: ``pcm`` as given (int16 or raw bytes), with a header that may lie."""
    body = pcm.astype("<i2").tobytes() if isinstance(pcm, np.ndarray) else bytes(pcm)
    size = len(body) if data_size is None else data_size
    block = channels * bits // 8
    fmt_chunk = struct.pack("<HHIIHH", sample_format, channels, rate, rate * block, block, bits)
    header = (
        b"RIFF"
        + struct.pack("<I", (36 + size) & 0xFFFFFFFF)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt_chunk))
        + fmt_chunk
        + b"data"
        + struct.pack("<I", size & 0xFFFFFFFF)
    )
    return header + body


def to_int16(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.round(samples * 32767), -32768, 32767).astype(np.int16)


@functools.cache
def answer(fmt: str, seconds: float = 4.0, level_dbfs: float = -22.0, seed: int = 0) -> bytes:
    """A speech-like answer encoded as ``fmt`` (cached: the tests share the encodings)."""
    rate = 48000 if FORMATS[fmt][1] == "libopus" else 16000
    return encode(speech_like(seconds, rate=rate, level_dbfs=level_dbfs, seed=seed), fmt, rate=rate)


# --- Mutations ----------------------------------------------------------------------------
def truncations(data: bytes, points: int = 12) -> list[tuple[str, bytes]]:
    """The file cut at ``points`` places from a few bytes to nearly whole."""
    cuts = sorted({max(1, int(len(data) * f)) for f in np.linspace(0.002, 0.98, points)})
    return [(f"truncate@{cut}", data[:cut]) for cut in cuts]


def byte_flips(
    data: bytes, count: int = 10, seed: int = 7, within: int | None = None
) -> list[tuple[str, bytes]]:
    """Copies of the file with 1-4 bytes inverted at random places (in the first ``within``
    bytes when given: the headers)."""
    rng = np.random.default_rng(seed)
    cases = []
    for n in range(count):
        mutated = bytearray(data)
        for position in rng.integers(0, within or len(data), size=1 + n % 4):
            mutated[int(position)] ^= 0xFF
        cases.append((f"flip#{n}", bytes(mutated)))
    return cases


def garbage_after_header(data: bytes, keep: int, size: int = 64_000, seed: int = 3) -> bytes:
    """The first ``keep`` bytes of a valid file followed by random bytes."""
    rng = np.random.default_rng(seed)
    return data[:keep] + rng.integers(0, 256, size=size, dtype=np.uint8).tobytes()


def header_length(fmt: str, data: bytes) -> int:
    """Where the first audio payload starts: everything before it is headers."""
    if fmt.startswith("webm"):
        return data.index(b"\x1f\x43\xb6\x75")  # the first Cluster
    if fmt.startswith("ogg"):
        pos = 0
        while struct.unpack_from("<q", data, pos + 6)[0] <= 0:  # header pages carry granule 0
            segments = data[pos + 26]
            pos += 27 + segments + sum(data[pos + 27 : pos + 27 + segments])
        return pos
    if fmt in ("mp4/aac", "mp4/opus"):
        return data.index(b"mdat") + 4
    if fmt == "fmp4/aac":
        return data.index(b"moof") - 4
    if fmt == "wav":
        return data.index(b"data") + 8
    if fmt == "mp3":
        tag = 10 + ((data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9])
        return tag + 4  # the tag and the first frame's header
    if fmt == "flac":
        pos = 4
        while True:
            last, length = data[pos] & 0x80, int.from_bytes(data[pos + 1 : pos + 4], "big")
            pos += 4 + length
            if last:
                return pos
    raise ValueError(fmt)


def concat_mp3(*parts: tuple[np.ndarray, int]) -> bytes:
    """mp3 streams joined end to end: frames whose rate and layout change mid-stream."""
    return b"".join(encode(samples, "mp3", rate=rate) for samples, rate in parts)


def repeated_packet_opus(
    seconds: float, container_format: str = "ogg", frame_ms: int = 60
) -> bytes:
    """A long silent opus file made by muxing one encoded silent packet over and over.

    Encoding hours of audio would take minutes; copying one packet keeps the file realistic
    (a few bytes per packet, as DTX silence is) and the generator fast.
    """
    frame = int(48000 * frame_ms / 1000)
    template = io.BytesIO()
    with av.open(template, mode="w", format=container_format) as out:
        stream = out.add_stream("libopus", rate=48000, options={"frame_duration": str(frame_ms)})
        assert isinstance(stream, AudioStream)
        stream.layout = "mono"
        silent = av.AudioFrame.from_ndarray(
            np.zeros((1, frame), dtype=np.float32), format="flt", layout="mono"
        )
        silent.sample_rate = 48000
        packets = []
        for n in range(3):
            silent.pts = n * frame
            packets.extend(stream.encode(silent))
        packets.extend(stream.encode(None))
        payload = bytes(packets[1])
        count = int(seconds * 1000 / frame_ms)
        for n in range(count):
            packet = av.Packet(payload)
            packet.stream = stream
            packet.pts = packet.dts = n * frame
            packet.time_base = Fraction(1, 48000)
            packet.duration = frame
            out.mux(packet)
    return template.getvalue()
