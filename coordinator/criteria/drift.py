"""Measuring a drift criterion: read the deployed revision with the target's command, then ask git."""

from __future__ import annotations

from typing import TYPE_CHECKING

from coordinator.errors import CoordinatorError
from coordinator.runner.redact import redact
from coordinator.spec.models import Criterion, command_for
from coordinator.spec.params import fill_command
from coordinator.target import TargetContext

if TYPE_CHECKING:
    from coordinator.criteria.evaluate import Evaluation


def evaluate_drift(criterion: Criterion, context: TargetContext) -> "Evaluation":
    from coordinator.criteria.evaluate import Evaluation
    from coordinator.gitops.drift import find_drift, parse_revision

    drift = criterion.drift
    assert drift is not None
    evaluation = Evaluation(criterion.id, criterion.role, "drift", "error")
    template = command_for(drift.revision, context.target)
    if template is None:
        evaluation.detail = f"no revision command for target {context.target!r}"
        return evaluation

    command = fill_command(template, context.params(criterion.params))
    outcome = context.run_command(command, timeout=criterion.timeout)
    evaluation.command, evaluation.exit_code = command, outcome.exit_code
    evaluation.output_tail = redact(outcome.output)
    printed = [line.strip() for line in outcome.output.splitlines() if line.strip()]
    if outcome.timed_out:
        evaluation.detail = f"revision command timed out after {criterion.timeout:g} s"
        return evaluation
    if outcome.exit_code != 0 or not printed:
        first = printed[0][:120] if printed else "no output"
        evaluation.detail = f"revision command failed (exit code {outcome.exit_code}): {redact(first)}"
        return evaluation

    try:
        report = find_drift(context.repo, drift.service, list(drift.paths), parse_revision(printed[-1]))
    except CoordinatorError as error:
        evaluation.detail = str(error)
        return evaluation
    evaluation.status = "fail" if report.drifted else "pass"
    evaluation.value = report.value()
    evaluation.detail = report.detail()
    evaluation.rows = [
        {"sha": commit.sha, "committed_at": commit.committed_at.isoformat(), "subject": commit.subject}
        for commit in report.commits
    ]
    return evaluation
