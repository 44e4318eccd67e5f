"""A BigQuery API server on loopback for the tests marked `emulator`: bqemulator, one per test session.

bqemulator's pinned packages conflict with this project's, so it runs from its own virtual environment:
COORD_EMULATOR_PYTHON names that environment's python (`.ci/run` creates it). Without the variable the
tests are skipped. The server listens on 127.0.0.1 only and is stopped when the session ends. Starting it
and loading the sandbox tables live in `server.py`, which the bench uses too.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .server import Emulator, load_sandbox_tables, running_emulator


@pytest.fixture(scope="session")
def emulator(tmp_path_factory) -> Emulator:
    python = os.environ.get("COORD_EMULATOR_PYTHON")
    if not python:
        pytest.skip("COORD_EMULATOR_PYTHON is not set: run .ci/run, or point it at a venv with bqemulator (docs/bigquery.md)")
    with running_emulator(python, tmp_path_factory.mktemp("bqemulator")) as running:
        yield running


@pytest.fixture(scope="session")
def sandbox_workspace(tmp_path_factory) -> Path:
    """A seeded sandbox workspace, shared read-only by the emulator tests."""
    from coordinator.sandbox import init_workspace

    return init_workspace(tmp_path_factory.mktemp("emulator-sandbox") / "workspace").workspace


@pytest.fixture(scope="session")
def seeded_emulator(emulator: Emulator, sandbox_workspace: Path, tmp_path_factory) -> Emulator:
    """The emulator holding a copy of every table of the seeded sandbox warehouse."""
    load_sandbox_tables(emulator, sandbox_workspace / ".sandbox" / "warehouse.duckdb", tmp_path_factory.mktemp("export"))
    return emulator
