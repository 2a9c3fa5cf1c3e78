"""Magic-byte identification and container structure walks (shared.speech.formats)."""

from __future__ import annotations

import struct

import pytest

from shared.speech.formats import KINDS, identify, inspect_structure
from tests.unit import audio_corpus as corpus

CONTAINER_OF = {
    "webm/opus": "webm",
    "webm/live": "webm",
    "webm/vorbis": "webm",
    "ogg/opus": "ogg",
    "ogg/vorbis": "ogg",
    "mp4/aac": "mp4",
    "mp4/opus": "mp4",
    "fmp4/aac": "mp4",
    "wav": "wav",
    "mp3": "mp3",
    "flac": "flac",
}


@pytest.mark.parametrize("fmt", list(corpus.FORMATS))
def test_every_accepted_format_is_identified_from_its_first_bytes(fmt: str) -> None:
    sniffed = identify(corpus.answer(fmt))
    assert sniffed is not None
    assert sniffed.kind.name == CONTAINER_OF[fmt]


def test_ogg_and_mp3_name_their_codec_in_the_leading_bytes() -> None:
    assert identify(corpus.answer("ogg/opus")).codec_hint == "opus"  # type: ignore[union-attr]
    assert identify(corpus.answer("ogg/vorbis")).codec_hint == "vorbis"  # type: ignore[union-attr]
    assert identify(corpus.answer("mp3")).codec_hint == "mp3"  # type: ignore[union-attr]


def test_storage_names_follow_the_container() -> None:
    assert {k.name: (k.extension, k.mime_type) for k in KINDS.values()} == {
        "webm": ("webm", "audio/webm"),
        "ogg": ("ogg", "audio/ogg"),
        "mp4": ("m4a", "audio/mp4"),
        "wav": ("wav", "audio/wav"),
        "mp3": ("mp3", "audio/mpeg"),
        "flac": ("flac", "audio/flac"),
    }


def _id3(payload_size: int) -> bytes:
    size = bytes((payload_size >> shift) & 0x7F for shift in (21, 14, 7, 0))
    return b"ID3\x04\x00\x00" + size + b"\x00" * payload_size


MPEG1_LAYER3 = b"\xff\xfb\x90\x64"  # 128 kbit/s, 44.1 kHz
MPEG1_LAYER2 = b"\xff\xfd\x90\x64"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (MPEG1_LAYER3 + b"\x00" * 60, ("mp3", "mp3")),
        (MPEG1_LAYER2 + b"\x00" * 60, ("mp3", "mp2")),  # refused later: codec not accepted
        (_id3(300) + MPEG1_LAYER3, ("mp3", "mp3")),
        (_id3(300) + b"\x00" * 20 + MPEG1_LAYER3, ("mp3", "mp3")),  # padding after the tag
        (_id3(300) + b"fLaC" + b"\x00" * 40, ("flac", "flac")),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", ("wav", None)),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", ("mp4", None)),
    ],
)
def test_identification_cases(head: bytes, expected: tuple[str, str | None]) -> None:
    sniffed = identify(head)
    assert sniffed is not None
    assert (sniffed.kind.name, sniffed.codec_hint) == expected


def _ebml(doctype: bytes) -> bytes:
    body = b"\x42\x82" + bytes([0x80 | len(doctype)]) + doctype
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(body)]) + body


def _ogg_page(packet: bytes) -> bytes:
    return b"OggS\x00\x02" + b"\x00" * 20 + bytes([1, len(packet)]) + packet


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"\x00" * 64,
        b"hello, this is not audio",
        b'{"audio": "base64..."}',
        b"<html><body>",
        _ebml(b"matroska") + b"\x00" * 16,  # not webm
        _ebml(b"webm")[:6],  # cut inside the EBML header
        _ogg_page(b"Speex   " + b"\x00" * 20),  # ogg, but neither opus nor vorbis
        _ogg_page(b"\x7fFLAC" + b"\x00" * 20),
        b"RIFF\x24\x00\x00\x00AVI LIST",  # RIFF but not WAVE
        b"\xff\xf1\x50\x80\x00\x1f\xfc",  # ADTS aac: MPEG sync, layer bits 00
        b"\xff\xff\xff\xff" * 8,  # sync bits with invalid fields
        _id3(20) + b"\x00" * 2000,  # a tag and nothing after it
        b"ID3\x04\x00\x00\x80\x80\x80\x80",  # tag size bytes with the high bit set
    ],
)
def test_other_leading_bytes_are_not_identified(head: bytes) -> None:
    assert identify(head) is None


def test_webm_doctype_is_read_from_the_ebml_header() -> None:
    sniffed = identify(_ebml(b"webm") + b"\x00" * 16)
    assert sniffed is not None
    assert sniffed.kind.name == "webm"


# --- Structure ------------------------------------------------------------------------------
WALKED = ["webm/opus", "webm/live", "ogg/opus", "ogg/vorbis", "mp4/aac", "fmp4/aac", "wav", "mp3"]


@pytest.mark.parametrize("fmt", WALKED)
def test_a_complete_file_is_not_reported_truncated(fmt: str) -> None:
    data = corpus.answer(fmt)
    assert not inspect_structure(KINDS[CONTAINER_OF[fmt]], data).truncated


@pytest.mark.parametrize("fmt", WALKED)
@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.9])
def test_a_file_cut_inside_a_frame_is_reported_truncated(fmt: str, fraction: float) -> None:
    data = corpus.answer(fmt)
    # Cut a few bytes after the fraction so the cut never falls on a frame boundary by luck.
    cut = data[: int(len(data) * fraction) + 3]
    assert inspect_structure(KINDS[CONTAINER_OF[fmt]], cut).truncated


@pytest.mark.parametrize("fmt", ["ogg/opus", "ogg/vorbis"])
def test_ogg_declares_its_duration_in_its_last_granule(fmt: str) -> None:
    structure = inspect_structure(KINDS["ogg"], corpus.answer(fmt, seconds=4.0))
    assert structure.declared_seconds == pytest.approx(4.0, abs=0.02)


def test_wav_streaming_size_placeholders_are_not_truncation() -> None:
    pcm = corpus.to_int16(corpus.speech_like(1.0))
    for size in (0, 0xFFFFFFFF):
        assert not inspect_structure(KINDS["wav"], corpus.wav_bytes(pcm, data_size=size)).truncated
    assert inspect_structure(KINDS["wav"], corpus.wav_bytes(pcm, data_size=10**9)).truncated


@pytest.mark.parametrize("fmt", ["webm/live", "ogg/opus", "fmp4/aac"])
def test_framing_that_breaks_into_junk_is_damaged_not_truncated(fmt: str) -> None:
    data = corpus.answer(fmt)
    junk = corpus.garbage_after_header(data, corpus.header_length(fmt, data), seed=4)
    structure = inspect_structure(KINDS[CONTAINER_OF[fmt]], junk.replace(b"OggS", b"oggs"))
    assert structure.damaged or structure.truncated


def test_an_mp3_cut_inside_its_id3_tag_goes_to_the_decoder() -> None:
    data = corpus.answer("mp3")
    sniffed = identify(data[:20])
    assert sniffed is not None
    assert sniffed.kind.name == "mp3"
    assert inspect_structure(sniffed.kind, data[:20]).truncated


def test_structure_walks_survive_junk() -> None:
    junk = struct.pack("<Q", 0xDEADBEEF) * 100
    for kind in KINDS.values():
        inspect_structure(kind, junk)  # no exception, whatever it concludes
        inspect_structure(kind, b"")
