"""A speech engine for tests that hears tones, not words: each word of its vocabulary is a
pure tone of its own pitch, and an utterance's text is the words of its tones, in order.
Behind the same interface as pocketsphinx (`SPACES_STT_ENGINE=tests.tone_speech:ToneWords`),
so the caption tests prove the pipeline without resting on a recogniser's accuracy.

A word counts once its pitch has held for two 100 ms windows; windows of silence or of any
other pitch are passed over, so tones of the same word next to each other are one word.
"""

from __future__ import annotations

import numpy as np

WORDS = {"alpha": 400.0, "bravo": 600.0, "charlie": 800.0, "delta": 1000.0, "echo": 1200.0}
UNKNOWN = 300.0  # a pitch that is no word: speech the engine hears but cannot name
RATE = 16_000
WINDOW = RATE // 10
HEARD_RMS = 300  # in 16-bit samples
TOLERANCE = 50.0  # Hz


def word_at(window: np.ndarray) -> str | None:
    if np.sqrt(np.mean(window.astype(np.float64) ** 2)) < HEARD_RMS:
        return None
    spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
    pitch = float(np.fft.rfftfreq(len(window), 1 / RATE)[np.argmax(spectrum[1:]) + 1])
    return next((w for w, f in WORDS.items() if abs(f - pitch) <= TOLERANCE), None)


class ToneWords:
    def __init__(self, model: str | None = None):
        self._reset()

    def start(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._pending = np.zeros(0, dtype=np.int16)
        self._words: list[str] = []
        self._candidate: str | None = None

    def feed(self, pcm: bytes) -> None:
        self._pending = np.concatenate([self._pending, np.frombuffer(pcm, dtype="<i2")])
        while len(self._pending) >= WINDOW:
            window, self._pending = self._pending[:WINDOW], self._pending[WINDOW:]
            word = word_at(window)
            if word is not None and word == self._candidate and self._words[-1:] != [word]:
                self._words.append(word)
            self._candidate = word

    def partial(self) -> str:
        return " ".join(self._words)

    def finish(self) -> str:
        text = self.partial()
        self._reset()
        return text


def tones(*said: tuple[str | None, float], rate: int = 48_000, level: float = 0.3) -> np.ndarray:
    """Samples of the given (word, seconds) in a row; None is silence, "?" a pitch no word has."""
    parts = []
    for word, seconds in said:
        t = np.arange(int(rate * seconds)) / rate
        pitch = UNKNOWN if word == "?" else WORDS.get(word or "", 0.0)
        parts.append(level * np.sin(2 * np.pi * pitch * t) if word else np.zeros(len(t)))
    return np.concatenate(parts).astype(np.float32)
