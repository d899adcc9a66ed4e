"""Live progress (issue 17): `run` on a terminal (a real pseudo-terminal)
redraws a bar in place with elapsed time, rate and ETA while the jobs run;
on a pipe it prints plain lines with the same figures."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

from .test_cli import cli

SPEC = "name: slow\njobs:\n" + "".join(f"  - {{name: j{i}, command: 'sleep 0.15'}}\n" for i in range(24))


def _read_all(fd: int, proc: subprocess.Popen, timeout: float) -> bytes:
    out, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    return out


def test_run_on_a_terminal_redraws_a_bar_with_rate_and_eta(tmp_path):
    (tmp_path / "slow.yaml").write_text(SPEC)
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "torc_grpc.cli", "run", "slow.yaml", "--cpus", "2"],
                            cwd=tmp_path, stdout=slave, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    try:
        text = _read_all(master, proc, 120).decode(errors="replace")
    finally:
        os.close(master)
    assert proc.wait(60) == 0, text
    frames = text.split("\r")
    assert len(frames) > 3, text  # redrawn in place, not one line at the end
    assert "24/24" in text and "job/s" in text and "<" in text  # elapsed<remaining, rate
    assert any("/24 [" in f and "?" not in f.split("[", 1)[1][:12] for f in frames)  # an ETA was shown
    assert "complete" in text


def test_run_on_a_pipe_prints_plain_lines_with_rate(tmp_path):
    (tmp_path / "slow.yaml").write_text(SPEC)
    done = cli("run", "slow.yaml", "--cpus", "2", cwd=tmp_path)
    assert done.returncode == 0
    lines = [x for x in done.stdout.splitlines() if x.startswith("[")]
    assert "\r" not in done.stdout and lines[-1].startswith("[####") and "24/24 done" in lines[-1]
    assert "jobs/s)" in lines[-1]
