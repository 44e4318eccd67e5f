"""The shipped NBA incident file loads and carries the three chats, their checklists and handoffs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from coordinator.spec import load_incident
from coordinator.spec.models import BranchStep, Incident, QueryStep, RunStep, command_for
from coordinator.spec.references import walk_steps

INCIDENT_FILE = Path(__file__).parents[2] / "playbooks" / "nba" / "2026-01-27-pipeline-recovery.yaml"

CHECKLISTS = {
    "ops": [
        "nba-scrapers redeployed (revision date is today)",
        "Props collected for Jan 27 (>1000 records)",
        "Predictions generated for Jan 27 (>50 predictions)",
        "Cache exists for Jan 26 (>100 players)",
        "No new quota errors in last hour",
    ],
    "reprocessing": [
        "Player coverage for Jan 15: >85% (was 63.6%)",
        "Usage rate coverage for Jan 22: >80% (was 0%)",
        "Cache exists for all dates Jan 15-27: >100 players each",
        "Anthony Davis has analytics records for Jan 15+",
        "Spot check accuracy: >90%",
    ],
    "dev": [
        "BigQuery quota fix deployed (streaming inserts OR Firestore)",
        "Circuit breaker writes reduced (check in 1 hour)",
        "Processing gate migration run",
        "Processing gate integrated into at least one processor",
        "Game ID normalization fix identified (may not deploy today)",
        "All tests pass",
    ],
}
DEPLOYMENT_CHECKLIST = [
    "All unit tests pass",
    "Changes reviewed (no accidental deletions)",
    "Backup strategy if rollback needed",
]
MANUAL_TEXTS = {
    "Game ID normalization fix identified (may not deploy today)",
    "Changes reviewed (no accidental deletions)",
    "Backup strategy if rollback needed",
}
DATE_LITERAL = re.compile(r"'\d{4}-\d{2}-\d{2}'")


@pytest.fixture(scope="module")
def incident() -> Incident:
    return load_incident(INCIDENT_FILE)


def _all_sql(incident: Incident) -> list[tuple[str, str]]:
    found = [(f"criterion {criterion.id}", criterion.sql) for criterion in incident.criteria if criterion.sql]
    for task in incident.tasks:
        for _, key, step in walk_steps(task.steps, ()):
            if isinstance(step, QueryStep):
                found.append((f"task {task.id} step {key}", step.query))
            if isinstance(step, BranchStep) and step.branch.condition.sql:
                found.append((f"task {task.id} step {key}", step.branch.condition.sql))
    return found


def test_header(incident: Incident):
    assert incident.incident.date.isoformat() == "2026-01-27"
    assert incident.incident.timezone == "America/New_York"
    assert incident.incident.default_target == "sandbox"
    assert set(incident.targets) == {"prod", "sandbox"}


def test_three_roles_in_chat_order(incident: Incident):
    assert [(role.name, role.chat) for role in incident.roles] == [("ops", 1), ("reprocessing", 2), ("dev", 3)]
    assert [role.title for role in incident.roles] == [
        "OPERATIONS - Pipeline Recovery",
        "DATA REPROCESSING - Historical Remediation",
        "DEVELOPMENT - Bug Fixes & Prevention",
    ]


@pytest.mark.parametrize("role", list(CHECKLISTS))
def test_checklist_texts_and_order(incident: Incident, role: str):
    texts = [incident.criterion(criterion_id).text for criterion_id in incident.role(role).criteria]

    assert texts == CHECKLISTS[role]


def test_checklist_criteria_owned_by_role(incident: Incident):
    for role in CHECKLISTS:
        for criterion_id in incident.role(role).criteria:
            assert incident.criterion(criterion_id).role == role, criterion_id


def test_all_checklist_texts_defined(incident: Incident):
    texts = {criterion.text for criterion in incident.criteria}
    checklist_texts = [text for checklist in CHECKLISTS.values() for text in checklist] + DEPLOYMENT_CHECKLIST

    assert len(checklist_texts) >= 16
    assert set(checklist_texts) <= texts


def test_manual_criteria_set(incident: Incident):
    manual = {criterion.text for criterion in incident.criteria if criterion.manual}

    assert manual == MANUAL_TEXTS


def test_commands_cover_both_targets(incident: Incident):
    for criterion in incident.criteria:
        if criterion.command is None:
            continue
        for target in ("prod", "sandbox"):
            assert command_for(criterion.command, target), f"{criterion.id} has no command for {target}"


def test_every_role_has_handoff(incident: Incident):
    paths = {role.name: role.handoff.path for role in incident.roles}

    assert paths == {
        "ops": "docs/09-handoff/2026-01-27-OPS-CHAT-COMPLETE.md",
        "reprocessing": "docs/09-handoff/2026-01-27-REPROCESSING-CHAT-COMPLETE.md",
        "dev": "docs/09-handoff/2026-01-27-DEV-CHAT-COMPLETE.md",
    }
    for role in incident.roles:
        assert len(role.handoff.sections) == 4, role.name


def test_stated_orders_are_dependencies(incident: Incident):
    assert "reprocess_phase3" in incident.task("regenerate_phase4_cache").depends_on
    assert "redeploy_scrapers" in incident.task("trigger_betting_lines").depends_on
    assert "trigger_betting_lines" in incident.task("trigger_morning_predictions").depends_on
    assert "test_changes" in incident.task("deploy_phase3_processors").depends_on


def test_deployment_checklist_is_preconditions(incident: Incident):
    task = incident.task("deploy_phase3_processors")
    texts = [incident.criterion(criterion_id).text for criterion_id in task.preconditions]

    assert texts == DEPLOYMENT_CHECKLIST


def test_verified_by_is_never_manual(incident: Incident):
    for task in incident.tasks:
        for criterion_id in task.verified_by:
            assert not incident.criterion(criterion_id).manual, f"{task.id} is verified by manual {criterion_id}"


def test_cache_branch_jobs(incident: Incident):
    branch = next(step for step in incident.task("restore_cache_jan26").steps if isinstance(step, BranchStep)).branch
    then_jobs = [command_for(step.run, "sandbox") for step in branch.then if isinstance(step, RunStep)]
    else_jobs = [command_for(step.run, "sandbox") for step in branch.otherwise if isinstance(step, RunStep)]

    assert branch.condition.expect.op == ">"
    assert branch.condition.expect.value == 0
    assert then_jobs == ["coord sandbox run-job same-day-phase4"]
    assert else_jobs == ["coord sandbox run-job same-day-phase3", "coord sandbox run-job same-day-phase4"]


def test_sql_binds_values(incident: Incident):
    for where, sql in _all_sql(incident):
        assert not DATE_LITERAL.search(sql), f"{where} writes a date literal instead of binding it"


def test_props_table_is_the_real_one(incident: Incident):
    for where, sql in _all_sql(incident):
        assert "bp_player_props" not in sql, where
    assert "nba_raw.bettingpros_player_points_props" in incident.criterion("props_collected_today").sql


def test_final_validation_has_no_role(incident: Incident):
    final = incident.coordination.final_validation
    criterion = incident.criterion(final.criterion)

    assert criterion.role is None
    assert command_for(criterion.command, "prod") == "python scripts/validate_tonight_data.py"
    assert command_for(criterion.command, "sandbox") == "coord sandbox validate"
    assert re.search(criterion.expect.output, "OK    props\n0 ISSUES\n")
    assert not re.search(criterion.expect.output, "ISSUE props\n1 ISSUES\n")


def test_checkin_after_two_hours(incident: Incident):
    (checkin,) = incident.coordination.checkins

    assert checkin.after == "2h"
    assert set(checkin.questions) == {"ops", "reprocessing", "dev"}
