"""Following each fix through committed, deployed and verified.

A fix is a task that lists `files_to_modify`. Its commit is the latest incident commit touching those files.
Its deploy is the first deploy step that finished at a HEAD containing that commit. It is verified when a
criterion of the fix or of the deploying task passed after that deploy.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coordinator.board.store import as_utc
from coordinator.gitops.history import CommitRecord, path_matches
from coordinator.gitops.provenance import is_deploy_step
from coordinator.gitops.repository import SHORT_SHA, open_repository
from coordinator.timefmt import local

if TYPE_CHECKING:
    from coordinator.board.store import Board
    from coordinator.board.tables import StepRun
    from coordinator.spec.models import Incident

STAGES = ("not committed", "uncommitted changes", "committed", "deployed", "verified")


@dataclass
class FixState:
    task: str
    role: str
    files: list[str]
    stage: str
    commit: str | None = None
    commit_subject: str | None = None
    deployed_by: str | None = None
    service: str | None = None
    revision: str | None = None
    deployed_at: str | None = None
    verified_by: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def fix_states(incident: "Incident", board: "Board", repo: Path, commits: list[CommitRecord]) -> list[FixState]:
    """Return the stage of each fix of the incident; `commits` are the incident's, oldest first."""
    from coordinator.spec.references import walk_steps

    steps = {
        (task.id, key): step for task in incident.tasks for _path, key, step in walk_steps(task.steps, ())
    }
    runs = board.step_runs(incident.incident.id)
    deploys = [run for run in runs if run.status == "done" and is_deploy_step(steps.get((run.task_id, run.step_key)))]
    results = board.results(incident.incident.id)
    drift_paths = {criterion.drift.service: criterion.drift.paths for criterion in incident.criteria if criterion.drift}
    timezone = incident.incident.timezone

    states = []
    with open_repository(repo) as git_repo:
        dirty_paths = {item.a_path for item in git_repo.index.diff(None)} | {item.a_path for item in git_repo.index.diff("HEAD")}
        for task in incident.tasks:
            if not task.files_to_modify:
                continue
            state = FixState(task.id, task.role, list(task.files_to_modify), "not committed")
            touching = [commit for commit in commits if _touches(commit, task.files_to_modify)]
            if any(_matches(path, task.files_to_modify) for path in dirty_paths):
                state.stage = "uncommitted changes"
            if touching:
                latest = touching[-1]
                state.commit, state.commit_subject = latest.short, latest.subject
                if state.stage == "not committed":
                    state.stage = "committed"
                deploy = next((run for run in deploys if _contains(git_repo, run.git_sha, latest.sha)), None)
                if deploy is not None and state.stage == "committed":
                    _mark_deployed(state, deploy, runs, steps, drift_paths, timezone)
                    _mark_verified(state, incident, deploy, results)
            states.append(state)
    return states


def _touches(commit: CommitRecord, patterns: list[str]) -> bool:
    return any(_matches(change.path, patterns) for change in commit.files)


def _matches(path: str, patterns: list[str]) -> bool:
    return any(path_matches(path, pattern) for pattern in patterns)


def _contains(repo, head: str | None, commit: str) -> bool:
    """Return whether the commit `head` has `commit` in its history."""
    if head is None:
        return False
    return head == commit or repo.is_ancestor(commit, head)


def _mark_deployed(state: FixState, deploy: "StepRun", runs: list["StepRun"], steps: dict, drift_paths: dict, timezone: str) -> None:
    state.stage = "deployed"
    state.deployed_by = f"{deploy.task_id} step {deploy.step_key} at {(deploy.git_sha or '')[:SHORT_SHA]}"
    state.deployed_at = local(deploy.ended_at, timezone)
    family = [run for run in runs if run.run_id == deploy.run_id and run.task_id == deploy.task_id
              and (run.step_key == deploy.step_key or run.step_key.startswith(deploy.step_key + "."))]
    state.service = _service(steps.get((deploy.task_id, deploy.step_key)), family, drift_paths)
    if state.service is None:
        state.warnings.append("the deploy names no service: add touches [{service: NAME, mode: deploy}] to the step")
        return
    output = "\n".join(run.output_tail or "" for run in family)
    match = re.search(rf"\b{re.escape(state.service)}-[A-Za-z0-9-]+", output)
    state.revision = match.group(0) if match else None
    reads = drift_paths.get(state.service)
    if reads is not None:
        unread = [path for path in state.files if not _matches(path, reads) and not any(path_matches(read, path) for read in reads)]
        for path in unread:
            state.warnings.append(f"{state.service} does not read {path} (its drift paths are {', '.join(reads)})")


def _service(step: Any, family: list["StepRun"], drift_paths: dict) -> str | None:
    """Return the service a deploy step names: a service touch with mode deploy, else a drift criterion's service
    that appears in its commands."""
    for touch in getattr(step, "touches", []) or []:
        if getattr(touch, "service", None) and touch.mode == "deploy":
            return touch.service
    commands = " ".join(run.command or "" for run in family)
    return next((service for service in drift_paths if re.search(rf"(?<![\w-]){re.escape(service)}(?![\w-])", commands)), None)


def _mark_verified(state: FixState, incident: "Incident", deploy: "StepRun", results: list) -> None:
    criteria = list(incident.task(state.task).verified_by) + list(incident.task(deploy.task_id).verified_by)
    deployed_at = as_utc(deploy.ended_at) if deploy.ended_at else None
    for criterion_id in dict.fromkeys(criteria):
        after = [
            result for result in results
            if result.criterion_id == criterion_id and deployed_at is not None and as_utc(result.started_at) >= deployed_at
        ]
        if after and after[-1].status == "pass":
            state.verified_by.append(criterion_id)
    if state.verified_by:
        state.stage = "verified"


def fixes_report(incident: "Incident", board: "Board", repo: Path) -> dict[str, Any]:
    """Return HEAD, the incident start, each fix's state, the overlaps and the commits of no role.

    `coord fixes` prints it, and a board view can show it.

    Raises GitError for a missing or empty repository and a shallow clone that may miss incident commits.
    """
    from coordinator.gitops.history import commits_since, incident_start
    from coordinator.gitops.overlaps import claimed_paths, find_overlaps
    from coordinator.gitops.repository import read_provenance

    start = incident_start(incident)
    commits = commits_since(repo, start, incident=incident)
    return {
        "incident": incident.incident.id,
        "head": read_provenance(repo).label(),
        "start": local(start, incident.incident.timezone),
        "fixes": [state.as_json() for state in fix_states(incident, board, repo, commits)],
        "overlaps": [overlap.line() for overlap in find_overlaps(commits, claimed_paths(incident))],
        "unattributed": [f"{commit.short} {commit.subject}" for commit in commits if commit.role is None],
    }
