"""Handoffs from git: the sha they describe, committing exactly one file, the commits per role, overlaps."""

from __future__ import annotations

from pathlib import Path

from coordinator.board.store import Board
from coordinator.render.handoff import render_handoff
from coordinator.spec import load_incident

from tests.gitops.conftest import commit_file, coord, git

DEV = "Dana Dev <dev@example.invalid>"


def handoff_text(service_repo: dict, role: str, tmp_path: Path) -> str:
    incident = load_incident(service_repo["incident"])
    board = Board(f"sqlite:///{tmp_path / 'board.db'}")
    return render_handoff(incident, role, board, target="local", repo=service_repo["repo"])


def test_handoff_states_head_and_dirty(service_repo, tmp_path: Path):
    repo = service_repo["repo"]
    head = git(repo, "rev-parse", "HEAD")[:8]

    clean = handoff_text(service_repo, "ops", tmp_path)
    (repo / "config" / "app.yaml").write_text("window_hours: 1\n", encoding="utf-8")
    dirty = handoff_text(service_repo, "ops", tmp_path)

    assert f"| Commit | `{head}`: HEAD" in clean
    assert f"| Commit | `{head} dirty`: HEAD" in dirty


def test_handoff_commit_contains_only_handoff(service_repo):
    repo = service_repo["repo"]
    (repo / "other.txt").write_text("staged, not part of the handoff\n", encoding="utf-8")
    git(repo, "add", "other.txt")
    before = git(repo, "rev-parse", "HEAD")

    result = coord("handoff", str(service_repo["incident"]), "--role", "ops", "--commit", cwd=repo)

    assert result.returncode == 0, result.stderr
    assert git(repo, "rev-parse", "HEAD^") == before
    assert git(repo, "show", "--name-only", "--format=", "HEAD").splitlines() == ["handoffs/ops.md"]
    assert git(repo, "diff", "--cached", "--name-only").splitlines() == ["other.txt"]
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith("Add ops handoff for incident git-small")
    assert "Role: ops" in message
    assert f"`{before[:8]} dirty`" in (repo / "handoffs" / "ops.md").read_text(encoding="utf-8")


def test_handoff_commit_rejects_staged_handoff(service_repo):
    repo = service_repo["repo"]
    assert coord("handoff", str(service_repo["incident"]), "--role", "ops", "--commit", cwd=repo).returncode == 0
    handoff = repo / "handoffs" / "ops.md"
    handoff.write_text("edited by hand\n", encoding="utf-8")
    git(repo, "add", "--force", "handoffs/ops.md")
    head = git(repo, "rev-parse", "HEAD")

    result = coord("handoff", str(service_repo["incident"]), "--role", "ops", "--commit", cwd=repo)

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "has staged changes" in result.stderr
    assert "git restore --staged handoffs/ops.md" in result.stderr
    assert git(repo, "rev-parse", "HEAD") == head
    assert handoff.read_text(encoding="utf-8") == "edited by hand\n"


def test_dev_handoff_lists_incident_commits(service_repo, tmp_path: Path):
    repo = service_repo["repo"]
    commit_file(repo, "shared/utils/old.py", "x = 1\n", "Before the incident", date="2026-01-26T20:00:00-05:00", author=DEV)
    first = commit_file(
        repo, "shared/utils/writer.py", "a = 1\nb = 2\nc = 3\n", "Stream inserts", date="2026-01-27T09:00:00-05:00", author=DEV
    )
    second = commit_file(
        repo, "shared/utils/writer.py", "a = 1\nb = 20\n", "Trim the writer", date="2026-01-27T10:00:00-05:00", author=DEV
    )
    commit_file(repo, "config/app.yaml", "window_hours: 9\n", "Ops config\n\nRole: ops", date="2026-01-27T11:00:00-05:00")
    unattributed = commit_file(repo, "docs/notes.md", "more\n", "Someone's notes", date="2026-01-27T12:00:00-05:00")

    text = handoff_text(service_repo, "dev", tmp_path)

    section = text.split("## Commits since the incident started", 1)[1].split("\n## ", 1)[0]
    assert "2026-01-27 00:00:00 EST" in section
    assert f"`{first[:8]}`" in section
    assert f"`{second[:8]}`" in section
    assert "Before the incident" not in section
    assert "Ops config" not in section
    assert f"`{unattributed[:8]}` 2026-01-27 12:00:00 EST Someone's notes (Ops Person; no role)" in section
    assert "(Dana Dev; role dev by author)" in section
    assert "`shared/utils/writer.py` +3 -0" in section
    assert "`shared/utils/writer.py` +1 -2" in section
    assert f"| `shared/utils/writer.py` | 4 | 2 | {first[:8]}, {second[:8]} |" in section


def test_overlap_flagged_in_both_handoffs(service_repo, tmp_path: Path):
    repo = service_repo["repo"]
    dev_commit = commit_file(
        repo, "shared/utils/writer.py", "a = 1\n", "Stream inserts", date="2026-01-27T09:00:00-05:00", author=DEV
    )

    dev_text = handoff_text(service_repo, "dev", tmp_path)
    ops_text = handoff_text(service_repo, "ops", tmp_path)
    fixes = coord("fixes", str(service_repo["incident"]), cwd=repo)

    expected = f"{dev_commit[:8]} by dev (Stream inserts) changes shared/utils/writer.py, which ops claims (shared/utils/)"
    assert expected in dev_text
    assert expected in ops_text
    assert fixes.returncode == 0, fixes.stderr
    assert f"overlap: {expected}" in fixes.stdout
    assert f"fix_writer (dev): committed; commit {dev_commit[:8]}" in fixes.stdout


def test_overlap_of_two_roles_changing_one_file(service_repo, tmp_path: Path):
    repo = service_repo["repo"]
    ops_message = "Tune the docs\n\nRole: ops"
    commit_file(repo, "docs/notes.md", "ops notes\n", ops_message, date="2026-01-27T08:00:00-05:00")
    dev_commit = commit_file(repo, "docs/notes.md", "dev notes\n", "Rewrite notes", date="2026-01-27T09:00:00-05:00", author=DEV)

    text = handoff_text(service_repo, "ops", tmp_path)

    assert f"{dev_commit[:8]} by dev (Rewrite notes) changes docs/notes.md, which ops also changed in" in text
