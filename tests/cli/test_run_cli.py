"""`coord run` and `coord plan` through the real command line: dry runs, plans, secrets, risky steps, detach."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from coordinator.board.store import Board
from tests.conftest import make_warehouse, write_incident

PROJECT = Path(__file__).resolve().parents[2]
SEED = PROJECT / "playbooks/nba/2026-01-27-pipeline-recovery.yaml"
SEED_ROLES = ("ops", "reprocessing", "dev")


def coord(*arguments: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "coordinator", *arguments], cwd=cwd, capture_output=True, text=True, timeout=300,
        stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})},
    )


def seed_task_ids() -> list[str]:
    from coordinator.spec import load_incident

    return [task.id for task in load_incident(SEED).tasks]


def test_dry_run_of_seed_prints_every_role(tmp_path: Path):
    (tmp_path / ".git").mkdir()

    result = coord("run", str(SEED), "--dry-run", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Dry run: nothing runs.")
    for role in SEED_ROLES:
        assert f"\nRole {role}: " in result.stdout
    for task_id in seed_task_ids():
        assert f". {task_id}: " in result.stdout
    assert "$ coord sandbox deploy nba-scrapers --env BETTINGPROS_API_KEY=\"$BETTINGPROS_API_KEY\"" in result.stdout
    assert "--start-date 2026-01-01 --end-date 2026-01-25" in result.stdout
    assert "verified by: props_collected_today" in result.stdout
    assert "after tasks: deploy_phase3_processors" in result.stdout
    assert not (tmp_path / ".coordinator").exists()
    assert not (tmp_path / ".sandbox").exists()


def test_dry_run_of_one_role_on_prod(tmp_path: Path):
    (tmp_path / ".git").mkdir()

    result = coord("run", str(SEED), "--role", "ops", "--target", "prod", "--dry-run", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Role ops: " in result.stdout
    assert "Role dev: " not in result.stdout
    assert "gcloud run deploy nba-scrapers" in result.stdout
    assert "asks first: its action is deploy_config" in result.stdout


def test_plan_of_seed_shows_order_across_roles(tmp_path: Path):
    (tmp_path / ".git").mkdir()

    result = coord("plan", str(SEED), cwd=tmp_path)

    assert result.returncode in (0, 1), result.stderr
    assert "Order across roles" in result.stdout
    assert "stage 1: ops.redeploy_scrapers" in result.stdout
    assert "reprocessing.reprocess_phase3 waits for task deploy_phase3_processors (role dev)" in result.stdout
    for role in SEED_ROLES:
        assert f"\nRole {role}: " in result.stdout


SECRET_INCIDENT = """\
incident:
  id: secrets
  title: Secrets stay out of the board
  date: 2026-01-27
  context: A toy pipeline.
  default_target: local
secrets: [VENDOR_KEY]
targets:
  local:
    warehouse: duckdb:///warehouse.duckdb
    env: {VENDOR_KEY: vk-9f8e7d6c5b}
roles:
  - name: ops
    title: Operations
    mission: Call the vendor.
    handoff: {path: handoffs/ops.md, sections: [{title: Runs, show: [runs]}]}
tasks:
  - id: call
    role: ops
    title: Call the vendor
    steps:
      - id: fetch
        run: |-
          echo "got token ya29.a0AfH6SMBx-secret-token-value"
          echo "Authorization: Bearer abcdefghijklmnop123"
          echo "using key $VENDOR_KEY"
          echo "password=hunter2hunter2"
"""


def test_token_in_output_stored_and_printed_redacted(tmp_path: Path):
    (tmp_path / ".git").mkdir()
    make_warehouse(tmp_path)
    incident = write_incident(tmp_path, SECRET_INCIDENT)

    result = coord("run", str(incident), "--role", "ops", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    step = Board.for_repo(tmp_path).step_runs("secrets")[0]
    for secret in ("ya29.a0AfH6SMBx-secret-token-value", "abcdefghijklmnop123", "vk-9f8e7d6c5b", "hunter2hunter2"):
        assert secret not in result.stdout
        assert secret not in step.output_tail
    output_lines = [line.strip() for line in result.stdout.splitlines() if line.startswith("    ")]
    assert output_lines == ["got token [REDACTED]", "Authorization: Bearer [REDACTED]", "using key [REDACTED]", "password=[REDACTED]"]
    assert "using key [REDACTED]" in step.output_tail
    assert 'echo "using key $VENDOR_KEY"' in step.command


RISKY_INCIDENT = """\
incident:
  id: risky
  title: A deploy
  date: 2026-01-27
  context: A toy service.
  default_target: local
targets:
  local:
    warehouse: duckdb:///warehouse.duckdb
roles:
  - name: ops
    title: Operations
    mission: Deploy.
    handoff: {path: handoffs/ops.md, sections: [{title: Runs, show: [runs]}]}
tasks:
  - id: ship
    role: ops
    title: Ship it
    steps:
      - {id: deploy, run: echo deployed > deployed.txt, risky: true}
"""


def test_risky_step_without_terminal_refused(tmp_path: Path):
    (tmp_path / ".git").mkdir()
    make_warehouse(tmp_path)
    incident = write_incident(tmp_path, RISKY_INCIDENT)

    refused = coord("run", str(incident), "--role", "ops", cwd=tmp_path)

    assert refused.returncode == 1
    assert not (tmp_path / "deployed.txt").exists()
    assert refused.stderr.strip().splitlines()[-1] == (
        "ops: refused: step deploy of task 'ship' is risky (it is marked risky) and there is no terminal to "
        "confirm it: run again with --yes to accept risky steps"
    )

    accepted = coord("run", str(incident), "--role", "ops", "--yes", cwd=tmp_path)

    assert accepted.returncode == 0, accepted.stderr
    assert (tmp_path / "deployed.txt").exists()


SLOW_INCIDENT = """\
incident:
  id: detached
  title: A long step
  date: 2026-01-27
  context: A toy backfill.
  default_target: local
targets:
  local:
    warehouse: duckdb:///warehouse.duckdb
roles:
  - name: ops
    title: Operations
    mission: Backfill.
    handoff: {path: handoffs/ops.md, sections: [{title: Runs, show: [runs]}]}
tasks:
  - id: backfill
    role: ops
    title: Backfill
    steps:
      - id: long
        run: |-
          echo "date 1 of 2 written"
          while [ ! -f release ]; do sleep 0.1; done
          echo "date 2 of 2 written"
"""


def test_detach_runs_in_background_with_status(tmp_path: Path):
    (tmp_path / ".git").mkdir()
    make_warehouse(tmp_path)
    incident = write_incident(tmp_path, SLOW_INCIDENT)
    board = Board.for_repo(tmp_path)

    started = coord("run", str(incident), "--role", "ops", "--detach", cwd=tmp_path)

    assert started.returncode == 0, started.stderr
    assert "running in the background as pid" in started.stdout
    assert "--status" in started.stdout
    deadline = time.monotonic() + 60
    while not any(row.output_tail and "date 1 of 2" in row.output_tail for row in board.step_runs("detached")):
        assert time.monotonic() < deadline, "the detached run did not report its output"
        time.sleep(0.2)

    running = coord("run", str(incident), "--role", "ops", "--status", cwd=tmp_path)
    assert running.returncode == 0
    assert "ops: run 1 on local" in running.stdout
    assert "running" in running.stdout.splitlines()[0]
    assert "long: running" in running.stdout
    assert "last output: date 1 of 2 written" in running.stdout

    busy = coord("run", str(incident), "--role", "ops", cwd=tmp_path)
    assert busy.returncode == 1
    assert "is already running" in busy.stderr

    (tmp_path / "release").write_text("")
    deadline = time.monotonic() + 60
    while board.runs("detached")[0].status == "running":
        assert time.monotonic() < deadline, "the detached run did not finish"
        time.sleep(0.2)
    finished = coord("run", str(incident), "--role", "ops", "--status", cwd=tmp_path)
    assert "run 1 on local, pid" in finished.stdout
    assert ", done, " in finished.stdout
    log = Path(board.runs("detached")[0].log_path)
    assert "date 2 of 2 written" in log.read_text()
