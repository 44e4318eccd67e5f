"""The bad-file corpus through the real command line: one located line per problem, exit 2, nothing written."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BAD = Path(__file__).parent.parent / "spec" / "bad"
BAD_FILES = sorted(BAD.glob("*.yaml"))


def coord(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coordinator", *arguments], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    return tmp_path


CASES = [pytest.param(path, "check", id=f"check-{path.stem}") for path in BAD_FILES] + [
    pytest.param(BAD / f"{name}.yaml", "prompts", id=f"prompts-{name}")
    for name in ("criterion_deletes_rows", "malformed_yaml")
]


@pytest.mark.parametrize("path, verb", CASES)
def test_bad_file_through_cli(path: Path, verb: str, repo: Path):
    shutil.copy(path, repo / path.name)
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").strip().replace("bad/", "", 1)
    arguments = [verb, path.name] + (["--out", "prompts"] if verb == "prompts" else [])

    result = coord(*arguments, cwd=repo)

    assert result.returncode == 2
    assert result.stderr.strip() == expected
    assert "Traceback" not in result.stderr
    assert not (repo / ".coordinator").exists()
    assert not (repo / "prompts").exists()


def test_missing_incident_file(repo: Path):
    result = coord("check", "absent.yaml", cwd=repo)

    assert result.returncode == 2
    assert result.stderr.strip() == "absent.yaml: incident file not found: check the path"
