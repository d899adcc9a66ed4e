"""The `slurm` marker's fixtures: one real Slurm cluster for the session
(cluster.py), and a torc-grpc server with its allocator on."""

from __future__ import annotations

import os

import pytest

from . import cluster as slurm_cluster


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/slurm/" in str(item.fspath):
            item.add_marker(pytest.mark.slurm)


@pytest.fixture(scope="session")
def slurm():
    """The cluster; the tests fail (not skip) without Slurm: deselect them with -m 'not slurm'."""
    missing = slurm_cluster.install()
    if missing:
        pytest.fail(f"Slurm is not installed (missing {', '.join(missing)}): .ci/run installs it "
                    "(apt-get install slurmctld slurmd slurm-client munge); or deselect with -m 'not slurm'")
    if os.geteuid() != 0:
        pytest.fail("the Slurm tests start slurmd and munged, which need root; deselect with -m 'not slurm'")
    c = slurm_cluster.start()
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = c.conf
    try:
        yield c
    finally:
        slurm_cluster.stop(c)
        if old is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old


@pytest.fixture
def clean_slurm(slurm):
    """The cluster, with nothing of an earlier test still queued or running; afterwards
    the test must have left nothing queued (the allocator's cleanup)."""
    slurm.cancel_all()
    yield slurm
    slurm.cancel_all()
