"""The one adapter to Slurm's commands: sbatch, squeue, scancel (from PATH,
SLURM_CONF from the environment). Every call is bounded in time, and every
failure comes back as SlurmError with Slurm's own words."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from .models import AllocationState

log = logging.getLogger("torc_core.slurm")

_SUBMITTED = re.compile(r"^(\d+)(?:;\S+)?\s*$")

#: squeue's long state names -> ours.
_STATES = {
    "PENDING": AllocationState.QUEUED, "CONFIGURING": AllocationState.RUNNING,
    "RUNNING": AllocationState.RUNNING, "COMPLETING": AllocationState.RUNNING,
    "SUSPENDED": AllocationState.RUNNING, "STOPPED": AllocationState.RUNNING,
    "RESIZING": AllocationState.RUNNING, "SIGNALING": AllocationState.RUNNING,
    "STAGE_OUT": AllocationState.RUNNING, "REQUEUED": AllocationState.QUEUED,
    "REQUEUE_FED": AllocationState.QUEUED, "REQUEUE_HOLD": AllocationState.QUEUED,
    "COMPLETED": AllocationState.DONE, "CANCELLED": AllocationState.CANCELED,
    "TIMEOUT": AllocationState.DONE, "DEADLINE": AllocationState.DONE,
    "PREEMPTED": AllocationState.CANCELED, "FAILED": AllocationState.FAILED,
    "NODE_FAIL": AllocationState.FAILED, "BOOT_FAIL": AllocationState.FAILED,
    "OUT_OF_MEMORY": AllocationState.FAILED, "SPECIAL_EXIT": AllocationState.FAILED,
    "REVOKED": AllocationState.CANCELED,
}
SQUEUE_FORMAT = "%i|%T|%S|%e|%N|%r"


class SlurmError(Exception):
    """A Slurm command failed; the message is its stderr (or why it did not run)."""


@dataclass(frozen=True)
class JobInfo:
    """What squeue says of one Slurm job."""

    job_id: str
    slurm_state: str
    state: AllocationState
    start: str
    end: str
    nodes: str
    reason: str


def parse_squeue(text: str) -> dict[str, JobInfo]:
    """Lines of SQUEUE_FORMAT -> job id -> JobInfo (unknown states count as running)."""
    out = {}
    for line in text.splitlines():
        fields = line.strip().split("|")
        if len(fields) != 6 or not fields[0]:
            continue
        job_id, slurm_state, start, end, nodes, reason = fields
        base = slurm_state.split()[0].rstrip("+")
        state = _STATES.get(base, AllocationState.RUNNING)
        clean = lambda v: "" if v in ("N/A", "Unknown", "None", "(null)") else v  # noqa: E731
        out[job_id] = JobInfo(job_id, base, state, clean(start), clean(end), clean(nodes), clean(reason))
    return out


class SlurmCommands:
    """sbatch, squeue and scancel as functions (see module docstring).

    Args:
        timeout: Seconds any one command may take.
        env: Environment for the commands (default: this process's).
    """

    def __init__(self, timeout: float = 30.0, env: Optional[Mapping[str, str]] = None) -> None:
        self.timeout = timeout
        self.env = dict(os.environ if env is None else env)

    @staticmethod
    def available() -> Optional[str]:
        """None when sbatch, squeue and scancel are all on PATH; else what is missing."""
        missing = [c for c in ("sbatch", "squeue", "scancel") if shutil.which(c) is None]
        return ", ".join(missing) or None

    def _run(self, args: Sequence[str], stdin: str = "", env: Optional[Mapping[str, str]] = None) -> str:
        try:
            out = subprocess.run(list(args), input=stdin, capture_output=True, text=True,
                                 timeout=self.timeout, env={**self.env, **(env or {})})
        except subprocess.TimeoutExpired:
            raise SlurmError(f"{args[0]} did not answer within {self.timeout:.0f} s") from None
        except OSError as exc:
            raise SlurmError(f"{args[0]} could not run: {exc.strerror or exc}") from None
        if out.returncode != 0:
            words = (out.stderr or out.stdout).strip().splitlines()
            # sbatch prints its real complaint last ("Batch job submission failed: ...").
            raise SlurmError("; ".join(words[-3:]) or f"{args[0]} exited with {out.returncode}")
        return out.stdout

    def sbatch(self, script: str, env: Optional[Mapping[str, str]] = None,
               options: Sequence[str] = ()) -> str:
        """Submit a batch script (given on stdin: nothing is written to disk);
        returns the Slurm job id. `env` adds to the job's environment."""
        out = self._run(["sbatch", "--parsable", *options], stdin=script, env=env)
        match = _SUBMITTED.match(out.strip().splitlines()[-1] if out.strip() else "")
        if not match:
            raise SlurmError(f"sbatch said {out.strip()!r}, not a job id")
        return match.group(1)

    def squeue(self, job_ids: Sequence[str]) -> dict[str, JobInfo]:
        """The jobs Slurm still knows of (any state); a job it forgot is missing."""
        if not job_ids:
            return {}
        try:
            out = self._run(["squeue", "-h", "-t", "all", "-o", SQUEUE_FORMAT, "-j", ",".join(job_ids)])
        except SlurmError as exc:
            if "Invalid job id" in str(exc):
                return {}  # every one of them is forgotten (MinJobAge passed)
            raise
        return parse_squeue(out)

    def scancel(self, job_ids: Sequence[str]) -> None:
        if job_ids:
            self._run(["scancel", *job_ids])
