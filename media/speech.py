"""Speech to text behind a small interface, so that an operator can plug in another local
engine: SPACES_STT_ENGINE="package.module:Class" (constructed with SPACES_STT_MODEL, a model
path or None) providing start(), feed(pcm), partial() and finish(). The default is
pocketsphinx, whose English model ships inside its wheel: nothing is downloaded."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Protocol

SAMPLE_RATE = 16_000  # what engines are fed: 16 kHz, mono, signed 16-bit


class SpeechEngine(Protocol):
    def start(self) -> None: ...
    def feed(self, pcm: bytes) -> None: ...
    def partial(self) -> str: ...
    def finish(self) -> str: ...


class PocketSphinx:
    def __init__(self, model: str | None = None):
        from pocketsphinx import Decoder

        self.decoder = Decoder(hmm=model) if model else Decoder()

    def start(self) -> None:
        self.decoder.start_utt()

    def feed(self, pcm: bytes) -> None:
        self.decoder.process_raw(pcm, False, False)

    def partial(self) -> str:
        hypothesis = self.decoder.hyp()
        return hypothesis.hypstr if hypothesis else ""

    def finish(self) -> str:
        self.decoder.end_utt()
        return self.partial()


def engine_factory(topic: str | None, model: str | None) -> Callable[[], SpeechEngine]:
    if not topic:
        return lambda: PocketSphinx(model)
    module, _, name = topic.partition(":")
    engine = getattr(importlib.import_module(module), name)
    return lambda: engine(model)
