"""The commits made during an incident, with their files, line counts and the role each is attributed to.

A commit belongs to a role by its `Role: NAME` trailer (in the message's last paragraph), else by its author:
an incident role lists the author emails or names it commits as under `git_authors`. A commit matching
neither belongs to no role.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from coordinator.gitops.repository import SHORT_SHA, head_commit, open_repository, require_history_since

if TYPE_CHECKING:
    import git

    from coordinator.spec.models import Incident

ROLE_TRAILER = re.compile(r"^Role:[ \t]*(\S+)[ \t]*$", re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True)
class FileChange:
    path: str
    added: int
    deleted: int


@dataclass
class CommitRecord:
    sha: str
    subject: str
    author: str
    email: str
    committed_at: dt.datetime
    role: str | None = None
    attributed_by: str | None = None
    files: list[FileChange] = field(default_factory=list)

    @property
    def short(self) -> str:
        return self.sha[:SHORT_SHA]

    @property
    def added(self) -> int:
        return sum(change.added for change in self.files)

    @property
    def deleted(self) -> int:
        return sum(change.deleted for change in self.files)


def incident_start(incident: "Incident") -> dt.datetime:
    """Return the incident's start: 00:00 of its date in its time zone, as an aware time.

    The board's first record is not used: on a target with a simulated clock, the board's times are this
    machine's while the commits carry the simulated ones.
    """
    zone = zoneinfo.ZoneInfo(incident.incident.timezone)
    return dt.datetime.combine(incident.incident.date, dt.time(0, 0), tzinfo=zone)


def role_authors(incident: "Incident") -> dict[str, str]:
    """Return {lowercased author email or name: role} from the roles' `git_authors`."""
    authors = {}
    for role in incident.roles:
        for author in getattr(role, "git_authors", []):
            authors[author.strip().lower()] = role.name
    return authors


def commit_role(message: str, author_name: str, author_email: str, authors: dict[str, str], roles: set[str]) -> tuple[str | None, str | None]:
    """Return (role, how it was found: "trailer" or "author") for one commit, or (None, None)."""
    last_paragraph = message.strip().split("\n\n")[-1]
    for match in ROLE_TRAILER.finditer(last_paragraph):
        if match.group(1).lower() in roles:
            return match.group(1).lower(), "trailer"
    for key in (author_email.lower(), author_name.lower()):
        if key in authors:
            return authors[key], "author"
    return None, None


def commits_since(repo_path: Path, start: dt.datetime, *, incident: "Incident | None" = None) -> list[CommitRecord]:
    """Return the commits reachable from HEAD committed at or after `start`, oldest first, with their files.

    Raises GitError for a missing or empty repository, and for a shallow clone that may miss some of them.
    """
    authors = role_authors(incident) if incident is not None else {}
    roles = {role.name for role in incident.roles} if incident is not None else set()
    with open_repository(repo_path) as repo:
        head_commit(repo)
        require_history_since(repo, start)
        records = []
        for commit in repo.iter_commits("HEAD", since=start.isoformat()):
            if commit.committed_datetime < start:
                continue
            records.append(commit_record(commit, authors, roles))
    return list(reversed(records))


def commit_record(commit: "git.Commit", authors: dict[str, str], roles: set[str]) -> CommitRecord:
    message = commit.message if isinstance(commit.message, str) else commit.message.decode(errors="replace")
    role, attributed_by = commit_role(message, commit.author.name or "", commit.author.email or "", authors, roles)
    files = [
        FileChange(path, int(counts.get("insertions", 0)), int(counts.get("deletions", 0)))
        for path, counts in sorted(commit.stats.files.items())
    ]
    return CommitRecord(
        sha=commit.hexsha,
        subject=message.strip().splitlines()[0] if message.strip() else "",
        author=commit.author.name or "",
        email=commit.author.email or "",
        committed_at=commit.committed_datetime.astimezone(dt.timezone.utc),
        role=role,
        attributed_by=attributed_by,
        files=files,
    )


def path_matches(path: str, pattern: str) -> bool:
    """Return whether a repository path falls under `pattern`: a folder (`shared/utils/`), a file or a glob."""
    pattern = pattern.strip().removeprefix("./")
    if pattern.endswith("/"):
        return path.startswith(pattern)
    if any(character in pattern for character in "*?["):
        return fnmatch.fnmatchcase(path, pattern)
    return path == pattern or path.startswith(pattern + "/")
