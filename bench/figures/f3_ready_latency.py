"""Figure 3: completion -> dependent ready and pushed to a subscriber."""

from __future__ import annotations

import statistics

from harness import Figure, Server, pct, push_latency


def f3_ready_latency(tmp: str, size: dict) -> Figure:
    server = Server(tmp, "f3")
    try:
        lat, achieved = push_latency(server.stubs, size["f3_completions"], 1000.0)
    finally:
        server.close()
    p50, p99 = statistics.median(lat), pct(lat, 0.99)
    return Figure("ready latency", f"p50 {p50:.1f} ms, p99 {p99:.1f} ms at {achieved:.0f} completions/s",
                  "p99 <= 50 ms at 1,000/s", "Torc: its 5-60 s unblocking interval", p99 <= 50,
                  f"CompleteJob(a_i) returns -> b_i's id on an observer WatchReadyJobs stream; "
                  f"{size['f3_completions']:,} pairs offered at 1,000/s by 4 client threads",
                  {"p50_ms": p50, "p99_ms": p99, "achieved_per_s": achieved})
