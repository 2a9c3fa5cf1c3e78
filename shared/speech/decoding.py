"""Decode an answer's bytes with PyAV and normalise them to 16 kHz mono 16-bit PCM.

The traps this module handles (measured by fuzzing PyAV, see FINDINGS.md "Audio"):

- duration comes from the decoded samples, never from a header;
- decoding stops as soon as the audio passes ``max_seconds`` (a few MB of opus can hold hours
  of silence), and after a bounded number of packets;
- absurd sample rates and channel counts are refused before anything is resampled;
- the resampler is rebuilt when a frame's rate, layout or sample format changes mid-stream:
  PyAV raises ValueError otherwise, or, worse, when the first frame was already 16 kHz mono
  s16 it stays a passthrough and hands later 48 kHz stereo frames back unconverted;
- truncated files decode without an error, and mid-file damage can silently drop audio: the
  container's framing, a bad final packet and the declared duration (when there is one) are
  compared with what decoded, and a shortfall is flagged ``truncated`` (audio is missing);
- every ``av.error.FFmpegError`` (and the resampler's ValueError) becomes ``audio_corrupt``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import av
import av.error
import numpy as np
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.packet import Packet

from shared.speech.audio_errors import (
    AudioCorrupt,
    AudioEmpty,
    AudioTooLong,
    AudioUnsupportedFormat,
)
from shared.speech.formats import Sniffed, Structure, inspect_structure

__all__ = [
    "MAX_SOURCE_RATE_HZ",
    "MIN_SOURCE_RATE_HZ",
    "TARGET_RATE_HZ",
    "DecodedAudio",
    "decode_audio",
]

TARGET_RATE_HZ = 16000
# Below telephone bandwidth speech cannot be assessed; above 192 kHz no microphone records.
MIN_SOURCE_RATE_HZ = 8000
MAX_SOURCE_RATE_HZ = 192000
MAX_SOURCE_CHANNELS = 8
# Codec priming and padding (aac adds up to 2048 samples) must not tip an answer over its cap.
_CAP_GRACE_SECONDS = 0.15
# A packet holds at least 2.5 ms of audio (opus's shortest frame): 400 a second, with room.
_PACKETS_PER_SECOND = 1000
# Some undecodable packets are tolerated (skipped, as ffmpeg does) before the file is refused.
_BAD_PACKET_SHARE = 0.05
_BAD_PACKETS_ALWAYS_TOLERATED = 3
# A well-formed file with no audio is an empty recording only if it is header-sized (a
# MediaRecorder stopped at once writes a few hundred bytes); bigger, it is damaged.
_EMPTY_FILE_MAX_BYTES = 16 * 1024
# Decoded audio this much shorter than the header's duration means the file was cut short.
_TRUNCATION_MIN_GAP_SECONDS = 0.5
_TRUNCATION_MIN_GAP_SHARE = 0.05


@dataclass(frozen=True)
class DecodedAudio:
    """The answer as 16 kHz mono int16 samples, with what the decoder learnt on the way."""

    samples: np.ndarray  # int16, shape (n,)
    container: str
    codec: str
    source_sample_rate_hz: int
    source_channels: int
    header_duration_seconds: float | None
    warnings: tuple[str, ...]

    @property
    def duration_seconds(self) -> float:
        return len(self.samples) / TARGET_RATE_HZ


def decode_audio(data: bytes, sniffed: Sniffed, *, max_seconds: float) -> DecodedAudio:
    """Decode ``data`` (already identified as ``sniffed``) to 16 kHz mono int16.

    Raises:
        AudioCorrupt: the decoder fails, the codec contradicts the leading bytes, or too many
            packets are undecodable.
        AudioUnsupportedFormat: no audio stream, a codec not accepted in this container, or a
            sample rate or channel count outside what a microphone produces.
        AudioTooLong: more than ``max_seconds`` of audio (decoding stops there).
        AudioEmpty: a well-formed container with no audio in it.
    """
    structure = inspect_structure(sniffed.kind, data)
    if structure.no_audio:
        raise AudioCorrupt(
            details={"reason": "no_audio_in_framing", "truncated": structure.truncated}
        )
    try:
        container = av.open(
            io.BytesIO(data),
            mode="r",
            format=sniffed.kind.demuxer,
            metadata_errors="replace",
        )
    except av.error.FFmpegError as error:
        raise _corrupt("unreadable_container", error) from None
    try:
        with container:
            return _Decoder(data, sniffed, container, max_seconds).run(structure)
    except av.error.FFmpegError as error:
        raise _corrupt("decoder_error", error) from None
    except ValueError as error:  # PyAV's resampler refusing a frame it was not set up for
        raise AudioCorrupt(details={"reason": "resampler_error", "error": str(error)}) from None


def _corrupt(reason: str, error: av.error.FFmpegError) -> AudioCorrupt:
    return AudioCorrupt(details={"reason": reason, "error": error.strerror or type(error).__name__})


class _Decoder:
    """One decoding run: the loop state kept together so each step stays small."""

    def __init__(
        self, data: bytes, sniffed: Sniffed, container: InputContainer, max_seconds: float
    ) -> None:
        self.data = data
        self.sniffed = sniffed
        self.container = container
        self.max_seconds = max_seconds
        self.cap_samples = int((max_seconds + _CAP_GRACE_SECONDS) * TARGET_RATE_HZ)
        self.max_packets = int(max_seconds * _PACKETS_PER_SECOND) + 1000
        self.chunks: list[np.ndarray] = []
        self.total = 0
        self.resampler: AudioResampler | None = None
        self.resampler_key: tuple[str, str, int] | None = None
        self.packets = 0
        self.bad_packets: list[int] = []
        self.stream_changed = False
        self.demux_failed = False
        self.source = (0, 0)  # rate and channels of the first decoded frame

    def run(self, structure: Structure) -> DecodedAudio:
        stream = self._audio_stream()
        kind = self.sniffed.kind
        if stream.codec_context is None:  # PyAV has no decoder for what the header names
            raise AudioUnsupportedFormat(details={"reason": "no_decoder", "container": kind.name})
        codec = stream.codec_context.codec.canonical_name
        if codec not in kind.codecs:
            raise AudioUnsupportedFormat(
                details={"reason": "codec", "container": kind.name, "codec": codec}
            )
        if self.sniffed.codec_hint and self.sniffed.codec_hint != codec:
            raise AudioCorrupt(
                details={
                    "reason": "codec_mismatch",
                    "leading_bytes_say": self.sniffed.codec_hint,
                    "decoder_says": codec,
                }
            )
        ctx = stream.codec_context
        if ctx.sample_rate:  # some demuxers only learn it from the first frame
            _check_source(ctx.sample_rate, ctx.channels or 1)
        for packet in self._packets(stream):
            self._decode_packet(packet)
        self._flush(stream)
        header_seconds = structure.declared_seconds
        if header_seconds is None and kind.name != "mp3":
            # FFmpeg guesses an mp3's duration from its first frame's bit rate when it has no
            # Xing header: only the framing walk's count is trusted there.
            header_seconds = _header_seconds(self.container, stream)
        warnings = self._warnings(header_seconds, cut=structure.truncated)
        if structure.damaged and "decode_errors" not in warnings:
            warnings.append("decode_errors")
        if self.total == 0:
            if warnings or self.bad_packets or len(self.data) > _EMPTY_FILE_MAX_BYTES:
                raise AudioCorrupt(
                    details={
                        "reason": "no_audio_decoded",
                        "size_bytes": len(self.data),
                        "warnings": warnings,
                    }
                )
            raise AudioEmpty(details={"reason": "no_audio_in_file", "size_bytes": len(self.data)})
        samples = np.concatenate(self.chunks) if len(self.chunks) > 1 else self.chunks[0]
        return DecodedAudio(
            samples=samples,
            container=kind.name,
            codec=codec,
            source_sample_rate_hz=self.source[0],
            source_channels=self.source[1],
            header_duration_seconds=header_seconds,
            warnings=tuple(warnings),
        )

    def _audio_stream(self) -> AudioStream:
        streams = self.container.streams.audio
        if not self.container.streams:
            raise AudioCorrupt(details={"reason": "no_streams"})
        if not streams:
            raise AudioUnsupportedFormat(
                details={"reason": "no_audio_stream", "container": self.sniffed.kind.name}
            )
        return streams[0]

    def _packets(self, stream: AudioStream) -> Iterator[Packet[AudioStream]]:
        demuxed = self.container.demux(stream)
        while True:
            try:
                packet = next(demuxed)
            except StopIteration:
                return
            except av.error.FFmpegError:
                # A demuxer error after good audio is a damaged tail: keep what came before.
                if self.total == 0:
                    raise
                self.demux_failed = True
                return
            self.packets += 1
            if self.packets > self.max_packets:
                raise AudioCorrupt(details={"reason": "too_many_packets", "packets": self.packets})
            yield packet

    def _decode_packet(self, packet: Packet[AudioStream]) -> None:
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            self.bad_packets.append(self.packets)
            self._check_bad_packets()
            return
        for frame in frames:
            if isinstance(frame, AudioFrame):
                self._add_frame(frame)

    def _flush(self, stream: AudioStream) -> None:
        if self.demux_failed:
            # demux() did not reach its flushing packet: drain the decoder ourselves.
            try:
                frames = stream.codec_context.decode(None)
            except av.error.FFmpegError:
                frames = []
            for frame in frames:
                self._add_frame(frame)
        if self.resampler is not None:
            self._append(self.resampler.resample(None))
        self._check_bad_packets(final=True)

    def _check_bad_packets(self, *, final: bool = False) -> None:
        bad = len(self.bad_packets)
        allowed = max(_BAD_PACKETS_ALWAYS_TOLERATED, _BAD_PACKET_SHARE * self.packets)
        if (final or bad > _BAD_PACKETS_ALWAYS_TOLERATED) and bad > allowed:
            raise AudioCorrupt(
                details={"reason": "undecodable_packets", "bad": bad, "packets": self.packets}
            )

    def _add_frame(self, frame: AudioFrame) -> None:
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        resampler = self.resampler
        if resampler is None or key != self.resampler_key:
            _check_source(frame.sample_rate, frame.layout.nb_channels)
            if resampler is None:
                self.source = (frame.sample_rate, frame.layout.nb_channels)
            else:
                # The format changed mid-stream: drain the old resampler, then start afresh.
                self._append(resampler.resample(None))
                self.stream_changed = True
            resampler = AudioResampler(format="s16", layout="mono", rate=TARGET_RATE_HZ)
            self.resampler = resampler
            self.resampler_key = key
        self._append(resampler.resample(frame))

    def _append(self, frames: list[AudioFrame]) -> None:
        for frame in frames:
            if frame is None:  # PyAV's passthrough resampler can hand back the None it got
                continue
            chunk = frame.to_ndarray().reshape(-1)
            self.chunks.append(chunk)
            self.total += len(chunk)
        if self.total > self.cap_samples:
            raise AudioTooLong(
                f"Your answer is longer than the {self.max_seconds:g}-second limit. "
                "Record a shorter answer.",
                details={
                    "limit_seconds": self.max_seconds,
                    "decoded_seconds_at_stop": round(self.total / TARGET_RATE_HZ, 3),
                },
            )

    def _warnings(self, header_seconds: float | None, *, cut: bool) -> list[str]:
        warnings: list[str] = []
        decoded = self.total / TARGET_RATE_HZ
        cut_by_header = header_seconds is not None and header_seconds - decoded > max(
            _TRUNCATION_MIN_GAP_SECONDS, _TRUNCATION_MIN_GAP_SHARE * header_seconds
        )
        # Undecodable packets only at the very end are a cut, not damage in the middle.
        tail_only = bool(self.bad_packets) and self.bad_packets[0] >= self.packets - 3
        if self.demux_failed or tail_only or cut_by_header or cut:
            warnings.append("truncated")
        if self.bad_packets and not tail_only:
            warnings.append("decode_errors")
        if self.stream_changed:
            warnings.append("stream_changed")
        return warnings


def _check_source(rate: int, channels: int) -> None:
    if not MIN_SOURCE_RATE_HZ <= rate <= MAX_SOURCE_RATE_HZ:
        raise AudioUnsupportedFormat(
            f"This recording's sample rate ({rate} Hz) is not one we can use. Record your answer "
            "again in the app.",
            details={
                "reason": "sample_rate",
                "sample_rate_hz": rate,
                "min_hz": MIN_SOURCE_RATE_HZ,
                "max_hz": MAX_SOURCE_RATE_HZ,
            },
        )
    if not 1 <= channels <= MAX_SOURCE_CHANNELS:
        raise AudioUnsupportedFormat(
            f"This recording has {channels} channels; we accept mono or stereo speech. Record "
            "your answer again in the app.",
            details={"reason": "channels", "channels": channels, "max": MAX_SOURCE_CHANNELS},
        )


def _header_seconds(container: InputContainer, stream: AudioStream) -> float | None:
    """The duration the container declares (None when it declares none, as MediaRecorder's
    webm does)."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration and container.duration > 0:
        return container.duration / av.time_base
    return None
