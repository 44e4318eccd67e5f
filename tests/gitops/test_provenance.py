"""Step runs record HEAD and dirtiness; a deploy step refuses a dirty tree unless --allow-dirty."""

from __future__ import annotations

from pathlib import Path

from coordinator.board.store import Board
from coordinator.render.handoff import render_handoff
from coordinator.runner.run import RoleRunner
from coordinator.spec import load_incident
from coordinator.target import TargetContext

from tests.gitops.conftest import coord, git


def run_ops(service_repo: dict, board: Board, *, allow_dirty: bool = False):
    incident = load_incident(service_repo["incident"])
    context = TargetContext(incident=incident, target="local", repo=service_repo["repo"])
    runner = RoleRunner(incident, "ops", context, board, allow_dirty=allow_dirty, confirm=lambda question: True)
    return runner.run()


def test_deploy_refused_on_dirty_tree(service_repo, tmp_path: Path):
    repo = service_repo["repo"]
    board = Board(f"sqlite:///{tmp_path / 'board.db'}")
    (repo / "config" / "app.yaml").write_text("window_hours: 24\n", encoding="utf-8")

    outcome = run_ops(service_repo, board)

    step = board.step_runs("git-small", role="ops")[-1]
    assert outcome.exit_code == 1
    assert step.status == "refused"
    assert "--allow-dirty" in step.reason
    assert step.git_sha == git(repo, "rev-parse", "HEAD")
    assert step.git_dirty is True
    assert not service_repo["marker"].exists()


def test_deploy_refusal_through_cli(service_repo):
    repo = service_repo["repo"]
    (repo / "config" / "app.yaml").write_text("window_hours: 24\n", encoding="utf-8")

    result = coord("run", str(service_repo["incident"]), "--role", "ops", cwd=repo)

    assert result.returncode == 1
    assert "refused" in result.stderr
    assert "tracked files differ from HEAD" in result.stdout
    assert not service_repo["marker"].exists()


def test_allow_dirty_runs_and_handoff_says_so(service_repo, tmp_path: Path):
    repo = service_repo["repo"]
    board = Board(f"sqlite:///{tmp_path / 'board.db'}")
    (repo / "config" / "app.yaml").write_text("window_hours: 24\n", encoding="utf-8")

    outcome = run_ops(service_repo, board, allow_dirty=True)
    incident = load_incident(service_repo["incident"])
    text = render_handoff(incident, "ops", board, target="local", repo=repo)

    assert outcome.exit_code == 0
    assert service_repo["marker"].exists()
    assert "## Deploys from a dirty tree" in text
    assert "`redeploy` step deploy deployed from a dirty tree" in text


def test_clean_tree_deploys_without_flag(service_repo, tmp_path: Path):
    board = Board(f"sqlite:///{tmp_path / 'board.db'}")

    outcome = run_ops(service_repo, board)

    step = board.step_runs("git-small", role="ops")[-1]
    assert outcome.exit_code == 0
    assert step.status != "refused"
    assert step.git_dirty is False


def test_untracked_files_keep_tree_clean(service_repo, tmp_path: Path):
    (service_repo["repo"] / "scratch.txt").write_text("notes\n", encoding="utf-8")
    board = Board(f"sqlite:///{tmp_path / 'board.db'}")

    outcome = run_ops(service_repo, board)

    assert outcome.exit_code == 0
