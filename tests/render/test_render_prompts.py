import re
import sys
import subprocess
from pathlib import Path

import pytest

from coordinator.errors import CoordinatorError
from coordinator.render import render_coordination, render_role_prompt, write_prompts
from coordinator.render import prompts as prompts_module


def sections(markdown: str) -> list[str]:
    return re.findall(r"^## (.+)$", markdown, flags=re.MULTILINE)


def test_role_prompt_sections_in_seed_order(incident):
    prompt = render_role_prompt(incident, "ops", "prod")

    assert prompt.startswith("# CHAT 1: OPERATIONS - Pipeline Recovery\n")
    assert sections(prompt) == [
        "Context",
        "Current Critical Issues (Your Responsibility)",
        "Your Tasks",
        "Success Criteria",
        "Files to Read for Context",
        "Important Notes",
        "Handoff Notes",
        "Working with coord",
    ]


def test_role_prompt_context_and_constraints(incident):
    prompt = render_role_prompt(incident, "ops", "prod")

    assert "You are helping with a pipeline that has critical issues today." in prompt
    assert "The platform scrapes game data and generates predictions." in prompt
    assert "**Your role**: Operations/Infrastructure - Restore today's predictions." in prompt
    assert "**Important**: Do NOT make code changes. Focus on deployments, triggers, and verification." in prompt


def test_finding_shows_problem_cause_evidence(incident):
    prompt = render_role_prompt(incident, "ops", "prod")

    assert "### Issue 1: No props for today (CRITICAL)" in prompt
    assert "**Problem**: The props table is empty for 2026-01-27." in prompt
    assert "**Root Cause**: The scraper service runs an old window." in prompt
    assert "```\nscrapers last deployed: 2026-01-24\nProps data for Jan 27: 0 records\n```" in prompt
    assert "**Note**: A dev chat is fixing the code." in prompt


def test_multiline_root_cause_starts_on_next_line(incident):
    prompt = render_role_prompt(incident, "reprocessing", "prod")

    assert "**Root Cause**:\n1. Name mismatches\n2. Team stats arrived late" in prompt


def test_findings_of_other_roles_left_out(incident):
    prompt = render_role_prompt(incident, "ops", "prod")

    assert "Cache cascade" not in prompt


def test_prod_query_renders_as_bq_command(incident):
    prompt = render_role_prompt(incident, "ops", "prod")

    expected = (
        "**Verify props collected** (wait ~15 minutes):\n\n"
        "```bash\n"
        'bq query --use_legacy_sql=false "\n'
        "SELECT COUNT(*) AS props_count\n"
        "FROM \\`fixture-project.nba_raw.props\\`\n"
        "WHERE game_date = '2026-01-27'\"\n"
        "```"
    )
    assert expected in prompt


def test_sandbox_query_renders_as_coord_query(incident):
    prompt = render_role_prompt(incident, "ops", "sandbox")

    expected = (
        "```bash\n"
        "coord query INCIDENT --target sandbox - <<'SQL'\n"
        "SELECT COUNT(*) AS props_count\n"
        "FROM `sandbox.nba_raw.props`\n"
        "WHERE game_date = '2026-01-27'\n"
        "SQL\n"
        "```"
    )
    assert expected in prompt
    assert "`coord check` runs this query on the `sandbox` warehouse.\n\nPasses when props_count > 1000." in prompt
    assert "bq query" not in prompt


def test_step_without_command_on_target_omitted(incident):
    prod = render_role_prompt(incident, "ops", "prod")
    sandbox = render_role_prompt(incident, "ops", "sandbox")

    assert "gcloud run deploy scrapers" in prod
    assert "gcloud run deploy scrapers" not in sandbox
    assert "Option B: Manual deploy" not in sandbox
    assert "python -m sandbox trigger betting_lines --date 2026-01-27" in sandbox
    assert "python -m sandbox trigger" not in prod


def test_alternatives_share_one_code_block(incident):
    prompt = render_role_prompt(incident, "ops", "prod")

    expected = (
        "```bash\n"
        "# Option A: Use deployment script\n"
        "bash bin/deploy/deploy_scrapers.sh\n\n"
        "# Option B: Manual deploy\n"
        "gcloud run deploy scrapers \\\n"
        "  --source=. \\\n"
        "  --region=us-west2\n\n"
        "# If the above script doesn't exist, try:\n"
        "bash bin/deploy/fallback.sh\n"
        "```"
    )
    assert expected in prompt


def test_branch_shows_condition_and_both_sides(incident):
    prompt = render_role_prompt(incident, "ops", "prod")

    assert "**First, check if the summary data exists**:" in prompt
    assert "WHERE game_date = '2026-01-25'\"" in prompt
    assert "**If data exists** (records > 0):" in prompt
    assert "**If data missing** (records <= 0):" in prompt
    assert prompt.index("If data exists") < prompt.index("same-day-phase4") < prompt.index("If data missing")


def test_untitled_step_joins_previous_code_block(incident):
    prompt = render_role_prompt(incident, "ops", "prod")

    expected = (
        "```bash\n"
        "gcloud scheduler jobs run same-day-phase3 --location=us-west2\n\n"
        "# Wait 10 minutes, then retry phase4\n"
        "gcloud scheduler jobs run same-day-phase4 --location=us-west2\n"
        "```"
    )
    assert expected in prompt


def test_snippet_keeps_its_blank_lines(incident):
    prompt = render_role_prompt(incident, "ops", "prod")

    assert "```python\ndef normalize(a, b):\n\n\n    return sorted([a, b])\n```" in prompt


def test_command_parameters_are_shell_quoted(incident):
    prompt = render_role_prompt(incident, "reprocessing", "prod")

    assert 'python backfill.py --start-date 2026-01-01 --end-date "2026-01-27"' in prompt


def test_wait_step_shows_criterion_and_polling(incident):
    prompt = render_role_prompt(incident, "ops", "prod")

    assert "**Wait until**: Props collected for today (>1000 records)" in prompt
    assert "Passes when props_count > 1000." in prompt
    assert "`coord run` repeats this check every 1 minute for up to 15 minutes." in prompt


def test_verified_by_shown_once(incident):
    prompt = render_role_prompt(incident, "ops", "prod")

    assert prompt.count("**Verify**: scrapers redeployed (revision date is today)") == 1
    assert "gcloud run services describe scrapers --format='value(status.latestCreatedRevisionName)'" in prompt
    assert "**Verify**: Props collected" not in prompt


def test_task_extras_rendered(incident):
    prompt = render_role_prompt(incident, "ops", "prod")

    assert "### Task 1: Redeploy scrapers (HIGHEST PRIORITY)\n\nThis picks up the 12-hour window config change." in prompt
    assert "**Start after**: Task 1: Redeploy scrapers." in prompt
    assert "Before you start, confirm:\n\n- [ ] scrapers redeployed (revision date is today)" in prompt
    assert "**Files to modify**:\n- `shared/utils/batch_writer.py`" in prompt
    assert "**Expected Results**: 100-200 players per date" in prompt
    assert "**Note**: Phase 3 MUST complete before Phase 4." in prompt


def test_cross_role_dependency_names_chat(incident):
    prompt = render_role_prompt(incident, "reprocessing", "prod")

    assert "**Start after**: Task 1: Redeploy scrapers (the ops chat)." in prompt
    assert "**Expected Results**:\n- Player coverage: 85-95%\n- Usage rate coverage: 90%+" in prompt


def test_success_criteria_checklist(incident):
    prompt = render_role_prompt(incident, "ops", "prod")

    expected = (
        "Before finishing, verify ALL of the following:\n\n"
        "- [ ] Props collected for today (>1000 records)\n"
        "- [ ] scrapers redeployed (revision date is today)\n"
        "- [ ] No new quota errors in last hour\n\n"
    )
    assert expected in prompt
    checklist = prompt.split("## Success Criteria", 1)[1].split("##", 1)[0]
    assert "Changes reviewed" not in checklist


def test_files_to_read_and_notes(incident):
    prompt = render_role_prompt(incident, "ops", "prod")

    assert "1. **Batch Writer**:\n   ```bash\n   cat shared/utils/batch_writer.py | head -100\n   ```" in prompt
    assert "- `docs/investigation.md` - Full investigation of issues" in prompt
    assert '1. **If scripts don\'t exist**: look elsewhere:\n   ```bash\n   find . -name "*backfill*" -type f\n   ```' in prompt


def test_handoff_path_and_sections(incident):
    prompt = render_role_prompt(incident, "ops", "prod")

    assert "`handoffs/2026-01-27-OPS-CHAT-COMPLETE.md`" in prompt
    assert "Include:\n- What was deployed/triggered\n- Any remaining issues" in prompt


def test_coord_section_names_role_and_target(incident):
    prompt = render_role_prompt(incident, "ops", "prod", incident_path="playbooks/x.yaml")
    coord_section = prompt[prompt.index("## Working with coord"):]

    assert "`coord check playbooks/x.yaml --role ops --target prod`" in coord_section
    assert "`coord run playbooks/x.yaml --role ops --target prod`" in coord_section
    assert "`coord tick playbooks/x.yaml CRITERION --by NAME --why TEXT`" in coord_section
    assert "Yours: `quota-quiet`, `manual-review`." in coord_section
    assert "`coord handoff playbooks/x.yaml --role ops --target prod`" in coord_section
    assert "INCIDENT" not in prompt


def test_coord_section_placeholder_without_path(incident):
    prompt = render_role_prompt(incident, "ops", "prod")

    assert "`coord check INCIDENT --role ops --target prod`" in prompt
    assert "INCIDENT is the path of the file that defines incident `fixture-recovery`." in prompt


def test_problems_listed_first(incident):
    prompt = render_role_prompt(incident, "ops", "prod", problems=["file.yaml:3:1: roles: bad", "second"])

    assert sections(prompt)[0] == "WARNING: Rendered Despite Problems"
    assert "- file.yaml:3:1: roles: bad\n- second\n" in prompt


def test_no_warning_without_problems(incident):
    prompt = render_role_prompt(incident, "ops", "prod")

    assert "WARNING" not in prompt


def test_no_runs_of_blank_lines_outside_code(incident):
    for role in ("ops", "reprocessing"):
        prompt = render_role_prompt(incident, role, "sandbox")
        without_code = re.sub(r"^```.*?^```$", "CODE", prompt, flags=re.DOTALL | re.MULTILINE)

        assert "\n\n\n" not in without_code


def test_unknown_role_rejected(incident):
    with pytest.raises(CoordinatorError, match="unknown role 'nobody'"):
        render_role_prompt(incident, "nobody", "prod")


def test_unknown_target_rejected(incident):
    with pytest.raises(CoordinatorError, match="unknown target 'staging'"):
        render_role_prompt(incident, "ops", "staging")


def test_coordination_note(incident):
    note = render_coordination(incident, "prod", incident_path="x.yaml")

    assert note.startswith("# Coordination Notes: Fixture pipeline recovery\n")
    assert "- **Chat 1 (Ops)**: OPERATIONS - Pipeline Recovery. Restore today's predictions. Prompt: `ops.md`." in note
    assert "1. **Chat 1 (Ops)**: Start first - highest urgency (predictions needed today)" in note
    assert "2. **Chat 2 (Reprocessing)**: Start shortly after - long-running jobs can run in background" in note
    assert "- Note: **Deployments**: Only the dev chat deploys code." in note
    assert "After ~2 hours, check:\n1. Chat 1 (Ops): Predictions generated? Cache restored?\n2. Chat 2 (Reprocessing): Phase 3 backfill complete?" in note
    assert "```bash\npython scripts/validate_tonight_data.py\n```\n\nExpected: 0 ISSUES (was 5 ISSUES this morning)\n\nPasses when exit code is 0." in note
    assert "`coord check x.yaml --target prod`" in note
    assert "- `ops.md`\n- `reprocessing.md`" in note


def test_write_prompts_writes_every_role(incident, tmp_path):
    out = tmp_path / "prompts"

    written = write_prompts(incident, "prod", out)

    assert written == [out / "ops.md", out / "reprocessing.md", out / "coordination.md"]
    assert (out / "ops.md").read_text(encoding="utf-8") == render_role_prompt(incident, "ops", "prod")
    assert (out / "coordination.md").read_text(encoding="utf-8") == render_coordination(incident, "prod")
    assert sorted(path.name for path in out.iterdir()) == ["coordination.md", "ops.md", "reprocessing.md"]


def test_write_prompts_render_error_writes_nothing(incident, tmp_path):
    workspace = tmp_path / "workspace"
    (workspace / "templates").mkdir(parents=True)
    (workspace / "templates" / "coordination.md.j2").write_text("{{ no_such_value }}\n", encoding="utf-8")
    out = tmp_path / "prompts"
    out.mkdir()
    (out / "ops.md").write_text("old prompt\n", encoding="utf-8")

    with pytest.raises(CoordinatorError, match="undefined value"):
        write_prompts(incident, "prod", out, workspace=workspace)

    assert sorted(path.name for path in out.iterdir()) == ["ops.md"]
    assert (out / "ops.md").read_text(encoding="utf-8") == "old prompt\n"


def test_write_prompts_failed_replace_leaves_no_temp(incident, tmp_path, monkeypatch):
    out = tmp_path / "prompts"
    out.mkdir()
    (out / "ops.md").write_text("old prompt\n", encoding="utf-8")

    def failing_replace(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr(prompts_module.os, "replace", failing_replace)

    with pytest.raises(CoordinatorError, match="disk full"):
        write_prompts(incident, "prod", out)

    assert sorted(path.name for path in out.iterdir()) == ["ops.md"]
    assert (out / "ops.md").read_text(encoding="utf-8") == "old prompt\n"


def test_write_prompts_rejects_role_named_coordination(incident, tmp_path):
    roles = [incident.roles[0].model_copy(update={"name": "coordination"}), *incident.roles[1:]]
    clashing = incident.model_copy(update={"roles": roles})

    with pytest.raises(CoordinatorError, match="collides with the coordination note"):
        write_prompts(clashing, "prod", tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_importing_render_leaves_jinja_unloaded():
    code = "import sys, coordinator.render; print('jinja2' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "False"


def test_command_criterion_expectation_described(incident):
    prompt = render_role_prompt(incident, "ops", "prod")

    assert "Passes when the output matches `scrapers-(?P<value>\\d+)` and the captured value >= 20260127." in prompt
