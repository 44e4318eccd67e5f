"""The drift criterion on a real repository: it fails naming the later config commit, then passes."""

from __future__ import annotations

from pathlib import Path

from coordinator.board.store import Board
from coordinator.criteria.evaluate import evaluate
from coordinator.criteria.round import check_round
from coordinator.spec import load_incident
from coordinator.target import TargetContext

from tests.gitops.conftest import commit_file, git


def measure(service_repo: dict) -> object:
    incident = load_incident(service_repo["incident"])
    context = TargetContext(incident=incident, target="local", repo=service_repo["repo"])
    return evaluate(incident.criterion("config-deployed"), context)


def test_drift_names_later_config_commit(service_repo):
    evaluation = measure(service_repo)

    config_sha = service_repo["shas"]["config"]
    assert evaluation.status == "fail"
    assert evaluation.value == f"1 commit behind: {config_sha[:8]}"
    assert "Widen the window to 12 hours" in evaluation.detail
    assert "Write notes" not in evaluation.detail
    assert [row["sha"] for row in evaluation.rows] == [config_sha]


def test_drift_clears_after_redeploy(service_repo):
    head = git(service_repo["repo"], "rev-parse", "HEAD")
    service_repo["deployed"].write_text(head + "\n", encoding="utf-8")

    evaluation = measure(service_repo)

    assert evaluation.status == "pass"
    assert evaluation.value == "current"
    assert "no later commit touches config/" in evaluation.detail


def test_drift_by_deploy_time(service_repo):
    service_repo["deployed"].write_text("2026-01-24T02:17:15Z\n", encoding="utf-8")
    assert measure(service_repo).status == "fail"

    service_repo["deployed"].write_text("2026-01-27T10:00:00+00:00\n", encoding="utf-8")
    assert measure(service_repo).status == "pass"


def test_drift_unknown_commit_is_error(service_repo):
    service_repo["deployed"].write_text("0123456789abcdef0123456789abcdef01234567\n", encoding="utf-8")

    evaluation = measure(service_repo)

    assert evaluation.status == "error"
    assert "which is not in" in evaluation.detail


def test_drift_returns_after_new_config_commit(service_repo):
    repo = service_repo["repo"]
    service_repo["deployed"].write_text(git(repo, "rev-parse", "HEAD") + "\n", encoding="utf-8")
    later = commit_file(repo, "config/app.yaml", "window_hours: 8\n", "Narrow the window", date="2026-01-27T16:00:00+00:00")

    evaluation = measure(service_repo)

    assert evaluation.status == "fail"
    assert later[:8] in evaluation.value


def test_results_record_head_and_dirty(service_repo, tmp_path: Path):
    repo = service_repo["repo"]
    incident = load_incident(service_repo["incident"])
    context = TargetContext(incident=incident, target="local", repo=repo)
    board = Board(f"sqlite:///{tmp_path / 'board.db'}")
    (repo / "config" / "app.yaml").write_text("window_hours: 24\n", encoding="utf-8")

    check_round(incident, context, board)

    result = board.results("git-small")[-1]
    assert result.git_sha == git(repo, "rev-parse", "HEAD")
    assert result.git_dirty is True
