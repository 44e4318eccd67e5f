import shutil
from pathlib import Path

import pytest

from coordinator.sandbox import init_workspace


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory) -> Path:
    return init_workspace(tmp_path_factory.mktemp("seed") / "workspace").workspace


@pytest.fixture
def workspace(seeded_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the seeded workspace, so each test may change it."""
    copy = tmp_path / "workspace"
    shutil.copytree(seeded_template, copy)
    return copy
