"""Role policies: `coord run` rejects a step the role may not take; prompts state the policy."""

from __future__ import annotations

from pathlib import Path

from coordinator.render import render_role_prompt
from coordinator.spec import load_incident
from tests.coordination.conftest import TEAM_INCIDENT, coord

DEPLOY_AS_OPS = TEAM_INCIDENT.replace("  - id: ship\n    role: dev\n", "  - id: ship\n    role: ops\n")


def test_deploy_step_rejected_for_ops(team: Path):
    (team / "incident.yaml").write_text(DEPLOY_AS_OPS, encoding="utf-8")

    result = coord("run", "incident.yaml", "--role", "ops", "--yes", "--allow-dirty", cwd=team)

    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ops: refused: step deploy_loader of task 'ship' is rejected: it is deploy_code")
    assert "roles[0].policy.may: write_tables, trigger_jobs" in last
    assert "hand it to role dev" in last
    assert "deployed loader" not in result.stdout


def test_same_deploy_step_runs_for_dev(team: Path):
    result = coord("run", "incident.yaml", "--role", "dev", "--yes", "--allow-dirty", cwd=team)

    assert "    deployed loader" in result.stdout
    assert "deploy_loader refused" not in result.stdout
    # The next task writes a table, which dev's policy does not allow.
    assert "step rebuild_rows of task 'rebuild' is rejected: it is write_tables" in result.stderr
    assert result.returncode == 1


def test_prompt_states_policy(team: Path):
    text = render_role_prompt(load_incident(team / "incident.yaml"), "ops", "local")

    assert "**Your policy**: You may write warehouse tables (backfills and reprocessing) and trigger scheduler jobs" in text
    assert "You may not change code; deploy code; redeploy a service" in text
    assert "coord checkin --incident team --role ops" in text
    assert "coord claim RESOURCE --incident team --role ops" in text
    assert "--blocking --until CRITERION" in text
    assert "Resources you share with another chat: `table:raw.events@2026-01-27..2026-01-27`, `service:loader`" in text
