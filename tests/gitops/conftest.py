"""Real temporary git repositories with dated commits, and a small incident about them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

GIT_INCIDENT = """\
incident:
  id: git-small
  title: Git incident
  date: 2026-01-27
  timezone: America/New_York
  context: A toy service whose config lives in the repository.
  default_target: local
targets:
  local:
    warehouse: duckdb:///{warehouse}
roles:
  - name: ops
    title: Operations
    mission: Redeploy the service.
    criteria: [config-deployed]
    paths: [shared/utils/]
    handoff:
      path: handoffs/ops.md
      sections:
        - {{title: What ran, show: [runs]}}
  - name: dev
    title: Development
    mission: Fix the code.
    git_authors: [dev@example.invalid]
    handoff: {{path: handoffs/dev.md, sections: [{{title: Next, show: [next_actions]}}]}}
tasks:
  - id: redeploy
    role: ops
    title: Redeploy the service
    steps:
      - id: deploy
        action: deploy_config
        run: echo deployed > {marker}
  - id: fix_writer
    role: dev
    title: Fix the writer
    files_to_modify: [shared/utils/writer.py]
criteria:
  - id: config-deployed
    role: ops
    text: The service runs the latest config
    drift:
      service: toy-service
      paths: [config/]
      revision: cat {deployed}
"""


def git(repo: Path, *arguments: str, date: str | None = None, author: str = "Ops Person <ops@example.invalid>") -> str:
    """Run git in `repo`; with `date` (ISO-8601 with offset) as both author and committer date."""
    name, email = author[: author.index(" <")], author[author.index("<") + 1 : -1]
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }
    if date is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    result = subprocess.run(["git", *arguments], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def commit_file(repo: Path, path: str, text: str, message: str, *, date: str, author: str = "Ops Person <ops@example.invalid>") -> str:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    git(repo, "add", "--", path)
    git(repo, "commit", "--quiet", "--message", message, date=date, author=author)
    return git(repo, "rev-parse", "HEAD")


def init_repo(repo: Path) -> Path:
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "--quiet", "--initial-branch", "main")
    git(repo, "config", "user.name", "Ops Person")
    git(repo, "config", "user.email", "ops@example.invalid")
    return repo


def coord(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coordinator", *arguments], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def service_repo(tmp_path: Path) -> dict[str, object]:
    """A repository whose service was deployed from its Jan 20 commit; a config change followed on Jan 26.

    Returns the repository, the incident file (outside the repository), the file the revision command reads,
    the deploy marker, and the shas by name.
    """
    repo = init_repo(tmp_path / "repo")
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / ".gitignore").write_text(".coordinator/\n", encoding="utf-8")
    git(repo, "add", ".gitignore")
    shas = {
        "base": commit_file(repo, "config/app.yaml", "window_hours: 6\n", "Add the service", date="2026-01-20T17:05:00+00:00"),
    }
    shas["config"] = commit_file(
        repo, "config/app.yaml", "window_hours: 12\n", "Widen the window to 12 hours", date="2026-01-26T22:41:00+00:00"
    )
    shas["docs"] = commit_file(repo, "docs/notes.md", "notes\n", "Write notes", date="2026-01-26T23:00:00+00:00")

    deployed = outside / "deployed.txt"
    deployed.write_text(shas["base"] + "\n", encoding="utf-8")
    marker = outside / "deploy-marker.txt"
    incident = outside / "incident.yaml"
    incident.write_text(
        textwrap.dedent(GIT_INCIDENT).format(warehouse=outside / "warehouse.duckdb", marker=marker, deployed=deployed),
        encoding="utf-8",
    )
    return {"repo": repo, "incident": incident, "deployed": deployed, "marker": marker, "shas": shas}
