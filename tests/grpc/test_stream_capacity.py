"""A thousand subscribers on one server: all register in a burst, all receive;
worker wake-ups follow the ready jobs, not the workers; unary calls keep
answering; threads go away after the subscribers do. Bounded: 1,000 streams,
deadlines everywhere."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time

import grpc

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import worker_pb2 as kpb
from torc_grpc._pb import worker_pb2_grpc
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.testing import local_server, run_job, setup, wait_until

N = 1000
DEADLINE = 60.0


def unary_latencies(stubs, wf, count=50):
    out = []
    for _ in range(count):
        t0 = time.perf_counter()
        stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=wf), timeout=5)
        out.append(time.perf_counter() - t0)
    return out


async def subscribe_all(target, requests):
    """Open one stream per request at once (four channels); return the calls
    and their first messages (the acknowledgements)."""
    channels = [grpc.aio.insecure_channel(target) for _ in range(4)]
    stubs = [worker_pb2_grpc.WorkerServiceStub(ch) for ch in channels]
    calls = [stubs[k % 4].WatchReadyJobs(req, timeout=DEADLINE) for k, req in enumerate(requests)]
    firsts = await asyncio.wait_for(asyncio.gather(*(call.read() for call in calls)), DEADLINE)
    return channels, calls, firsts


async def close_all(channels, calls):
    for call in calls:
        call.cancel()
    for ch in channels:
        await ch.close()


def test_thousand_observers_register_in_a_burst_and_all_receive(db_path):
    with local_server(db_path, thread_idle_seconds=1.0) as (running, stubs):
        jobs = [c.JobSpec(name="root", command="x")]
        jobs += [c.JobSpec(name=f"j{i}", command="x", depends_on=["root"]) for i in range(10)]
        wf, ids, run, node = setup(stubs, jobs)
        idle = unary_latencies(stubs, wf)
        base_threads = threading.active_count()
        target = f"127.0.0.1:{running.port}"

        async def scenario():
            request = kpb.WatchReadyJobsRequest(workflow_id=wf)
            channels, calls, firsts = await subscribe_all(target, [request] * N)
            try:
                assert all(list(m.job_ids) == [ids["root"]] for m in firsts)  # all registered
                assert running.engine.notifier.open_streams == N
                loop = asyncio.get_running_loop()
                busy = await loop.run_in_executor(None, unary_latencies, stubs, wf)
                stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(
                    workflow_id=wf, compute_node_id=node, resources=c.Resources(num_cpus=1, memory_bytes=2**30)))
                t0 = time.perf_counter()
                await loop.run_in_executor(None, run_job, stubs, ids["root"], run, node)
                seconds = await asyncio.wait_for(asyncio.gather(*(call.read() for call in calls)), DEADLINE)
                fan_out = time.perf_counter() - t0
                expected = sorted(ids[f"j{i}"] for i in range(10))
                assert all(sorted(m.job_ids) == expected for m in seconds)
                return busy, fan_out
            finally:
                await close_all(channels, calls)

        busy, fan_out = asyncio.run(scenario())
        print(f"\nfan-out to {N} observers: {fan_out * 1000:.0f} ms; unary p50 idle "
              f"{statistics.median(idle) * 1000:.2f} ms, with {N} streams {statistics.median(busy) * 1000:.2f} ms")
        # Normal latency: nothing queued behind the streams (a starved pool would time out at 5 s).
        assert max(busy) < 2.0 and statistics.median(busy) < max(0.05, 10 * statistics.median(idle))
        wait_until(lambda: running.engine.notifier.open_streams == 0, timeout=DEADLINE, what="registrations freed")
        wait_until(lambda: threading.active_count() <= base_threads, timeout=DEADLINE,
                   what=f"threads back to {base_threads} (now {threading.active_count()})")


def test_thousand_waiting_workers_and_ten_new_jobs_wake_about_ten(db_path):
    with local_server(db_path) as (running, stubs):
        jobs = [c.JobSpec(name="root", command="x")]
        jobs += [c.JobSpec(name=f"j{i}", command="x", depends_on=["root"]) for i in range(10)]
        wf, ids, run, node = setup(stubs, jobs)
        one_cpu = c.Resources(num_cpus=1, memory_bytes=2**30, num_nodes=1)
        nodes = [stubs.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(
            workflow_id=wf, hostname=f"n{k}", resources=one_cpu)).compute_node_id for k in range(N)]
        stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node, resources=one_cpu))
        notifier = running.engine.notifier
        target = f"127.0.0.1:{running.port}"

        async def scenario():
            requests = [kpb.WatchReadyJobsRequest(workflow_id=wf, compute_node_id=n) for n in nodes]
            channels, calls, firsts = await subscribe_all(target, requests)
            try:
                assert not any(m.job_ids for m in firsts)
                before = notifier.worker_wakeups
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(None, run_job, stubs, ids["root"], run, node)
                told: dict[int, list[int]] = {}
                pending = {asyncio.ensure_future(call.read()): k for k, call in enumerate(calls)}
                deadline = time.monotonic() + DEADLINE
                while sum(len(v) for v in told.values()) < 10:
                    done, _ = await asyncio.wait(pending, timeout=max(0.0, deadline - time.monotonic()),
                                                 return_when=asyncio.FIRST_COMPLETED)
                    assert done, "the 10 new jobs did not reach waiting workers in time"
                    for fut in done:
                        told[pending.pop(fut)] = list(fut.result().job_ids)
                for fut in pending:
                    fut.cancel()
                return before, told
            finally:
                await close_all(channels, calls)

        before, told = asyncio.run(scenario())
        assert notifier.worker_wakeups - before == 10  # offered to 10 of 1,000 waiting workers
        assert len(told) == 10 and all(len(v) == 1 for v in told.values())
        assert sorted(j for v in told.values() for j in v) == sorted(ids[f"j{i}"] for i in range(10))
        wait_until(lambda: notifier.open_streams == 0, timeout=DEADLINE, what="registrations freed")
