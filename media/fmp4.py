"""CMAF / fragmented MP4 for one AAC-LC audio track, written by hand (ISO/IEC 14496-12 and -14).

The HLS packager needs two things only: an initialisation segment (``ftyp`` + ``moov`` with
an empty sample table and ``mvex``) and, per partial segment, one movie fragment (``moof``
+ ``mdat``) holding whole AAC frames. Muxing through libavformat would mean a container per
part and parsing its output back; the boxes are few and fixed, so they are built here.

Fragments use movie-fragment-relative addressing (``default-base-is-moof``), so a full
segment is the byte concatenation of its parts' fragments, as RFC 8216bis requires of a
Parent Segment and its Partial Segments. Every track time is in samples (timescale = the
sample rate) and every AAC frame lasts ``SAMPLES_PER_FRAME`` samples.

No edit list is written (as ffmpeg's CMAF output does not): the encoder's priming frame
is played, so media time is input time plus the encoder delay; hls.js ignores edit
lists anyway, and this keeps every player on the same timeline.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

SAMPLES_PER_FRAME = 1024
TRACK_ID = 1
# sample_depends_on = 2: every AAC frame decodes on its own (ISO/IEC 14496-12 8.8.3.1).
_SAMPLE_FLAGS = 0x02000000
_MATRIX = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)


def box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *payload)


def init_segment(audio_specific_config: bytes, sample_rate: int, channels: int, bitrate: int = 0) -> bytes:
    """``ftyp`` + ``moov`` of a single-track audio CMAF header: durations zero, sample
    count zero, and ``mvex``/``trex`` announcing that the samples come in fragments."""
    ftyp = box(b"ftyp", b"iso6", struct.pack(">I", 0), b"iso6", b"cmfc", b"mp41")
    mvhd = full_box(
        b"mvhd", 0, 0,
        struct.pack(">IIII", 0, 0, sample_rate, 0),  # creation, modification, timescale, duration
        struct.pack(">IH10x", 0x00010000, 0x0100),  # rate 1.0, volume 1.0, reserved
        _MATRIX, bytes(24),  # pre_defined
        struct.pack(">I", TRACK_ID + 1),  # next_track_ID
    )
    tkhd = full_box(
        b"tkhd", 0, 0x000003,  # enabled, in movie
        struct.pack(">IIIII", 0, 0, TRACK_ID, 0, 0),  # creation, modification, id, reserved, duration
        bytes(8), struct.pack(">hhhH", 0, 1, 0x0100, 0),  # layer, alternate_group, volume, reserved
        _MATRIX, struct.pack(">II", 0, 0),  # width, height
    )
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, sample_rate, 0, _language("und"), 0))
    hdlr = full_box(b"hdlr", 0, 0, struct.pack(">I4s12x", 0, b"soun"), b"SoundHandler\x00")
    dinf = box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1)))
    stbl = box(
        b"stbl",
        full_box(
            b"stsd", 0, 0, struct.pack(">I", 1), _mp4a(audio_specific_config, sample_rate, channels, bitrate)
        ),
        full_box(b"stts", 0, 0, struct.pack(">I", 0)),
        full_box(b"stsc", 0, 0, struct.pack(">I", 0)),
        full_box(b"stsz", 0, 0, struct.pack(">II", 0, 0)),
        full_box(b"stco", 0, 0, struct.pack(">I", 0)),
    )
    minf = box(b"minf", full_box(b"smhd", 0, 0, struct.pack(">hH", 0, 0)), dinf, stbl)
    trak = box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, minf))
    trex = full_box(b"trex", 0, 0, struct.pack(">IIIII", TRACK_ID, 1, SAMPLES_PER_FRAME, 0, _SAMPLE_FLAGS))
    return ftyp + box(b"moov", mvhd, trak, box(b"mvex", trex))


def fragment(sequence_number: int, base_media_decode_time: int, frames: Sequence[bytes]) -> bytes:
    """One movie fragment: ``moof`` (``mfhd``, ``traf`` with ``tfhd``/``tfdt``/``trun``) and
    the ``mdat`` of ``frames``, raw AAC frames of ``SAMPLES_PER_FRAME`` samples each.

    ``sequence_number`` starts at 1 and grows by one per fragment; ``base_media_decode_time``
    is the first frame's time in samples."""
    tfhd = full_box(
        b"tfhd", 0, 0x020000 | 0x000008 | 0x000020,  # default-base-is-moof, default duration, flags
        struct.pack(">III", TRACK_ID, SAMPLES_PER_FRAME, _SAMPLE_FLAGS),
    )
    tfdt = full_box(b"tfdt", 1, 0, struct.pack(">Q", base_media_decode_time))

    def moof(data_offset: int) -> bytes:
        trun = full_box(
            b"trun", 0, 0x000001 | 0x000200,  # data-offset, sample-size present
            struct.pack(">Ii", len(frames), data_offset),
            b"".join(struct.pack(">I", len(frame)) for frame in frames),
        )
        mfhd = full_box(b"mfhd", 0, 0, struct.pack(">I", sequence_number))
        return box(b"moof", mfhd, box(b"traf", tfhd, tfdt, trun))

    # The data offset counts from the start of the moof to the first byte of sample data,
    # which is just past the mdat header; the moof's size does not depend on the offset.
    header = moof(0)
    return moof(len(header) + 8) + box(b"mdat", *frames)


def _mp4a(audio_specific_config: bytes, sample_rate: int, channels: int, bitrate: int) -> bytes:
    if sample_rate >= 1 << 16:
        raise ValueError("an mp4a sample entry cannot carry a sample rate of 65536 Hz or more")
    entry = (
        bytes(6) + struct.pack(">H", 1)  # reserved, data_reference_index
        + bytes(8) + struct.pack(">HHHHI", channels, 16, 0, 0, sample_rate << 16)
    )
    decoder_config = _descriptor(
        0x04,
        struct.pack(">BB", 0x40, 0x15),  # MPEG-4 Audio; audio stream (0x05 << 2 | reserved bit)
        struct.pack(">I", 0)[1:],  # bufferSizeDB (24 bits)
        struct.pack(">II", bitrate, bitrate),  # maxBitrate, avgBitrate
        _descriptor(0x05, audio_specific_config),
    )
    es = _descriptor(0x03, struct.pack(">HB", TRACK_ID, 0), decoder_config, _descriptor(0x06, b"\x02"))
    return box(b"mp4a", entry, full_box(b"esds", 0, 0, es))


def _descriptor(tag: int, *payload: bytes) -> bytes:
    """An MPEG-4 descriptor (ISO/IEC 14496-1 8.3.3): tag, size in 7-bit groups, payload."""
    body = b"".join(payload)
    size, groups = len(body), [len(body) & 0x7F]
    while size > 0x7F:
        size >>= 7
        groups.append(0x80 | (size & 0x7F))
    return bytes([tag, *reversed(groups)]) + body


def _language(code: str) -> int:
    """ISO 639-2/T code packed as three 5-bit letters (ISO/IEC 14496-12 8.4.2.3)."""
    a, b, c = (ord(letter) - 0x60 for letter in code)
    return (a << 10) | (b << 5) | c


def audio_specific_config(sample_rate: int, channels: int) -> bytes:
    """The two-byte AudioSpecificConfig of AAC-LC (ISO/IEC 14496-3 1.6.2.1), for an encoder
    that gives no extradata of its own."""
    rates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]
    config = (2 << 11) | (rates.index(sample_rate) << 7) | (channels << 3)
    return struct.pack(">H", config)
