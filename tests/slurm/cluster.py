"""A real single-node Slurm cluster for the tests: munged, slurmctld and slurmd
from Debian's packages, no systemd, all on 127.0.0.1 in one short directory.

Learned from ../shared/slurm/start-local-slurm.sh (its header lists the
pitfalls): cgroup-free plugins (proctrack/linuxproc, task/none), DefMemPerCPU
so that jobs without --mem share the node, batch_sched_delay=0 so a job
starts about a second after sbatch, jobcomp/filetxt instead of accounting,
SLURM_CONF for every client command. .ci/run installs the packages.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass

BINARIES = ("slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo", "munged", "mungekey")


PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")


def missing() -> list[str]:
    return [b for b in BINARIES if shutil.which(b) is None]


def install() -> str:
    """apt-get the packages when something is missing and we may (root, Debian):
    the README's test command then works on a fresh machine as .ci/run does.
    Returns what is still missing ("" when nothing)."""
    if not missing():
        return ""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return ", ".join(missing())
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    if subprocess.run(cmd, env=env, capture_output=True, timeout=900).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=900)
        subprocess.run(cmd, env=env, capture_output=True, timeout=900)
    return ", ".join(missing())


def _free_ports(n: int) -> list[int]:
    for base in range(6817, 7100, n):
        ok = True
        for p in range(base, base + n):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", p)) == 0:
                    ok = False
                    break
        if ok:
            return list(range(base, base + n))
    raise RuntimeError("no free ports for Slurm in 6817-7100")


def _hw() -> tuple[int, int]:
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, timeout=30).stdout
    fields = dict(kv.split("=", 1) for kv in out.split() if "=" in kv)
    cpus = min(int(fields.get("CPUs", os.cpu_count() or 1)), os.cpu_count() or 1)
    mem = int(fields.get("RealMemory", 1024)) * 95 // 100
    return cpus, mem


@dataclass
class Cluster:
    dir: str
    conf: str
    node: str
    cpus: int
    memory_mb: int

    @property
    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": self.conf}

    def run(self, *args: str, check: bool = True) -> str:
        out = subprocess.run(list(args), capture_output=True, text=True, timeout=60,
                             env={**os.environ, **self.env})
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {out.stderr.strip()}")
        return out.stdout

    def jobs(self) -> dict[str, str]:
        """Slurm job id -> state of every job Slurm knows (squeue -t all)."""
        out = self.run("squeue", "-h", "-t", "all", "-o", "%i|%T")
        return dict(line.split("|", 1) for line in out.split())

    def live_jobs(self) -> list[str]:
        return [j for j, s in self.jobs().items() if s in ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING")]

    def cancel_all(self) -> None:
        live = self.live_jobs()
        if live:
            self.run("scancel", *live, check=False)


def start(base_dir: str = "") -> Cluster:
    d = tempfile.mkdtemp(prefix="tslurm", dir=base_dir or "/tmp")  # unix socket paths: keep it short
    os.chmod(d, 0o755)
    for sub in ("run", "log", "spool", "state", "munge"):
        os.makedirs(os.path.join(d, sub))
    os.chmod(os.path.join(d, "state"), 0o700)
    node = socket.gethostname().split(".")[0]
    cpus, mem = _hw()
    ctld, slurmd_port = _free_ports(2)
    munge_dir = os.path.join(d, "munge")
    sock = os.path.join(munge_dir, "munge.socket.2")
    conf = os.path.join(d, "slurm.conf")
    with open(conf, "w") as f:
        f.write(f"""ClusterName=torctest
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={ctld}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={sock}
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/run/slurmctld.pid
SlurmdPidFile={d}/run/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={d}/log/jobcomp.log
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU={mem // cpus}
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
KillWait=5
MinJobAge=300
InactiveLimit=0
MailProg=/bin/true
NodeName={node} NodeHostname={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem} State=UNKNOWN
PartitionName=debug Nodes={node} Default=YES MaxTime=INFINITE State=UP
""")
    os.chmod(conf, 0o644)
    key = os.path.join(munge_dir, "munge.key")
    subprocess.run(["mungekey", "-c", "-k", key], check=True, capture_output=True, timeout=30)
    os.chmod(key, 0o600)
    env = {**os.environ, "SLURM_CONF": conf}
    subprocess.run(["munged", "-S", sock, f"--key-file={key}", f"--pid-file={munge_dir}/munged.pid",
                    f"--log-file={munge_dir}/munged.log", f"--seed-file={munge_dir}/munged.seed"],
                   check=True, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    subprocess.run(["slurmctld", "-f", conf], check=True, env=env, capture_output=True, timeout=30,
                   stdin=subprocess.DEVNULL)
    subprocess.run(["slurmd", "-f", conf, "-N", node], check=True, env=env, capture_output=True,
                   timeout=30, stdin=subprocess.DEVNULL)
    cluster = Cluster(d, conf, node, cpus, mem)
    deadline = time.monotonic() + 60
    while True:
        state = cluster.run("sinfo", "-h", "-n", node, "-o", "%t", check=False).strip()
        if state == "idle":
            return cluster
        if state.startswith(("drain", "down", "inval")):
            cluster.run("scontrol", "update", f"nodename={node}", "state=resume", check=False)
        if time.monotonic() > deadline:
            logs = open(f"{d}/log/slurmctld.log").read()[-2000:] if os.path.exists(f"{d}/log/slurmctld.log") else ""
            stop(cluster)
            raise RuntimeError(f"Slurm node not idle after 60 s (state {state!r}): {logs}")
        time.sleep(0.2)


def _stop_pid(path: str) -> None:
    try:
        pid = int(open(path).read().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop(cluster: Cluster) -> None:
    """Cancel every job (wait up to 20 s), then stop the daemons: nothing is left running."""
    try:
        cluster.cancel_all()
        deadline = time.monotonic() + 20
        while cluster.live_jobs() and time.monotonic() < deadline:
            time.sleep(0.2)
    except (RuntimeError, subprocess.TimeoutExpired):
        pass
    d = cluster.dir
    for pid in (f"{d}/run/slurmd.pid", f"{d}/run/slurmctld.pid", f"{d}/munge/munged.pid"):
        _stop_pid(pid)
