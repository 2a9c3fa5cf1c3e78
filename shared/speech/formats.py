"""Which audio container a body holds, from its first bytes, and whether its structure ends
where it should.

Identification is a gate, not the verdict: a body passes when its leading bytes are those of
an accepted container; the decoder (PyAV) then names the container and codec for certain, and
the two must agree. A Content-Type header is never consulted: browsers and proxies get it wrong.

The structure checks (``inspect_structure``) walk the container's own framing (EBML elements,
Ogg pages, RIFF chunks, MPEG frames) to tell a cut-off recording from a complete one, because
FFmpeg returns the audio before the cut without an error.

Pure Python, no third-party imports: cheap to import at cold start.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["KINDS", "ContainerKind", "Sniffed", "Structure", "identify", "inspect_structure"]


@dataclass(frozen=True)
class ContainerKind:
    """An accepted container and what the rest of the backend needs to store it."""

    name: str
    demuxer: str  # FFmpeg demuxer forced when opening, so probing cannot pick another one
    codecs: frozenset[str]  # FFmpeg canonical codec names accepted inside this container
    extension: str
    mime_type: str


_PCM_CODECS = frozenset(
    {
        "pcm_s16le",
        "pcm_s24le",
        "pcm_s32le",
        "pcm_u8",
        "pcm_f32le",
        "pcm_f64le",
        "pcm_alaw",
        "pcm_mulaw",
    }
)

KINDS: dict[str, ContainerKind] = {
    kind.name: kind
    for kind in (
        ContainerKind("webm", "webm", frozenset({"opus", "vorbis"}), "webm", "audio/webm"),
        ContainerKind("ogg", "ogg", frozenset({"opus", "vorbis"}), "ogg", "audio/ogg"),
        # Chrome's MediaRecorder can also put opus in mp4; Safari writes aac.
        ContainerKind("mp4", "mp4", frozenset({"aac", "opus"}), "m4a", "audio/mp4"),
        ContainerKind("wav", "wav", _PCM_CODECS, "wav", "audio/wav"),
        ContainerKind("mp3", "mp3", frozenset({"mp3"}), "mp3", "audio/mpeg"),
        ContainerKind("flac", "flac", frozenset({"flac"}), "flac", "audio/flac"),
    )
}


@dataclass(frozen=True)
class Sniffed:
    """What the leading bytes say: the container, and the codec when the bytes name it."""

    kind: ContainerKind
    codec_hint: str | None = None


# Leading bytes are looked at up to here (an ID3 tag is skipped first, whatever its size).
_HEAD = 4096
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_EBML_DOCTYPE = 0x4282
_MPEG_LAYERS = {3: "mp3", 2: "mp2", 1: "mp1"}


def identify(data: bytes) -> Sniffed | None:
    """The accepted container the body starts with, or None when it is none of them."""
    if data.startswith(_EBML_MAGIC):
        return Sniffed(KINDS["webm"]) if _ebml_doctype(data[:_HEAD]) == "webm" else None
    if data.startswith(b"OggS"):
        codec = _ogg_first_codec(data[:_HEAD])
        return Sniffed(KINDS["ogg"], codec) if codec in ("opus", "vorbis") else None
    if data[4:8] == b"ftyp":
        return Sniffed(KINDS["mp4"])
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return Sniffed(KINDS["wav"])
    if data.startswith(b"fLaC"):
        return Sniffed(KINDS["flac"], "flac")
    offset = _id3_end(data) if data.startswith(b"ID3") else 0
    if offset is None:
        return None
    if offset and offset >= len(data):
        return Sniffed(KINDS["mp3"])  # cut inside its ID3 tag: the decoder will say corrupt
    if offset and data[offset : offset + 4] == b"fLaC":
        return Sniffed(KINDS["flac"], "flac")
    # Right after the tag, or at byte 0; a little padding after a tag is common.
    window = 1 if offset == 0 else 1024
    for position in range(offset, min(offset + window, len(data) - 3)):
        layer = _mpeg_layer(data[position : position + 4])
        if layer:
            return Sniffed(KINDS["mp3"], _MPEG_LAYERS[layer])
    return None


def _read_vint(data: bytes, pos: int, *, keep_marker: bool) -> tuple[int, int] | None:
    """An EBML variable-length integer at ``pos``: (value, length), or None if cut off.

    Returns value -1 for the reserved all-ones size ("unknown size").
    """
    if pos >= len(data):
        return None
    first = data[pos]
    if first == 0:
        return None
    length = 9 - first.bit_length()
    if pos + length > len(data):
        return None
    value = first if keep_marker else first & ((1 << (8 - length)) - 1)
    for byte in data[pos + 1 : pos + length]:
        value = (value << 8) | byte
    if not keep_marker and value == (1 << (7 * length)) - 1:
        return -1, length
    return value, length


def _ebml_doctype(head: bytes) -> str | None:
    size = _read_vint(head, 4, keep_marker=False)
    if size is None:
        return None
    pos = 4 + size[1]
    end = len(head) if size[0] < 0 else min(len(head), pos + size[0])
    while pos < end:
        element = _read_vint(head, pos, keep_marker=True)
        if element is None:
            return None
        length = _read_vint(head, pos + element[1], keep_marker=False)
        if length is None or length[0] < 0:
            return None
        start = pos + element[1] + length[1]
        if element[0] == _EBML_DOCTYPE:
            return head[start : start + length[0]].rstrip(b"\x00").decode("ascii", "replace")
        pos = start + length[0]
    return None


def _ogg_first_codec(head: bytes) -> str | None:
    if len(head) < 27:
        return None
    segments = head[26]
    body = 27 + segments
    if head[body : body + 8] == b"OpusHead":
        return "opus"
    if head[body : body + 7] == b"\x01vorbis":
        return "vorbis"
    return None


def _id3_end(data: bytes) -> int | None:
    """Where the ID3v2 tag at the start ends, or None if its header is malformed."""
    if len(data) < 10 or any(byte & 0x80 for byte in data[6:10]):
        return None
    size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
    footer = 10 if data[5] & 0x10 else 0
    return 10 + size + footer


def _mpeg_layer(header: bytes) -> int:
    """The MPEG audio layer (1-3) of a plausible frame header, else 0."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return 0
    version = (header[1] >> 3) & 3
    layer_bits = (header[1] >> 1) & 3
    bitrate = header[2] >> 4
    rate = (header[2] >> 2) & 3
    if version == 1 or layer_bits == 0 or bitrate == 15 or rate == 3:
        return 0
    return 4 - layer_bits


# --- Structure: does the container end where its framing says it should? -------------------
@dataclass(frozen=True)
class Structure:
    """What the container's own framing says about its completeness."""

    truncated: bool = False  # the framing runs past the end of the body
    damaged: bool = False  # the framing breaks off into bytes that are not framing
    declared_seconds: float | None = None  # duration the framing declares, when it does
    no_audio: bool = False  # the framing proves no audio can be found: do not even decode


def inspect_structure(kind: ContainerKind, data: bytes) -> Structure:
    """Walk the container's framing: was it cut off or broken, what duration does it declare?

    All False means complete or undecidable; the decoder also compares decoded and declared
    durations, which catches lost pages and frames a walk cannot see.
    """
    walker = _WALKERS.get(kind.name)
    return walker(data) if walker else Structure()


_CUT = Structure(truncated=True)
_BROKEN = Structure(damaged=True)
_SEGMENT = 0x18538067
_CLUSTER = 0x1F43B675


def _webm_structure(data: bytes) -> Structure:
    # Walk elements flat, entering Segment and Cluster (MediaRecorder writes both with an
    # unknown size) and skipping everything else by its size.
    pos = 0
    end = len(data)
    while pos < end:
        element = _read_vint(data, pos, keep_marker=True)
        if element is None:
            return _CUT if data[pos] != 0 else _BROKEN  # a zero byte cannot start an ID
        size = _read_vint(data, pos + element[1], keep_marker=False)
        if size is None:
            return _CUT
        start = pos + element[1] + size[1]
        if element[0] in (_SEGMENT, _CLUSTER):
            if size[0] >= 0 and start + size[0] > end:
                return _CUT
            pos = start
            continue
        if size[0] < 0:
            return _BROKEN  # only masters may have an unknown size
        if start + size[0] > end:
            return _CUT
        pos = start + size[0]
    return Structure()


def _ogg_structure(data: bytes) -> Structure:
    pos = 0
    end = len(data)
    serial: bytes | None = None
    granule = -1
    last_flags = 0
    rate = 0
    preskip = 0
    truncated = damaged = False
    while pos < end:
        if data[pos : pos + 4] != b"OggS":
            if pos + 4 > end and b"OggS".startswith(data[pos:end]):
                truncated = True
            else:
                damaged = True
            break
        segments = data[pos + 26] if pos + 27 <= end else 0
        body_start = pos + 27 + segments
        if body_start > end:
            truncated = True
            break
        body_end = body_start + sum(data[pos + 27 : body_start])
        if serial is None:
            serial = data[pos + 14 : pos + 18]
            rate, preskip = _ogg_rate(data[body_start:body_end])
        if data[pos + 14 : pos + 18] == serial:
            page_granule = struct.unpack_from("<q", data, pos + 6)[0]
            granule = page_granule if page_granule >= 0 else granule
            last_flags = data[pos + 5]
        if body_end > end:
            truncated = True
            break
        pos = body_end
    else:
        # The last page of a finished stream carries the end-of-stream flag.
        truncated = not last_flags & 0x04
    return Structure(
        truncated=truncated, damaged=damaged, declared_seconds=_ogg_seconds(granule, preskip, rate)
    )


def _ogg_rate(packet: bytes) -> tuple[int, int]:
    """(granule rate, pre-skip) from the first packet: opus always counts at 48 kHz."""
    if packet.startswith(b"OpusHead") and len(packet) >= 12:
        return 48000, struct.unpack_from("<H", packet, 10)[0]
    if packet.startswith(b"\x01vorbis") and len(packet) >= 16:
        return struct.unpack_from("<I", packet, 12)[0], 0
    return 0, 0


def _ogg_seconds(granule: int, preskip: int, rate: int) -> float | None:
    if granule <= 0 or rate <= 0:
        return None
    return max(0, granule - preskip) / rate


def _mp4_structure(data: bytes) -> Structure:
    # Top-level boxes only: ftyp, moov, moof, mdat, free... each with its size up front.
    pos = 0
    end = len(data)
    while pos < end:
        if pos + 8 > end:
            return _CUT
        size = struct.unpack_from(">I", data, pos)[0]
        name = data[pos + 4 : pos + 8]
        header = 8
        if size == 1:  # a 64-bit size follows the type
            if pos + 16 > end:
                return _CUT
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        elif size == 0:  # the box runs to the end of the file
            size = end - pos
        if not all(0x20 <= byte <= 0x7E for byte in name) or size < header:
            return _BROKEN
        if pos + size > end:
            return _CUT
        pos += size
    return Structure()


def _wav_structure(data: bytes) -> Structure:
    pos = 12
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if chunk == b"data":
            # 0 and 0xFFFFFFFF are what streaming writers put before they know the size.
            cut = size not in (0, 0xFFFFFFFF) and pos + 8 + size > len(data)
            return Structure(truncated=cut)
        pos += 8 + size + (size & 1)
    # No data chunk before the end, or a chunk before it claims more bytes than there are
    # (FFmpeg can spend most of a second walking a 4 GB LIST chunk that is not there).
    return Structure(truncated=pos > len(data), no_audio=True)


# Layer III bit rates (kbit/s) by index 1..14, for MPEG-1 (True) and MPEG-2/2.5 (False).
_MP3_BITRATES = {
    True: (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    False: (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_structure(data: bytes) -> Structure:
    pos = (_id3_end(data) or 0) if data.startswith(b"ID3") else 0
    end = len(data)
    if pos > end:
        return _CUT  # cut inside the ID3 tag
    if end - pos >= 128 and data[end - 128 : end - 125] == b"TAG":
        end -= 128  # an ID3v1 tag closes many mp3 files
    declared = _xing_seconds(data[pos : pos + 200])
    frames = 0
    while pos + 4 <= end:
        header = data[pos : pos + 4]
        if _mpeg_layer(header) != 3:
            # Lost sync: junk, or a tag (APE, Lyrics3) after the frames: not a cut.
            return Structure(declared_seconds=declared)
        version = (header[1] >> 3) & 3
        mpeg1 = version == 3
        index = header[2] >> 4
        if index == 0:
            return Structure(declared_seconds=declared)  # free format: no sizes in headers
        bitrate = _MP3_BITRATES[mpeg1][index - 1] * 1000
        rate = _MP3_RATES[version][(header[2] >> 2) & 3]
        padding = (header[2] >> 1) & 1
        size = (144 if mpeg1 else 72) * bitrate // rate + padding
        frames += 1
        if pos + size > end:
            return Structure(truncated=True, declared_seconds=declared)
        pos += size
    return Structure(truncated=frames > 0 and pos < end, declared_seconds=declared)


def _xing_seconds(frame: bytes) -> float | None:
    """The duration a Xing/Info header in the first mp3 frame declares (frame count)."""
    if len(frame) < 4 or _mpeg_layer(frame[:4]) != 3:
        return None
    version = (frame[1] >> 3) & 3
    mono = frame[3] >> 6 == 3
    side_info = (17 if mono else 32) if version == 3 else (9 if mono else 17)
    tag = 4 + side_info
    if frame[tag : tag + 4] not in (b"Xing", b"Info") or len(frame) < tag + 12:
        return None
    flags, count = struct.unpack_from(">II", frame, tag + 4)
    if not flags & 1 or count == 0:
        return None
    rate = _MP3_RATES[version][(frame[2] >> 2) & 3]
    return float(count * (1152 if version == 3 else 576) / rate)


_WALKERS = {
    "webm": _webm_structure,
    "ogg": _ogg_structure,
    "mp4": _mp4_structure,
    "wav": _wav_structure,
    "mp3": _mp3_structure,
}
