"""The media benchmark's smoke run: both ways work end to end and print their figures."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_media_benchmark_runs_both_ways():
    done = subprocess.run([sys.executable, str(ROOT / "bench/media.py"), "--quick"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith(("relay", "mix"))]
    assert [row[0] for row in rows] == ["relay", "mix"]
    for row in rows:
        assert float(row[4]) >= 90.0  # the worst listener got (nearly) every packet
    mix = rows[1]
    assert float(mix[5]) < 150.0  # speaker -> listener median, tone bursts timed end to end
