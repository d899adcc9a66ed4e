"""The benchmark runner in its tiny mode, so that bench/ cannot rot (its
numbers mean nothing at these sizes; bench/RESULTS.md holds the real ones)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_runner_tiny_mode_measures_every_figure(tmp_path):
    done = subprocess.run([sys.executable, str(BENCH / "run.py"), "--mode", "tiny", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=280, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    (result,) = tmp_path.glob("*-tiny.json")
    data = json.loads(result.read_text())
    assert {"python", "grpcio", "apsw", "sqlite", "cython", "commit", "kernels"} <= set(data["environment"])
    keys = {f["key"] for f in data["figures"]}
    assert keys == {"f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8"}
    assert all(f["value"] and f["target"] and f["how"] for f in data["figures"])
    shares = next(f for f in data["figures"] if f["name"] == "end to end: server CPU by part")
    assert abs(sum(shares["details"]["shares"].values()) - 1.0) < 1e-6 and shares["details"]["top"]
    assert "| figure | measured | target |" in done.stdout
