"""Smoke runs of the benchmarks: every way they compare works end to end and prints figures."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_media_benchmark_runs_every_way(tmp_path):
    figures = tmp_path / "media.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench/media.py"), "--quick", "--json", str(figures)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("machine: ")  # the machine's other load, said first
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith(("relay", "tasks", "batched"))]
    assert [row[0] for row in rows] == ["relay", "tasks", "batched"]
    measured = json.loads(figures.read_text())
    assert [r["way"] for r in measured["rows"]] == ["relay", "tasks", "batched"]
    for row in measured["rows"]:
        assert set(row) == {"way", "listeners", "listeners_per_core", "worst_listener_share",
                            "p50_ms", "p99_ms"}, row
        assert row["worst_listener_share"] >= 0.9  # the worst listener got (nearly) every packet
    for mix in measured["rows"][1:]:
        assert mix["p50_ms"] < 150.0  # speaker -> listener median, tone bursts timed end to end
    for detail in measured["details"]:  # the generator's CPU apart from the node's
        assert detail["node_cores"] > 0 and detail["generator_cores"] > 0
    assert "join_500_s" in measured  # null here: the quick storm is smaller
    storm = measured["join_storm"]
    assert storm["listeners"] == 20 and storm["all_heard"] and storm["seconds"] < 10.0, storm


def test_the_commands_benchmark_measures_every_write_path(servers):
    done = subprocess.run([sys.executable, str(ROOT / "bench/commands.py"), "--seconds", "1",
                           "--people", "10", "--spaces", "10"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("(")]
    assert len(rows) == 4, done.stdout
    for row in rows:
        figures = row[46:].split()
        assert float(figures[0]) > 0 and figures[3] == "0", row  # commands/s, errors


def test_the_transcripts_benchmark_reports_word_error_rate_and_cost(tmp_path):
    figures = tmp_path / "transcripts.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench/transcripts.py"), "--quick",
                           "--json", str(figures)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "word error rate" in done.stdout and "real-time factor" in done.stdout
    found = json.loads(figures.read_text())
    assert found["wer_words"] > 0 and found["wer"] >= 0 and found["wer_without_lead"] >= 0
    assert found["rtf_1_speakers"] > 0


def test_the_nodes_benchmark_compares_a_fleet_with_one_node_and_times_failovers(servers, tmp_path):
    figures = tmp_path / "nodes.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench/nodes.py"), "--quick",
                           "--json", str(figures)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    measured = json.loads(figures.read_text())
    for key in ("listeners_per_core", "edge_hop_ms_p50", "edge_failover_s", "origin_failover_s",
                "all_heard"):
        assert key in measured, measured
    assert measured["edge_failover_s"] != float("inf") and measured["origin_failover_s"] != float("inf")


def test_the_hls_benchmark_plays_simulated_listeners_through_the_cache(tmp_path):
    figures = tmp_path / "hls.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench/hls.py"), "--quick",
                           "--json", str(figures)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "origin req/seg" in done.stdout and "g2g p50 s" in done.stdout
    measured = json.loads(figures.read_text())
    for key in ("listeners", "origin_requests_per_segment", "stalled", "latency_s_p50",
                "webrtc_listeners_same_cpu"):
        assert key in measured, measured
    row = measured["rows"][0]
    assert row["generator"]["joined"] == row["listeners"] == measured["listeners"] == 50
    assert row["origin_requests_per_url_max"] <= 2  # nginx collapsed the listeners' requests
    assert 0 < measured["origin_requests_per_segment"] and measured["stalled"] <= 50
    assert 0.5 < measured["latency_s_p50"] < 6.0  # a burst's start, speaker -> decoded HLS


def test_the_loss_benchmark_compares_recovery_with_none(tmp_path):
    figures = tmp_path / "loss.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench/loss.py"), "--quick", "--json", str(figures)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = json.loads(figures.read_text())["rows"]
    assert {(r["loss_pct"], r["recovery"]) for r in rows} == {(0, True), (0, False), (10, True), (10, False)}
    for row in rows:
        assert set(row) >= {"loss_pct", "recovery", "concealed_pct", "added_p50_ms"} and row["frames"] > 100


def test_the_reads_benchmark_reads_every_row_both_ways(servers, tmp_path):
    figures = tmp_path / "reads.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench/reads.py"), "--quick",
                           "--json", str(figures)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith(
        ("feed", "heavy", "listing", "space"))]
    assert len(rows) == 8, done.stdout  # four rows, the join and now
    assert all(row[-1] == "0" for row in rows), done.stdout  # no errors
    measured = json.loads(figures.read_text())
    for key in ("feed_reads_per_s", "feed_p99_ms", "heavy_feed_p99_ms", "listing_reads_per_s",
                "celebrity_visible_max_s", "rebuild_events_per_s", "workers_speedup"):
        assert key in measured, measured
    assert measured["celebrity_visible_max_s"] != float("inf")  # every sampled feed showed it
    assert measured["workers_speedup"] > 0  # both worker runs applied every message


def test_the_notify_benchmark_fans_a_launch_out_with_one_worker_and_with_two(servers, tmp_path):
    figures = tmp_path / "notify.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench/notify.py"), "--quick",
                           "--json", str(figures)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    measured = json.loads(figures.read_text())
    for key in ("fanout_seconds_1m", "fanout_per_s", "workers_speedup", "command_slowdown",
                "notification_reads_per_s", "notification_p99_ms"):
        assert key in measured, measured
    assert measured["fanout_per_s"] > 0 and measured["workers_speedup"] > 0
