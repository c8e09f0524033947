"""What each listener costs the media node, per fan-out, in short runs: one speaker and N
aiortc listeners (each counting the packets it gets), the node in its own process
(bench/media_node.py), its CPU over a few seconds. The cost of an added listener is the
slope between two counts (the mix and the speaker cost the same at any count). With
`--profile DIR`, py-spy (`pip install py-spy`) records the node during each measurement.

The listeners run in this process on the same machine: on loopback each datagram's receive
side is done by the node's `sendto`, and the listeners' own CPU competes with the node's.
Figures are noisy; compare the ways within one run.

Run: .venv/bin/python bench/fanout.py [--ways batched tasks] [--counts 100 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Node, join  # noqa: E402

from tests.peers import ToneTrack  # noqa: E402

PACKETS_PER_SECOND = 50


async def measure(way: str, listeners: int, seconds: float, profile: Path | None) -> dict:
    node = Node(way)
    pcs = []
    counts = [0] * listeners

    def counter(i: int):
        def count(*_: object) -> None:
            counts[i] += 1
        return count

    try:
        await node.open()
        pcs.append(await join(node, "speaker", ToneTrack(440, level=0.2)))
        for start in range(0, listeners, 10):
            pcs += await asyncio.gather(*(join(node, "listener", on_packet=counter(i))
                                          for i in range(start, min(start + 10, listeners))))
        await asyncio.sleep(3.0)  # every listener connected and steady
        spy = None
        if profile is not None:
            profile.mkdir(parents=True, exist_ok=True)
            spy = subprocess.Popen(
                [str(Path(sys.executable).with_name("py-spy")), "record", "-p", str(node.process.pid),
                 "-d", str(int(seconds)), "-r", "250", "-f", "raw", "--nonblocking",
                 "-o", str(profile / f"{way}-{listeners}.txt")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        before, heard, started = await node.ask({"op": "stats"}), list(counts), time.monotonic()
        await asyncio.sleep(seconds)
        after, elapsed = await node.ask({"op": "stats"}), time.monotonic() - started
        if spy is not None:
            spy.wait()
        cores = (after["cpu"] - before["cpu"]) / elapsed
        shares = [(c - h) / (elapsed * PACKETS_PER_SECOND) for c, h in zip(counts, heard)]
        return {"cores": cores, "worst_share": min(shares),
                "us_per_listener_packet": cores * 1e6 / (listeners * PACKETS_PER_SECOND)}
    finally:
        for pc in pcs:
            await pc.close()
        node.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ways", nargs="+", default=["batched", "tasks"], choices=["batched", "tasks"])
    parser.add_argument("--counts", nargs="+", type=int, default=[100, 200])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--profile", type=Path, help="record py-spy profiles (raw) into this directory")
    args = parser.parse_args()
    print(f"{'way':<8}{'listeners':>10}{'cores':>8}{'µs/lstnr/pkt':>14}{'worst %':>9}"
          f"{'added µs/pkt':>14}{'added per core':>16}")
    for way in args.ways:
        previous: tuple[int, float] | None = None
        for listeners in sorted(args.counts):
            r = asyncio.run(measure(way, listeners, args.seconds, args.profile))
            added = ""
            if previous is not None and listeners > previous[0]:
                per_listener = (r["cores"] - previous[1]) / (listeners - previous[0])
                if per_listener > 0:
                    added = (f"{per_listener * 1e6 / PACKETS_PER_SECOND:>14.1f}"
                             f"{1 / per_listener:>16.0f}")
            print(f"{way:<8}{listeners:>10}{r['cores']:>8.3f}{r['us_per_listener_packet']:>14.1f}"
                  f"{r['worst_share'] * 100:>9.1f}{added}", flush=True)
            previous = (listeners, r["cores"])
    print(f"noisy: listeners share this machine's {os.cpu_count()} cores with the node")


if __name__ == "__main__":
    main()
