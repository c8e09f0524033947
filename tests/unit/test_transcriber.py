"""One speaker's transcriber, fed frames with their times as the mix would, and a
deterministic engine (tones for words): utterances, partial lines, times, leading audio."""

from __future__ import annotations

import threading

import numpy as np

from media.transcriber import LEAD_FRAMES, SpeakerTranscriber
from tests.tone_speech import ToneWords, tones

ORIGIN = 1000.0


class ListeningEngine(ToneWords):
    """ToneWords that keeps what each utterance was fed."""

    heard: list[np.ndarray] = []

    def start(self) -> None:
        super().start()
        self.heard.append(np.zeros(0, dtype=np.int16))

    def feed(self, pcm: bytes) -> None:
        self.heard[-1] = np.concatenate([self.heard[-1], np.frombuffer(pcm, dtype="<i2")])
        super().feed(pcm)


def transcribe(samples: np.ndarray) -> list[dict]:
    lines: list[dict] = []
    ListeningEngine.heard = []
    transcriber = SpeakerTranscriber("speaker-1", ListeningEngine, lines.append,
                                     threading.Semaphore(1), ORIGIN)
    for i in range(len(samples) // 960):
        transcriber.feed(samples[i * 960:(i + 1) * 960], at=ORIGIN + i * 0.02)
    transcriber.close()
    transcriber.join(timeout=10)
    return lines


def test_utterances_are_cut_by_loudness_and_timed_from_the_space_audio():
    lines = transcribe(tones((None, 0.5), ("alpha", 0.4), ("bravo", 0.4), ("charlie", 0.4),
                             (None, 1.0), ("?", 0.4), (None, 1.0), ("delta", 0.3), (None, 1.0)))
    finals = [line for line in lines if line["final"]]
    assert [f["text"] for f in finals] == ["alpha bravo charlie", "delta"]  # "?" names no word
    assert {f["speaker_id"] for f in finals} == {"speaker-1"}
    first, second = finals
    assert (first["start"], first["end"]) == (0.5, 1.68)  # onset and last loud frame
    assert (second["start"], second["end"]) == (4.1, 4.38)
    assert first["line_id"] != second["line_id"]


def test_a_partial_line_each_second_is_replaced_by_the_final_one():
    lines = transcribe(tones((None, 0.2), ("alpha", 0.6), ("bravo", 0.6), ("charlie", 0.6),
                             (None, 1.0)))
    partials = [line for line in lines if not line["final"]]
    (final,) = [line for line in lines if line["final"]]
    assert partials and lines[-1] is final
    for partial in partials:
        assert partial["line_id"] == final["line_id"]
        assert final["text"].startswith(partial["text"])
    assert partials[0]["text"] != final["text"]  # a second in, the line has only begun


def test_the_engine_hears_the_quarter_second_before_each_onset():
    soft = 0.005  # below the loudness that starts an utterance
    t = np.arange(48_000) / 48_000
    before = (soft * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    lines = transcribe(np.concatenate([before, tones(("alpha", 0.4), (None, 1.0))]))
    assert [line["text"] for line in lines if line["final"]] == ["alpha"]
    (heard,) = ListeningEngine.heard
    lead = heard[:LEAD_FRAMES * 320]  # 16 kHz: 320 samples a frame
    assert 0.7 * soft * 32768 < np.sqrt(np.mean(lead.astype(float) ** 2)) < 1.3 * soft * 32768
    assert len(heard) >= (LEAD_FRAMES + 20) * 320  # then the speech itself
