"""The `pictures` marker's fixtures: Debian's Chromium (driven by playwright)
and Graphviz's `dot`. The tests fail (not skip) without them: .ci/run installs
both (apt-get install chromium graphviz); deselect with -m 'not pictures'."""

from __future__ import annotations

import shutil

import pytest

from torc_grpc.testing import served_process

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/pictures/" in str(item.fspath):
            item.add_marker(pytest.mark.pictures)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    for name in CHROMIUM:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no Chromium: .ci/run installs Debian's (apt-get install chromium); "
                "or deselect with -m 'not pictures'")


@pytest.fixture(scope="session")
def graphviz() -> str:
    found = shutil.which("dot")
    if not found:
        pytest.fail("no Graphviz `dot`: .ci/run installs it (apt-get install graphviz); "
                    "or deselect with -m 'not pictures'")
    return found


@pytest.fixture
def served(tmp_path):
    """A real `torc-grpc serve` process; yields its address."""
    with served_process(tmp_path) as address:
        yield address
