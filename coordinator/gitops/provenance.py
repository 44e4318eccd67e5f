"""Deploy steps, and the rule that rejects a deploy from a dirty tree."""

from __future__ import annotations

from typing import Any

from coordinator.gitops.repository import SHORT_SHA

DEPLOY_ACTIONS = frozenset({"deploy_code", "deploy_config"})


def is_deploy_step(step: Any) -> bool:
    """Return whether a step deploys: its `action` is deploy_code or deploy_config."""
    return getattr(step, "action", None) in DEPLOY_ACTIONS


def dirty_deploy_refusal(step: Any, sha: str | None, dirty: bool | None, *, allow_dirty: bool) -> str | None:
    """Return why a deploy step must not run from this tree, or None when it may run.

    A deploy ships the work tree, so one run from uncommitted changes deploys code that no commit records.
    """
    if not is_deploy_step(step) or allow_dirty:
        return None
    if sha is None:
        return (
            "this step deploys, and no commit of the repository can be read, so nothing would record what it "
            "ships: run it inside a git repository with commits, or pass --allow-dirty"
        )
    if dirty:
        return (
            f"this step deploys, and tracked files differ from HEAD {sha[:SHORT_SHA]}: commit or stash them "
            f"(git status shows which), or pass --allow-dirty to deploy them uncommitted"
        )
    return None
