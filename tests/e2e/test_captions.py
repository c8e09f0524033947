"""Live captions against `spaces serve`: speakers' audio through aiortc, captions on the
stream and in the transcript. The pipeline is proven with a deterministic engine that hears
tones as words (tests.tone_speech); one test keeps pocketsphinx in the loop and asks it only
for a line, since its accuracy is a benchmark figure (bench/transcripts.py), not a test."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import wave
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.e2e.test_stream import Watcher
from tests.peers import Microphone, connect
from tests.support import Person, Server, assert_problem, register
from tests.tone_speech import tones

ROOT = Path(__file__).resolve().parents[2]
TONE_ENGINE = {"SPACES_STT_ENGINE": "tests.tone_speech:ToneWords", "PYTHONPATH": str(ROOT)}


class Space:
    """A live Space with the host (and any guests) on stage and unmuted, and a fan watching."""

    def __init__(self, http: httpx.Client, transcripts: bool, guests: tuple[str, ...] = ()):
        self.http = http
        self.host, self.fan, self.stranger = (register(http, h) for h in ("host", "fan", "stranger"))
        self.guests = [register(http, g) for g in guests]
        self.id = http.post("/v1/spaces", json={"title": "Said", "transcripts": transcripts},
                            headers=self.host.auth).json()["id"]
        self.base = f"/v1/spaces/{self.id}"
        http.post(f"{self.base}/launch", headers=self.host.auth)
        for guest in self.guests:
            assert http.put(f"{self.base}/speakers/{guest.id}", headers=self.host.auth).status_code == 200
        for speaker in (self.host, *self.guests):
            unmuted = http.post(f"{self.base}/speakers/{speaker.id}/unmute", headers=speaker.auth)
        caught_up = http.get(self.base, params={"after": unmuted.json()["position"]},
                             headers=self.host.auth)  # the stream opens on what the views say
        assert caught_up.status_code == 200, caught_up.text

    async def microphone(self, web: httpx.AsyncClient, watcher: Watcher, speaker: Person,
                         warm_up: bool = True):
        """Publishes a microphone; with `warm_up`, waits until the mix hears it (a pitch that is
        no word, so no line) and the quiet after it has ended that utterance."""
        mic = Microphone()
        pc, _, published = await connect(web, f"{self.base}/audio/publish", speaker.token, mic)
        assert published.status_code == 201, published.text
        for _ in range(15 if warm_up else 0):
            mic.say(tones(("?", 0.4), (None, 0.6)))
            if await heard(watcher, lambda m: m["event"] == "talking"
                           and speaker.id in m["data"]["speakers"], 1.0):
                await asyncio.sleep(mic.say(tones((None, 0.8))))
                break
        else:
            assert not warm_up, f"the mix never heard {speaker.handle}: {watcher.kinds()}"
        return pc, mic

    def transcript(self, **params) -> httpx.Response:
        return self.http.get(f"{self.base}/transcript", params=params, headers=self.host.auth)


async def heard(watcher: Watcher, matches, timeout: float) -> dict | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in watcher.messages if matches(m)]
        if found:
            return found[-1]
        await asyncio.sleep(0.02)
    return None


async def final_line(watcher: Watcher, speaker: Person, timeout: float = 15.0) -> dict:
    message = await heard(watcher, lambda m: m["event"] == "caption" and m["data"]["final"]
                          and m["data"]["speaker_id"] == speaker.id, timeout)
    assert message, f"no final caption line for {speaker.handle}: {captions_of(watcher)}"
    return message["data"]


def captions_of(watcher: Watcher) -> list[dict]:
    return [m["data"] for m in watcher.messages if m["event"] == "caption"]


@pytest.fixture
def tone_server(tmp_path):
    running = Server(tmp_path / "data", TONE_ENGINE)
    yield running
    running.stop()


def test_each_speakers_words_reach_the_stream_and_the_transcript_as_lines(tone_server):
    space = Space(tone_server.start(), transcripts=True, guests=("guest",))
    guest = space.guests[0]

    async def scenario() -> list[dict]:
        async with httpx.AsyncClient(base_url=tone_server.url, timeout=20) as web:
            watcher = Watcher(web, f"{space.base}/stream", space.fan.token)
            host_pc, host_mic = await space.microphone(web, watcher, space.host)
            guest_pc, guest_mic = await space.microphone(web, watcher, guest)
            host_mic.say(tones(("alpha", 0.4), ("bravo", 0.4), ("charlie", 0.4), ("delta", 0.4)))
            await final_line(watcher, space.host)
            guest_mic.say(tones(("echo", 0.4), ("alpha", 0.4)))
            await final_line(watcher, guest)
            await host_pc.close()
            await guest_pc.close()
            return captions_of(watcher)

    captions = asyncio.run(asyncio.wait_for(scenario(), 90))
    finals = [c for c in captions if c["final"]]
    assert [(c["speaker_id"], c["text"]) for c in finals] == [
        (space.host.id, "alpha bravo charlie delta"), (guest.id, "echo alpha")]
    said, answered = finals
    assert 0 <= said["start"] < said["end"] < answered["start"] < answered["end"]
    assert 1.0 < said["end"] - said["start"] < 2.2  # 1.6 s of speech
    partials = [c for c in captions if not c["final"]]
    assert partials, "a line longer than a second has a partial before its final"
    for partial in partials:  # replaced in place: the final line's id, its first words
        line = next(c for c in finals if c["line_id"] == partial["line_id"])
        assert line["text"].startswith(partial["text"])
        assert captions.index(partial) < captions.index(line)

    lines = space.transcript().json()
    assert [(line["speaker_id"], line["text"]) for line in lines] == [
        (c["speaker_id"], c["text"]) for c in finals]
    vtt = space.transcript(format="vtt").text
    assert vtt.startswith("WEBVTT")
    assert "<v host>alpha bravo charlie delta" in vtt and "<v guest>echo alpha" in vtt
    assert space.http.get(f"{space.base}/transcript", headers=guest.auth).status_code == 200
    assert_problem(space.http.get(f"{space.base}/transcript", headers=space.stranger.auth), 403)
    assert "spaces_transcribed_frames" in space.http.get("/metrics").text


def test_nothing_reaches_the_engine_while_transcripts_are_off(tone_server):
    space = Space(tone_server.start(), transcripts=False)

    async def scenario() -> list[dict]:
        async with httpx.AsyncClient(base_url=tone_server.url, timeout=20) as web:
            watcher = Watcher(web, f"{space.base}/stream", space.fan.token)
            pc, mic = await space.microphone(web, watcher, space.host)
            await asyncio.sleep(mic.say(tones(("bravo", 0.6), (None, 1.0))))
            metrics = (await web.get("/metrics")).text
            assert "spaces_transcribed_frames 0.0" in metrics
            switched = await web.patch(space.base, json={"transcripts": True},
                                       headers=space.host.auth)
            assert switched.status_code == 200, switched.text
            for _ in range(10):  # until the media node has heard of the switch
                mic.say(tones(("charlie", 0.6), (None, 0.9)))
                if await heard(watcher, lambda m: m["event"] == "caption" and m["data"]["final"],
                               1.5):
                    break
            await final_line(watcher, space.host)
            await pc.close()
            return captions_of(watcher)

    captions = asyncio.run(asyncio.wait_for(scenario(), 90))
    assert {c["text"] for c in captions if c["final"]} == {"charlie"}  # never "bravo"
    assert {line["text"] for line in space.transcript().json()} == {"charlie"}


def speech(tmp_path: Path, sentence: str) -> np.ndarray:
    """espeak-ng says the sentence, sox makes it 48 kHz mono."""
    for tool in ("espeak-ng", "sox"):
        assert shutil.which(tool), f"{tool} is missing: scripts/test installs it"
    said, ready = tmp_path / "said.wav", tmp_path / "speech48k.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(said), sentence], check=True)
    subprocess.run(["sox", str(said), "-r", "48000", "-c", "1", "-b", "16", str(ready)], check=True)
    with wave.open(str(ready)) as source:
        return np.frombuffer(source.readframes(source.getnframes()), "<i2").astype(np.float32) / 32768


def test_pocketsphinx_turns_speech_into_a_line_for_its_speaker(server, tmp_path):
    space = Space(server.start(), transcripts=True)
    words = speech(tmp_path, "one two three four five six seven")

    async def scenario() -> dict:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as web:
            watcher = Watcher(web, f"{space.base}/stream", space.fan.token)
            pc, mic = await space.microphone(web, watcher, space.host, warm_up=False)
            for _ in range(5):  # until the audio flows: the first words may come before it does
                await asyncio.sleep(mic.say(words) + 0.5)
                if await heard(watcher, lambda m: m["event"] == "caption" and m["data"]["final"],
                               5.0):
                    break
            line = await final_line(watcher, space.host)
            await pc.close()
            return line

    line = asyncio.run(asyncio.wait_for(scenario(), 90))
    assert line["text"].strip()
