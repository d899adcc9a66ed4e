"""Where the server's CPU goes: TORC_PROFILE=FILE.json profiles a
`torc-grpc serve` process (every thread, CPU time, yappi) and writes, on
shutdown, the self time per part (SIGUSR1 clears what was counted so
far, to profile only a measurement window): SQLite (apsw calls), the Cython kernels,
gRPC (grpc and its C core), protobuf, and our own Python. A diagnostic for
benchmarks (bench/figures.py, f8): it slows the server down noticeably.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from typing import Optional

log = logging.getLogger("torc_grpc.profiling")

#: (part, test on "module name" text) in order; the first match wins.
PARTS = (
    ("SQLite (apsw)", lambda m, n: "apsw" in m or "apsw." in n),
    ("kernels (Cython)", lambda m, n: "torc_core._graph" in m or "torc_core._ready" in m
     or "ReadyIndex" in n or "Graph" in n and "torc_core" in m),
    ("gRPC", lambda m, n: "grpc" in m or "cygrpc" in n),
    ("protobuf", lambda m, n: "protobuf" in m or "google" in m or "_message" in m),
    ("JSON (job env, event data)", lambda m, n: "json" in m),
    ("threads, locks and queues", lambda m, n: "threading" in m or "queue" in m or "_thread." in n
     or "SimpleQueue" in n or "pool.py" in m),
    ("torc store layer (Python)", lambda m, n: "torc_core/store" in m),
    ("torc engine and servicers (Python)", lambda m, n: "torc_core" in m or "torc_grpc" in m),
)


def start() -> Optional[str]:
    """Start profiling when TORC_PROFILE is set; returns the output path."""
    path = os.environ.get("TORC_PROFILE")
    if not path:
        return None
    import yappi  # noqa: PLC0415 (a diagnostic dependency: pip install yappi)

    yappi.set_clock_type("cpu")
    yappi.start(builtins=True, profile_threads=True)
    signal.signal(signal.SIGUSR1, lambda _signum, _frame: yappi.clear_stats())
    log.warning("profiling every thread with yappi (slower); shares go to %s", path)
    return path


def stop(path: Optional[str]) -> None:
    if not path:
        return
    import yappi  # noqa: PLC0415

    yappi.stop()
    shares: dict[str, float] = {}
    top: list[tuple[float, str]] = []
    for stat in yappi.get_func_stats():
        module, name = str(stat.module), str(stat.name)
        part = next((p for p, test in PARTS if test(module, name)), "other Python")
        shares[part] = shares.get(part, 0.0) + stat.tsub
        top.append((stat.tsub, f"{name} ({os.path.basename(module)})"))
    total = sum(shares.values()) or 1.0
    top.sort(reverse=True)
    with open(path, "w") as f:
        json.dump({"cpu_seconds": total, "shares": {k: v / total for k, v in sorted(shares.items(), key=lambda kv: -kv[1])},
                   "top": [[name, secs] for secs, name in top[:25]]}, f, indent=2)
