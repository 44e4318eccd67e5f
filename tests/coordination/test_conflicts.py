"""Conflicts derived from touches: the seed's Phase 3 processor and its write-write overlaps."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from coordinator.coordination.conflicts import find_conflicts, write_write_overlaps
from coordinator.coordination.resources import parse_resource
from coordinator.render import render_coordination
from coordinator.spec import load_incident, parse_incident
from tests.coordination.conftest import TEAM_INCIDENT, coord

PROJECT = Path(__file__).resolve().parents[2]
SEED = PROJECT / "playbooks" / "nba" / "2026-01-27-pipeline-recovery.yaml"
SEED_WRITE_WRITE = {
    ("table:nba_analytics.player_game_summary", ("dev", "ops")),
    ("table:nba_analytics.player_game_summary", ("dev", "reprocessing")),
    ("table:nba_analytics.player_game_summary", ("ops", "reprocessing")),
    ("table:nba_precompute.player_daily_cache", ("ops", "reprocessing")),
}
HAND_WRITTEN = ("No write conflicts expected", "Coordinate if Chat 3 wants to deploy", "Only Chat 3 should deploy code")


def test_table_ranges_overlap_on_shared_dates():
    backfill = parse_resource("table:a.b@2026-01-01..2026-01-25")

    assert backfill.overlaps(parse_resource("table:a.b@2026-01-25..2026-01-27"))
    assert backfill.overlaps(parse_resource("table:a.b"))
    assert not backfill.overlaps(parse_resource("table:a.b@2026-01-26..2026-01-27"))
    assert not backfill.overlaps(parse_resource("table:a.c@2026-01-01..2026-01-25"))
    assert backfill.start == dt.date(2026, 1, 1)


def test_code_folder_overlaps_files_under_it():
    folder = parse_resource("code:./data_processors/analytics/")

    assert folder.overlaps(parse_resource("code:data_processors/analytics/x.py"))
    assert not folder.overlaps(parse_resource("code:data_processors/analyticsx.py"))
    assert not parse_resource("code:a.py").overlaps(parse_resource("code:b.py"))


def test_seed_lists_phase3_processor_conflict():
    conflicts = find_conflicts(load_incident(SEED), "sandbox")

    phase3 = [c for c in conflicts if c.resource == "service:nba-phase3-analytics-processors" and c.roles == ("dev", "reprocessing")]
    assert len(phase3) == 1
    assert phase3[0].kind == "read-write"
    assert "deploy" in phase3[0].first.modes
    assert "deploy_phase3_processors step deploy_phase3" in phase3[0].first.places
    assert "reprocess_phase3 step phase3_backfill" in phase3[0].second.places


def test_seed_lists_every_write_write_overlap():
    overlaps = write_write_overlaps(find_conflicts(load_incident(SEED), "sandbox"))

    assert {(conflict.resource, conflict.roles) for conflict in overlaps} == SEED_WRITE_WRITE


def test_ordered_tasks_are_marked():
    text = TEAM_INCIDENT.replace("    title: Rebuild the table\n", "    title: Rebuild the table\n    depends_on: [load]\n")
    conflicts = {conflict.resource: conflict for conflict in find_conflicts(parse_incident(text), "local")}

    assert conflicts["table:raw.events"].ordered
    assert conflicts["table:raw.events"].orders == ["rebuild runs after load"]
    assert "depends_on keeps them apart (rebuild runs after load)" in conflicts["table:raw.events"].sentence()
    assert not conflicts["service:loader"].ordered


def test_plan_prints_seed_conflicts():
    result = coord("plan", str(SEED), "--target", "sandbox", cwd=PROJECT)

    assert result.returncode == 0, result.stderr
    assert "read-write: `service:nba-phase3-analytics-processors`: dev deploys it" in result.stdout
    assert result.stdout.count("write-write:") == len(SEED_WRITE_WRITE)


def test_plan_json_lists_rejected_step(team: Path):
    import json

    result = coord("plan", "incident.yaml", "--json", cwd=team)

    plan = json.loads(result.stdout)
    assert result.returncode == 1
    assert [item["step"] for item in plan["rejected_steps"]] == ["rebuild_rows"]
    assert {conflict["kind"] for conflict in plan["conflicts"]} == {"write-write", "read-write"}


def test_coordination_document_shows_derived_conflicts():
    text = render_coordination(load_incident(SEED), "sandbox")

    assert "`service:nba-phase3-analytics-processors`: **dev** deploys it" in text
    assert text.count("- **write-write**:") == len(SEED_WRITE_WRITE)
    for sentence in HAND_WRITTEN:
        assert sentence not in text
    assert "conflicts:" not in SEED.read_text(encoding="utf-8")


def test_prompts_warn_about_write_write(team: Path):
    result = coord("prompts", "incident.yaml", "--out", "prompts", cwd=team)

    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: write-write overlap")]
    assert len(warnings) == 1
    assert "`table:raw.events` for 2026-01-27" in warnings[0]
    assert (team / "prompts" / "ops.md").exists()
