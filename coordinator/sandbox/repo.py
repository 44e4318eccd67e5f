"""The workspace's git repository: the pipeline's source files and their history.

Every file under ``workspace_template/`` carries a ``.tmpl`` suffix, which keeps pytest and linters of this
project away from the pipeline's own code and tests; the suffix is dropped when the workspace is written.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

# NOTE: the house rule keeps git imports in coordinator/gitops, but this repository belongs to the simulated
# pipeline rather than to the coordinator, so the sandbox writes it directly until gitops offers commit helpers.
import git

TEMPLATE_DIR = Path(__file__).parent / "workspace_template"
TEMPLATE_SUFFIX = ".tmpl"
DEV_AUTHOR = git.Actor("Pipeline Dev", "dev@example.invalid")
WORKFLOWS_PATH = "config/workflows.yaml"

# The commits of the workspace history: date (UTC), message, and the path prefixes they add. The first
# commit takes every file that no later commit claims.
HISTORY = (
    (datetime(2026, 1, 20, 17, 5), "Add NBA props pipeline sources", ()),
    (
        datetime(2026, 1, 26, 15, 40),
        "Add data lineage prevention layer (processing gate, window completeness)",
        (
            "shared/validation/window_completeness.py",
            "shared/validation/processing_gate.py",
            "migrations/",
            "tests/unit/validation/",
            "pytest.ini",
            "docs/08-projects/",
            "docs/09-handoff/HANDOFF-JAN26",
            "docs/09-handoff/2026-01-26",
        ),
    ),
    (datetime(2026, 1, 26, 22, 41), "Widen betting_lines window to 12 hours", (WORKFLOWS_PATH,)),
    (datetime(2026, 1, 27, 14, 30), "Add Jan 27 pipeline investigation handoffs", ("docs/09-handoff/",)),
)
INITIAL_WINDOW_HOURS = 6


def template_files() -> dict[str, str]:
    """Return the workspace files as {relative path: text}."""
    files = {}
    for path in sorted(TEMPLATE_DIR.rglob("*" + TEMPLATE_SUFFIX)):
        relative = path.relative_to(TEMPLATE_DIR).as_posix()[: -len(TEMPLATE_SUFFIX)]
        files[relative] = path.read_text()
    return files


def with_window(workflows_text: str, hours: int) -> str:
    return re.sub(r"(window_before_game_hours:\s*)\d+", rf"\g<1>{hours}", workflows_text)


def commit_paths(repo: git.Repo, paths: list[str], message: str, moment: datetime) -> str:
    """Commit ``paths`` as the dev author at ``moment`` (naive UTC); return the commit sha."""
    repo.index.add(paths)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S") + " +0000"
    commit = repo.index.commit(
        message, author=DEV_AUTHOR, committer=DEV_AUTHOR, author_date=stamp, commit_date=stamp
    )
    return commit.hexsha


def claimed_by(path: str) -> int:
    """Return the index of the HISTORY commit whose longest matching prefix adds ``path``."""
    owner, longest = 0, 0
    for index, (_, _, prefixes) in enumerate(HISTORY):
        for prefix in prefixes:
            if path.startswith(prefix) and len(prefix) > longest:
                owner, longest = index, len(prefix)
    return owner


def create_repository(workspace: Path) -> list[str]:
    """Write the pipeline files into ``workspace`` as a git history; return the commit shas, oldest first."""
    repo = git.Repo.init(workspace, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", DEV_AUTHOR.name)
        config.set_value("user", "email", DEV_AUTHOR.email)
    files = template_files()
    shas = []
    for index, (moment, message, _) in enumerate(HISTORY):
        paths = [path for path in files if claimed_by(path) == index]
        if index == 0 and WORKFLOWS_PATH in files:
            paths.append(WORKFLOWS_PATH)
        for path in paths:
            text = files[path]
            if path == WORKFLOWS_PATH and index == 0:
                text = with_window(text, INITIAL_WINDOW_HOURS)
            target = workspace / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        shas.append(commit_paths(repo, paths, message, moment))
    repo.close()
    return shas


def read_at_head(workspace: Path, path: str) -> tuple[str, str | None]:
    """Return (HEAD commit sha, text of ``path`` at HEAD or None when the file is not committed)."""
    repo = git.Repo(workspace)
    try:
        commit = repo.head.commit
        try:
            text = (commit.tree / path).data_stream.read().decode()
        except KeyError:
            text = None
        return commit.hexsha, text
    finally:
        repo.close()


def commit_file(workspace: Path, path: str, text: str, message: str, moment: datetime) -> str:
    """Write ``text`` to ``path`` and commit it as the dev author at ``moment``; return the sha."""
    (workspace / path).write_text(text)
    repo = git.Repo(workspace)
    try:
        return commit_paths(repo, [path], message, moment)
    finally:
        repo.close()
