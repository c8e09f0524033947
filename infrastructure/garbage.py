"""The garbage collector tuned for a long-running server process."""

from __future__ import annotations

import gc


def calm_garbage_collection() -> None:
    """A full collection walks every object, the cached aggregates included, and holds the
    GIL meanwhile: with the default thresholds they came often and made the slowest
    requests of a busy server (p99) three times slower, and on a media node a storm of
    offers (hundreds of new peer connections) brought them every few seconds, each
    stopping the mix's 20 ms clock for 100–300 ms. Objects from start-up are frozen out
    of the walk, and full collections come a hundred times less often; the young
    generations are collected as usual."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 1000)
