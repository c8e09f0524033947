"""What the media node negotiates for Opus beyond aiortc's defaults:

- in-band FEC (`useinbandfec=1`, so that Chromium speakers send it) and NACK for audio
  (`a=rtcp-fb:… nack`, so that speakers resend what the node asks for and listeners may ask);
- RED (RFC 2198, `red/48000/2`) when the other side offers it, as Chromium does: answers
  keep the offer's RED codec and its parameters (which name the offer's Opus payload
  type), and the fan-out then sends that listener RED (media/red.py). aiortc 1.16.0 knows
  no RED: it is not one of its codecs, so aiortc never offers it, and nothing here
  decodes it; a RED payload reaching a tapped receiver gives its primary block.

aiortc keeps its codecs in `aiortc.codecs.CODECS` and chooses the common ones in
`rtcpeerconnection.find_common_codecs`; tests/unit/test_codecs.py fails if that changes.
"""

from __future__ import annotations

import copy

from aiortc import rtcpeerconnection
from aiortc.codecs import CODECS
from aiortc.rtcrtpparameters import RTCRtcpFeedback, RTCRtpCodecParameters

RED = "audio/red"
OPUS = next(codec for codec in CODECS["audio"] if codec.mimeType.lower() == "audio/opus")
if RTCRtcpFeedback(type="nack") not in OPUS.rtcpFeedback:
    OPUS.rtcpFeedback.append(RTCRtcpFeedback(type="nack"))
OPUS.parameters["useinbandfec"] = 1

_find_common_codecs = rtcpeerconnection.find_common_codecs


def red_for(codecs: list[RTCRtpCodecParameters], opus_type: int) -> int | None:
    """The payload type of a RED codec whose blocks are that Opus, among `codecs`."""
    for codec in codecs:
        if codec.mimeType.lower() == RED and codec.clockRate == 48_000 \
                and any(name.split("/")[0] == str(opus_type) for name in codec.parameters):
            return codec.payloadType
    return None


def _with_red(local_codecs: list[RTCRtpCodecParameters],
              remote_codecs: list[RTCRtpCodecParameters]) -> list[RTCRtpCodecParameters]:
    common, remote = _find_common_codecs(local_codecs, remote_codecs), remote_codecs
    opus = next((c for c in common if c.mimeType.lower() == "audio/opus"), None)
    if opus is not None and opus.payloadType is not None:
        red = red_for(remote, opus.payloadType)
        if red is not None:
            common.append(copy.deepcopy(next(c for c in remote if c.payloadType == red)))
    return common


rtcpeerconnection.find_common_codecs = _with_red
