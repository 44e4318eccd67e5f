import textwrap

from coordinator.runner.run import RoleRunner
from coordinator.spec import parse_incident
from coordinator.target import TargetContext
from tests.conftest import SMALL_INCIDENT


def runner_for(small, incident=None):
    base, context, board, _ = small
    incident = incident or base
    context = TargetContext(incident=incident, target="local", repo=context.repo)
    return RoleRunner(incident, "ops", context, board), board


def with_tasks(extra: str) -> str:
    return SMALL_INCIDENT.replace("criteria:\n  - id: rows-loaded", textwrap.dedent(extra) + "criteria:\n  - id: rows-loaded")


def test_run_records_steps_and_verifies(small):
    runner, board = runner_for(small)

    outcome = runner.run()

    assert outcome.status == "done"
    steps = board.step_runs("small", role="ops")
    assert [(step.task_id, step.status, step.exit_code) for step in steps] == [("load", "done", 0)]
    assert "loaded 5 rows" in steps[0].output_tail
    assert board.task_states("small")["load"].status == "done"
    assert board.results("small")[-1].status == "pass"


def test_rerun_skips_done_tasks(small):
    runner, board = runner_for(small)
    runner.run()

    again, _ = runner_for(small)
    outcome = again.run()

    assert outcome.status == "done"
    assert len(board.step_runs("small", role="ops")) == 1


def test_failed_step_stops_the_run(small):
    incident = parse_incident(SMALL_INCIDENT.replace("python3 load.py {{ game_date }}", "exit 4"))
    runner, board = runner_for(small, incident)

    outcome = runner.run()

    assert outcome.status == "failed"
    assert "exit code 4" in outcome.message
    assert board.task_states("small")["load"].status == "failed"


def test_alternative_used_when_script_missing(small):
    text = SMALL_INCIDENT.replace(
        "      - run: python3 load.py {{ game_date }}\n",
        "      - alternatives:\n"
        "          - run: python3 missing_script.py\n"
        "          - run: python3 load.py {{ game_date }}\n",
    )
    runner, board = runner_for(small, parse_incident(text))

    outcome = runner.run()

    assert outcome.status == "done"
    steps = {step.step_key: step for step in board.step_runs("small", role="ops")}
    assert steps["1.alt1"].status == "failed"
    assert "script missing" in steps["1.alt1"].reason
    assert steps["1.alt2"].status == "done"
    assert "alternative 2 ran" in steps["1"].reason


def test_branch_taken_on_measured_value(small):
    text = SMALL_INCIDENT.replace(
        "      - run: python3 load.py {{ game_date }}\n",
        "      - branch:\n"
        "          if: {sql: 'SELECT COUNT(*) AS n FROM raw.events WHERE game_date = @game_date', expect: {column: n, op: '>', value: 0}}\n"
        "          then: [{run: echo already there}]\n"
        "          else: [{run: 'python3 load.py {{ game_date }}'}]\n",
    )
    runner, board = runner_for(small, parse_incident(text))

    outcome = runner.run()

    assert outcome.status == "done"
    steps = {step.step_key: step for step in board.step_runs("small", role="ops")}
    assert "took else" in steps["1"].reason
    assert steps["1.else1"].status == "done"
    assert "1.then1" not in steps


def test_dependency_on_other_role_refuses(small):
    text = SMALL_INCIDENT.replace("    verified_by: [rows-loaded]\n", "    verified_by: [rows-loaded]\n    depends_on: [fix]\n").replace(
        "criteria:\n  - id: rows-loaded",
        "  - id: fix\n    role: dev\n    title: Fix the loader\n    steps: [{run: 'true'}]\ncriteria:\n  - id: rows-loaded",
    )
    runner, board = runner_for(small, parse_incident(text))

    outcome = runner.run()

    assert outcome.status == "blocked"
    assert "waits for task 'fix' of role 'dev'" in outcome.message
    assert board.step_runs("small", role="ops") == []


def test_token_in_output_is_redacted(small):
    text = SMALL_INCIDENT.replace(
        "run: python3 load.py {{ game_date }}", "run: 'echo Authorization: Bearer abcdefghijklmnop; python3 load.py {{ game_date }}'"
    )
    runner, board = runner_for(small, parse_incident(text))
    shown = []
    runner.emit = lambda kind, message: shown.append(message)

    runner.run()

    step = board.step_runs("small", role="ops")[0]
    assert "abcdefghijklmnop" not in step.output_tail
    assert "abcdefghijklmnop" not in step.command
    assert "[REDACTED]" in step.output_tail
    assert not any("abcdefghijklmnop" in line for line in shown)
