"""The status codes the Cython kernels compile in (_types.pxd) are JobStatus's."""

from __future__ import annotations

import re
from pathlib import Path

from torc_core.models import JobStatus

PXD = Path(__file__).resolve().parents[2] / "torc_core" / "_types.pxd"


def test_types_pxd_matches_job_status():
    declared = {m.group(1): int(m.group(2))
                for m in re.finditer(r"^\s+JOB_(\w+) = (\d+)$", PXD.read_text(), re.MULTILINE)}
    assert declared == {s.name: int(s) for s in JobStatus}
    count = re.search(r"NUM_STATUSES = (\d+)", PXD.read_text())
    assert count and int(count.group(1)) == len(JobStatus)
