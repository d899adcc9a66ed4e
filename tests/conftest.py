"""Shared fixtures: a real server on 127.0.0.1:0 over a real SQLite file."""

from __future__ import annotations

import pytest

from torc_grpc.testing import local_server


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "torc.db")


@pytest.fixture
def served(db_path):
    """(running server, stubs) for one test."""
    with local_server(db_path) as pair:
        yield pair


@pytest.fixture
def stubs(served):
    return served[1]
