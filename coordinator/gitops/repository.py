"""Opening the incident's repository and reading where its HEAD is.

Odd repositories (a missing folder, a folder outside git, no commits, a detached HEAD, a shallow clone) are
reported as one-line `GitError`s where they matter. Reading provenance returns a GitError as data: a
step still runs in a folder without git, and its row records why no commit was read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from coordinator.errors import CoordinatorError

if TYPE_CHECKING:
    import git

SHORT_SHA = 8


class GitError(CoordinatorError):
    """A repository that cannot serve the request: missing, empty, detached or shallow."""


@dataclass(frozen=True)
class Provenance:
    """The repository's HEAD when something ran: its commit, and whether tracked files differed from it.

    Untracked files do not make a tree dirty. `problem` is the reason `sha` is None.
    """

    sha: str | None = None
    dirty: bool | None = None
    branch: str | None = None
    problem: str | None = None

    @property
    def short(self) -> str | None:
        return self.sha[:SHORT_SHA] if self.sha else None

    def label(self) -> str:
        """Return the sha as handoffs show it: `1a2b3c4d`, `1a2b3c4d dirty`, or why there is none."""
        if self.sha is None:
            return f"no commit ({self.problem})"
        text = self.short or ""
        if self.dirty:
            text += " dirty"
        if self.branch is None:
            text += " (detached HEAD)"
        return text

    def columns(self) -> dict[str, object]:
        """Return the board columns that record this provenance."""
        return {"git_sha": self.sha, "git_dirty": self.dirty}


def open_repository(path: Path) -> "git.Repo":
    """Open the repository whose work tree is `path`; raise GitError when there is none."""
    import git

    if not path.exists():
        raise GitError(f"{path}: folder not found: pass --repo with the repository's folder")
    try:
        return git.Repo(path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise GitError(f"{path}: not a git repository: run coord inside the repository or pass --repo") from None


def head_commit(repo: "git.Repo") -> "git.Commit":
    """Return HEAD's commit; raise GitError in a repository without commits."""
    try:
        return repo.head.commit
    except ValueError:
        raise GitError(
            f"{repo.working_tree_dir}: the repository has no commits yet: commit once, then run this again"
        ) from None


def require_branch(repo: "git.Repo") -> str:
    """Return the checked-out branch; raise GitError when HEAD is detached."""
    if repo.head.is_detached:
        sha = head_commit(repo).hexsha[:SHORT_SHA]
        raise GitError(
            f"{repo.working_tree_dir}: HEAD is detached at {sha}: check out a branch (git switch NAME) and run this again"
        )
    return repo.active_branch.name


def is_dirty(repo: "git.Repo") -> bool:
    """Return whether tracked files differ from HEAD, staged or not."""
    return repo.is_dirty(index=True, working_tree=True, untracked_files=False)


def read_provenance(path: Path) -> Provenance:
    """Return HEAD's commit and whether the tree is dirty.

    A GitError (no repository, no commits) is returned as `problem` instead of raised, so a step still runs
    in a folder without git.
    """
    quick = _status_provenance(path)
    if quick is not None:
        return quick
    try:
        with open_repository(path) as repo:
            sha = head_commit(repo).hexsha
            branch = None if repo.head.is_detached else repo.active_branch.name
            return Provenance(sha=sha, dirty=is_dirty(repo), branch=branch)
    except GitError as error:
        return Provenance(problem=str(error).split(": ", 1)[-1])


def _status_provenance(path: Path) -> Provenance | None:
    """Read the provenance of a work tree root with one `git status`, or return None to take GitPython's way.

    Check rounds read provenance every time, and this costs one short process where GitPython costs its
    import and three git processes. Anything unusual (no .git at `path`, no commits, git missing or failing)
    returns None, so GitPython reports it with its usual message.
    """
    import subprocess

    if not (path / ".git").exists():
        return None
    try:
        completed = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain=v2", "--branch", "--untracked-files=no"],
            cwd=path, capture_output=True, text=True, check=False,
        )
    except OSError:
        return None
    if completed.returncode != 0:
        return None

    sha, branch, dirty = None, None, False
    for line in completed.stdout.splitlines():
        if line.startswith("# branch.oid "):
            sha = line.split(" ", 2)[2]
        elif line.startswith("# branch.head "):
            head = line.split(" ", 2)[2]
            branch = None if head == "(detached)" else head
        elif not line.startswith("#"):
            dirty = True
    if sha is None or sha == "(initial)":
        return None
    return Provenance(sha=sha, dirty=dirty, branch=branch)


def committed_files(path: Path) -> set[str]:
    """Return the paths of the files committed at HEAD in the repository at `path`, relative to its root.

    One `git ls-tree` process lists them; when it fails (no repository, no commits, no git), GitPython
    raises the usual GitError.
    """
    import subprocess

    try:
        completed = subprocess.run(
            ["git", "-C", str(path), "ls-tree", "--full-tree", "-r", "-z", "HEAD"],
            capture_output=True, check=False,
        )
    except OSError:
        completed = None
    if completed is not None and completed.returncode == 0:
        files = set()
        for entry in completed.stdout.split(b"\0"):
            info, _, name = entry.partition(b"\t")
            if name and info.split(b" ")[1:2] == [b"blob"]:
                files.add(name.decode("utf-8", "surrogateescape"))
        return files
    with open_repository(path) as repo:
        commit = head_commit(repo)
        return {item.path for item in commit.tree.traverse() if item.type == "blob"}


def shallow_boundaries(repo: "git.Repo") -> list["git.Commit"]:
    """Return the commits at which a shallow clone's history stops (their parents are not in the clone)."""
    shallow_file = Path(repo.git_dir) / "shallow"
    if not shallow_file.is_file():
        return []
    shas = [line.strip() for line in shallow_file.read_text().splitlines() if line.strip()]
    return [repo.commit(sha) for sha in shas]


def require_history_since(repo: "git.Repo", start: dt.datetime) -> None:
    """Raise GitError when a shallow clone may miss commits made after `start` (an aware time)."""
    for boundary in shallow_boundaries(repo):
        if boundary.committed_datetime >= start:
            raise GitError(
                f"{repo.working_tree_dir}: shallow clone: history before {boundary.hexsha[:SHORT_SHA]} "
                f"({boundary.committed_datetime:%Y-%m-%d %H:%M %z}) is missing, and the incident started "
                f"{start:%Y-%m-%d %H:%M %z}: run git fetch --unshallow"
            )
