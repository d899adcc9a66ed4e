"""Diagnostics through real CLI processes (issue 17): a spec whose jobs can
never run is warned about at submit, and a run that cannot go on says which
jobs and which resource."""

from __future__ import annotations

from torc_grpc.testing import local_server

from .test_cli import cli

SPEC = """name: big
resource_requirements:
  - {name: huge, memory: 5000g}
  - {name: wide, num_nodes: 4}
  - {name: long, runtime: PT2H}
jobs:
  - {name: small, command: "true"}
  - {name: h1, command: "true", resource_requirements: huge}
  - {name: h2, command: "true", resource_requirements: huge}
  - {name: w1, command: "true", resource_requirements: wide}
  - {name: l1, command: "true", resource_requirements: long}
"""


def test_run_warns_before_and_names_the_stuck_jobs_and_what_is_short(tmp_path):
    (tmp_path / "big.yaml").write_text(SPEC)
    done = cli("run", "big.yaml", "--cpus", "2", "--memory", "2g", "--time-limit", "600", cwd=tmp_path)
    assert done.returncode == 1
    warnings = [x for x in done.stderr.splitlines() if "warning" in x]
    assert len(warnings) == 3
    assert "2 jobs (h1, h2) need 4.9 TiB of memory (resource set 'huge'); this machine offers 2.0 GiB" in warnings[0]
    assert "1 job (w1) needs 4 nodes" in warnings[1] and "1 job (l1) needs a runtime of PT2H" in warnings[2]
    stuck = [x for x in done.stdout.splitlines() if x.startswith("stuck:")]
    assert [x.split(" (")[0] for x in stuck] == ["stuck: 2 jobs", "stuck: 1 job", "stuck: 1 job"]
    assert "small: " not in done.stdout  # it ran


def test_submit_warns_about_needs_no_node_has_and_still_submits(tmp_path):
    (tmp_path / "big.yaml").write_text(SPEC)
    with local_server(str(tmp_path / "s.db")) as (running, _stubs):
        done = cli("submit", "big.yaml", "--server", f"127.0.0.1:{running.port}", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip().isdigit()
    (line,) = [x for x in done.stderr.splitlines() if "warning" in x]
    assert "2 jobs (h1, h2) need 4.9 TiB of memory" in line and "no single node offers 4.0 TiB" in line
