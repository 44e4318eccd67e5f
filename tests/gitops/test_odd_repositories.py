"""Odd repositories give one clear line and exit code 2, never a traceback."""

from __future__ import annotations

import subprocess

from tests.gitops.conftest import commit_file, coord, git, init_repo

DEV = "Dana Dev <dev@example.invalid>"


def assert_one_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert expected in result.stderr


def test_missing_repository(service_repo, tmp_path):
    missing = tmp_path / "missing"

    result = coord("fixes", str(service_repo["incident"]), "--repo", str(missing), cwd=tmp_path)

    assert_one_line(result, f"{missing}: folder not found")
    assert not missing.exists()


def test_folder_outside_git(service_repo, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()

    result = coord("fixes", str(service_repo["incident"]), "--repo", str(plain), cwd=tmp_path)

    assert_one_line(result, f"{plain}: not a git repository")


def test_repository_without_commits(service_repo, tmp_path):
    empty = init_repo(tmp_path / "empty")

    result = coord("fixes", str(service_repo["incident"]), cwd=empty)

    assert_one_line(result, f"{empty}: the repository has no commits yet: commit once, then run this again")


def test_detached_head_rejects_handoff_commit(service_repo):
    repo = service_repo["repo"]
    git(repo, "checkout", "--quiet", "--detach")
    head = git(repo, "rev-parse", "HEAD")

    result = coord("handoff", str(service_repo["incident"]), "--role", "ops", "--commit", cwd=repo)

    assert_one_line(result, f"HEAD is detached at {head[:8]}: check out a branch (git switch NAME) and run this again")
    assert git(repo, "rev-parse", "HEAD") == head
    assert not (repo / "handoffs" / "ops.md").exists()


def test_shallow_clone_missing_incident_history(service_repo, tmp_path):
    source = service_repo["repo"]
    commit_file(source, "shared/utils/writer.py", "a = 1\n", "Stream inserts", date="2026-01-27T09:00:00-05:00", author=DEV)
    commit_file(source, "shared/utils/writer.py", "a = 2\n", "Tune inserts", date="2026-01-27T10:00:00-05:00", author=DEV)
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "--quiet", "--depth", "1", f"file://{source}", str(shallow))

    result = coord("fixes", str(service_repo["incident"]), cwd=shallow)

    assert_one_line(result, "shallow clone: history before")
    assert "run git fetch --unshallow" in result.stderr


def test_shallow_clone_deep_enough_works(service_repo, tmp_path):
    source = service_repo["repo"]
    commit_file(source, "shared/utils/writer.py", "a = 1\n", "Stream inserts", date="2026-01-27T09:00:00-05:00", author=DEV)
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "--quiet", "--depth", "2", f"file://{source}", str(shallow))

    result = coord("fixes", str(service_repo["incident"]), cwd=shallow)

    assert result.returncode == 0, result.stderr
    assert "fix_writer (dev): committed" in result.stdout
