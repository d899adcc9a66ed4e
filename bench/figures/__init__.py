"""The figures of the numbers we hold ourselves to (docs/architecture.md,
"Numbers"), one module each; bench/run.py runs them.

Each returns Figures: the measured value beside its target and anchor, and
how it was measured. Sizes come from the run mode (SIZES in run.py). Load
comes from separate client processes on 127.0.0.1 where the figure is about
the server under load; figures about one component run in this process.
"""

from __future__ import annotations

import tempfile

from harness import Figure

from .f1_complete_job import f1_noop_vs_complete
from .f2_batched import f2_batched_completions
from .f3_ready_latency import f3_ready_latency
from .f4_unblocking import f4_unblocking_kernel
from .f5_claims import f5_claims
from .f6_million import f6_million
from .f7_subscribers import f7_subscribers
from .f8_end_to_end import f8_end_to_end

FIGURES = {
    "f1": f1_noop_vs_complete,
    "f2": f2_batched_completions,
    "f3": f3_ready_latency,
    "f4": f4_unblocking_kernel,
    "f5": f5_claims,
    "f6": f6_million,
    "f7": f7_subscribers,
    "f8": f8_end_to_end,
}


def run_figure(key: str, size: dict) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        got = FIGURES[key](tmp, size)
    return got if isinstance(got, list) else [got]


__all__ = ["FIGURES", "Figure", "run_figure"]
