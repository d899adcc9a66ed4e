"""Why jobs cannot run, named: needs against an offer (torc_core.diagnose)."""

from __future__ import annotations

from torc_core.diagnose import SANE_NODE, JobNeed, shortfalls, spec_needs
from torc_core.models import JobSpec, ResourceRequirementsSpec, WorkflowSpec
from torc_core.resources import Capacity

GIB = 1024**3
NODE = Capacity(num_cpus=8, memory_bytes=32 * GIB, num_gpus=1, num_nodes=1)


def test_each_resource_that_is_short_is_named_with_its_jobs():
    spec = WorkflowSpec(name="w", resource_requirements=(
        ResourceRequirementsSpec(name="huge", memory="5000g"),
        ResourceRequirementsSpec(name="wide", num_nodes=4, num_cpus=16),
        ResourceRequirementsSpec(name="gpu", num_gpus=2, runtime="PT3H")),
        jobs=tuple([JobSpec(name="ok", command="x")]
                   + [JobSpec(name=f"h{i}", command="x", resource_requirements="huge") for i in range(7)]
                   + [JobSpec(name="w", command="x", resource_requirements="wide"),
                      JobSpec(name="g", command="x", resource_requirements="gpu")]))
    found = {(s.resource_set, s.resource): s for s in shortfalls(spec_needs(spec), NODE, time_limit=3600)}
    assert sorted(found) == [("gpu", "GPUs"), ("gpu", "runtime"), ("huge", "memory"), ("wide", "CPUs"),
                             ("wide", "nodes")]
    huge = found[("huge", "memory")]
    assert huge.jobs == tuple(f"h{i}" for i in range(7)) and huge.need == 5000 * GIB and huge.offer == 32 * GIB
    text = huge.describe("this machine")
    assert text.startswith("7 jobs (h0, h1, h2, h3, h4 and 2 more) need 4.9 TiB of memory (resource set 'huge')")
    assert text.endswith("this machine offers 32.0 GiB of memory")
    assert found[("wide", "nodes")].describe() == ("1 job (w) needs 4 nodes (resource set 'wide'); "
                                                   "the node offers 1 node")
    assert "a runtime of PT3H" in found[("gpu", "runtime")].describe()


def test_nothing_short_nothing_said_and_no_time_limit_means_any_runtime():
    needs = [JobNeed("a", "default", Capacity(1, GIB, 0, 1), 10 * 86400.0)]
    assert shortfalls(needs, NODE) == []
    assert [s.resource for s in shortfalls(needs, NODE, time_limit=60)] == ["runtime"]


def test_a_sane_node_flags_typos_only():
    spec = WorkflowSpec(name="w", resource_requirements=(ResourceRequirementsSpec(name="big", memory="512g",
                                                                                  num_cpus=128),),
                        jobs=(JobSpec(name="a", command="x", resource_requirements="big"),))
    assert shortfalls(spec_needs(spec), SANE_NODE) == []


def test_jobs_that_fit_none_of_the_declared_schedulers_are_named():
    from torc_core.diagnose import beyond_schedulers
    from torc_core.slurm.models import SchedulerSpec

    spec = WorkflowSpec(name="w", resource_requirements=(
        ResourceRequirementsSpec(name="long", runtime="PT3H"), ResourceRequirementsSpec(name="short", runtime="PT5M")),
        slurm_schedulers=(SchedulerSpec(name="quick", account="a", walltime="00:30:00"),
                          SchedulerSpec(name="hour", account="a", walltime="01:00:00")),
        jobs=(JobSpec(name="l1", command="x", resource_requirements="long"),
              JobSpec(name="l2", command="x", resource_requirements="long"),
              JobSpec(name="s1", command="x", resource_requirements="short")))
    (line,) = beyond_schedulers(spec)
    assert line.startswith("2 jobs (l1, l2) of resource set 'long' fit none of the slurm_schedulers")
    assert "walltime" in line and "started by hand" in line
    assert beyond_schedulers(WorkflowSpec(name="w", jobs=spec.jobs)) == []  # no schedulers: nothing to say
