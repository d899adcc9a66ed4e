"""job_to_pb (every claim converts each job it answers): its message equals
one built with every field spelled out, on random jobs; the shared
resource-requirements messages are copied, never changed by a caller."""

from __future__ import annotations

import random

from torc_core.models import Job, JobStatus, ResourceRequirements
from torc_grpc._pb import common_pb2 as c_pb
from torc_grpc.convert import records
from torc_grpc.convert.records import job_to_pb


def _reference(j: Job) -> c_pb.Job:
    rr = j.resource_requirements
    pb = c_pb.Job(
        id=j.id, workflow_id=j.workflow_id, name=j.name, command=j.command, status=int(j.status),
        attempt_id=j.attempt_id,
        resource_requirements=c_pb.ResourceRequirements(
            id=rr.id, name=rr.name, memory=rr.memory, runtime=rr.runtime,
            resources=c_pb.Resources(num_cpus=rr.num_cpus, memory_bytes=rr.memory_bytes, num_gpus=rr.num_gpus,
                                     num_nodes=rr.num_nodes, time_limit_seconds=float(rr.runtime_seconds))),
        cancel_on_blocking_job_failure=j.cancel_on_blocking_job_failure,
        supports_termination=j.supports_termination, priority=j.priority, label=j.label, env=j.env,
        invocation_script=j.invocation_script, failure_handler_id=j.failure_handler_id,
        compute_node_id=j.compute_node_id, depends_on_job_ids=j.depends_on_job_ids,
        input_file_ids=j.input_file_ids, output_file_ids=j.output_file_ids,
        output_file_paths=j.output_file_paths, input_user_data_ids=j.input_user_data_ids,
        output_user_data_ids=j.output_user_data_ids)
    if j.scheduler_id is not None:
        pb.scheduler_id = j.scheduler_id
    return pb


def _random_job(rng: random.Random, sets: list[ResourceRequirements]) -> Job:
    def ids() -> tuple[int, ...]:
        return tuple(rng.randrange(1, 10**6) for _ in range(rng.choice((0, 0, 1, 3))))

    return Job(
        id=rng.randrange(1, 10**9), workflow_id=rng.randrange(1, 100), name=f"j{rng.randrange(10**6)}",
        command=rng.choice(("true", "echo ü", "")), status=rng.choice(list(JobStatus)),
        attempt_id=rng.randrange(1, 5), resource_requirements=rng.choice(sets),
        cancel_on_blocking_job_failure=rng.random() < 0.5, supports_termination=rng.random() < 0.5,
        priority=rng.randrange(-5, 5), label=rng.choice(("", "gpu")),
        env=rng.choice(({}, {"A": "1"}, {"B": "x", "C": ""})),
        scheduler_id=rng.choice((None, 0, 7)), invocation_script=rng.choice(("", "module load x &&")),
        failure_handler_id=rng.randrange(0, 3), compute_node_id=rng.randrange(0, 3),
        depends_on_job_ids=ids(), input_file_ids=ids(), output_file_ids=ids(),
        input_user_data_ids=ids(), output_user_data_ids=ids(),
        output_file_paths=tuple(f"/o/{k}" for k in range(rng.choice((0, 2)))))


def test_job_to_pb_equals_every_field_spelled_out_on_random_jobs():
    rng = random.Random(16)
    sets = [ResourceRequirements(id=k, name=f"rr{k}", memory=f"{k}g", runtime="PT1H", num_cpus=k,
                                 num_gpus=k % 2, num_nodes=1, memory_bytes=k * 2**30, runtime_seconds=3600 * k)
            for k in range(1, 6)]
    for _ in range(2000):
        job = _random_job(rng, sets)
        assert job_to_pb(job) == _reference(job), job


def test_the_shared_resource_messages_are_copied_into_each_job():
    rr = ResourceRequirements(id=1, name="small", memory="1g", runtime="PT1M", num_cpus=1, num_gpus=0,
                              num_nodes=1, memory_bytes=2**30, runtime_seconds=60)
    job = _random_job(random.Random(1), [rr])
    first = job_to_pb(job)
    first.resource_requirements.resources.num_cpus = 99  # a caller changing its answer
    again = job_to_pb(job)
    assert again.resource_requirements.resources.num_cpus == 1 == records._rr_pb(rr).resources.num_cpus
    records._RR_PB.clear()
    for k in range(records._RR_PB_MAX + 10):  # bounded: a workflow with many sets never grows it past the cap
        records._rr_pb(ResourceRequirements(id=k, name="r", memory="", runtime="", num_cpus=1, num_gpus=0,
                                            num_nodes=1, memory_bytes=0, runtime_seconds=0))
    assert len(records._RR_PB) <= records._RR_PB_MAX
