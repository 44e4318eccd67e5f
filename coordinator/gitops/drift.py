"""Drift: the commits that touched a service's paths after the revision it runs was built.

The deployed revision is given as a commit sha (a label on the revision) or as the deploy time. With a sha,
the commits are those on HEAD and not in the deployed commit; with a time, those committed after it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from coordinator.gitops.history import CommitRecord, commit_record
from coordinator.gitops.repository import SHORT_SHA, GitError, head_commit, open_repository, shallow_boundaries

SHA_PATTERN = re.compile(r"^[0-9a-f]{7,40}$")
COMMITS_SHOWN = 5


@dataclass
class DriftReport:
    service: str
    paths: list[str]
    deployed: str
    head: str
    commits: list[CommitRecord] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return bool(self.commits)

    def value(self) -> str:
        """Return the short value shown in checklists: `current`, or how many commits behind and which."""
        if not self.commits:
            return "current"
        shas = ", ".join(commit.short for commit in self.commits[:3])
        more = ", ..." if len(self.commits) > 3 else ""
        noun = "commit" if len(self.commits) == 1 else "commits"
        return f"{len(self.commits)} {noun} behind: {shas}{more}"

    def detail(self) -> str:
        touched = ", ".join(self.paths)
        if not self.commits:
            return f"{self.service} runs {self.deployed}; no later commit touches {touched} (HEAD {self.head})"
        noun = "commit touches" if len(self.commits) == 1 else "commits touch"
        listed = "; ".join(
            f"{commit.short} {commit.committed_at:%Y-%m-%d %H:%M}Z {commit.subject}" for commit in self.commits[:COMMITS_SHOWN]
        )
        more = f"; and {len(self.commits) - COMMITS_SHOWN} more" if len(self.commits) > COMMITS_SHOWN else ""
        return (
            f"{self.service} runs {self.deployed}; {len(self.commits)} later {noun} {touched}: {listed}{more}: "
            f"redeploy {self.service} from HEAD {self.head}"
        )


def parse_revision(text: str) -> str | dt.datetime:
    """Return the deployed revision printed by a revision command: a commit sha, or an aware deploy time."""
    value = text.strip().strip("'\"")
    if SHA_PATTERN.match(value.lower()):
        return value.lower()
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise GitError(
            f"the revision command printed {value[:80]!r}, which is neither a commit sha nor an ISO-8601 time"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)


def find_drift(repo_path: Path, service: str, paths: list[str], revision: str | dt.datetime) -> DriftReport:
    """Return the commits on HEAD after the deployed `revision` that touch `paths`, oldest first."""
    import git

    with open_repository(repo_path) as repo:
        head = head_commit(repo)
        if isinstance(revision, str):
            try:
                deployed = repo.commit(revision)
            except (git.BadName, ValueError):
                shallow = " (this is a shallow clone: run git fetch --unshallow)" if shallow_boundaries(repo) else ""
                raise GitError(
                    f"{service} runs commit {revision[:SHORT_SHA]}, which is not in {repo_path}{shallow}: "
                    f"fetch it, or check the revision command"
                ) from None
            candidates = repo.iter_commits(f"{deployed.hexsha}..{head.hexsha}", paths=paths)
            label = f"{deployed.hexsha[:SHORT_SHA]} ({deployed.committed_datetime.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M}Z)"
        else:
            candidates = (
                commit
                for commit in repo.iter_commits(head.hexsha, paths=paths, since=revision.isoformat())
                if commit.committed_datetime > revision
            )
            label = f"the build deployed at {revision.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M}Z"
        commits = [commit_record(commit, {}, set()) for commit in candidates]
    return DriftReport(service, list(paths), label, head.hexsha[:SHORT_SHA], list(reversed(commits)))
