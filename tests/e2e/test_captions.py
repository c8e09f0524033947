"""Live captions: speech from an aiortc speaker, transcribed while transcripts are on."""

from __future__ import annotations

import asyncio
import fractions
import shutil
import subprocess
import time
import wave
from pathlib import Path

import av
import httpx
import numpy as np
from aiortc import MediaStreamTrack

from tests.e2e.test_stream import Watcher
from tests.peers import connect
from tests.support import assert_problem, register

SENTENCE = "one two three four five six seven"
KEY_WORDS = {"two", "three", "four", "five", "six"}


def speech_wav(tmp_path: Path) -> Path:
    """espeak-ng says the sentence; sox makes it 48 kHz mono, with a second of quiet after."""
    for tool in ("espeak-ng", "sox"):
        assert shutil.which(tool), f"{tool} is missing: scripts/test installs it"
    said, ready = tmp_path / "said.wav", tmp_path / "speech48k.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(said), SENTENCE], check=True)
    subprocess.run(["sox", str(said), "-r", "48000", "-c", "1", "-b", "16", str(ready),
                    "pad", "0.5", "1.5"], check=True)
    return ready


class WavTrack(MediaStreamTrack):
    """A microphone saying what is in a WAV file (48 kHz mono), once, in real time."""

    kind = "audio"

    def __init__(self, path: Path):
        super().__init__()
        with wave.open(str(path)) as source:
            self.samples = np.frombuffer(source.readframes(source.getnframes()), dtype="<i2")
        self.sent = 0
        self.start: float | None = None

    async def recv(self) -> av.AudioFrame:
        self.start = self.start or time.monotonic()
        wait = self.start + self.sent * 0.02 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        chunk = self.samples[self.sent * 960:(self.sent + 1) * 960]
        chunk = np.pad(chunk, (0, 960 - len(chunk)))
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1).copy(), format="s16", layout="mono")
        frame.sample_rate, frame.pts = 48_000, self.sent * 960
        frame.time_base = fractions.Fraction(1, 48_000)
        self.sent += 1
        return frame


def run_space(server, tmp_path, transcripts: bool):
    http = server.start()
    host, fan, stranger = (register(http, h) for h in ("host", "fan", "stranger"))
    space = http.post("/v1/spaces", json={"title": "Said", "transcripts": transcripts},
                      headers=host.auth).json()["id"]
    base = f"/v1/spaces/{space}"
    http.post(f"{base}/launch", headers=host.auth)
    http.post(f"{base}/speakers/{host.id}/unmute", headers=host.auth)
    wav = speech_wav(tmp_path)

    async def scenario() -> list[dict]:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as web:
            watcher = Watcher(web, f"{base}/stream", fan.token)
            await watcher.wait_for("snapshot")
            pc, _, published = await connect(web, f"{base}/audio/publish", host.token, WavTrack(wav))
            assert published.status_code == 201
            await asyncio.sleep(7.0)
            await pc.close()
            return [m["data"] for m in watcher.messages if m["event"] == "caption"]

    captions = asyncio.run(asyncio.wait_for(scenario(), 60))
    return http, host, fan, stranger, base, captions


def test_what_a_speaker_says_reaches_listeners_as_captions(server, tmp_path):
    http, host, fan, stranger, base, captions = run_space(server, tmp_path, transcripts=True)
    finals = [c for c in captions if c["final"]]
    assert finals, captions
    words = set(" ".join(c["text"] for c in finals).split())
    assert len(words & KEY_WORDS) >= 2, finals  # pocketsphinx gets about half the words
    assert {c["speaker_id"] for c in finals} == {host.id}
    assert all(c["end"] >= c["start"] >= 0 for c in finals)
    for partial in (c for c in captions if not c["final"]):  # updated in place: same line id
        assert partial["line_id"] in {c["line_id"] for c in finals}

    lines = http.get(f"{base}/transcript", headers=host.auth).json()
    assert [line["text"] for line in lines] == [c["text"] for c in finals]
    vtt = http.get(f"{base}/transcript", params={"format": "vtt"}, headers=host.auth)
    assert vtt.text.startswith("WEBVTT") and "<v host>" in vtt.text and "-->" in vtt.text
    assert_problem(http.get(f"{base}/transcript", headers=stranger.auth), 403)
    assert http.get("/metrics").text.count("spaces_transcribed_frames") >= 1


def test_with_transcripts_off_no_audio_reaches_the_engine(server, tmp_path):
    http, host, fan, stranger, base, captions = run_space(server, tmp_path, transcripts=False)
    assert captions == []
    assert "spaces_transcribed_frames 0.0" in http.get("/metrics").text
    assert http.get(f"{base}/transcript", headers=host.auth).json() == []
