"""The git part of a role's handoff: the sha it describes, the role's commits, overlaps and dirty deploys."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from coordinator.errors import CoordinatorError
from coordinator.gitops.history import CommitRecord, commits_since, incident_start
from coordinator.gitops.overlaps import Overlap, claimed_paths, find_overlaps
from coordinator.gitops.provenance import is_deploy_step
from coordinator.gitops.repository import SHORT_SHA, read_provenance
from coordinator.timefmt import local

if TYPE_CHECKING:
    from coordinator.board.store import Board
    from coordinator.spec.models import Incident


def changes_code(incident: "Incident", role: str) -> bool:
    """Return whether a role's tasks list files to modify; such roles also get commits attributed to no role."""
    return any(task.files_to_modify for task in incident.tasks_of(role))


def role_commits(incident: "Incident", role: str, commits: list[CommitRecord]) -> list[CommitRecord]:
    """Return the commits a role's handoff lists: its own, plus unattributed ones when the role changes code."""
    own_unattributed = changes_code(incident, role)
    return [commit for commit in commits if commit.role == role or (commit.role is None and own_unattributed)]


def incident_changes(incident: "Incident", repo: Path) -> tuple[list[CommitRecord], list[Overlap], str | None]:
    """Return the incident's commits, their overlaps between roles, and why they could not be read (or None)."""
    try:
        commits = commits_since(repo, incident_start(incident), incident=incident)
    except CoordinatorError as error:
        return [], [], str(error)
    # NOTE: code paths held as leases on the board are not read yet. Claims come only from the incident file:
    # the roles' paths, and code touches that write or deploy.
    return commits, find_overlaps(commits, claimed_paths(incident)), None


def handoff_git_view(incident: "Incident", role: str, board: "Board", repo: Path) -> dict[str, Any]:
    """Return the git part of a role's handoff view."""
    timezone = incident.incident.timezone
    provenance = read_provenance(repo)
    commits, overlaps, problem = incident_changes(incident, repo)
    listed = role_commits(incident, role, commits)
    return {
        "head": provenance.label(),
        "start": local(incident_start(incident), timezone),
        "list_commits": bool(listed) or changes_code(incident, role),
        "commits_problem": problem,
        "commits": [_commit_view(commit, timezone) for commit in listed],
        "files": _file_totals(listed),
        "overlaps": [overlap.line() for overlap in overlaps if role in (overlap.role, overlap.other_role)],
        "dirty_deploys": dirty_deploys(incident, role, board),
    }


def _commit_view(commit: CommitRecord, timezone: str) -> dict[str, Any]:
    how = {"trailer": "Role trailer", "author": "author"}.get(commit.attributed_by or "")
    attribution = f"role {commit.role} by {how}" if commit.role and how else "no role"
    return {
        "short": commit.short,
        "time": local(commit.committed_at, timezone),
        "subject": commit.subject,
        "author": commit.author,
        "role": commit.role,
        "attribution": attribution,
        "added": commit.added,
        "deleted": commit.deleted,
        "files": [{"path": change.path, "added": change.added, "deleted": change.deleted} for change in commit.files],
    }


def _file_totals(commits: list[CommitRecord]) -> list[dict[str, Any]]:
    totals: dict[str, dict[str, Any]] = {}
    for commit in commits:
        for change in commit.files:
            entry = totals.setdefault(change.path, {"path": change.path, "added": 0, "deleted": 0, "commits": []})
            entry["added"] += change.added
            entry["deleted"] += change.deleted
            entry["commits"].append(commit.short)
    return [totals[path] for path in sorted(totals)]


def dirty_deploys(incident: "Incident", role: str, board: "Board") -> list[str]:
    """Return a line per deploy step of the role that ran while tracked files differed from HEAD."""
    from coordinator.spec.references import walk_steps

    steps = {
        (task.id, key): step
        for task in incident.tasks_of(role)
        for _path, key, step in walk_steps(task.steps, ())
    }
    lines = []
    for run in board.step_runs(incident.incident.id, role=role):
        step = steps.get((run.task_id, run.step_key))
        if step is None or not is_deploy_step(step) or not run.git_dirty or run.status == "refused":
            continue
        sha = (run.git_sha or "")[:SHORT_SHA] or "no commit"
        lines.append(
            f"{local(run.started_at, incident.incident.timezone)} `{run.task_id}` step {run.step_key} deployed from a "
            f"dirty tree at {sha} (run with --allow-dirty), {run.status}"
        )
    return lines
