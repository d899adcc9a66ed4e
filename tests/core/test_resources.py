"""One resource rule everywhere (torc_core.resources): the same multi-node
mix through the compiled ready index, its twin, the engine's claim and what
it says the node can still take, the notifier's offer heuristic, and the
worker's free capacity. Torc's packing: a multi-node job takes its CPUs,
memory and GPUs *and* its nodes; single-node jobs never count nodes.

Node: 8 CPUs, 64 GiB, 4 nodes. Ready: three 2-node jobs of 3 CPUs / 8 GiB
and four 1-node jobs of 1 CPU / 1 GiB. Torc packs two 2-node jobs (nodes
4 -> 0, CPUs 8 -> 2), then two 1-node jobs (CPUs 2 -> 0): 2 + 2, leaving
46 GiB. (Counting only nodes for multi-node jobs would give 2 + 4.)
"""

from __future__ import annotations

import pytest

from torc_core import _ready, _reference
from torc_core.engine import Engine
from torc_core.engine.claims import ClaimSpec, SchedulerMode
from torc_core.models import (
    NO_SCHEDULER,
    ClaimRequest,
    JobSpec,
    ResourceRequirementsSpec,
    Resources,
    WorkflowSpec,
)
from torc_core.notifier import Shape
from torc_core.resources import Capacity
from torc_grpc._pb import common_pb2
from torc_grpc.worker import WorkerConfig
from torc_grpc.worker.processes import Processes, RunningJob

GiB = 1024**3
NODE = Capacity(8, 64 * GiB, 0, 4)
WIDE = Capacity(3, 8 * GiB, 0, 2)
SMALL = Capacity(1, 1 * GiB, 0, 1)
LEFT = Capacity(0, 46 * GiB, 0, 0)


def test_the_rule_itself():
    assert NODE.fits(WIDE) and not Capacity(8, 64 * GiB, 0, 1).fits(WIDE)
    assert Capacity(1, GiB, 0, 0).fits(SMALL)  # single-node jobs never count nodes
    assert NODE.minus(WIDE, 2) == Capacity(2, 48 * GiB, 0, 0)
    assert NODE.minus(WIDE).plus(WIDE) == NODE
    assert NODE.room_for(WIDE, 10) == 2 and NODE.minus(WIDE, 2).room_for(SMALL, 10) == 2


@pytest.mark.parametrize("impl", [_ready.ReadyIndex, _reference.ReadyIndex], ids=["compiled", "reference"])
def test_ready_index(impl):
    index = impl(7)
    wide = index.define_class(0, 0, NO_SCHEDULER, *WIDE, 60)
    small = index.define_class(0, 0, NO_SCHEDULER, *SMALL, 60)
    index.add([0, 1, 2, 3, 4, 5, 6], [wide, wide, wide, small, small, small, small])
    got = index.claim(*NODE, 0.0, 0, 0, 0, NO_SCHEDULER, 0)
    assert got == [0, 1, 3, 4]


def test_engine_claim_and_what_the_node_can_still_take(tmp_path):
    engine = Engine(str(tmp_path / "r.db"))
    try:
        sets = (ResourceRequirementsSpec(name="wide", num_cpus=3, num_nodes=2, memory="8g"),
                ResourceRequirementsSpec(name="small", num_cpus=1, num_nodes=1, memory="1g"))
        jobs = [JobSpec(name=f"w{i}", command="x", resource_requirements="wide") for i in range(3)]
        jobs += [JobSpec(name=f"s{i}", command="x", resource_requirements="small") for i in range(4)]
        wf, ids = engine.create_workflow(WorkflowSpec(name="mix", resource_requirements=sets,
                                                      jobs=tuple(jobs)))
        engine.start_workflow(wf.id)
        outcome = engine.claim_jobs(ClaimRequest(workflow_id=wf.id, resources=Resources(*NODE, 0.0)))
        assert sorted(j.name for j in outcome.jobs) == ["s0", "s1", "w0", "w1"]
        spec = ClaimSpec(NODE, 0.0, 0, None, "", NO_SCHEDULER, SchedulerMode.MATCH)
        shape = spec.still_free(outcome.jobs)
        assert Capacity(shape.num_cpus, shape.memory_bytes, shape.num_gpus, shape.num_nodes) == LEFT
    finally:
        engine.close()


def test_notifier_offer():
    demand = {("", *WIDE, 60): [1, 2, 3], ("", *SMALL, 60): [4, 5, 6, 7]}
    taken = Shape(*NODE, 0.0).absorb(demand)
    assert len([j for j in taken if j <= 3]) == 2 and len([j for j in taken if j > 3]) == 2


def test_worker_free_capacity():
    config = WorkerConfig(target="", workflow_id=1, num_cpus=NODE.num_cpus,
                          memory_bytes=NODE.memory_bytes, num_gpus=0, num_nodes=NODE.num_nodes,
                          end_time=0.0)
    processes = Processes(config, None)
    for k, need in enumerate((WIDE, WIDE, SMALL, SMALL)):
        job = common_pb2.Job(id=k)
        job.resource_requirements.resources.CopyFrom(common_pb2.Resources(
            num_cpus=need.num_cpus, memory_bytes=need.memory_bytes, num_gpus=need.num_gpus,
            num_nodes=need.num_nodes))
        processes.running[k] = RunningJob(job=job, proc=None, started=0.0, stderr_path="")
    assert processes.free() == LEFT
