from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def sandbox_repo(tmp_path_factory) -> Path:
    """A seeded sandbox workspace (a git repository and a DuckDB warehouse), only read by preflight."""
    from coordinator.sandbox import init_workspace

    return init_workspace(tmp_path_factory.mktemp("preflight") / "workspace").workspace
