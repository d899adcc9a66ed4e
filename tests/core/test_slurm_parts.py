"""Slurm parts without Slurm: time and size strings, the fit rule, the batch
script, squeue's output, and the action semantics on a real engine."""

from __future__ import annotations

import dataclasses

import pytest

from torc_core.engine import Engine
from torc_core.errors import InvalidArgument, InvalidTransition
from torc_core.models import Completion, ComputeNodeSpec, JobStatus
from torc_core.slurm.commands import parse_squeue
from torc_core.slurm.models import AllocationState, SchedulerSpec, SlurmSettings
from torc_core.slurm.script import BatchRequest, WorkerLaunch, render
from torc_core.slurm.shapes import Needs, Shape, gres_gpus, mem_bytes, shortfall, walltime_seconds
from torc_core.spec import SpecError, parse_spec


@pytest.mark.parametrize("text,seconds", [("30", 1800), ("1:30", 90), ("01:00:00", 3600),
                                          ("2-0", 172800), ("1-12:30", 131400), ("1-00:00:01", 86401)])
def test_slurm_times(text, seconds):
    assert walltime_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "x", "1:2:3:4", "1-2:3:4:5", "-5"])
def test_bad_slurm_times_are_refused(text):
    with pytest.raises(InvalidArgument):
        walltime_seconds(text)


def test_sizes_gpus_and_the_fit_rule():
    assert mem_bytes("16g") == 16 * 1024**3 and mem_bytes("500") == 500 * 1024**2
    assert gres_gpus("gpu:a100:2,nvme:1") == 2 and gres_gpus("gpu") == 1 and gres_gpus("") == 0
    shape = Shape.of(SchedulerSpec("s", walltime="00:30:00", mem="8g", gres="gpu:1", nodes=2))
    assert shortfall(Needs(1800, 2, 8 * 1024**3, 1), shape, "s") is None
    assert "runtime" in shortfall(Needs(1801, 1, 0, 0), shape, "s")
    assert "nodes" in shortfall(Needs(60, 3, 0, 0), shape, "s")
    assert "memory" in shortfall(Needs(60, 1, 9 * 1024**3, 0), shape, "s")
    assert "GPUs" in shortfall(Needs(60, 1, 0, 2), shape, "s")


def _alloc(**kw) -> BatchRequest:
    spec = SchedulerSpec("gpu nodes", account="proj", partition="debug", nodes=2, walltime="01:00:00",
                         extra="--constraint=cpu --exclusive", **kw)
    return BatchRequest(7, 3, spec, SlurmSettings(defaults={"qos": "high", "account": "other"}), "/out")


def test_the_batch_script():
    launch = WorkerLaunch(("/py", "-m", "torc_grpc.cli"), "login1:50051")
    text = render(_alloc(), launch)
    assert "#SBATCH --account=proj" in text and "--account=other" not in text  # the scheduler wins
    assert "#SBATCH --qos=high" in text and "#SBATCH --exclusive" in text
    assert "#SBATCH --job-name=torc_wf7_gpu_nodes" in text
    assert "--on-signal release" in text and "--scheduler-config-id 3 --strict-scheduler-match" in text
    assert "exec /py -m torc_grpc.cli worker --workflow 7 --server login1:50051" in text
    one_per_node = render(dataclasses.replace(_alloc(), start_one_worker_per_node=True), launch)
    assert "srun --wait=0 --kill-on-bad-exit=0 --ntasks-per-node=1 --nodes=2" in one_per_node


def test_a_line_break_never_reaches_the_script():
    with pytest.raises(ValueError):
        render(_alloc(qos="x\nrm -rf ~"), WorkerLaunch(("torc",), "h:1"))


def test_squeue_output():
    jobs = parse_squeue("5|RUNNING|2026-01-01T10:00:00|2026-01-01T11:00:00|n1|None\n"
                        "6|PENDING|N/A|N/A||Priority\n7|CANCELLED+|2026|2026|n1|None\nbad line\n")
    assert jobs["5"].state is AllocationState.RUNNING and jobs["5"].nodes == "n1"
    assert jobs["6"].state is AllocationState.QUEUED and jobs["6"].start == "" and jobs["6"].reason == "Priority"
    assert jobs["7"].state is AllocationState.CANCELED and len(jobs) == 3


def _spec(actions, schedulers=(), jobs=None):
    return parse_spec({
        "name": "w", "slurm_schedulers": list(schedulers), "actions": list(actions),
        "jobs": jobs or [{"name": "a", "command": "x"}, {"name": "b", "command": "x", "depends_on": ["a"]},
                         {"name": "c", "command": "x", "depends_on": ["b"]}],
    }, "t").spec


def _fired(engine, wf) -> list[int]:
    import json
    return [json.loads(e.data)["action_id"] for e in engine.list_events(wf).items if e.event_type == "action_fired"]


def _done(engine, wf, name, status=JobStatus.COMPLETED):
    """Claim, start and complete the one ready job (the chain a -> b -> c has one at a time)."""
    node = engine.register_compute_node(ComputeNodeSpec(wf))
    (job,) = engine.claim_next_jobs(wf, node, 1).jobs
    assert job.name == name
    run = engine.get_workflow_status(wf).run_id
    engine.start_job(job.id, run, node)
    engine.complete_job(Completion(job_id=job.id, status=status, run_id=run, return_code=0))


def test_actions_fire_once_when_all_their_jobs_reach_the_state_and_a_rerun_rearms(tmp_path):
    from torc_grpc.testing import wait_until
    actions = [{"trigger_type": "on_workflow_start", "action_type": "run_commands", "commands": ["s"]},
               {"trigger_type": "on_jobs_ready", "action_type": "run_commands", "jobs": ["b", "c"],
                "commands": ["r"]},
               {"trigger_type": "on_jobs_complete", "action_type": "run_commands",
                "job_name_regexes": ["^[ab]$"], "commands": ["d"]},
               {"trigger_type": "on_workflow_complete", "action_type": "run_commands", "commands": ["e"]}]
    engine = Engine(str(tmp_path / "t.db"))
    try:
        wf, _ = engine.create_workflow(_spec(actions))
        engine.start_workflow(wf.id)
        assert _fired(engine, wf.id) == [1]
        _done(engine, wf.id, "a")
        wait_until(lambda: engine.get_workflow_status(wf.id).counts[JobStatus.READY] == 1, 5)
        assert _fired(engine, wf.id) == [1]  # b is ready, c is not: not yet
        _done(engine, wf.id, "b")
        wait_until(lambda: len(_fired(engine, wf.id)) == 3, 5)
        assert sorted(_fired(engine, wf.id)) == [1, 2, 3]  # c ready; a and b complete
        _done(engine, wf.id, "c")
        wait_until(lambda: len(_fired(engine, wf.id)) == 4, 5)
        node = engine.register_compute_node(ComputeNodeSpec(wf.id))
        taken = engine.actions.claim(wf.id, node, [])
        assert sorted(a.id for a in taken) == [1, 2, 3, 4] and engine.actions.claim(wf.id, node, []) == []
        engine.actions.complete(taken[0].id, node, 0, "")
        engine.start_workflow(wf.id, rerun_all=True)  # a rerun re-arms: on_workflow_start fires again
        assert _fired(engine, wf.id).count(1) == 2
    finally:
        engine.close()


def test_a_cascade_canceled_job_counts_so_the_action_still_fires(tmp_path):
    from torc_grpc.testing import wait_until
    actions = [{"trigger_type": "on_jobs_complete", "action_type": "run_commands", "jobs": ["b", "c"],
                "commands": ["x"]}]
    engine = Engine(str(tmp_path / "t.db"))
    try:
        wf, _ = engine.create_workflow(_spec(actions))
        engine.start_workflow(wf.id)
        _done(engine, wf.id, "a", JobStatus.FAILED)  # b and c are canceled in cascade
        wait_until(lambda: _fired(engine, wf.id) == [1], 5)
    finally:
        engine.close()


def test_what_submit_refuses(tmp_path):
    sched = {"name": "short", "walltime": "00:10:00"}
    engine = Engine(str(tmp_path / "t.db"))
    try:
        needs = _spec([{"trigger_type": "on_workflow_start", "action_type": "schedule_nodes",
                        "scheduler": "short"}], [sched])
        with pytest.raises(InvalidTransition, match="serve --slurm"):
            engine.create_workflow(needs)
        engine.enable_slurm(lambda _wf: None)
        long_job = parse_spec({"name": "w", "slurm_schedulers": [sched],
                               "resource_requirements": [{"name": "big", "runtime": "PT1H"}],
                               "jobs": [{"name": "j", "command": "x", "resource_requirements": "big",
                                         "scheduler": "short"}]}, "t").spec
        with pytest.raises(InvalidArgument, match="'j' can never run: its runtime 3600 s exceeds scheduler "
                                                  "'short'"):
            engine.create_workflow(long_job)
        assert not engine.list_workflows().items  # nothing written
    finally:
        engine.close()
    with pytest.raises(SpecError, match="trigger_type"):
        _spec([{"trigger_type": "on_tuesday", "action_type": "run_commands", "commands": ["x"]}])
    with pytest.raises(SpecError, match="matches no job"):
        _spec([{"trigger_type": "on_jobs_ready", "action_type": "run_commands", "commands": ["x"],
                "job_name_regexes": ["zzz"]}])
