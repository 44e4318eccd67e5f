import pytest

from coordinator.criteria.compare import compare
from coordinator.criteria.evaluate import evaluate
from coordinator.criteria.round import check_round, round_exit_code
from coordinator.spec import parse_incident
from coordinator.target import TargetContext
from tests.conftest import SMALL_INCIDENT


def test_sql_criterion_fails_with_measured_value(small):
    incident, context, board, _ = small

    evaluation = evaluate(incident.criterion("rows-loaded"), context)

    assert evaluation.status == "fail"
    assert evaluation.value == 0
    assert evaluation.params == {"game_date": "2026-01-27"}
    assert "demo-project" not in evaluation.sql or "`demo-project.raw.events`" in evaluation.sql


def test_manual_criterion_waits_until_ticked(small):
    incident, context, board, _ = small

    waiting = evaluate(incident.criterion("reviewed"), context, ticks={})
    board.add_tick("small", "reviewed", ticked_by="Ana", reason="diff read", passed=True)
    ticked = evaluate(incident.criterion("reviewed"), context, ticks=board.latest_ticks("small"))

    assert waiting.status == "waiting"
    assert ticked.status == "pass"
    assert "Ana" in ticked.detail


def test_check_round_stores_every_measured_result(small):
    incident, context, board, _ = small

    check_round(incident, context, board)
    evaluations = check_round(incident, context, board)

    results = board.results("small")
    assert [result.criterion_id for result in results] == ["rows-loaded", "rows-loaded"]
    assert results[-1].sql is not None
    assert round_exit_code(evaluations) == 1


def command_incident(expect: str, command: str) -> str:
    return SMALL_INCIDENT.replace(
        "  - id: reviewed\n",
        f"  - id: cmd\n    text: A command\n    command: {command!r}\n    expect: {expect}\n  - id: reviewed\n",
    )


@pytest.mark.parametrize(
    "command, expect, status, value",
    [
        ("echo 'accuracy: 95.0%'", "{output: 'accuracy: (?P<value>[0-9.]+)%', op: '>', value: 90}", "pass", "95.0"),
        ("echo 'accuracy: 80.0%'", "{output: 'accuracy: (?P<value>[0-9.]+)%', op: '>', value: 90}", "fail", "80.0"),
        ("exit 3", "{exit_code: 0}", "fail", 3),
        ("true", "{exit_code: 0}", "pass", 0),
        ("printf ''", "{output: '^$'}", "pass", "(no output)"),
    ],
)
def test_command_criterion(tmp_path, command, expect, status, value):
    (tmp_path / "warehouse.duckdb").touch()
    incident = parse_incident(command_incident(expect, command))
    context = TargetContext(incident=incident, target="local", repo=tmp_path)

    evaluation = evaluate(incident.criterion("cmd"), context)

    assert evaluation.status == status
    assert evaluation.value == value


def test_unmeasurable_sql_is_error_not_fail(small, tmp_path):
    incident, context, board, _ = small
    broken = parse_incident(SMALL_INCIDENT.replace("raw.events", "raw.missing_table"))
    context = TargetContext(incident=broken, target="local", repo=tmp_path)

    evaluation = evaluate(broken.criterion("rows-loaded"), context)

    assert evaluation.status == "error"
    assert "missing_table" in evaluation.detail


@pytest.mark.parametrize(
    "measured, op, expected, result",
    [
        (1200, ">", 1000, True),
        ("63.6", "between", [85, 100], False),
        (101.0, "between", [85, 100], False),
        (None, ">", 0, False),
        ("2026-01-27", "==", "2026-01-27", True),
    ],
)
def test_compare(measured, op, expected, result):
    assert compare(measured, op, expected) is result
