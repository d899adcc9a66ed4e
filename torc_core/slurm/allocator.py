"""The server-side Slurm allocator (`serve --slurm`; docs/slurm.md).

One thread, woken when a schedule_nodes action fires and every poll_seconds
otherwise. Each pass:
1. asks squeue about every live allocation and records what changed (an
   event each); an allocation that ended takes the compute nodes still
   registered from it along (orphans: their claims go back to READY, their
   running jobs fail with -128 and failure handlers apply), seconds after the
   end instead of a lease later;
2. per started workflow with schedulers: when it is complete or canceled,
   cancels its queued allocations; submits the allocations of fired
   schedule_nodes actions; cancels queued allocations of a scheduler no
   blocked or ready job can use; and, beyond torc, when ready jobs that a
   scheduler fits are not covered by a queued allocation (two passes in a
   row, so that running workers get the first chance), submits one, bounded
   per scheduler by the backlog of waiting allocations (queued, or started
   without a worker yet) and the cap on live ones.
Failures (sbatch refusals, allocations that end before a worker registered)
feed the scheduler's circuit breaker (engine/allocations.py): backoff, then
pause, an event with Slurm's words each time; nothing ever loops.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Optional

from ..access import LOCAL
from ..engine.allocations import check_schedule_request
from ..errors import InvalidTransition, TorcError
from ..models import JobStatus
from ..tokens import WORKER_PREFIX, digest, new_token
from .commands import SlurmCommands, SlurmError
from .models import (
    DEFAULT_BACKLOG,
    DEFAULT_MAX_ALLOCATIONS,
    Allocation,
    AllocationSource,
    AllocationState,
    Scheduler,
)
from .script import BatchRequest
from .script import WorkerLaunch, render
from .shapes import Shape, shortfall

log = logging.getLogger("torc_core.slurm")


@dataclass(frozen=True)
class AllocatorConfig:
    """Attributes:
        launch: How batch scripts reach the server.
        output_dir: Where allocations of a workflow without output_dir write
            (a folder per workflow, wf<ID>).
        poll_seconds: Time between squeue passes.
        backlog: Queued allocations per scheduler the allocator keeps at most
            (a scheduler's own backlog wins).
        max_allocations: Live allocations per scheduler the allocator submits
            by itself at most (a scheduler's own max_allocations wins).
        worker_tokens: Give each allocation a worker token (auth is on).
    """

    launch: WorkerLaunch
    output_dir: str
    poll_seconds: float = 2.0
    backlog: int = DEFAULT_BACKLOG
    max_allocations: int = DEFAULT_MAX_ALLOCATIONS
    worker_tokens: bool = False


class Allocator:
    def __init__(self, engine, commands: SlurmCommands, config: AllocatorConfig) -> None:
        self.engine = engine
        self.commands = commands
        self.config = config
        self._lock = threading.Lock()  # one pass or manual call at a time
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        #: (workflow, class key) -> uncovered on the previous pass.
        self._uncovered: set[tuple] = set()
        #: Live allocations seen last pass (to scancel those whose workflow was deleted).
        self._live: dict[int, Allocation] = {}
        self._last_error = ""

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.engine.enable_slurm(lambda _workflow_id: self._wake.set())
        self._thread = threading.Thread(target=self._run, daemon=True, name="torc-slurm-allocator")
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the thread. Allocations stay: a restarted server picks them up."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 (the allocator must outlive any one bad pass)
                log.exception("slurm allocator pass failed")
            self._wake.wait(self.config.poll_seconds)
            self._wake.clear()

    # ------------------------------------------------------------ one pass
    def tick(self) -> None:
        with self._lock:
            self._sync()
            for workflow_id in self.engine.slurm.workflows():
                try:
                    self._workflow(workflow_id)
                except (TorcError, SlurmError) as exc:
                    log.warning("slurm allocator: workflow %d: %s", workflow_id, exc)

    def _sync(self) -> None:
        live = self.engine.slurm.live()
        ids = {a.id for a in live}
        # Live last pass, gone from the table now: their workflow was deleted.
        gone = [a for a in self._live.values() if a.id not in ids and a.state.live]
        if gone:
            self._scancel([a.slurm_job_id for a in gone])
        self._live = {a.id: a for a in live}
        if not live:
            return
        try:
            info = self.commands.squeue([a.slurm_job_id for a in live])
        except SlurmError as exc:
            if str(exc) != self._last_error:
                log.warning("squeue failed: %s", exc)
                self._last_error = str(exc)
            return
        self._last_error = ""
        for a in live:
            i = info.get(a.slurm_job_id)
            if i is None:
                new = self.engine.slurm.changed(
                    a, AllocationState.DONE if a.state is AllocationState.RUNNING else AllocationState.FAILED,
                    "", "", "", "Slurm no longer knows this job")
            else:
                running = i.state is not AllocationState.QUEUED
                new = self.engine.slurm.changed(
                    a, i.state, i.nodes, i.start if running else "", i.end if running else "",
                    "" if i.state.live else f"{i.slurm_state}" + (f" ({i.reason})" if i.reason else ""))
                if i.slurm_state == "COMPLETING":  # its workers are gone or being killed
                    self.engine.slurm.ending(new)
            self._live[a.id] = new

    def _workflow(self, workflow_id: int) -> None:
        slurm = self.engine.slurm
        work = slurm.work(workflow_id)
        allocations = [a for a in self._live.values() if a.workflow_id == workflow_id and a.state.live]
        queued = [a for a in allocations if a.state is AllocationState.QUEUED]
        if work.canceled or work.complete:
            self._cancel(queued, "the workflow is " + ("canceled" if work.canceled else "complete"))
            return
        schedulers = {s.id: s for s in slurm.schedulers(workflow_id)}
        for action in slurm.take_fired_actions(workflow_id):
            sched = next((s for s in schedulers.values() if s.spec.name == action.spec.scheduler), None)
            for _ in range(action.spec.num_allocations if sched else 0):
                new = self._submit(sched, AllocationSource.ACTION, action.spec.start_one_worker_per_node,
                                   action.spec.max_parallel_jobs)
                if new is None:
                    break
                sched = slurm.scheduler(workflow_id, sched.spec.name)
                allocations.append(new)
        shapes = {s.id: Shape.of(s.spec) for s in schedulers.values()}

        def fits(c, s: Scheduler) -> bool:
            routed = c.scheduler_id is None or c.scheduler_id == s.id
            return routed and shortfall(c.needs, shapes[s.id], s.spec.name) is None

        for sched in schedulers.values():
            if not any(fits(c, sched) for c in work.classes):
                self._cancel([a for a in allocations if a.scheduler_id == sched.id and
                              a.state is AllocationState.QUEUED],
                             f"no blocked or ready job can use scheduler {sched.spec.name!r}")
        uncovered = set()
        for c in work.classes:
            if c.status is not JobStatus.READY:
                continue
            able = [s for s in schedulers.values() if fits(c, s)]
            if not able or any(a.scheduler_id in {s.id for s in able} and _waiting(a) for a in allocations):
                continue
            key = (workflow_id, c.scheduler_id, c.needs, c.num_cpus)
            uncovered.add(key)
            if key not in self._uncovered:
                continue  # give running workers a pass to take them
            for sched in able:
                if self._room(sched, allocations):
                    new = self._submit(sched, AllocationSource.ALLOCATOR)
                    if new is not None:
                        allocations.append(new)
                        break
        self._uncovered = {k for k in self._uncovered if k[0] != workflow_id} | uncovered

    def _room(self, sched: Scheduler, allocations: list[Allocation]) -> bool:
        mine = [a for a in allocations if a.scheduler_id == sched.id]
        backlog = self.config.backlog if sched.spec.backlog is None else sched.spec.backlog
        cap = self.config.max_allocations if sched.spec.max_allocations is None else sched.spec.max_allocations
        queued = sum(_waiting(a) for a in mine)
        return queued < backlog and len(mine) < cap and not sched.paused and time.time() >= sched.retry_after

    # ------------------------------------------------------------ sbatch and scancel
    def _submit(self, sched: Scheduler, source: AllocationSource, one_per_node: bool = False,
                max_parallel_jobs: int = 0, manual: bool = False) -> Optional[Allocation]:
        if not manual and (sched.paused or time.time() < sched.retry_after):
            log.info("scheduler %r of workflow %d is %s: not submitting", sched.spec.name,
                     sched.workflow_id, "paused" if sched.paused else "backing off")
            return None
        settings = self.engine.slurm.settings(sched.workflow_id)
        output_dir = settings.output_dir or os.path.join(self.config.output_dir, f"wf{sched.workflow_id}")
        request = BatchRequest(sched.workflow_id, sched.id, sched.spec, settings, output_dir,
                                one_per_node, max_parallel_jobs)
        env, token_id = {}, 0
        try:
            os.makedirs(output_dir, exist_ok=True)
            if self.config.worker_tokens:
                token = new_token(WORKER_PREFIX)
                ttl = Shape.of(sched.spec).walltime_s + 7 * 86400  # queued for up to a week
                token_id = self.engine.access.create_worker_token(sched.workflow_id, digest(token), ttl,
                                                                  LOCAL).id
                env["TORC_TOKEN"] = token
            job_id = self.commands.sbatch(render(request, self.config.launch), env=env)
        except (SlurmError, OSError) as exc:
            if token_id:
                self.engine.access.revoke_worker_token(token_id, LOCAL)
            message = str(exc) if isinstance(exc, SlurmError) else f"output dir {output_dir}: {exc}"
            log.warning("workflow %d: sbatch for scheduler %r failed: %s", sched.workflow_id,
                        sched.spec.name, message)
            self.engine.slurm.submit_failed(sched, message)
            if manual:
                raise InvalidTransition(f"sbatch refused scheduler {sched.spec.name!r}: {message}") from None
            return None
        log.info("workflow %d: allocation %s submitted for scheduler %r (%s)", sched.workflow_id,
                 job_id, sched.spec.name, source.value)
        new = self.engine.slurm.submitted(sched, job_id, source, token_id)
        self._live[new.id] = new  # known at once: a workflow deleted before the next pass takes it along
        return new

    def _cancel(self, allocations: list[Allocation], why: str) -> list[Allocation]:
        if not allocations:
            return []
        self._scancel([a.slurm_job_id for a in allocations])
        done = []
        for a in allocations:
            new = self.engine.slurm.changed(a, AllocationState.CANCELED, "", "", "", why)
            self._live[a.id] = new
            done.append(new)
        log.info("canceled %d allocations: %s", len(done), why)
        return done

    def _scancel(self, job_ids: list[str]) -> None:
        try:
            self.commands.scancel(job_ids)
        except SlurmError as exc:
            log.warning("scancel %s failed: %s", " ".join(job_ids), exc)

    # ------------------------------------------------------------ by hand (SlurmService)

    def schedule(self, workflow_id: int, scheduler: str, num_allocations: int,
                 one_per_node: bool = False, max_parallel_jobs: int = 0) -> list[Allocation]:
        """torc's schedule-nodes: submit now (resumes a paused scheduler); 0 = 1 allocation."""
        num_allocations = check_schedule_request(num_allocations)
        with self._lock:
            self.engine.get_workflow(workflow_id)
            sched = self.engine.slurm.scheduler(workflow_id, scheduler)
            self.engine.slurm.resume(sched)
            out = []
            for _ in range(num_allocations):
                sched = self.engine.slurm.scheduler(workflow_id, scheduler)
                out.append(self._submit(sched, AllocationSource.MANUAL, one_per_node, max_parallel_jobs,
                                        manual=True))
            return out

    def cancel(self, workflow_id: int) -> list[Allocation]:
        """scancel every queued or running allocation of the workflow."""
        with self._lock:
            live = [a for a in self.engine.slurm.list(workflow_id) if a.state.live]
            return self._cancel(live, "canceled by request")


def _waiting(a: Allocation) -> bool:
    """Queued, or started without a worker registered yet: capacity on its way."""
    return a.state is AllocationState.QUEUED or (a.state is AllocationState.RUNNING and not a.worker_seen)
