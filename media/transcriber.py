"""One speaker's captions: decoded audio in, caption lines out, on a thread of its own.

The mix hands over each 20 ms frame it decoded anyway (only while transcripts are on and
the speaker is audible); a bounded queue keeps the audio path from ever waiting. Speech is
cut into utterances by loudness (an utterance ends after half a second of quiet, or after
15 seconds); the engine also hears the quarter second before each onset, since recognisers
expect leading context. While an utterance lasts, a partial line is sent each second and
replaced in place by the final one. A node-wide semaphore bounds how many utterances are transcribed at once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from media.speech import SpeechEngine

log = logging.getLogger(__name__)
VOICED_RMS = 0.01
QUIET_ENDS = 0.5
LONGEST = 15.0
PARTIAL_EVERY = 1.0
LEAD_FRAMES = 12  # 240 ms of 20 ms frames, fed before an onset


def _low_pass(taps: int = 63, cutoff: float = 7_000 / 48_000) -> np.ndarray:
    n = np.arange(taps) - (taps - 1) / 2
    kernel = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
    return (kernel / kernel.sum()).astype(np.float32)


LOW_PASS = _low_pass()


class Resampler:
    """48 kHz to 16 kHz: low-pass below 8 kHz, then keep every third sample; the filter's
    history carries over from frame to frame."""

    def __init__(self) -> None:
        self._history = np.zeros(len(LOW_PASS) - 1, dtype=np.float32)
        self._phase = 0

    def __call__(self, samples_48k: np.ndarray) -> bytes:
        signal = np.concatenate([self._history, samples_48k.astype(np.float32)])
        self._history = signal[-(len(LOW_PASS) - 1):]
        filtered = np.convolve(signal, LOW_PASS, mode="valid")
        kept = filtered[self._phase::3]
        self._phase = (self._phase - len(filtered)) % 3
        return (np.clip(kept, -1.0, 1.0) * 32767).astype("<i2").tobytes()


class SpeakerTranscriber:
    def __init__(self, speaker_id: str, engine: Callable[[], SpeechEngine],
                 on_line: Callable[[dict[str, Any]], None], slots: threading.Semaphore,
                 origin: float, lead_frames: int = LEAD_FRAMES):
        self.speaker_id = speaker_id
        self.engine_factory = engine
        self.on_line = on_line
        self.slots = slots
        self.origin = origin  # monotonic time the Space's audio began: lines are timed from it
        self.lead_frames = lead_frames
        self.dropped = 0
        self.lag = 0.0  # seconds between a frame arriving and being transcribed
        self._queue: queue.Queue[tuple[np.ndarray, float] | None] = queue.Queue(maxsize=500)
        self._thread = threading.Thread(target=self._run, name=f"captions-{speaker_id[:8]}",
                                        daemon=True)
        self._thread.start()

    def feed(self, samples: np.ndarray, at: float | None = None) -> None:
        """One 20 ms frame at 48 kHz, heard at monotonic time `at` (by default now)."""
        try:
            self._queue.put_nowait((samples, time.monotonic() if at is None else at))
        except queue.Full:
            self.dropped += 1

    @property
    def backlog(self) -> int:
        """Frames fed and not yet transcribed."""
        return self._queue.qsize()

    def close(self) -> None:
        self._queue.put(None)

    def join(self, timeout: float | None = None) -> None:
        """Waits for what was fed before `close` to be transcribed."""
        self._thread.join(timeout)

    def _run(self) -> None:
        engine: SpeechEngine | None = None
        resample = Resampler()
        line: dict[str, Any] | None = None
        lead: deque[bytes] = deque(maxlen=self.lead_frames)  # the audio just before an onset
        last_voice = last_partial = 0.0
        while (item := self._queue.get()) is not None:
            samples, at = item
            self.lag = time.monotonic() - at
            voiced = float(np.sqrt(np.mean(samples ** 2))) > VOICED_RMS
            pcm = resample(samples)  # every frame, so the filter's history stays continuous
            try:
                if line is None and voiced:
                    self.slots.acquire()
                    engine = engine or self.engine_factory()
                    engine.start()
                    line = {"line_id": uuid.uuid4().hex, "speaker_id": self.speaker_id,
                            "start": round(at - self.origin, 2)}
                    last_partial = at
                    for before in lead:
                        engine.feed(before)
                    lead.clear()
                if line is None:
                    lead.append(pcm)
                    continue
                assert engine is not None  # started with the line
                engine.feed(pcm)
                if voiced:
                    last_voice = at
                if at - last_voice > QUIET_ENDS or at - line["start"] - self.origin > LONGEST:
                    text = engine.finish()
                    self.slots.release()
                    if text:
                        self.on_line({**line, "end": round(last_voice - self.origin, 2),
                                      "text": text, "final": True})
                    line = None
                elif at - last_partial > PARTIAL_EVERY and (text := engine.partial()):
                    last_partial = at
                    self.on_line({**line, "end": round(at - self.origin, 2), "text": text,
                                  "final": False})
            except Exception:
                log.exception("transcription failed for a frame; the utterance is dropped")
                if line is not None:
                    self.slots.release()
                line = None
