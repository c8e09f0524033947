"""Transcription with pocketsphinx: accuracy, and cost for one and for ten speakers.

Accuracy: word error rate over a fixed set of espeak-ng sentences said by several voices at
several rates, each fed through a speaker's transcriber as the mix feeds it (20 ms frames,
cut by loudness), with the quarter second before each onset and, side by side, without it.
Cost: real-time factor (engine CPU seconds per second of speech) and caption delay (speech
end → final caption line; it includes the half second of quiet that ends an utterance),
p50/p99, each speaker fed in real time.

Run: .venv/bin/python bench/transcripts.py [--utterances 6] [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
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
from media.transcriber import LEAD_FRAMES, SpeakerTranscriber  # noqa: E402

SENTENCE = "this is a test of the emergency broadcast system"
SENTENCES = [
    "the quick brown fox jumps over the lazy dog",
    "please call me back when you get home",
    "we will start the meeting at ten in the morning",
    "this is a test of the emergency broadcast system",
    "she sells sea shells by the sea shore",
    "turn left at the next light and keep going",
    "one two three four five six seven",
    "the weather today is sunny and warm",
]
VOICES = ["en-us", "en-gb", "en-us+f3"]
RATES = [130, 170]


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


def speech(sentence: str = SENTENCE, voice: str = "en-us", rate: int = 140) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        said, ready = Path(tmp) / "said.wav", Path(tmp) / "ready.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(said), sentence],
                       check=True)
        subprocess.run(["sox", str(said), "-r", "48000", "-c", "1", "-b", "16", str(ready),
                        "pad", "0.3", "1.0"], check=True)
        with wave.open(str(ready)) as source:
            return np.frombuffer(source.readframes(source.getnframes()), "<i2").astype(np.float32) / 32768


def word_errors(said: list[str], heard: list[str]) -> int:
    """Substitutions, deletions and insertions (Levenshtein distance over words)."""
    row = list(range(len(heard) + 1))
    for i, word in enumerate(said, 1):
        diagonal, row[0] = row[0], i
        for j, guess in enumerate(heard, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (word != guess))
    return row[-1]


def transcribe(audio: np.ndarray, lead_frames: int) -> str:
    """What the final lines say, the frames fed as fast as the engine takes them (none
    dropped), timed as if in real time."""
    lines: list[str] = []

    def on_line(line: dict) -> None:
        if line["final"]:
            lines.append(line["text"])

    transcriber = SpeakerTranscriber("s", PocketSphinx, on_line, threading.Semaphore(1), 0.0,
                                     lead_frames=lead_frames)
    for i in range(len(audio) // 960):
        while transcriber.backlog > 100:
            time.sleep(0.01)
        transcriber.feed(audio[i * 960:(i + 1) * 960], at=i * 0.02)
    transcriber.close()
    transcriber.join()
    return " ".join(lines)


def accuracy(sentences: list[str], voices: list[str], rates: list[int]) -> list[dict]:
    """Word error rate in per cent for each voice and rate, with and without the audio before
    each onset. Each voice at each rate is one speaker who says every sentence in turn, so
    the engine adapts to it as it would in a Space."""
    rows = []
    for voice in voices:
        for rate in rates:
            audio = np.concatenate([speech(sentence, voice, rate) for sentence in sentences])
            said = " ".join(sentences).split()
            row: dict = {"voice": voice, "rate": rate, "words": len(said)}
            for way, lead in (("with_lead", LEAD_FRAMES), ("without_lead", 0)):
                row[way] = word_errors(said, transcribe(audio, lead).split())
            rows.append(row)
    return rows


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
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: one voice and rate, two sentences, one speaker")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.quick:
        sentences, voices, rates, crowds, utterances = SENTENCES[:2], VOICES[:1], RATES[:1], (1,), 1
    else:
        sentences, voices, rates, crowds, utterances = SENTENCES, VOICES, RATES, (1, 10), args.utterances
    print(f"{'word error rate':<24}{'with lead':>11}{'without':>10}{'words':>7}")
    rows = accuracy(sentences, voices, rates)
    total = {"voice": "all", "rate": "", **{k: sum(r[k] for r in rows)
                                            for k in ("words", "with_lead", "without_lead")}}
    for row in [*rows, total]:
        with_lead, without = (100 * row[k] / row["words"] for k in ("with_lead", "without_lead"))
        said_by = f"{row['voice']} {row['rate']}"
        print(f"{said_by:<24}{with_lead:>10.1f}%{without:>9.1f}%{row['words']:>7}", flush=True)
    figures: dict[str, float] = {"wer": 100 * total["with_lead"] / total["words"],
                                 "wer_without_lead": 100 * total["without_lead"] / total["words"],
                                 "wer_words": total["words"]}
    audio = speech()
    print(f"\n{'speakers':>9}{'real-time factor':>18}{'delay p50 ms':>14}{'delay p99 ms':>14}{'lines':>7}")
    for speakers in crowds:
        r = run(speakers, utterances, audio)
        print(f"{speakers:>9}{r['rtf']:>18.2f}{r['p50']:>14.0f}{r['p99']:>14.0f}{r['lines']:>7}", flush=True)
        figures.update({f"rtf_{speakers}_speakers": r["rtf"],
                        f"delay_p50_ms_{speakers}_speakers": r["p50"],
                        f"delay_p99_ms_{speakers}_speakers": r["p99"]})
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
