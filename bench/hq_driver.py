"""One HyperQueue round for bench/e2e.py, in a clean process (nothing of
torc-grpc imported: measured, importing grpc and the harness slowed
HyperQueue's client by 10-15%). Prints {"seconds": ...} as JSON.

Usage: python bench/hq_driver.py JOBS LAYERS WORKDIR
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("TQDM_DISABLE", "1")

from hyperqueue import Job, LocalCluster  # noqa: E402
from hyperqueue.cluster import WorkerConfig  # noqa: E402


def main() -> None:
    n, layers, workdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    with LocalCluster(server_dir=os.path.join(workdir, "server")) as cluster:
        cluster.start_worker(WorkerConfig(cores=2))
        client = cluster.client()
        t0 = time.perf_counter()
        job = Job(default_workdir=workdir)
        per, prev = n // layers, []
        for _layer in range(layers):
            cur = []
            for i in range(per):
                deps = [prev[i], prev[(i + 1) % per]] if prev else []
                cur.append(job.program(["/bin/sh", "-c", "true"], deps=deps))
            prev = cur
        client.wait_for_jobs([client.submit(job)])
        print(json.dumps({"seconds": time.perf_counter() - t0}))


if __name__ == "__main__":
    main()
