"""Figure 1: CompleteJob against a no-op RPC under the same client load, and its anatomy."""

from __future__ import annotations

import os
import statistics
import time

from harness import Figure, Server, client_load, make_workflow

from torc_grpc._pb import common_pb2 as c


def f1_noop_vs_complete(tmp: str, size: dict) -> list[Figure]:
    procs, threads, seconds, rounds = size["procs"], size["threads"], size["seconds"], size["f1_rounds"]
    server = Server(tmp, "f1")
    try:
        jobs = [c.JobSpec(name=f"j{i}", command="true") for i in range(size["f1_jobs"])]
        _wf, run, ids = server.workflow(jobs)
        # Alternate Ping and CompleteJob rounds, so that the shared machine's
        # drift falls on both sides of each ratio; each round uses fresh jobs.
        pings, completes = [], []
        per_round = len(ids) // rounds
        for r in range(rounds):
            pings.append(client_load(server.target, "ping", run, [], procs, threads, seconds)[0])
            mine = ids[r * per_round:(r + 1) * per_round]
            completes.append(client_load(server.target, "complete", run, mine, procs, threads, seconds)[0])
    finally:
        server.close()
    ratios = sorted(cj / p for p, cj in zip(pings, completes))
    ratio = statistics.median(ratios)
    spread = f", rounds {ratios[0]:.2f}-{ratios[-1]:.2f}" if rounds > 1 else ""
    figure = Figure(
        "no-op RPC ceiling vs CompleteJob",
        f"{ratio:.2f} ({statistics.median(completes):.0f} vs {statistics.median(pings):.0f} calls/s{spread})",
        ">= 0.7", "Torc: 2,000 completions/s", ratio >= 0.7,
        f"{procs} client processes x {threads} threads, {rounds} alternating rounds of {seconds:g} s of Ping and of "
        "CompleteJob on pre-claimed jobs; same server; median ratio",
        {"ping_per_s": pings, "complete_per_s": completes, "ratios": ratios})
    return [figure, f1_anatomy(tmp, size)]


def _busy_answer(job, micros: float):
    """A CompleteJob that only burns `micros` of this thread's CPU in Python."""
    def complete_job(_completion):
        until = time.thread_time() + micros / 1e6
        while time.thread_time() < until:
            pass
        return job
    return complete_job


def _durable_floor(engine, job, rows: int):
    """A CompleteJob that only takes the write lock and commits a transaction
    of `rows` event inserts (0: an empty one): the floor of any completion
    that is durable before it answers, one transaction a call."""
    from torc_core.store.events import INSERT_EVENT  # noqa: PLC0415

    core = engine._completer._core  # noqa: SLF001 (a calibration case, not an API)

    def complete_job(_completion):
        with core.write_lock:
            conn = core.writer
            conn.execute("BEGIN IMMEDIATE")
            for _ in range(rows):
                conn.execute(INSERT_EVENT, (job.workflow_id, 0, "bench_floor", 0, "{}"))
            conn.execute("COMMIT")
        return job
    return complete_job


def _statements_only(engine, job, run: int):
    """A CompleteJob that runs the real completion's statements (job state,
    result, event, status; the answer's job row) with fixed values and no
    logic, in one transaction a call: what SQLite and apsw cost by themselves."""
    from torc_core.store.events import INSERT_EVENT  # noqa: PLC0415
    from torc_core.store.job_status import COMPLETE_JOB  # noqa: PLC0415
    from torc_core.store.jobs import JOB_STATE, JOBS_BY_IDS  # noqa: PLC0415
    from torc_core.store.results import INSERT_RESULT  # noqa: PLC0415

    core = engine._completer._core  # noqa: SLF001 (a calibration case, not an API)
    answer_row = JOBS_BY_IDS.format("?")

    def complete_job(completion):
        with core.write_lock:
            conn = core.writer
            conn.execute("BEGIN IMMEDIATE")
            state = conn.execute(JOB_STATE, (completion.job_id,)).fetchall()[0]
            conn.execute(INSERT_RESULT, (state[1], completion.job_id, run, state[3], 0, 0, 0.0,
                                         "2026-12-01T00:00:00.000Z", c.JOB_STATUS_COMPLETED, 0, 0, 0.0, 0.0, "", "[]"))
            conn.execute(INSERT_EVENT, (state[1], 0, "job_completed", 1,
                                        '{"job_id":1,"job_name":"j1","return_code":0,"status":3}'))
            conn.execute(COMPLETE_JOB, (c.JOB_STATUS_COMPLETED, 1, completion.job_id))
            conn.execute(answer_row, (completion.job_id,)).fetchall()
            conn.execute("COMMIT")
        return job
    return complete_job


def f1_anatomy(tmp: str, size: dict) -> Figure:
    """Why CompleteJob sits where it does against Ping: the same client load
    against handlers of known cost in one in-process server (this process
    serves; the clients are separate processes), with the server's CPU and
    context switches per call (getrusage covers every thread)."""
    import resource  # noqa: PLC0415

    from torc_grpc.testing import local_server  # noqa: PLC0415

    procs, threads, seconds = size["procs"], size["threads"], size["seconds"]
    with local_server(os.path.join(tmp, "anatomy.db")) as (running, stubs):
        engine = running.engine
        _wf, run, ids = make_workflow(stubs, [c.JobSpec(name=f"j{i}", command="true")
                                              for i in range(size["f1_jobs"] // 2)])
        sample_job = engine.job_brief(ids[-1])
        real = engine.complete_job
        target = f"127.0.0.1:{running.port}"
        cases = [("Ping", "ping", None), ("CompleteJob answered at once (gRPC + conversion)", "complete",
                                          lambda _c: sample_job),
                 ("CompleteJob burning 70 us of Python", "complete", _busy_answer(sample_job, 70)),
                 ("CompleteJob burning 150 us of Python", "complete", _busy_answer(sample_job, 150)),
                 ("CompleteJob committing an empty transaction a call", "complete",
                  _durable_floor(engine, sample_job, 0)),
                 ("CompleteJob committing one event row a call", "complete", _durable_floor(engine, sample_job, 1)),
                 ("CompleteJob's statements alone, one transaction a call", "statements",
                  _statements_only(engine, sample_job, run)),
                 ("CompleteJob (the real one)", "complete", real)]
        rows = []
        for name, kind, handler in cases:
            engine.complete_job = handler or real
            before, cpu0 = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
            # The real one completes jobs from the front, the statements alone from the back half.
            mine = ids if handler is real else ids[len(ids) // 2:] if kind == "statements" else ids[:1] * 100_000
            per_s, _ = client_load(target, "ping" if kind == "ping" else "complete", run, mine, procs, threads,
                                   seconds)
            after, cpu1 = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
            calls = per_s * seconds
            switches = (after.ru_nvcsw + after.ru_nivcsw - before.ru_nvcsw - before.ru_nivcsw) / max(calls, 1)
            rows.append({"case": name, "calls_per_s": per_s, "server_cpu_us": (cpu1 - cpu0) / max(calls, 1) * 1e6,
                         "switches_per_call": switches})
        engine.complete_job = real
        # The engine's own CPU per completion, single-threaded, no gRPC:
        # batches of 8 (a typical group commit under the load above), the
        # unblocker included.
        from torc_core.models import Completion  # noqa: PLC0415

        rest = []
        for j in reversed(ids):  # the clients took their jobs from the front
            if len(rest) == 4000:
                break
            if engine.job_brief(j).status == c.JOB_STATUS_PENDING:
                rest.append(Completion(j, c.JOB_STATUS_COMPLETED, run))
        engine.unblocker.flush(60)
        cpu0 = time.process_time()
        for k in range(0, len(rest), 8):
            engine._completer.group_commit(rest[k:k + 8], answer=True)
        engine.unblocker.flush(60)
        engine_us = (time.process_time() - cpu0) / max(len(rest), 1) * 1e6
    ping = rows[0]["calls_per_s"]
    for row in rows:
        row["ratio"] = row["calls_per_s"] / ping
    value = "; ".join(f"{r['case']}: {r['ratio']:.2f} ({r['server_cpu_us']:.0f} us server CPU, "
                      f"{r['switches_per_call']:.0f} switches a call)" for r in rows)
    return Figure(
        "CompleteJob anatomy (why figure 1 sits where it does)",
        f"{value}; the engine alone: {engine_us:.0f} us CPU a completion", "(explains figure 1)", "", None,
        f"one in-process server, {procs} client processes x {threads} threads, {seconds:g} s a case: handlers of "
        "known cost in place of Engine.complete_job; server CPU and context switches per call from getrusage; "
        "the engine alone: 4,000 completions in group commits of 8, unblocker included, no gRPC",
        {"cases": rows, "engine_us_per_completion": engine_us})
