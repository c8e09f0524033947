"""The media layer, side by side in one run: aiortc's MediaRelay handing each listener a
decoded track (naive) against our node (one mix encoded once, packets shared), its packets
sent to listeners by one aiortc sender task each ("tasks") or in one loop per packet
("batched", media/fanout.py), with 10 speakers and growing numbers of listeners; then a
join storm on the batched node.

Who is where: the node in a process of its own (bench/media_node.py); the listeners in
listener processes of their own (bench/listeners.py: real ICE and DTLS with aiortc, then
each SRTP packet unprotected and counted straight off the socket, many listeners per
process); the 10 speakers and the probe (a listener decoding what reaches its socket,
timing tone bursts) in this process. Each one's CPU is measured apart, and so is the rest
of the machine's ("other": whatever else runs here meanwhile).

Prints, per row: the node's CPU (cores), the listener processes' ("gen"), this process's
("spk": speakers and probe), the rest of the machine's ("other"), listeners per core of
node CPU, the worst listener's share of the mix's packets, speaker → listener latency
p50/p99 at the probe's network input (before any jitter buffer), the node's memory per
listener. The batched rows grow until the worst listener gets less than 99 % of packets
(then says where they were lost). The join storm: `--storm` listeners (500) send their
offers at once to a batched node already carrying the Space's speakers and listeners; how
long until every one of them got its first mix packet, and what the others lost meanwhile.

Run: .venv/bin/python bench/media.py [--json FILE]    (about four minutes)
     .venv/bin/python bench/media.py --quick          (a smoke run, as in CI)
`--json FILE` writes {"rows": [{"way", "listeners", "listeners_per_core",
"worst_listener_share", "p50_ms", "p99_ms"}, ...], "join_500_s": ...} and, beside them,
"details" (per row: every CPU figure, where packets were lost), "join_storm" and "machine".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness import Node, Probe, Recorded, RecordedBurst, join, join_at_input, latencies, p99, tone_frames  # noqa: E402
from listeners import Generators  # noqa: E402

PACKETS_PER_SECOND = 50
TICK = os.sysconf("SC_CLK_TCK")
ENOUGH = 0.99  # the worst listener's share of packets a row must reach
# seconds between the probe's bursts (a delay longer than that cannot be told from a shorter
# one): the naive way's delay comes near half a second
BURST_PERIOD = {"relay": 1.0, "tasks": 0.5, "batched": 0.5}
CORES = sorted(os.sched_getaffinity(0))  # before this process pins itself


# -- the machine -------------------------------------------------------------------------------

def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (not idle, not waiting on I/O)."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICK


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) of a process."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def busiest_processes(seconds: float = 1.0) -> tuple[float, list[tuple[str, float]]]:
    """The machine's busy cores over a short sample, and the busiest commands in it."""
    def sample() -> dict[int, tuple[str, float]]:
        found = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as stat:
                        text = stat.read()
                    name = text[text.index("(") + 1:text.rindex(")")]
                    found[int(entry)] = (name, process_cpu(int(entry)))
                except (OSError, ValueError):
                    pass
        return found

    before, busy = sample(), machine_busy()
    time.sleep(seconds)
    after, busy = sample(), (machine_busy() - busy) / seconds
    by_name: Counter[str] = Counter()
    for pid, (name, cpu) in after.items():
        if pid in before and pid != os.getpid():
            by_name[name] += (cpu - before[pid][1]) / seconds
    return busy, [(name, cores) for name, cores in by_name.most_common(4) if cores >= 0.02]


# -- one row -----------------------------------------------------------------------------------

class Stage:
    """The node, its 10 speakers and the probe, and the listener processes."""

    def __init__(self, way: str, generators: int) -> None:
        self.way = way
        self.node = Node(way)
        self.gens = Generators(self.node.port, generators)
        self.pcs: list = []
        self.burst = RecordedBurst(round(BURST_PERIOD[way] * PACKETS_PER_SECOND))
        self.probe = Probe()

    async def open(self, pin: bool) -> None:
        await self.node.open()
        await self.gens.start()
        if pin:  # the benchmark's own load kept off one core, which the node may then have
            os.sched_setaffinity(self.node.process.pid, CORES)
            for pid in [*self.gens.pids(), os.getpid()]:
                os.sched_setaffinity(pid, CORES[1:])
        self.pcs.append(await join(self.node, "speaker", self.burst))
        for i in range(9):
            self.pcs.append(await join(self.node, "speaker", Recorded(tone_frames(200 + 40 * i, 0.05))))
        self.pcs.append(await join_at_input(self.node, self.probe.on_packet))

    async def mark(self) -> dict:
        """Everyone's counters at one moment."""
        listeners, node = await asyncio.gather(self.gens.snapshot(), self.node.ask({"op": "stats"}))
        return {"listeners": listeners, "node": node, "time": time.monotonic(),
                "machine": machine_busy(), "self": sum(os.times()[:2]),
                "gen_cpu": [process_cpu(pid) for pid in self.gens.pids()],
                "onsets": len(self.probe.onsets)}

    async def close(self) -> None:
        for pc in self.pcs:
            await pc.close()
        await self.gens.close()
        self.node.close()


def between(a: dict, b: dict, cohort: str | None = "steady") -> dict:
    """What happened from mark `a` to mark `b`: each one's CPU, the listeners' shares."""
    elapsed = b["time"] - a["time"]
    la, lb = a["listeners"], b["listeners"]
    shares = [(pb - pa) / ((tb - ta) * PACKETS_PER_SECOND)
              for pa, pb, ta, tb, c in zip(la["packets"], lb["packets"], la["shares_time"],
                                           lb["shares_time"], lb["cohort"])
              if cohort is None or c == cohort]
    node_cores = (b["node"]["cpu"] - a["node"]["cpu"]) / elapsed
    gen_cores = sum(y - x for x, y in zip(a["gen_cpu"], b["gen_cpu"])) / elapsed
    self_cores = (b["self"] - a["self"]) / elapsed
    machine = (b["machine"] - a["machine"]) / elapsed
    received = sum(pb - pa for pa, pb in zip(la["packets"], lb["packets"]))  # by the generator's
    out = {"seconds": elapsed, "node_cores": node_cores, "generator_cores": gen_cores,
           "bench_cores": self_cores, "other_cores": max(0.0, machine - node_cores - gen_cores - self_cores),
           "machine_cores": machine, "shares": shares, "received": received,
           "received_per_listener": received / max(1, len(lb["packets"])),
           "generator_poll_cores": sum(y - x for x, y in zip(la["poller"], lb["poller"])) / elapsed}
    na, nb = a["node"], b["node"]
    if "ticks" in nb and "ticks" in na:  # ours: the mix's clock, the fan-out's counts
        out["mix_ticks_share"] = (nb["ticks"] - na["ticks"]) / (elapsed * PACKETS_PER_SECOND)
        out["late_ticks"] = nb["late_ticks"] - na["late_ticks"]
        out["longest_tick_gap_ms"] = nb["longest_gap_ms"]
        out["node_sent"] = nb["sent"] - na["sent"]  # to every listener, the probe too
        out["node_sent_per_listener"] = out["node_sent"] / max(1, nb["listeners"])
        out["node_dropped"] = nb["fanout_dropped"] - na["fanout_dropped"]
        out["speakers"] = {k: nb["speakers"][k] - na["speakers"][k] for k in nb["speakers"]}
    return out


def where_lost(d: dict, listeners: int) -> str:
    """Why the worst listener fell short: the node's clock, its fan-out, or on the way."""
    reasons = []
    if d.get("mix_ticks_share", 1.0) < ENOUGH:
        reasons.append(f"the node's mix clock ran {d['mix_ticks_share'] * 100:.1f} % of its ticks "
                       f"(longest gap {d['longest_tick_gap_ms']:.0f} ms)")
    if d.get("node_dropped"):
        reasons.append(f"the fan-out dropped {d['node_dropped']} (sockets backed up)")
    sent = d.get("node_sent_per_listener")
    if sent and d["received_per_listener"] < sent * ENOUGH:
        reasons.append(f"listeners got {d['received_per_listener'] / sent * 100:.1f} % of what the "
                       "node sent (lost on the way, or the generator fell behind)")
    if d["node_cores"] > 0.9:
        reasons.append(f"the node's event loop is one core and used {d['node_cores']:.2f}")
    benchmark = d["generator_cores"] + d["bench_cores"]
    if benchmark > 0.9 * max(1, len(CORES) - 1):
        reasons.append(f"the load generator and speakers filled their cores ({benchmark:.2f})")
    if d["machine_cores"] > 0.93 * len(CORES):
        reasons.append(f"the machine's {os.cpu_count()} cores were all busy "
                       f"({d['machine_cores']:.2f}; generator {d['generator_cores']:.2f})")
    return "; ".join(reasons) or "unclear"


async def measure(way: str, listeners: int, seconds: float, generators: int,
                  storm: int = 0, pin: bool = True) -> tuple[dict, dict | None]:
    stage = Stage(way, generators)
    try:
        await stage.open(pin)
        before = await stage.node.ask({"op": "stats"})
        joined = await stage.gens.join(listeners)
        await asyncio.sleep(2.0)
        start = await stage.mark()
        await asyncio.sleep(seconds)
        end = await stage.mark()
        d = between(start, end)
        lat = sorted(latencies(stage.burst.onsets, stage.probe.onsets[start["onsets"]:end["onsets"]],
                               BURST_PERIOD[way] * 0.95))
        row = {
            "way": way, "listeners": listeners, "join_seconds": joined, **d,
            "per_core": listeners / d["node_cores"] if d["node_cores"] else float("inf"),
            "worst_share": min(d["shares"]) if d["shares"] else 0.0,
            "p50": statistics.median(lat) if lat else float("nan"),
            "p99": p99(lat) if lat else float("nan"), "bursts": len(lat),
            "mb_per_listener": (end["node"]["rss"] - before["rss"]) / listeners / 2**20,
            "failed": end["listeners"]["failed"], "bad": end["listeners"]["bad"],
        }
        del row["shares"]
        stormed = await join_storm(stage, storm) if storm else None
        return row, stormed
    finally:
        await stage.close()


async def join_storm(stage: Stage, count: int, timeout: float = 40.0) -> dict:
    """`count` new listeners, their offers made beforehand, send them all at once; the time
    until each got its first packet of the mix, and what everyone else lost meanwhile."""
    await stage.gens.prepare(count)
    await asyncio.sleep(1.0)
    before = await stage.mark()
    went = await stage.gens.go()
    deadline = went + timeout
    while True:
        await asyncio.sleep(0.25)
        snap = await stage.gens.snapshot()
        firsts = [f for f, c in zip(snap["first"], snap["cohort"]) if c == "storm"]
        if all(f is not None for f in firsts) or time.monotonic() > deadline:
            break
    await asyncio.sleep(1.0)
    after = await stage.mark()
    d = between(before, after)  # the listeners who were there before
    heard = sorted(f - went for f in firsts if f is not None)
    answered = sorted(a - went for a, c in zip(snap["answered"], snap["cohort"])
                      if c == "storm" and a is not None)
    lat = sorted(latencies(stage.burst.onsets, stage.probe.onsets[before["onsets"]:after["onsets"]],
                           BURST_PERIOD[stage.way] * 0.95))
    return {
        "listeners": count, "all_heard": len(heard) == count, "heard": len(heard),
        "seconds": heard[-1] if len(heard) == count else None,
        "p50_s": statistics.median(heard) if heard else None,
        "answered_p50_s": statistics.median(answered) if answered else None,
        "answered_last_s": answered[-1] if answered else None,
        "failed": after["listeners"]["failed"],
        "existing_worst_share": min(d["shares"]) if d["shares"] else None,
        "window_s": d["seconds"], "node_cores": d["node_cores"],
        "generator_cores": d["generator_cores"], "other_cores": d["other_cores"],
        "mix_ticks_share": d.get("mix_ticks_share"), "late_ticks": d.get("late_ticks"),
        "longest_tick_gap_ms": d.get("longest_tick_gap_ms"), "speakers": d.get("speakers"),
        "probe_p99_ms": p99(lat) if lat else None, "probe_max_ms": lat[-1] if lat else None,
    }


# -- the run -----------------------------------------------------------------------------------

def plain(value):
    """JSON has no NaN or infinity: None instead."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def ms(value: float, way: str) -> str:
    """A latency column: none measured means every burst came later than its period."""
    return f"{value:>8.1f}" if value == value else f"{'>' + str(int(BURST_PERIOD[way] * 950)):>8}"


def print_row(r: dict) -> None:
    print(f"{r['way']:<8}{r['listeners']:>10}{r['node_cores']:>7.2f}{r['generator_cores']:>6.2f}"
          f"{r['bench_cores']:>6.2f}{r['other_cores']:>7.2f}{r['per_core']:>10.0f}"
          f"{r['worst_share'] * 100:>9.1f}{ms(r['p50'], r['way'])}{ms(r['p99'], r['way'])}"
          f"{r['mb_per_listener']:>10.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few listeners, short")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--seconds", type=float, help="measured seconds per row")
    parser.add_argument("--batched", type=int, nargs="+", help="the batched rows' listener counts")
    parser.add_argument("--storm", type=int, help="listeners offering at once in the join storm")
    parser.add_argument("--generators", type=int, default=2, help="listener processes")
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="let the load generator and speakers run on every core (by default "
                             "they keep off the first, which the node may then have)")
    args = parser.parse_args()
    args.pin = args.pin and len(CORES) > 1
    if args.quick:
        plans = {"relay": [4], "tasks": [4], "batched": args.batched or [4]}
        seconds, storm, storm_on = args.seconds or 2.0, args.storm or 20, 4
    else:
        plans = {"relay": [10, 20], "tasks": [100, 200],
                 "batched": args.batched or [100, 300, 600, 1000]}
        seconds, storm, storm_on = args.seconds or 6.0, args.storm or 500, 100

    load = os.getloadavg()
    busy, busiest = busiest_processes()
    print(f"machine: {os.cpu_count()} cores; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"busy now {busy:.2f} cores" + ("" if not busiest else " (" + ", ".join(
              f"{name} {cores:.2f}" for name, cores in busiest) + ")"), flush=True)
    print(f"{'way':<8}{'listeners':>10}{'node':>7}{'gen':>6}{'spk':>6}{'other':>7}{'per core':>10}"
          f"{'worst %':>9}{'p50 ms':>8}{'p99 ms':>8}{'MB/lstnr':>10}")
    rows, stormed, limit = [], None, None
    for way, counts in plans.items():
        for listeners in counts:
            storm_here = storm if way == "batched" and listeners == storm_on and stormed is None else 0
            row, found = asyncio.run(measure(way, listeners, seconds, args.generators, storm_here,
                                             args.pin))
            stormed = found or stormed
            rows.append(row)
            print_row(row)
            if way == "batched" and row["worst_share"] < ENOUGH:
                limit = f"batched at {listeners}: {where_lost(row, listeners)}"
                break
    print("(cores: node = bench/media_node.py; gen = the listener processes; spk = this process, "
          "10 speakers and the probe; other = the rest of the machine"
          + ("; gen and spk kept off one core, the node free on all)" if args.pin else ")"))
    if limit:
        print(f"limit: {limit}")
    else:
        last = next(r for r in reversed(rows) if r["way"] == "batched")
        print(f"no limit met up to {last['listeners']} batched listeners "
              f"(node {last['node_cores']:.2f} cores, machine {last['machine_cores']:.2f} busy)")
    if stormed is None:  # the storm's row was not among the batched ones
        _, stormed = asyncio.run(measure("batched", storm_on, 1.0, args.generators, storm, args.pin))
    s = stormed
    assert s is not None
    print(f"join storm: {s['listeners']} offers at once to a batched node with 10 speakers and "
          f"{storm_on} listeners: " + (f"all heard the mix after {s['seconds']:.2f} s" if s["all_heard"]
                                       else f"only {s['heard']} heard the mix")
          + (f" (median {s['p50_s']:.2f} s; answers: median {s['answered_p50_s']:.2f} s, "
             f"last {s['answered_last_s']:.2f} s)" if s["p50_s"] is not None else ""))
    print(f"  meanwhile: the others' worst share {s['existing_worst_share'] * 100:.1f} %, "
          f"the mix clock ran {s['mix_ticks_share'] * 100:.1f} % of its ticks "
          f"(longest gap {s['longest_tick_gap_ms']:.0f} ms, {s['late_ticks']} late), "
          f"speakers at the node: {s['speakers']['concealed']} frames concealed, "
          f"{s['speakers']['dropped']} dropped; probe p99 {s['probe_p99_ms'] or float('nan'):.0f} ms, "
          f"max {s['probe_max_ms'] or float('nan'):.0f} ms; node {s['node_cores']:.2f} cores, "
          f"gen {s['generator_cores']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(plain({
            "rows": [{"way": r["way"], "listeners": r["listeners"],
                      "listeners_per_core": r["per_core"], "worst_listener_share": r["worst_share"],
                      "p50_ms": r["p50"], "p99_ms": r["p99"]} for r in rows],
            "join_500_s": s["seconds"] if s["listeners"] == 500 else None,
            "details": rows, "join_storm": s, "limit": limit,
            "machine": {"cores": os.cpu_count(), "load_average": load, "busy_at_start": busy,
                        "busiest_at_start": busiest},
        }), indent=1))


if __name__ == "__main__":
    main()
