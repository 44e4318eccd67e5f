"""The files committed at HEAD, listed by one `git ls-tree`, are the ones GitPython lists."""

from pathlib import Path

import pytest

from coordinator.gitops import repository
from coordinator.gitops.repository import GitError, committed_files

from .conftest import commit_file, init_repo


def gitpython_files(path: Path) -> set[str]:
    with repository.open_repository(path) as repo:
        return {item.path for item in repository.head_commit(repo).tree.traverse() if item.type == "blob"}


def test_committed_files_match_gitpython(tmp_path):
    folder = init_repo(tmp_path / "repo")
    commit_file(folder, "config/app.yaml", "window_hours: 6\n", "Add config", date="2026-01-26T10:00:00+00:00")
    commit_file(folder, "scripts/spot check é.py", "print('ok')\n", "Add a script with an odd name", date="2026-01-26T11:00:00+00:00")
    (folder / "scripts" / "draft.py").write_text("never committed\n", encoding="utf-8")

    files = committed_files(folder)

    assert files == gitpython_files(folder)
    assert "scripts/spot check é.py" in files
    assert "scripts/draft.py" not in files


def test_committed_files_from_a_subfolder(tmp_path):
    folder = init_repo(tmp_path / "repo")
    commit_file(folder, "config/app.yaml", "window_hours: 6\n", "Add config", date="2026-01-26T10:00:00+00:00")

    assert committed_files(folder / "config") == {"config/app.yaml"}


def test_committed_files_outside_a_repository_raise(tmp_path):
    with pytest.raises(GitError):
        committed_files(tmp_path)
