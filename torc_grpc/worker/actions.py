"""Workflow actions a worker runs (torc's run_commands): claimed from the
server when it says some fired, run one after the other through the shell in
the output dir on a thread of their own (jobs keep flowing meanwhile),
stopping at the first failing command, and reported with CompleteAction."""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import time
from typing import Optional, Sequence

import grpc

from .._pb import worker_pb2
from .config import WorkerConfig
from .node import NodeSession

log = logging.getLogger("torc_grpc.worker")

#: Longest one command of an action may run.
COMMAND_TIMEOUT = 3600.0
#: Fewest seconds between two ClaimActions while the server keeps saying some wait.
MIN_CLAIM_INTERVAL = 1.0


class ActionRunner:
    def __init__(self, config: WorkerConfig, session: NodeSession) -> None:
        self.config = config
        self.session = session
        self._threads: list[threading.Thread] = []
        self._last_claim = 0.0

    def claim_and_run(self, triggers: Sequence[str] = (), force: bool = False) -> int:
        """Claim fired actions (of these triggers; all when empty) and start them; how many."""
        now = time.monotonic()
        if not force and now - self._last_claim < MIN_CLAIM_INTERVAL:
            return 0
        self._last_claim = now
        try:
            resp = self.session.call(self.session.worker.ClaimActions, worker_pb2.ClaimActionsRequest(
                workflow_id=self.config.workflow_id, compute_node_id=self.session.node,
                trigger_types=list(triggers)))
        except grpc.RpcError as err:
            log.warning("could not claim actions: %s", err.code().name)
            return 0
        for action in resp.actions:
            t = threading.Thread(target=self._run, args=(action,), daemon=True,
                                 name=f"torc-action-{action.id}")
            t.start()
            self._threads.append(t)
        return len(resp.actions)

    def wait(self, timeout: float) -> None:
        """Wait (bounded) for the actions started so far."""
        end = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, end - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]

    def _run(self, action) -> None:
        rc, message = 0, ""
        env = {**os.environ, "TORC_WORKFLOW_ID": str(self.config.workflow_id),
               "TORC_OUTPUT_DIR": self.config.output_dir, "TORC_API_URL": self.config.target,
               "TORC_ACTION_ID": str(action.id), "TORC_TRIGGER_TYPE": action.trigger_type}
        for command in action.commands:
            try:
                done = subprocess.run(command, shell=True, cwd=self.config.output_dir, env=env,
                                      capture_output=True, timeout=COMMAND_TIMEOUT)
            except subprocess.TimeoutExpired:
                rc, message = 124, f"timed out after {COMMAND_TIMEOUT:.0f} s: {command}"
                break
            except OSError as exc:
                rc, message = 126, f"could not run {command!r}: {exc}"
                break
            if done.returncode != 0:
                tail = done.stderr.decode(errors="replace")[-500:].strip()
                rc, message = done.returncode, f"{command!r} exited {done.returncode}: {tail}"
                break
        log.info("action %d (%s): %s", action.id, action.trigger_type, message or "commands succeeded")
        self._report(action.id, rc, message)

    def _report(self, action_id: int, rc: int, message: str) -> None:
        try:
            self.session.call(self.session.worker.CompleteAction, worker_pb2.CompleteActionRequest(
                action_id=action_id, compute_node_id=self.session.node, return_code=rc,
                message=message))
        except grpc.RpcError as err:
            log.warning("action %d: report failed (%s)", action_id, err.code().name)


def run_before_exit(runner: Optional[ActionRunner], timeout: float = COMMAND_TIMEOUT) -> None:
    """The workflow completed: whatever fired and nobody ran yet (on_workflow_complete,
    and an on_jobs_* action that fired with the last jobs), then wait for all."""
    if runner is None:
        return
    runner.claim_and_run(force=True)
    runner.wait(timeout)
