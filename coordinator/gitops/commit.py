"""Committing one handoff document, and nothing else, to the incident's repository."""

from __future__ import annotations

import tempfile
from pathlib import Path

from coordinator.gitops.repository import SHORT_SHA, GitError, open_repository, require_branch


def handoff_message(incident_id: str, role: str) -> str:
    """Return the commit message of a role's handoff; its `Role:` trailer attributes the commit to the role."""
    return f"Add {role} handoff for incident {incident_id}\n\nIncident: {incident_id}\nRole: {role}\n"


def check_commit(repo_path: Path, path: Path, text: str) -> None:
    """Raise GitError when writing `text` to `path` and committing it would fail, before anything is written."""
    with open_repository(repo_path) as repo:
        relative = _relative_path(repo, repo_path, path)
        with tempfile.TemporaryDirectory(prefix="coord-handoff-") as folder:
            draft = Path(folder) / "handoff.md"
            draft.write_text(text, encoding="utf-8")
            blob = repo.git.hash_object("--path", relative, str(draft)).strip()
        _reject_unrelated_staged(repo, relative, blob)


def commit_one_file(repo_path: Path, path: Path, message: str) -> str:
    """Commit exactly `path` with its working-tree content and return the new commit's sha.

    Other staged changes stay staged and out of the commit. Raises GitError when HEAD is detached, when
    `path` is outside the work tree, or when `path` has staged changes that differ from its file.
    """
    import git

    with open_repository(repo_path) as repo:
        relative = _relative_path(repo, repo_path, path)
        _reject_unrelated_staged(repo, relative, repo.git.hash_object("--", relative).strip())
        if repo.ignored(relative):
            raise GitError(f"{relative}: ignored by .gitignore: stop ignoring it, or give the handoff another path")
        try:
            repo.git.add("--", relative)
            repo.git.commit("--only", "--message", message, "--", relative)
        except git.GitCommandError as error:
            reason = _first_line(error.stderr) or _first_line(error.stdout) or f"exit code {error.status}"
            raise GitError(f"{relative}: git commit failed: {reason}") from None
        return repo.head.commit.hexsha


def _relative_path(repo, repo_path: Path, path: Path) -> str:
    """Return `path` relative to the work tree; raise GitError when HEAD is detached or `path` is outside."""
    if repo.head.is_valid():
        require_branch(repo)
    root = Path(repo.working_tree_dir or repo_path).resolve()
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        raise GitError(f"{path}: outside the repository {root}: give the handoff a path inside it") from None


def _reject_unrelated_staged(repo, relative: str, file_blob: str) -> None:
    """Raise GitError when the index contains a version of `relative` that is neither HEAD's nor `file_blob`."""
    staged = repo.git.ls_files("--stage", "--", relative).split()
    if len(staged) < 2:
        return
    staged_blob = staged[1]
    head_blob = repo.git.rev_parse("--verify", "--quiet", f"HEAD:{relative}", with_exceptions=False).strip()
    if staged_blob in (head_blob, file_blob):
        return
    raise GitError(
        f"{relative}: has staged changes ({staged_blob[:SHORT_SHA]}) that are not this handoff: commit them or "
        f"unstage them (git restore --staged {relative}), then run again"
    )


def _first_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0].removeprefix("stderr: ").strip("'") if lines else ""
