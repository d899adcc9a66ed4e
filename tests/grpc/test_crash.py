"""The server killed with SIGKILL again and again while real worker processes
run a workflow: every acknowledged change survives, every job runs and
completes exactly once."""

from __future__ import annotations

import os
import random
import signal
from collections import Counter

import apsw

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.testing import Stubs, integrity_ok, spawn_server, spawn_worker, wait_until

JOBS = 2000
KILLS = 20


def layered_workflow(log, rng) -> list:
    """20 layers of 100 jobs; each job after two jobs of the layer before."""
    jobs = []
    for layer in range(JOBS // 100):
        for k in range(100):
            deps = [] if layer == 0 else sorted({f"j{layer - 1}_{rng.randrange(100)}" for _ in range(2)})
            jobs.append(c.JobSpec(name=f"j{layer}_{k}", command=f"echo $TORC_JOB_ID >> {log}", depends_on=deps))
    return jobs


def completed(stubs, wf) -> int:
    status = stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=wf), timeout=10)
    return next(n.count for n in status.counts if n.status == c.JOB_STATUS_COMPLETED)


def test_sigkill_twenty_times_loses_nothing_and_runs_each_job_once(tmp_path):
    rng = random.Random(20261123)
    db, log = str(tmp_path / "crash.db"), tmp_path / "exec.log"
    server, port = spawn_server(db, tmp_path / "server-0.log")
    target = f"127.0.0.1:{port}"
    stubs = Stubs.connect(target)
    workers = []
    try:
        resp = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(
            spec=c.WorkflowSpec(name="crash", jobs=layered_workflow(log, rng))), timeout=60)
        wf, ids = resp.workflow.id, dict(resp.job_ids)
        stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf), timeout=60)
        workers = [spawn_worker(target, wf, tmp_path / f"w{k}", "--cpus", "4", "--memory", "4g")
                   for k in range(3)]
        done_at_kill = []
        for kill in range(KILLS):
            # A random moment: after a random amount of progress since the last restart.
            goal = min(JOBS - 1, completed(stubs, wf) + rng.randint(5, 60))
            reached = wait_until(lambda: completed(stubs, wf) >= goal or server.poll() is not None,
                                 timeout=120, interval=rng.uniform(0.001, 0.02), what=f"progress to {goal}")
            assert reached and server.poll() is None, "the server died by itself"
            server.send_signal(signal.SIGKILL)
            server.wait(30)
            done_at_kill.append(goal)
            server, _ = spawn_server(db, tmp_path / f"server-{kill + 1}.log", "--port", str(port))
        for w in workers:
            assert w.wait(300) == 0, (tmp_path / "w0" / "worker.log").read_text()[-3000:]
        assert completed(stubs, wf) == JOBS
    finally:
        stubs.channel.close()
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGKILL)
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    assert len(done_at_kill) == KILLS and done_at_kill[-1] < JOBS  # every kill hit a running workflow
    # Every job ran exactly once (no duplicates), and everything acknowledged is there (no losses).
    with open(log) as f:
        runs = Counter(int(x) for x in f.read().split())
    assert runs == Counter({j: 1 for j in ids.values()})
    conn = apsw.Connection(db, flags=apsw.SQLITE_OPEN_READONLY)
    try:
        statuses = Counter(s for (s,) in conn.execute("SELECT status FROM job WHERE workflow_id = ?", (wf,)))
        per_job = Counter(j for (j,) in conn.execute("SELECT job_id FROM result WHERE workflow_id = ?", (wf,)))
    finally:
        conn.close()
    assert statuses == Counter({c.JOB_STATUS_COMPLETED: JOBS})
    assert per_job == Counter({j: 1 for j in ids.values()})  # one result per job and run
    assert integrity_ok(db)
    print(f"\n{KILLS} SIGKILLs (after >= {done_at_kill} completed jobs), {JOBS} jobs: "
          f"0 lost, 0 run twice, 0 duplicate results")
