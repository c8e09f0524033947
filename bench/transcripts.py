"""Transcription, for one and for ten simultaneous speakers, side by side in one run:
real-time factor (engine CPU seconds per second of speech) and caption delay (speech end →
final caption line; it includes the half second of quiet that ends an utterance), p50/p99.
Each speaker's transcriber is fed 20 ms frames in real time, as the mix would.

Run: .venv/bin/python bench/transcripts.py [--utterances 6]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import p99  # noqa: E402
from media.speech import PocketSphinx  # noqa: E402
from media.transcriber import SpeakerTranscriber  # noqa: E402

SENTENCE = "this is a test of the emergency broadcast system"


class TimedEngine(PocketSphinx):
    """pocketsphinx, counting the seconds its calls take."""

    busy = 0.0
    lock = threading.Lock()

    def _timed(self, call, *args):
        started = time.thread_time()
        try:
            return call(*args)
        finally:
            with TimedEngine.lock:
                TimedEngine.busy += time.thread_time() - started

    def feed(self, pcm: bytes) -> None:
        self._timed(super().feed, pcm)

    def finish(self) -> str:
        return self._timed(super().finish)


def speech() -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        said, ready = Path(tmp) / "said.wav", Path(tmp) / "ready.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(said), SENTENCE], check=True)
        subprocess.run(["sox", str(said), "-r", "48000", "-c", "1", "-b", "16", str(ready),
                        "pad", "0.3", "1.0"], check=True)
        with wave.open(str(ready)) as source:
            return np.frombuffer(source.readframes(source.getnframes()), "<i2").astype(np.float32) / 32768


def run(speakers: int, utterances: int, audio: np.ndarray) -> dict[str, float]:
    TimedEngine.busy = 0.0
    delays: list[float] = []
    speech_ends: dict[str, list[float]] = {}
    origin = time.monotonic()
    slots = threading.Semaphore(speakers)

    def on_line(line):
        if line["final"]:
            delays.append(time.monotonic() - speech_ends[line["speaker_id"]].pop(0))

    def speak(name: str) -> None:
        transcriber = SpeakerTranscriber(name, TimedEngine, on_line, slots, origin)
        speech_ends[name] = []
        frames = [audio[i:i + 960] for i in range(0, len(audio) - 959, 960)]
        voiced = [float(np.sqrt(np.mean(f ** 2))) > 0.01 for f in frames]
        last_voiced = max(i for i, v in enumerate(voiced) if v)
        start = time.monotonic()
        for repeat in range(utterances):
            for i, frame in enumerate(frames):
                at = start + (repeat * len(frames) + i) * 0.02
                time.sleep(max(0.0, at - time.monotonic()))
                transcriber.feed(frame)
                if i == last_voiced:
                    speech_ends[name].append(time.monotonic())
        time.sleep(1.5)
        transcriber.close()

    threads = [threading.Thread(target=speak, args=(f"s{i}",)) for i in range(speakers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spoken = speakers * utterances * len(audio) / 48_000
    delays.sort()
    return {"rtf": TimedEngine.busy / spoken, "p50": statistics.median(delays) * 1000,
            "p99": p99(delays) * 1000,
            "lines": len(delays)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=6)
    args = parser.parse_args()
    audio = speech()
    print(f"{'speakers':>9}{'real-time factor':>18}{'delay p50 ms':>14}{'delay p99 ms':>14}{'lines':>7}")
    for speakers in (1, 10):
        r = run(speakers, args.utterances, audio)
        print(f"{speakers:>9}{r['rtf']:>18.2f}{r['p50']:>14.0f}{r['p99']:>14.0f}{r['lines']:>7}", flush=True)


if __name__ == "__main__":
    main()
