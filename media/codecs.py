"""What the media node negotiates for Opus beyond aiortc's defaults: in-band FEC
(`useinbandfec=1`, so that Chromium speakers send it) and NACK for audio (`a=rtcp-fb:…
nack`, so that speakers resend what the node asks for and listeners may ask). aiortc
1.16.0 keeps its codecs in `aiortc.codecs.CODECS`; an answer takes the local codec's
parameters and the feedback both sides name (tests/unit/test_codecs.py checks this)."""

from __future__ import annotations

from aiortc.codecs import CODECS
from aiortc.rtcrtpparameters import RTCRtcpFeedback

OPUS = next(codec for codec in CODECS["audio"] if codec.mimeType.lower() == "audio/opus")
if RTCRtcpFeedback(type="nack") not in OPUS.rtcpFeedback:
    OPUS.rtcpFeedback.append(RTCRtcpFeedback(type="nack"))
OPUS.parameters["useinbandfec"] = 1
