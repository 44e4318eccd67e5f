"""The check round's incident and floor: both sides of the benchmark do the same work and reach the same verdicts."""

import pytest

from bench import floor_check, incident as bench_incident
from bench.harness import BenchError
from coordinator.criteria.compare import compare


def test_bench_incident_has_enough_sql_criteria(tmp_path):
    path = bench_incident.write_incident(tmp_path / "bench.yaml")

    criteria = bench_incident.load(path).criteria

    assert len(criteria) >= bench_incident.MIN_SQL_CRITERIA
    assert all(criterion.sql is not None for criterion in criteria)
    assert len({criterion.id for criterion in criteria}) == len(criteria)


def test_bench_incident_keeps_seed_sql_criteria(tmp_path):
    ids = {criterion.id for criterion in bench_incident.load(bench_incident.write_incident(tmp_path / "b.yaml")).criteria}

    assert {"props_collected_today", "player_coverage_jan15", "cache_complete_jan15_27"} <= ids


def test_variant_overrides_its_date(tmp_path):
    incident = bench_incident.load(bench_incident.write_incident(tmp_path / "bench.yaml"))

    variant = incident.criterion("player_coverage_jan15__20260120")

    assert str(variant.params["coverage_date"]) == "2026-01-20"
    assert variant.sql == incident.criterion("player_coverage_jan15").sql


def test_subset_holds_only_named_criteria(tmp_path):
    subset = ["usage_rate_coverage_jan22", "props_collected_today__20260121"]

    incident = bench_incident.load(bench_incident.write_incident(tmp_path / "subset.yaml", criterion_ids=subset))

    assert sorted(criterion.id for criterion in incident.criteria) == sorted(subset)
    assert all(set(role.criteria) <= set(subset) for role in incident.roles)


def test_subset_rejects_unknown_criterion(tmp_path):
    with pytest.raises(BenchError, match="scrapers_serving"):
        bench_incident.write_incident(tmp_path / "subset.yaml", criterion_ids=["scrapers_serving"])


@pytest.mark.parametrize(
    "measured, op, expected",
    [
        (63.6, "between", [85, 100]),
        (90, "between", [85, 100]),
        (0, "==", 0),
        (None, "==", 0),
        (1001, ">", 1000),
        (81, "<", 52),
        ("95%", ">=", 90),
    ],
)
def test_floor_compares_as_coord(measured, op, expected):
    assert floor_check.holds(measured, op, expected) == compare(measured, op, expected)
