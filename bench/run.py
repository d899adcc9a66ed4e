"""Run the figures of docs/architecture.md (Numbers): `python bench/run.py [--mode tiny|quick|full]`.

* tiny: seconds; part of the test suite so that the benchmark code cannot rot
  (its numbers mean nothing).
* quick: a few minutes, small sizes, for a sanity check.
* full: the sizes docs/architecture.md names (1,000,000 jobs, 2,000 subscribers, ...);
  under 30 minutes on the 2-core machine.

Prints an environment header and a markdown table (value beside target and
anchor, and how it was measured), writes bench/results/<date>-<commit>-<mode>.json,
and in full mode rewrites the "figures" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import commit, machine, table, write_section  # noqa: E402

SIZES = {
    "tiny": dict(procs=1, threads=2, seconds=1.0, f1_jobs=3_000, f1_rounds=1, f2_jobs=4_000, f3_completions=30,
                 f4_jobs=20_000, f5_ready=[1_000, 5_000], f6_jobs=5_000, f7_subscribers=[20], f7_new_jobs=5, f7_batches=3, f7_hold=[50], f7_hold_seconds=1.0,
                 f8_jobs=2_000, f8_layer=100, f8_workers=8, f8_profile=True),
    "quick": dict(procs=2, threads=4, seconds=5.0, f1_jobs=40_000, f1_rounds=2, f2_jobs=60_000, f3_completions=1_000,
                  f4_jobs=100_000, f5_ready=[1_000, 100_000], f6_jobs=100_000, f7_subscribers=[1_000], f7_new_jobs=10, f7_batches=10, f7_hold=[2_000], f7_hold_seconds=5.0,
                  f8_jobs=20_000, f8_layer=1_000, f8_workers=50, f8_profile=True),
    "full": dict(procs=4, threads=8, seconds=10.0, f1_jobs=150_000, f1_rounds=3, f2_jobs=200_000, f3_completions=2_000,
                 f4_jobs=1_000_000, f5_ready=[1_000, 100_000, 1_000_000], f6_jobs=1_000_000,
                 f7_subscribers=[1_000, 2_000], f7_new_jobs=10, f7_batches=20, f7_hold=[10_000], f7_hold_seconds=10.0, f8_jobs=100_000, f8_layer=1_000, f8_workers=200,
                 f8_profile=True),
}


def _version(package: str) -> str:
    from importlib import metadata  # noqa: PLC0415

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


def environment() -> dict:
    import apsw  # noqa: PLC0415
    import grpc  # noqa: PLC0415

    from torc_core import kernels  # noqa: PLC0415

    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "commit": commit(),
        "machine": machine(),
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "apsw": apsw.apsw_version(),
        "sqlite": apsw.sqlite_lib_version(),
        "cython": _version("Cython") or "build-time only (not installed here)",
        "kernels": kernels.IMPLEMENTATION,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the figures of docs/architecture.md (Numbers).")
    parser.add_argument("--mode", choices=sorted(SIZES), default="quick")
    parser.add_argument("--only", action="append", default=[], help="figure keys, e.g. f4 (repeatable)")
    parser.add_argument("--out", default=str(HERE / "results"), help="where the JSON result goes")
    parser.add_argument("--no-write", action="store_true", help="leave RESULTS.md alone (full mode)")
    args = parser.parse_args(argv)
    from figures import FIGURES, run_figure  # noqa: PLC0415 (after sys.path)

    env = environment()
    print(" | ".join(f"{k} {v}" for k, v in env.items()), flush=True)
    keys = args.only or list(FIGURES)
    figures, timings = [], {}
    for key in keys:
        t0 = time.perf_counter()
        got = run_figure(key, SIZES[args.mode])
        timings[key] = time.perf_counter() - t0
        for fig in got:
            print(f"{key}: {fig.name}: {fig.value} (target {fig.target}) [{timings[key]:.0f} s]", flush=True)
        figures += [(key, fig) for fig in got]
    rows = [[fig.name, fig.value, fig.target, fig.anchor, {True: "yes", False: "NO", None: "-"}[fig.met], fig.how]
            for _key, fig in figures]
    text = table(["figure", "measured", "target", "anchor", "met", "how"], rows)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.date.today().isoformat()
    path = out / f"{stamp}-{env['commit']}-{args.mode}.json"
    path.write_text(json.dumps({"environment": env, "mode": args.mode, "sizes": SIZES[args.mode],
                                "seconds": timings, "figures": [dict(key=k, **f.as_dict()) for k, f in figures]},
                               indent=2, default=str))
    print(f"wrote {path}")
    if args.mode == "full" and not args.no_write:
        write_section("figures", f"Mode full, `python bench/run.py --mode full` "
                      f"({sum(timings.values()) / 60:.0f} min). Versions: "
                      + ", ".join(f"{k} {env[k]}" for k in ("python", "grpcio", "apsw", "sqlite", "cython")) + "\n\n"
                      + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
