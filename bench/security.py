"""What security costs on the hot path (issue 14): the same loads against a
plaintext server without authentication and against one with TLS and bearer
tokens (an auth file, every call authorized), alternated in one run.

Usage: python bench/security.py [--rounds N] [--no-write]

* Ping, and CompleteJob on pre-claimed jobs: calls/s from client processes,
  and the CompleteJob / Ping ratio (figure 1's shape) per server;
* CompleteJobs in batches of 1,000: completions/s.
Goal: secure within 10% of plain. Prints a table and rewrites its section of
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import table, write_section  # noqa: E402
from harness import Server, client_load  # noqa: E402

from torc_grpc._pb import common_pb2 as c  # noqa: E402
from torc_grpc.auth import users as user_file  # noqa: E402
from torc_grpc.testing import make_test_pki  # noqa: E402

PROCS, THREADS, SECONDS = 2, 4, 5.0
JOBS = 30_000
BATCH_JOBS = 40_000


def measure(tmp: str, name: str, args: tuple, env: dict) -> dict:
    os.environ.update(env)  # the client processes (and the setup stubs) take their credentials from here
    try:
        server = Server(tmp, name, *args)
        try:
            _wf, run, ids = server.workflow([c.JobSpec(name=f"j{i}", command="true") for i in range(JOBS)])
            ping = client_load(server.target, "ping", run, [], PROCS, THREADS, SECONDS)[0]
            complete = client_load(server.target, "complete", run, ids, PROCS, THREADS, SECONDS)[0]
            _wf, run, ids = server.workflow([c.JobSpec(name=f"b{i}", command="true") for i in range(BATCH_JOBS)])
            batched = client_load(server.target, "batch", run, ids, PROCS, 2, 600)[1]
        finally:
            server.close()
    finally:
        for key in env:
            os.environ.pop(key, None)
    return {"ping": ping, "complete": complete, "ratio": complete / ping, "batched": batched}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {"plain": [], "tokens": [], "secure": []}
    with tempfile.TemporaryDirectory() as tmp:
        pki = make_test_pki(tmp)
        auth_file = os.path.join(tmp, "users.json")
        token = user_file.add(auth_file, "bench")
        secure_args = ("--auth-file", auth_file, "--tls-cert", pki["server.pem"], "--tls-key", pki["server.key"])
        for r in range(args.rounds):  # alternated: the machine's drift falls on both
            runs["plain"].append(measure(tmp, f"plain{r}", (), {}))
            runs["tokens"].append(measure(tmp, f"tokens{r}", ("--auth-file", auth_file), {"TORC_TOKEN": token}))
            runs["secure"].append(measure(tmp, f"secure{r}", secure_args,
                                          {"TORC_TOKEN": token, "TORC_TLS_CA": pki["ca.pem"]}))
    med = {kind: {k: statistics.median(run[k] for run in rs) for k in rs[0]} for kind, rs in runs.items()}
    p, t, s = med["plain"], med["tokens"], med["secure"]

    def row(label: str, key: str, fmt: str) -> list:
        return [label, format(p[key], fmt), format(t[key], fmt), format(s[key], fmt),
                f"{t[key] / p[key]:.2f}", f"{s[key] / p[key]:.2f}"]

    rows = [row("Ping calls/s", "ping", ",.0f"), row("CompleteJob calls/s", "complete", ",.0f"),
            row("CompleteJob / Ping", "ratio", ".2f"),
            row("CompleteJobs (batched) completions/s", "batched", ",.0f")]
    text = table(["load", "plaintext, no auth", "tokens, no TLS", "TLS + tokens", "tokens / plain",
                  "TLS + tokens / plain"], rows)
    text += (f"\n\nMedians of {args.rounds} alternated rounds; {PROCS} client processes x {THREADS} threads, "
             f"{SECONDS:g} s per load; batches of 1,000 from {PROCS} x 2. Every secure call carries a "
             "bearer token over TLS and is authorized against its workflow (owner).")
    print(text)
    if not args.no_write:
        write_section("security cost", "`python bench/security.py`\n\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
