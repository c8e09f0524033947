"""Simulated HLS listeners through nginx: `spaces serve` (its media node takes no WebRTC
listener, `SPACES_HLS=always`) with Debian's nginx in front (scripts/nginx/spaces.conf),
one live Space with two aiortc speakers (a tone burst on some 500 ms beats, a steady
tone), and 1,000, 5,000 and 10,000 listeners doing what hls.js does in low-latency mode:
blocking playlist reloads and part fetches (bench/hls_load, Go, built here with `go build`
and run as processes of their own, so that its CPU is counted apart: one per 4,000
listeners, whose two connections each keep it under this container's 20,000 open files a
process). Prints, per row: requests that reached the origin per segment (counted by a
pass-through between nginx and the API), CPU of the origin, of nginx and of the load
generator (cores), p99 part fetch time, listeners whose playback would stall (a part later
than its play time), glass-to-glass latency (a burst's start at the speaker -> its start
in the decoded HLS audio as a player started PART-HOLD-BACK behind the live edge it joined
at plays it; timed by --probes decoding listeners in this process, joining at moments
spread over the ramp), and side by side the WebRTC listeners the same CPU would carry
(bench/media.py's listeners per core). Below the table: the detail (origin requests by
kind and per URL, answers by status, part age at arrival, errors, connections), and the
glass-to-glass of every simulated listener (the probes' speaker -> origin delay plus how
far each listener plays behind the origin).

Run: .venv/bin/python bench/hls.py                  (three rows, a few minutes)
     .venv/bin/python bench/hls.py --quick          (a smoke run: 50 listeners, as in CI)
     .venv/bin/python bench/hls.py --json FILE      (the figures, under the issue's keys)
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import io
import json
import math
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import av
import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import BURST_HZ, STEADY_HZ, BurstTrack, p99  # noqa: E402

from tests.peers import ToneTrack, connect  # noqa: E402
from tests.support import Server, nginx_cache, register  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LOAD = ROOT / "bench" / "hls_load"
TICKS = os.sysconf("SC_CLK_TCK")
# bench/media.py's figure, from README's Performance table: our node ("one mix, encoded once,
# shared packets") with 200 WebRTC listeners carried 347 listeners per core of media CPU.
WEBRTC_LISTENERS_PER_CORE = 347
PART = re.compile(r"part-(\d+)\.(\d+)\.m4s")
# listeners per generator process: two connections each, under this container's limit of
# 20,000 open files a process
GENERATOR_LISTENERS = 4_000


# ---- CPU of process trees ----

def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def descendants(root: int) -> set[int]:
    """`root` and every process below it."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children[ppid].append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += children.get(pid, [])
    return found


class CpuClock:
    """CPU seconds of named process trees (of `alone`: of the process itself)."""

    def __init__(self, roots: dict[str, int], alone: dict[str, int] | None = None):
        self.pids = {name: descendants(pid) for name, pid in roots.items()}
        self.pids.update({name: {pid} for name, pid in (alone or {}).items()})

    def read(self) -> dict[str, float]:
        return {name: sum(cpu_seconds(pid) for pid in pids) for name, pids in self.pids.items()}


# ---- the origin's side of nginx: a pass-through that counts requests ----

def kind_of(target: str) -> str:
    name = target.split("?", 1)[0].rsplit("/", 1)[-1]
    if name == "audio.m3u8":
        return "reload" if "_HLS_msn" in target else "playlist"
    if name.startswith("part-"):
        return "part"
    if name.startswith("seg-"):
        return "segment"
    return name if name in ("init.mp4", "index.m3u8") else "other"


class CountingProxy:
    """Between nginx and the API, in a thread of its own: forwards bytes both ways and
    counts each HTTP request (by target) and each answer's status (nginx does not pipeline,
    so the answers on a connection come in the order of its requests)."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.lock = threading.Lock()
        self.targets: collections.Counter[str] = collections.Counter()
        self.statuses: collections.Counter[str] = collections.Counter()
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        threading.Thread(target=self._run, daemon=True, name="counting-proxy").start()
        self._ready.wait(10)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0,
                                                                    backlog=1024))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def snapshot(self) -> tuple[collections.Counter[str], collections.Counter[str]]:
        with self.lock:
            return collections.Counter(self.targets), collections.Counter(self.statuses)

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_w.close()
            return
        asked: collections.deque[str] = collections.deque()
        await asyncio.gather(self._pump(client_r, up_w, self._requests(asked)),
                             self._pump(up_r, client_w, self._responses(asked)),
                             return_exceptions=True)

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    parser: MessageHeads) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                parser.feed(chunk)
                await writer.drain()
        finally:
            writer.close()

    def _requests(self, asked: collections.deque[str]) -> MessageHeads:
        def seen(first: list[str]) -> None:
            asked.append(first[1])
            with self.lock:
                self.targets[first[1]] += 1
        return MessageHeads(seen)

    def _responses(self, asked: collections.deque[str]) -> MessageHeads:
        def seen(first: list[str]) -> None:
            target = asked.popleft() if asked else ""
            with self.lock:
                self.statuses[f"{kind_of(target)} {first[1]}"] += 1
        return MessageHeads(seen)


class MessageHeads:
    """Follows an HTTP/1.1 byte stream fed in chunks, calling `seen` with the first line
    (split) of each message; gives up on what it cannot follow (chunked bodies)."""

    def __init__(self, seen: Any):
        self.seen, self.buffer, self.body, self.lost = seen, bytearray(), 0, False

    def feed(self, chunk: bytes) -> None:
        if self.lost:
            return
        self.buffer += chunk
        while True:
            if self.body:
                taken = min(self.body, len(self.buffer))
                del self.buffer[:taken]
                self.body -= taken
                if self.body:
                    return
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                self.lost = len(self.buffer) > 65536
                return
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            del self.buffer[:end + 4]
            headers = {k.strip().lower(): v.strip()
                       for k, _, v in (line.partition(":") for line in lines[1:])}
            first = lines[0].split(" ")
            if "chunked" in headers.get("transfer-encoding", "").lower() or len(first) < 2:
                self.lost = True
                return
            self.body = int(headers.get("content-length") or 0)
            self.seen(first)


# ---- the probe: one listener in this process that decodes what it plays ----

class PatternBurstTrack(BurstTrack):
    """BurstTrack whose bursts sound on a pseudo-random 40 % of its 500 ms beats: HLS is
    about four beats behind, and a regular beat could not say which burst was heard.
    `onsets` (time.monotonic()) has the bursts actually sent."""

    def __init__(self, seed: int = 7) -> None:
        super().__init__()
        self.pattern = random.Random(seed)
        self.sounding = False

    async def recv(self):
        frame = await ToneTrack.recv(self)
        position = (self.sent - 1) % 25  # 20 ms frames within a 500 ms beat
        if position == 0:
            self.sounding = self.pattern.random() < 0.4
            if self.sounding:
                self.onsets.append(time.monotonic())
        if position >= 5 or not self.sounding:
            frame = self._silence(frame)
        return frame


class HlsProbe:
    """Plays the stream as a simulated listener does (bench/hls_load): joins at the live
    edge, starts PART-HOLD-BACK behind it once that part is here, follows with blocking
    reloads while fetching the new parts, rebuffers on a late part. Keeps every part, so
    that each burst found in the decoded audio gets the moment it would be played."""

    def __init__(self, cache_url: str, hls: str):
        self.cache_url, self.hls = cache_url, hls
        self.parts: dict[int, tuple[bytes, float]] = {}  # global part index -> (body, arrival)
        self.play_base: dict[int, float] = {}  # part -> wall time at which media time `start` plays
        self.init = b""
        self.start = 0.0  # media time playback starts at
        self.part_duration = 0.0
        self.per_segment = 4
        self.anchor = math.nan  # media time 0 on time.monotonic()'s clock (EXT-X-PROGRAM-DATE-TIME)
        self.stalls = 0
        self.errors: collections.Counter[str] = collections.Counter()

    async def run(self, stop: asyncio.Event) -> None:
        limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
        async with httpx.AsyncClient(base_url=self.cache_url, timeout=15, limits=limits) as web:
            text = await self._playlist(web, "", stop)
            if text is None:
                return
            self.init = (await web.get(f"{self.hls}/init.mp4")).content
            self.part_duration = float(re.search(r"#EXT-X-PART:DURATION=([\d.]+)", text).group(1))
            extinf = re.search(r"#EXTINF:([\d.]+)", text)
            if extinf:
                self.per_segment = round(float(extinf.group(1)) / self.part_duration)
            hold = re.search(r"PART-HOLD-BACK=([\d.]+)", text)
            hold_back = float(hold.group(1)) if hold else 3 * self.part_duration
            self.anchor = self._anchor(text)
            listed = self._listed(text)
            self.start = (max(listed) + 1) * self.part_duration - hold_back
            first = math.floor(self.start / self.part_duration + 1e-9)
            queue: asyncio.Queue[tuple[int, str] | None] = asyncio.Queue()
            fetcher = asyncio.create_task(self._fetch(web, queue))
            queued = first - 1
            while True:
                for g, uri in sorted(listed.items()):
                    if g > queued:
                        queued = g
                        queue.put_nowait((g, uri))
                if stop.is_set() or "#EXT-X-ENDLIST" in text:
                    break
                msn, index = self._next(text, listed)
                text = await self._playlist(web, f"?_HLS_msn={msn}&_HLS_part={index}", stop)
                if text is None:
                    break
                listed = self._listed(text)
            queue.put_nowait(None)
            await fetcher

    def _anchor(self, text: str) -> float:
        sequence = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1))
        found = re.search(r"#EXT-X-PROGRAM-DATE-TIME:(\S+)", text)
        if found is None:
            return math.nan
        posix = datetime.fromisoformat(found.group(1).replace("Z", "+00:00")).timestamp()
        # the first date is that of the first segment listed
        return posix - sequence * self.per_segment * self.part_duration - (time.time() - time.monotonic())

    def _listed(self, text: str) -> dict[int, str]:
        out = {}
        for line in text.splitlines():
            if line.startswith("#EXT-X-PART:") and (found := PART.search(line)):
                out[int(found.group(1)) * self.per_segment + int(found.group(2))] = found.group(0)
        return out

    def _next(self, text: str, listed: dict[int, str]) -> tuple[int, int]:
        sequence = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1))
        complete = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        found = PART.fullmatch(listed[max(listed)]) if listed else None
        if found is None or int(found.group(1)) < sequence + complete:
            return sequence + complete, 0
        return int(found.group(1)), int(found.group(2)) + 1

    async def _playlist(self, web: httpx.AsyncClient, query: str, stop: asyncio.Event) -> str | None:
        while not stop.is_set():
            try:
                # the query as the generator writes it, so that both share nginx's cache entry
                response = await web.get(f"{self.hls}/audio.m3u8{query}")
                if response.status_code == 200:
                    return response.text
                self.errors[f"playlist {response.status_code}"] += 1
            except httpx.HTTPError as error:
                self.errors[f"playlist {type(error).__name__}"] += 1
            await asyncio.sleep(0.1)
        return None

    async def _fetch(self, web: httpx.AsyncClient, queue: asyncio.Queue) -> None:
        play_start = None
        shift = 0.0
        while (item := await queue.get()) is not None:
            g, uri = item
            for _ in range(4):
                try:
                    response = await web.get(f"{self.hls}/{uri}")
                    if response.status_code == 200:
                        break
                    self.errors[f"part {response.status_code}"] += 1
                except httpx.HTTPError as error:
                    self.errors[f"part {type(error).__name__}"] += 1
                await asyncio.sleep(0.25)
            else:
                self.stalls += 1
                continue
            arrival = time.monotonic()
            self.parts[g] = (response.content, arrival)
            if play_start is None:
                play_start = arrival
            else:
                due = play_start + shift + (g * self.part_duration - self.start)
                if arrival > due:
                    shift += arrival - due
                    self.stalls += 1
            self.play_base[g] = play_start + shift

    def heard(self) -> list[tuple[float, float]]:
        """Each burst start found: the moment (time.monotonic()) it would be played, and the
        moment its media time was due at the origin (EXT-X-PROGRAM-DATE-TIME's clock)."""
        moments = []
        run: list[int] = []
        for g in sorted(self.parts) + [None]:
            if run and (g is None or g != run[-1] + 1):
                moments += self._onsets(run)
                run = []
            if g is not None:
                run.append(g)
        return moments

    def _onsets(self, run: list[int]) -> list[tuple[float, float]]:
        container = av.open(io.BytesIO(self.init + b"".join(self.parts[g][0] for g in run)), format="mp4")
        frames = list(container.decode(audio=0))
        container.close()
        if not frames:
            return []
        rate = frames[0].sample_rate
        first = float(frames[0].pts * frames[0].time_base)
        samples = np.concatenate([f.to_ndarray().astype(np.float32).reshape(-1, f.samples)[0]
                                  for f in frames])
        hop, width = rate // 200, rate // 100  # 5 ms hops of 10 ms windows
        if len(samples) < width:
            return []
        windows = np.lib.stride_tricks.sliding_window_view(samples, width)[::hop]
        window = np.hanning(width)
        band = int(round(BURST_HZ * width / rate))
        level = np.abs(np.fft.rfft(windows * window, axis=1)[:, band]) * 2 / window.sum()
        threshold = max(0.02, 0.3 * float(np.percentile(level, 99)))
        loud = level > threshold
        quiet_hops = 40  # 200 ms of quiet before a burst
        out = []
        for i in np.flatnonzero(loud):
            if i >= quiet_hops and not loud[i - quiet_hops:i].any():
                media = first + (i * hop + width / 2) / rate
                g = math.floor(media / self.part_duration)
                if media >= self.start and g in self.play_base:
                    out.append((self.play_base[g] + media - self.start, self.anchor + media))
        return out


def glass_to_glass(sent: list[float], heard: list[float], span: float = 4.0,
                   tolerance: float = 0.03) -> tuple[list[tuple[float, float]], int]:
    """Pairs each heard burst with the burst that was sent. Beats are 500 ms apart and the
    delay is several beats, so the pattern decides: of the delays that would pair a heard
    burst with some sent one, the one that pairs the most of the bursts heard within `span`
    seconds of it (to `tolerance`) wins, if clearly (more than any delay 0.1 s from it).
    Answers the (sent, heard) pairs, and how many heard bursts no delay clearly won."""
    sent_arr = np.array(sorted(sent))
    heard_arr = np.array(sorted(heard))
    pairs, unclear = [], 0
    if not len(sent_arr):
        return pairs, len(heard_arr)

    def pairs_with(delay: float, near: np.ndarray) -> int:
        wanted = near - delay
        at = np.clip(np.searchsorted(sent_arr, wanted), 1, len(sent_arr) - 1)
        gap = np.minimum(np.abs(sent_arr[at] - wanted), np.abs(sent_arr[at - 1] - wanted))
        return int((gap < tolerance).sum())

    for h in heard_arr:
        near = heard_arr[np.abs(heard_arr - h) <= span]
        scored = sorted(((pairs_with(d, near), d) for d in h - sent_arr[(sent_arr < h) & (sent_arr > h - 8)]),
                        reverse=True)
        if not scored:
            unclear += 1
            continue
        score, delay = scored[0]
        rival = max((n for n, d in scored[1:] if abs(d - delay) > 0.1), default=0)
        if score >= 2 and score > rival:
            pairs.append((float(h - delay), float(h)))
        else:
            unclear += 1
    return pairs, unclear


# ---- the run ----

def shares(total: int, parts: int) -> list[int]:
    """`total` split into `parts` as even as can be."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def merged(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of several generator processes as one: counts summed, highs and p99s the
    highest of them, lows the lowest, medians the median of theirs (close, not exact)."""
    if len(results) == 1:
        return results[0]
    into: dict[str, Any] = {}
    for key, first in results[0].items():
        values = [r[key] for r in results if r.get(key) is not None]
        if key == "event" or not values:
            into[key] = first
        elif isinstance(first, dict):
            into[key] = dict(sum((collections.Counter(v) for v in values), collections.Counter()))
        elif isinstance(first, list):
            into[key] = [item for v in values for item in v][:20]
        elif key.endswith(("_p99_ms", "_max_ms")):
            into[key] = max(values)
        elif key.endswith("_min_ms") or key == "window_s":
            into[key] = min(values)
        elif key.endswith("_p50_ms"):
            into[key] = statistics.median(values)
        else:
            into[key] = sum(values)
    return into


def raise_open_files(wanted: int) -> int:
    """Each generator opens ~2 connections per listener (they are started from here)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = int(Path("/proc/sys/fs/nr_open").read_text()) if Path("/proc/sys/fs/nr_open").exists() else hard
    target = min(max(wanted, soft), ceiling)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, max(target, hard)))
    except (ValueError, OSError):  # not root: as far as the hard limit goes
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def build_generator(where: Path) -> Path:
    """The load generator, built with the machine's Go (Debian's golang-go installed if there
    is none: it needs only the standard library)."""
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if go is None:
        print("installing Go from Debian's packages (golang-go)", file=sys.stderr)
        subprocess.run("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                       "golang-go", shell=True, check=True, capture_output=True)
        go = "/usr/bin/go"
    binary = where / "hls-load"
    subprocess.run([go, "build", "-o", str(binary), "."], cwd=LOAD, check=True,
                   env={**os.environ, "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"})
    return binary


def stream_position(state: Path) -> float:
    """Parts published so far, in segments."""
    data = json.loads(state.read_text())
    return int(data["msn"]) + (int(data["part"]) + 1) / 4


class Bench:
    def __init__(self, where: Path, args: argparse.Namespace):
        self.where, self.args = where, args

    async def run(self, plan: list[int]) -> dict[str, Any]:
        binary = await asyncio.to_thread(build_generator, self.where)
        server = Server(self.where / "data", {"SPACES_MEDIA_CAPACITY": "0", "SPACES_HLS": "always"})
        http = server.start()
        proxy = CountingProxy(int(server.url.rsplit(":", 1)[1]))
        pcs = []
        try:
            with nginx_cache(f"http://127.0.0.1:{proxy.port}", self.where / "nginx") as cache:
                host, guest = register(http, "host"), register(http, "guest")
                space = http.post("/v1/spaces", json={"title": "HLS bench"}, headers=host.auth).json()["id"]
                base = f"/v1/spaces/{space}"
                http.put(f"{base}/speakers/{guest.id}", headers=host.auth)
                assert http.post(f"{base}/launch", headers=host.auth).status_code < 300
                for who in (host, guest):
                    http.post(f"{base}/speakers/{who.id}/unmute", headers=who.auth)
                burst = PatternBurstTrack()
                async with httpx.AsyncClient(base_url=server.url, timeout=20) as web:
                    for who, track in ((host, burst), (guest, ToneTrack(STEADY_HZ, level=0.2))):
                        pc, _, answer = await connect(web, f"{base}/audio/publish", who.token, track)
                        assert answer.status_code == 201, answer.text
                        pcs.append(pc)
                state = self.where / "data" / "hls" / space / "state.json"
                for _ in range(200):  # two whole segments out
                    if state.exists() and stream_position(state) >= 2:
                        break
                    await asyncio.sleep(0.1)
                else:
                    raise RuntimeError("the origin wrote no HLS")
                nginx_pid = int((self.where / "nginx" / "nginx" / "nginx.pid").read_text())
                clock = CpuClock({"origin": server.process.pid, "nginx": nginx_pid})
                idle_before, t0 = clock.read(), time.monotonic()
                await asyncio.sleep(2.0)
                idle = (clock.read()["origin"] - idle_before["origin"]) / (time.monotonic() - t0)
                rows = []
                for listeners in plan:
                    row = await self.row(binary, listeners, cache, f"{base}/hls", server, nginx_pid,
                                         proxy, state, burst)
                    row["origin_cpu_cores_no_listeners"] = round(idle, 3)
                    rows.append(row)
                    self.print_row(row)
                return {"rows": rows}
        finally:
            for pc in pcs:
                await pc.close()
            server.stop()

    async def row(self, binary: Path, listeners: int, cache: str, hls: str, server: Server,
                  nginx_pid: int, proxy: CountingProxy, state: Path, burst: PatternBurstTrack) -> dict:
        args = self.args
        ramp = max(2.0, listeners / 1000)
        settle = 4.0
        measure = args.seconds or (10.0 if args.quick else 30.0)
        raise_open_files(3 * min(listeners, GENERATOR_LISTENERS) + 4096)  # per generator
        stop = asyncio.Event()
        probes = [HlsProbe(cache, hls) for _ in range(args.probes)]

        async def join(probe: HlsProbe, after: float) -> None:
            await asyncio.sleep(after)  # joining at other moments: other distances to the edge
            await probe.run(stop)

        probe_task = asyncio.gather(*(join(p, i * ramp / len(probes)) for i, p in enumerate(probes)))
        log = open(self.where / f"hls-load-{listeners}.log", "w")
        generators = []
        for share in shares(listeners, math.ceil(listeners / GENERATOR_LISTENERS)):
            command = [str(binary), "-base", cache + hls, "-listeners", str(share), "-ramp", str(ramp),
                       "-settle", str(settle), "-measure", str(measure)] + (["-hint"] if args.hint else [])
            generators.append(await asyncio.create_subprocess_exec(
                *command, stdout=asyncio.subprocess.PIPE, stderr=log))
        results: list[dict[str, Any]] = []
        try:
            clock = CpuClock({"origin": server.process.pid, "nginx": nginx_pid,
                              **{f"generator {i}": g.pid for i, g in enumerate(generators)}},
                             alone={"bench": os.getpid()})
            marks: dict[str, Any] = {}
            seen: collections.Counter[str] = collections.Counter()
            messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

            async def relay(generator: asyncio.subprocess.Process) -> None:
                assert generator.stdout is not None
                while line := await generator.stdout.readline():
                    await messages.put(json.loads(line))
                await messages.put({"event": "gone"})

            readers = [asyncio.create_task(relay(g)) for g in generators]
            deadline = time.monotonic() + ramp + settle + measure + 60
            gone = 0
            while gone < len(generators) and len(results) < len(generators):
                message = await asyncio.wait_for(messages.get(), deadline - time.monotonic())
                event = message["event"]
                seen[event] += 1
                # the window: from the last generator's start to the first one's end
                if (event == "measure_start" and seen[event] == len(generators)) or \
                        (event == "measure_end" and seen[event] == 1):
                    marks[event] = (time.monotonic(), clock.read(), proxy.snapshot(),
                                    stream_position(state))
                    if event == "measure_end":
                        stop.set()
                elif event == "result":
                    results.append(message)
                elif event == "gone":
                    gone += 1
            await asyncio.wait_for(asyncio.gather(*(g.wait() for g in generators)), 15)
            for reader in readers:
                reader.cancel()
        finally:
            stop.set()
            for generator in generators:
                if generator.returncode is None:
                    generator.kill()
                    await generator.wait()
            log.close()
            try:
                await asyncio.wait_for(probe_task, 20)
            except TimeoutError:
                probe_task.cancel()
        if len(results) < len(generators) or "measure_start" not in marks or "measure_end" not in marks:
            raise RuntimeError(f"the load generator gave no result: "
                               f"{(self.where / f'hls-load-{listeners}.log').read_text()[-2000:]}")
        result = merged(results)
        (t_start, cpu_start, (targets_start, statuses_start), pos_start) = marks["measure_start"]
        (t_end, cpu_end, (targets_end, statuses_end), pos_end) = marks["measure_end"]
        elapsed = t_end - t_start
        cores = {name: (cpu_end[name] - cpu_start[name]) / elapsed for name in cpu_end}
        cores["generator"] = sum(v for name, v in cores.items() if name.startswith("generator "))
        targets = targets_end - targets_start
        hls_targets = {t: n for t, n in targets.items() if "/hls/" in t}
        statuses = statuses_end - statuses_start
        segments = pos_end - pos_start
        origin_requests = sum(hls_targets.values())
        by_kind = collections.Counter()
        for target, n in hls_targets.items():
            by_kind[kind_of(target)] += n
        delays, to_origin, unclear = [], [], 0
        for probe in probes:
            found = await asyncio.to_thread(probe.heard)  # over the whole row: more to match with
            pairs, missed = glass_to_glass(burst.onsets, [h for h, _ in found])
            pairs = [(s, h) for s, h in pairs if t_start <= h <= t_end]
            packaged = dict(found)  # heard -> due at the origin
            delays += [h - s for s, h in pairs]
            to_origin += [packaged[h] - s for s, h in pairs if not math.isnan(packaged[h])]
            unclear += missed
        delays.sort()
        to_origin.sort()
        to_packaged = statistics.median(to_origin) if to_origin else None

        def everyone(key: str) -> float | None:
            # glass-to-glass of every simulated listener: the speaker -> origin delay the
            # probes measured, plus how far each listener plays behind the origin
            behind = result.get(key)
            return None if behind is None or to_packaged is None else round(to_packaged + behind / 1000, 3)

        return {
            "listeners": listeners,
            "origin_requests_per_segment": round(origin_requests / segments, 2) if segments else None,
            "origin_cpu_cores": round(cores["origin"], 3),
            "nginx_cpu_cores": round(cores["nginx"], 3),
            "generator_cpu_cores": round(cores["generator"], 3),
            "bench_cpu_cores": round(cores["bench"], 3),
            "part_fetch_p99_ms": result["part_fetch_p99_ms"],
            "stalled": result["stalled"],
            "latency_s_p50": round(statistics.median(delays), 3) if delays else None,
            "latency_s_p99": round(p99(delays), 3) if delays else None,
            "webrtc_listeners_same_cpu": round((cores["origin"] + cores["nginx"]) * args.webrtc_per_core),
            # the detail behind those figures
            "window_s": round(elapsed, 2),
            "segments": round(segments, 2),
            "origin_requests": origin_requests,
            "origin_requests_by_kind": dict(by_kind),
            "origin_distinct_urls": len(hls_targets),
            "origin_requests_per_url_max": max(hls_targets.values(), default=0),
            "origin_statuses": dict(statuses),
            "bursts_heard": len(delays),
            "bursts_unmatched": unclear,
            # speaker -> the burst's place on the origin's media timeline (EXT-X-PROGRAM-DATE-TIME):
            # glass-to-glass less the player's distance behind the live edge
            "speaker_to_packaged_s_p50": round(to_packaged, 3) if to_packaged is not None else None,
            "latency_all_listeners_s_p50": everyone("behind_origin_p50_ms"),
            "latency_all_listeners_s_p99": everyone("behind_origin_p99_ms"),
            "latency_all_listeners_s_max": everyone("behind_origin_max_ms"),
            "probes": len(probes),
            "probe_stalls": sum(p.stalls for p in probes),
            "probe_errors": dict(sum((p.errors for p in probes), collections.Counter())),
            "generator": {k: v for k, v in result.items() if k not in ("event",)},
        }

    @staticmethod
    def print_header() -> None:
        print(f"{'listeners':>9}{'origin req/seg':>15}{'origin cores':>13}{'nginx cores':>12}"
              f"{'gen cores':>10}{'part p99 ms':>12}{'stalled':>8}{'g2g p50 s':>10}{'g2g p99 s':>10}"
              f"{'WebRTC same CPU':>16}", flush=True)

    @staticmethod
    def print_row(r: dict) -> None:
        def f(v, spec):
            return format(v, spec) if isinstance(v, (int, float)) else format("-", ">" + spec.split(".")[0])
        print(f"{r['listeners']:>9}{f(r['origin_requests_per_segment'], '15.2f')}"
              f"{r['origin_cpu_cores']:>13.2f}{r['nginx_cpu_cores']:>12.2f}{r['generator_cpu_cores']:>10.2f}"
              f"{f(r['part_fetch_p99_ms'], '12.1f')}{r['stalled']:>8}{f(r['latency_s_p50'], '10.2f')}"
              f"{f(r['latency_s_p99'], '10.2f')}{r['webrtc_listeners_same_cpu']:>16}", flush=True)


def print_details(rows: list[dict]) -> None:
    for r in rows:
        g = r["generator"]
        print(f"  {r['listeners']} listeners: {r['origin_requests']} origin requests in "
              f"{r['segments']:.1f} segments ({r['origin_distinct_urls']} URLs, at most "
              f"{r['origin_requests_per_url_max']} per URL; {r['origin_requests_by_kind']}); "
              f"origin answers {r['origin_statuses']}; origin with no listeners "
              f"{r['origin_cpu_cores_no_listeners']:.2f} cores")
        print(f"    generator: {g['requests_per_second']} requests/s, part fetch p50 "
              f"{g['part_fetch_p50_ms']} ms, max {g['part_fetch_max_ms']} ms; part age at arrival "
              f"p50 {g['part_age_p50_ms']} ms, p99 {g['part_age_p99_ms']} ms; startup p50 "
              f"{g['startup_p50_ms']} ms; stall events {g['stall_events']} "
              f"({g['stall_events_window']} in the window, {g['stalled_in_window']} listeners); "
              f"skipped parts {g['skipped_parts']}; non-200 {g['errors_by_status'] or 'none'}; "
              f"transport errors {g['transport_errors'] or 'none'}; connections peak "
              f"{g['connections_peak_open']}, opened {g['connections_opened']}")
        print(f"    probes ({r['probes']}): {r['bursts_heard']} bursts timed "
              f"({r['bursts_unmatched']} in the row unmatched), "
              f"speaker -> origin's media timeline p50 {r['speaker_to_packaged_s_p50']} s, "
              f"{r['probe_stalls']} stalls, errors {r['probe_errors'] or 'none'}; bench process "
              f"{r['bench_cpu_cores']:.2f} cores")
        for example in (g.get("stall_examples") or [])[:5]:
            print(f"    a stall: {example}")
        print(f"    every listener (that delay + how far each plays behind the origin): glass-to-glass "
              f"p50 {r['latency_all_listeners_s_p50']} s, p99 {r['latency_all_listeners_s_p99']} s, "
              f"max {r['latency_all_listeners_s_max']} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 50 listeners, short")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--listeners", type=lambda s: [int(x) for x in s.split(",")],
                        help="rows of listeners, comma-separated (default 1000,5000,10000)")
    parser.add_argument("--seconds", type=float, help="measurement window per row (default 30; 10 quick)")
    parser.add_argument("--probes", type=int, default=4,
                        help="decoding listeners timing the bursts, joining at moments spread over "
                             "the ramp (where a listener starts depends on how old the cached "
                             "playlist it joined with was)")
    parser.add_argument("--hint", action="store_true",
                        help="listeners also fetch the preload hint at once (hls.js does not)")
    parser.add_argument("--webrtc-per-core", type=float, default=WEBRTC_LISTENERS_PER_CORE,
                        help="WebRTC listeners per core (bench/media.py; README says 347)")
    args = parser.parse_args()
    plan = args.listeners or ([50] if args.quick else [1000, 5000, 10000])
    Bench.print_header()
    with TemporaryDirectory(prefix="bench-hls-") as where:
        figures = asyncio.run(Bench(Path(where), args).run(plan))
    print_details(figures["rows"])
    largest = max(figures["rows"], key=lambda r: r["listeners"])
    figures.update({key: largest[key] for key in ("listeners", "origin_requests_per_segment",
                                                  "stalled", "latency_s_p50", "latency_s_p99")})
    figures["webrtc_listeners_same_cpu"] = largest["webrtc_listeners_same_cpu"]
    figures["webrtc_listeners_per_core"] = args.webrtc_per_core
    print(f"targets: {largest['listeners']} listeners, stalled {largest['stalled']} (0), "
          f"origin requests per segment {largest['origin_requests_per_segment']} (<= 2), "
          f"glass-to-glass p50 {largest['latency_s_p50']} s (<= 2.5 s)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
