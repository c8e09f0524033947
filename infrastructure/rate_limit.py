"""A token bucket per caller: `take` answers 0 when allowed, else whole seconds to wait."""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    def __init__(self, per_second: float, burst: int, clock=time.monotonic):
        self.per_second, self.burst, self.clock = per_second, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, caller: str) -> int:
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(caller, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.per_second)
            if tokens < 1:
                self._buckets[caller] = (tokens, now)
                return max(1, math.ceil((1 - tokens) / self.per_second))
            self._buckets[caller] = (tokens - 1, now)
            if len(self._buckets) > 100_000:  # forget idle callers so memory stays bounded
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}
            return 0
