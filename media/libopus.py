"""libopus itself, through ctypes, for what PyAV's codecs do not offer: decoding a lost
frame from the in-band FEC of the next packet, concealing a loss (PLC), and changing the
encoder's FEC, expected loss and DTX while it runs (opus_encoder_ctl).

The library is the one PyAV's wheel bundles (av.libs), else the system's libopus.so.0.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache
from pathlib import Path

import av
import numpy as np

RATE = 48_000
FRAME = 960  # 20 ms
MAX_PACKET = 1_500
APPLICATION_VOIP = 2048
SET_BITRATE = 4002
SET_INBAND_FEC = 4012
SET_PACKET_LOSS_PERC = 4014
SET_DTX = 4016
DTX_PACKET = 2  # an encoded frame this short says "nothing to send" (DTX)


class OpusError(RuntimeError):
    pass


@cache
def library() -> ctypes.CDLL:
    bundled = sorted((Path(av.__file__).parent.parent / "av.libs").glob("libopus-*.so*"))
    name = str(bundled[0]) if bundled else ctypes.util.find_library("opus") or "libopus.so.0"
    lib = ctypes.CDLL(name)
    lib.opus_decoder_create.restype = ctypes.c_void_p
    lib.opus_decoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    lib.opus_decode.restype = ctypes.c_int
    lib.opus_decode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32,
                                ctypes.POINTER(ctypes.c_int16), ctypes.c_int, ctypes.c_int]
    lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
    lib.opus_encoder_create.restype = ctypes.c_void_p
    lib.opus_encoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.c_int,
                                        ctypes.POINTER(ctypes.c_int)]
    lib.opus_encode.restype = ctypes.c_int32
    lib.opus_encode.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int16), ctypes.c_int,
                                ctypes.c_char_p, ctypes.c_int32]
    lib.opus_encoder_destroy.argtypes = [ctypes.c_void_p]
    return lib


class Decoder:
    """One mono stream's decoder: a frame, a lost frame from the next packet's in-band FEC,
    or a concealed one; each as FRAME float32 samples in [-1, 1] (silence if it fails)."""

    def __init__(self) -> None:
        error = ctypes.c_int()
        self._lib = library()
        self._state = self._lib.opus_decoder_create(RATE, 1, ctypes.byref(error))
        if error.value or not self._state:
            raise OpusError(f"opus_decoder_create failed ({error.value})")
        self._pcm = (ctypes.c_int16 * (FRAME * 6))()  # room for the longest Opus frame

    def decode(self, payload: bytes) -> np.ndarray:
        return self._run(payload, FRAME * 6, fec=False)

    def recover(self, next_payload: bytes) -> np.ndarray:
        """The frame before `next_payload`, from its FEC (concealed if it carries none)."""
        return self._run(next_payload, FRAME, fec=True)

    def conceal(self) -> np.ndarray:
        return self._run(None, FRAME, fec=False)

    def _run(self, payload: bytes | None, room: int, fec: bool) -> np.ndarray:
        size = self._lib.opus_decode(self._state, payload, len(payload) if payload else 0,
                                     self._pcm, room, int(fec))
        if size <= 0:
            return np.zeros(FRAME, dtype=np.float32)
        samples = np.ctypeslib.as_array(self._pcm)[:min(size, FRAME)]
        pcm = samples.astype(np.float32) / 32768.0
        return pcm if size >= FRAME else np.pad(pcm, (0, FRAME - size))

    def __del__(self) -> None:
        if getattr(self, "_state", None):
            self._lib.opus_decoder_destroy(self._state)


class Encoder:
    """A mono VoIP encoder whose FEC, expected loss and DTX can change as it runs."""

    def __init__(self, bitrate: int = 32_000, fec: bool = True, loss_percent: int = 5,
                 dtx: bool = True) -> None:
        error = ctypes.c_int()
        self._lib = library()
        self._state = self._lib.opus_encoder_create(RATE, 1, APPLICATION_VOIP, ctypes.byref(error))
        if error.value or not self._state:
            raise OpusError(f"opus_encoder_create failed ({error.value})")
        self._out = ctypes.create_string_buffer(MAX_PACKET)
        self._ctl(SET_BITRATE, bitrate)
        self._ctl(SET_INBAND_FEC, int(fec))
        self._ctl(SET_DTX, int(dtx))
        self.loss_percent = -1
        self.expect_loss(loss_percent)

    def expect_loss(self, percent: int) -> None:
        """How much loss the FEC should be sized for (libopus spends bits on it accordingly)."""
        percent = max(0, min(100, int(percent)))
        if percent != self.loss_percent:
            self._ctl(SET_PACKET_LOSS_PERC, percent)
            self.loss_percent = percent

    def encode(self, samples: np.ndarray) -> bytes:
        """FRAME float samples in [-1, 1] to one Opus packet (DTX_PACKET bytes or fewer:
        silence the listener need not be sent)."""
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)
        buffer = (ctypes.c_int16 * FRAME).from_buffer(pcm)
        size = self._lib.opus_encode(self._state, buffer, FRAME, self._out, MAX_PACKET)
        if size < 0:
            raise OpusError(f"opus_encode failed ({size})")
        return self._out.raw[:size]

    def _ctl(self, request: int, value: int) -> None:
        result = self._lib.opus_encoder_ctl(ctypes.c_void_p(self._state), ctypes.c_int(request),
                                            ctypes.c_int32(value))
        if result != 0:
            raise OpusError(f"opus_encoder_ctl({request}) failed ({result})")

    def __del__(self) -> None:
        if getattr(self, "_state", None):
            self._lib.opus_encoder_destroy(self._state)
