"""Decoding and normalisation with PyAV (shared.speech.decoding), traps included."""

from __future__ import annotations

import io
import time
from fractions import Fraction

import av
import numpy as np
import pytest
from av.audio.stream import AudioStream

from shared.speech import decoding
from shared.speech.audio_errors import (
    AudioCorrupt,
    AudioEmpty,
    AudioTooLong,
    AudioUnsupportedFormat,
)
from shared.speech.decoding import TARGET_RATE_HZ, decode_audio
from shared.speech.formats import KINDS, Sniffed, identify
from tests.unit import audio_corpus as corpus


def _decode(data: bytes, max_seconds: float = 60.0) -> decoding.DecodedAudio:
    sniffed = identify(data)
    assert sniffed is not None
    return decode_audio(data, sniffed, max_seconds=max_seconds)


@pytest.mark.parametrize("fmt", list(corpus.FORMATS))
def test_every_format_decodes_to_16k_mono_int16(fmt: str) -> None:
    decoded = _decode(corpus.answer(fmt, seconds=4.0))
    assert decoded.samples.dtype == np.int16
    assert decoded.samples.ndim == 1
    assert f"{decoded.container}/{decoded.codec}" == corpus.REPORTED[fmt]
    # aac adds up to 2048 samples of priming and padding; the rest decode exactly.
    assert decoded.duration_seconds == pytest.approx(4.0, abs=0.13)
    assert decoded.warnings == ()


def test_mediarecorder_webm_has_no_declared_duration_and_decodes_fully() -> None:
    decoded = _decode(corpus.answer("webm/live", seconds=4.0))
    assert decoded.header_duration_seconds is None
    assert decoded.duration_seconds == pytest.approx(4.0, abs=0.01)


def test_the_signal_survives_normalisation() -> None:
    tone = corpus.tone(2.0, rate=48000, freq=440.0, dbfs=-12.0)
    decoded = _decode(corpus.encode(np.vstack([tone, tone]), "flac", rate=48000))
    assert decoded.source_sample_rate_hz == 48000
    assert decoded.source_channels == 2
    samples = decoded.samples.astype(np.float64) / 32768
    spectrum = np.abs(np.fft.rfft(samples))
    assert np.argmax(spectrum) * TARGET_RATE_HZ / len(samples) == pytest.approx(440, abs=2)
    # Identical channels downmix to the same level (an average, not a sum).
    rms_db = 20 * np.log10(np.sqrt(np.mean(samples[1000:-1000] ** 2)))
    assert rms_db == pytest.approx(-12.0, abs=0.3)


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000, 96000, 192000])
def test_usual_sample_rates_are_accepted(rate: int) -> None:
    pcm = corpus.to_int16(corpus.tone(1.0, rate=rate))
    decoded = _decode(corpus.wav_bytes(pcm, rate=rate))
    assert decoded.duration_seconds == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("rate", [1, 4000, 7999, 192001, 400000, 4_000_000])
def test_absurd_sample_rates_are_refused_before_resampling(rate: int) -> None:
    pcm = corpus.to_int16(corpus.tone(0.5, rate=16000))
    with pytest.raises(AudioUnsupportedFormat) as caught:
        _decode(corpus.wav_bytes(pcm, rate=rate))
    assert caught.value.details["reason"] == "sample_rate"
    assert caught.value.details["sample_rate_hz"] == rate


def test_absurd_channel_counts_are_refused() -> None:
    pcm = corpus.to_int16(corpus.tone(0.5)).repeat(12)
    with pytest.raises(AudioUnsupportedFormat) as caught:
        _decode(corpus.wav_bytes(pcm, channels=12))
    assert caught.value.details == {"reason": "channels", "channels": 12, "max": 8}


def test_the_resampler_is_rebuilt_when_the_stream_changes_mid_way() -> None:
    # mp3 streams joined: 48 kHz stereo frames, then 22.05 kHz mono frames.
    stereo = corpus.speech_like(2.0, rate=48000)
    data = corpus.concat_mp3(
        (np.vstack([stereo, stereo]), 48000), (corpus.speech_like(2.0, rate=22050), 22050)
    )
    decoded = _decode(data)
    assert "stream_changed" in decoded.warnings
    assert decoded.duration_seconds == pytest.approx(4.0, abs=0.1)


def test_frames_of_changing_rate_layout_and_format_never_reach_a_stale_resampler() -> None:
    run = decoding._Decoder(b"", Sniffed(KINDS["wav"]), None, max_seconds=60)  # type: ignore[arg-type]
    shapes = [
        ("s16", "mono", 16000, np.int16),
        ("fltp", "stereo", 48000, np.float32),
        ("s16", "mono", 44100, np.int16),
        ("fltp", "mono", 44100, np.float32),
        ("s16", "mono", 16000, np.int16),
    ]
    for sample_format, layout, rate, dtype in shapes:
        channels = 2 if layout == "stereo" else 1
        rows = 1 if sample_format == "s16" else channels
        frame = av.AudioFrame.from_ndarray(
            np.zeros((rows, rate // 10 * (channels if sample_format == "s16" else 1)), dtype),
            format=sample_format,
            layout=layout,
        )
        frame.sample_rate = rate
        run._add_frame(frame)
    assert run.resampler is not None
    run._append(run.resampler.resample(None))
    assert run.stream_changed
    assert run.total == pytest.approx(len(shapes) * 1600, abs=200)


def _silent_opus(seconds: float, container: str) -> bytes:
    return corpus.repeated_packet_opus(seconds, container)


@pytest.mark.parametrize("container", ["ogg", "webm"])
def test_hours_of_silence_stop_decoding_at_the_cap(container: str) -> None:
    data = _silent_opus(2 * 3600, container)  # two hours in about 1.5 MB
    assert len(data) < 4_000_000
    started = time.perf_counter()
    with pytest.raises(AudioTooLong) as caught:
        _decode(data, max_seconds=90)
    assert time.perf_counter() - started < 1.0  # 90 s decoded, not 7,200 s
    details = caught.value.details
    assert details["limit_seconds"] == 90
    assert 90 < details["decoded_seconds_at_stop"] < 91


def test_audio_just_under_the_cap_passes() -> None:
    decoded = _decode(corpus.encode(corpus.tone(3.0), "wav"), max_seconds=3.0)
    assert decoded.duration_seconds == pytest.approx(3.0)


def test_duration_comes_from_samples_not_from_the_header() -> None:
    pcm = corpus.to_int16(corpus.speech_like(3.0))
    decoded = _decode(corpus.wav_bytes(pcm, data_size=0x7FFFFF00))  # claims ~18 hours
    assert decoded.duration_seconds == pytest.approx(3.0)
    assert "truncated" in decoded.warnings


@pytest.mark.parametrize("fmt", ["webm/opus", "webm/live", "ogg/opus", "ogg/vorbis", "fmp4/aac"])
@pytest.mark.parametrize("fraction", [0.5, 0.8])
def test_truncated_files_keep_their_audio_and_say_so(fmt: str, fraction: float) -> None:
    data = corpus.answer(fmt, seconds=4.0)
    decoded = _decode(data[: int(len(data) * fraction) + 3])
    assert 0.5 < decoded.duration_seconds < 4.0 * fraction + 0.3
    assert "truncated" in decoded.warnings


@pytest.mark.parametrize("fmt", ["wav", "mp3", "flac"])
def test_truncated_pcm_mp3_and_flac_say_so(fmt: str) -> None:
    data = corpus.answer(fmt, seconds=4.0)
    decoded = _decode(data[: int(len(data) * 0.6) + 3])
    assert decoded.duration_seconds < 2.6
    assert "truncated" in decoded.warnings


def test_a_lost_page_mid_file_is_flagged_even_though_ffmpeg_is_silent() -> None:
    data = bytearray(corpus.answer("ogg/vorbis", seconds=4.0))
    data[-100] ^= 0xFF  # breaks the last page's checksum: FFmpeg drops the page quietly
    decoded = _decode(bytes(data))
    assert decoded.duration_seconds < 3.5
    assert "truncated" in decoded.warnings


def test_mp4_cut_before_its_index_is_corrupt() -> None:
    data = corpus.answer("mp4/aac", seconds=4.0)  # moov at the end, as FFmpeg writes it
    with pytest.raises(AudioCorrupt) as caught:
        _decode(data[: len(data) // 2])
    assert caught.value.details["reason"] == "unreadable_container"


def test_ffmpeg_errors_become_audio_corrupt() -> None:
    data = corpus.garbage_after_header(corpus.answer("webm/opus"), 40)
    with pytest.raises(AudioCorrupt) as caught:
        _decode(data)
    assert caught.value.details["error"]


def test_the_codec_must_agree_with_the_leading_bytes() -> None:
    data = corpus.answer("ogg/opus")
    with pytest.raises(AudioCorrupt) as caught:
        decode_audio(data, Sniffed(KINDS["ogg"], "vorbis"), max_seconds=60)
    assert caught.value.details == {
        "reason": "codec_mismatch",
        "leading_bytes_say": "vorbis",
        "decoder_says": "opus",
    }


def test_a_codec_not_accepted_in_its_container_is_unsupported() -> None:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as out:
        stream = out.add_stream("libmp3lame", rate=16000)
        assert isinstance(stream, AudioStream)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(
            corpus.tone(1.0).reshape(1, -1), format="fltp", layout="mono"
        )
        frame.sample_rate = 16000
        frame.pts = 0
        frame.time_base = Fraction(1, 16000)
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with pytest.raises(AudioUnsupportedFormat) as caught:
        _decode(buffer.getvalue())
    assert caught.value.details == {"reason": "codec", "container": "mp4", "codec": "mp3"}


def test_adpcm_in_wav_is_unsupported() -> None:
    pcm = corpus.to_int16(corpus.tone(1.0))
    with pytest.raises(AudioUnsupportedFormat) as caught:
        _decode(corpus.wav_bytes(pcm, sample_format=2, bits=4))
    assert caught.value.details["reason"] == "codec"


def test_a_container_with_no_audio_in_it_is_empty() -> None:
    pcm = np.zeros(0, dtype=np.int16)
    with pytest.raises(AudioEmpty):
        _decode(corpus.wav_bytes(pcm))
