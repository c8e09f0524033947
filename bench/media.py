"""The media layer, side by side in one run: aiortc's MediaRelay handing each listener a
decoded track (naive) against our node (one mix encoded once, packets shared), its packets
sent to listeners by one aiortc sender task each ("tasks") or in one loop per packet
("batched", media/fanout.py), with 10 speakers and growing numbers of listeners. Prints,
per row: media CPU (cores), listeners per core, the worst listener's share of packets
received, speaker → listener latency p50/p99 (at the listener's network input, before its
own jitter buffer), memory per listener.

Run: .venv/bin/python bench/media.py            (a few minutes)
     .venv/bin/python bench/media.py --quick    (a smoke run, as in CI)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness import BurstTrack, Node, Probe, join, latencies, p99  # noqa: E402

from tests.peers import ToneTrack  # noqa: E402


async def measure(mode: str, listeners: int, seconds: float) -> dict:
    node = Node(mode)
    pcs = []
    try:
        await node.open()
        burst = BurstTrack()
        pcs.append(await join(node, "speaker", burst))
        for i in range(9):
            pcs.append(await join(node, "speaker", ToneTrack(200 + 40 * i, level=0.05)))
        probe = Probe()
        pcs.append(await join(node, "listener", on_packet=probe.on_packet))
        before = await node.ask({"op": "stats"})
        counts = [0] * listeners

        def counter(i):
            def count(*_):
                counts[i] += 1
            return count

        for start in range(0, listeners, 10):
            pcs += await asyncio.gather(*(join(node, "listener", on_packet=counter(i))
                                          for i in range(start, min(start + 10, listeners))))
        await asyncio.sleep(2.0)
        start_counts, start_stats, started = list(counts), await node.ask({"op": "stats"}), time.monotonic()
        heard_from = len(probe.onsets)
        await asyncio.sleep(seconds)
        end_stats, elapsed = await node.ask({"op": "stats"}), time.monotonic() - started
        shares = [(c - s) / (elapsed * 50) for c, s in zip(counts, start_counts)]
        lat = sorted(latencies(burst.onsets, probe.onsets[heard_from:]))
        cores = (end_stats["cpu"] - start_stats["cpu"]) / elapsed
        return {
            "cores": cores, "per_core": listeners / cores if cores else float("inf"),
            "worst_share": min(shares), "p50": statistics.median(lat) if lat else float("nan"),
            "p99": p99(lat) if lat else float("nan"),
            "mb_per_listener": (end_stats["rss"] - before["rss"]) / listeners / 2**20,
        }
    finally:
        for pc in pcs:
            await pc.close()
        node.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few listeners, short")
    args = parser.parse_args()
    plans = ({"relay": [4], "tasks": [4], "batched": [4]} if args.quick else
             {"relay": [10, 20, 30], "tasks": [10, 50, 100, 200], "batched": [10, 50, 100, 200]})
    seconds = 2.0 if args.quick else 6.0
    print(f"{'way':<8}{'listeners':>10}{'cores':>8}{'per core':>10}{'worst %':>9}"
          f"{'p50 ms':>8}{'p99 ms':>8}{'MB/lstnr':>10}")
    for mode, counts in plans.items():
        for listeners in counts:
            r = asyncio.run(measure(mode, listeners, seconds))
            print(f"{mode:<8}{listeners:>10}{r['cores']:>8.2f}{r['per_core']:>10.0f}"
                  f"{r['worst_share'] * 100:>9.1f}{r['p50']:>8.1f}{r['p99']:>8.1f}"
                  f"{r['mb_per_listener']:>10.2f}", flush=True)
    print("per core counts only rows whose worst listener got >= 99 % of packets")


if __name__ == "__main__":
    main()
