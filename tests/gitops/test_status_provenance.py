"""Provenance read with one `git status` agrees with GitPython's reading, and hands odd repositories back to it."""

from pathlib import Path

import pytest

from coordinator.gitops import repository
from coordinator.gitops.repository import Provenance, read_provenance

from .conftest import commit_file, git, init_repo


def gitpython_provenance(path: Path) -> Provenance:
    with repository.open_repository(path) as repo:
        branch = None if repo.head.is_detached else repo.active_branch.name
        return Provenance(sha=repo.head.commit.hexsha, dirty=repository.is_dirty(repo), branch=branch)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    folder = init_repo(tmp_path / "repo")
    commit_file(folder, "config/app.yaml", "window_hours: 6\n", "Add config", date="2026-01-26T10:00:00+00:00")
    return folder


def change_unstaged(folder: Path) -> None:
    (folder / "config" / "app.yaml").write_text("window_hours: 12\n", encoding="utf-8")


def change_staged(folder: Path) -> None:
    change_unstaged(folder)
    git(folder, "add", "config/app.yaml")


def add_untracked(folder: Path) -> None:
    (folder / "notes.txt").write_text("not tracked\n", encoding="utf-8")


def detach_head(folder: Path) -> None:
    git(folder, "checkout", "--detach", "HEAD")


@pytest.mark.parametrize("change", [None, change_unstaged, change_staged, add_untracked, detach_head])
def test_status_provenance_matches_gitpython(repo, change):
    if change is not None:
        change(repo)

    quick = repository._status_provenance(repo)

    assert quick is not None
    assert quick == gitpython_provenance(repo)
    assert read_provenance(repo) == quick


def test_repository_without_commits_reported(tmp_path):
    folder = init_repo(tmp_path / "empty")

    provenance = read_provenance(folder)

    assert repository._status_provenance(folder) is None
    assert provenance.sha is None
    assert "no commits" in provenance.problem


def test_folder_outside_git_reported(tmp_path):
    provenance = read_provenance(tmp_path)

    assert provenance.sha is None
    assert "not a git repository" in provenance.problem
