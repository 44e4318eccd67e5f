"""Each step kind of `coord run` on the sandbox workspace, recorded on a real board."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from tests.runner.conftest import DEPLOY, sandbox_incident, sandbox_runner


def sandbox_command(workspace, *arguments: str) -> None:
    subprocess.run([sys.executable, "-m", "coordinator", "sandbox", *arguments, "--dir", str(workspace)], check=True,
                   capture_output=True, env={**__import__("os").environ, "BETTINGPROS_API_KEY": "k-123456"})


def test_wait_passes_after_data_arrives(workspace, steps_of):
    incident = sandbox_incident("""\
        - id: collect
          role: ops
          title: Wait for props
          steps:
            - {id: props, wait: props-today, interval: 0.5, timeout: 120}
        """)
    runner, board, shown = sandbox_runner(workspace, incident)

    def collect_later() -> None:
        time.sleep(1.5)
        sandbox_command(workspace, "deploy", "nba-scrapers", "--env", "BETTINGPROS_API_KEY=k-123456")
        sandbox_command(workspace, "run-job", "execute-workflows")

    writer = threading.Thread(target=collect_later)
    writer.start()
    outcome = runner.run()
    writer.join()

    assert outcome.status == "done"
    assert "props-today passed after" in steps_of(board)["props"].reason
    statuses = [result.status for result in board.results("sandbox-steps", ["props-today"])]
    assert statuses[0] == "fail"
    assert statuses[-1] == "pass"
    assert any("waiting for props-today: fail" in line for line in shown)


def test_wait_times_out_with_last_value(workspace, steps_of):
    incident = sandbox_incident("""\
        - id: collect
          role: ops
          title: Wait for props
          steps:
            - {id: props, wait: props-today, interval: 0.2, timeout: 0.5}
        """)
    runner, board, _ = sandbox_runner(workspace, incident)

    outcome = runner.run()

    assert outcome.status == "failed"
    assert "timed out after" in outcome.message
    assert "last value 0" in outcome.message
    assert steps_of(board)["props"].status == "failed"


BRANCH = """\
    - id: collect
      role: ops
      title: Collect props unless they are there
      steps:
        - id: decide
          branch:
            if: {criterion: props-today}
            then:
              - run: coord sandbox describe nba-scrapers --field revision
            else:
              - {run: '%s', verify: [scrapers-serving]}
              - {run: coord sandbox run-job execute-workflows, verify: [props-today]}
    """ % DEPLOY


def test_branch_takes_else_without_data(workspace, steps_of):
    runner, board, _ = sandbox_runner(workspace, sandbox_incident(BRANCH))

    outcome = runner.run()

    assert outcome.status == "done"
    rows = steps_of(board)
    assert "took else" in rows["decide"].reason
    assert rows["decide.else1"].status == "done"
    assert rows["decide.else2"].status == "done"
    assert "decide.then1" not in rows


def test_branch_takes_then_with_data(workspace, steps_of):
    sandbox_command(workspace, "deploy", "nba-scrapers", "--env", "BETTINGPROS_API_KEY=k-123456")
    sandbox_command(workspace, "run-job", "execute-workflows")
    runner, board, _ = sandbox_runner(workspace, sandbox_incident(BRANCH))

    outcome = runner.run()

    assert outcome.status == "done"
    rows = steps_of(board)
    assert "took then" in rows["decide"].reason
    assert rows["decide.then1"].status == "done"
    assert "decide.else1" not in rows


def test_alternative_runs_when_script_missing(workspace, steps_of):
    incident = sandbox_incident("""\
        - id: backfill
          role: ops
          title: Backfill Jan 25
          steps:
            - id: phase3
              alternatives:
                - run: python backfill_jobs/analytics/player_game_summary/player_game_summary_analytics_backfill.py
                - run: coord sandbox backfill phase3 --start-date 2026-01-25 --end-date 2026-01-25
        """)
    runner, board, _ = sandbox_runner(workspace, incident)

    outcome = runner.run()

    assert outcome.status == "done"
    rows = steps_of(board)
    assert rows["phase3.alt1"].status == "failed"
    assert "script missing" in rows["phase3.alt1"].reason
    assert rows["phase3.alt2"].status == "done"
    assert "alternative 2 ran after: alternative 1 failed" in rows["phase3"].reason


FLAKY = (
    "n=$(cat .tries 2>/dev/null || echo 0); echo $((n+1)) > .tries; "
    'if [ "$n" -lt 2 ]; then echo "Quota exceeded: too many partition modifications"; exit 1; fi; '
    "coord sandbox run-job same-day-phase3"
)


def test_retry_until_success(workspace, steps_of):
    incident = sandbox_incident(f"""\
        - id: reprocess
          role: ops
          title: Reprocess the failed date
          steps:
            - id: same-day
              retry:
                count: 3
                delay: 0.1
                when: {{output: 'Quota exceeded'}}
                step:
                  run: '{FLAKY}'
        """)
    runner, board, _ = sandbox_runner(workspace, incident)

    outcome = runner.run()

    assert outcome.status == "done"
    rows = steps_of(board)
    assert rows["same-day.try1"].status == "failed"
    assert rows["same-day.try2"].status == "failed"
    assert rows["same-day.try3"].status == "done"
    assert "same-day.try4" not in rows
    assert rows["same-day"].reason == "attempt 3 of 4 done after 2 failed"


def test_retry_stops_when_condition_differs(workspace, steps_of):
    incident = sandbox_incident("""\
        - id: reprocess
          role: ops
          title: Reprocess
          steps:
            - id: same-day
              retry:
                count: 3
                when: {exit_code: [75], output: 'Quota exceeded'}
                step:
                  run: echo "permission denied"; exit 4
        """)
    runner, board, _ = sandbox_runner(workspace, incident)

    outcome = runner.run()

    assert outcome.status == "failed"
    assert "does not match its retry condition" in outcome.message
    assert set(steps_of(board)) == {"same-day", "same-day.try1"}


def test_step_refused_until_other_role_done(workspace, steps_of):
    incident = sandbox_incident("""\
        - id: collect
          role: ops
          title: Collect props
          steps:
            - {id: look, run: coord sandbox describe nba-scrapers --field revision_date}
            - {id: job, run: coord sandbox run-job execute-workflows, depends_on: [fix-scraper]}
        - id: fix-scraper
          role: dev
          title: Fix the scraper
          steps:
            - {run: coord sandbox describe nba-scrapers --field revision}
        """)
    runner, board, _ = sandbox_runner(workspace, incident)

    outcome = runner.run()

    assert outcome.status == "blocked"
    assert "step job of task 'collect' waits for task 'fix-scraper' of role 'dev' (status todo)" in outcome.message
    assert "ask role 'dev'" in outcome.message
    assert board.task_states("sandbox-steps")["collect"].status == "blocked"
    assert "job" not in steps_of(board)


def test_wait_for_deps_until_other_role_done(workspace, steps_of):
    incident = sandbox_incident("""\
        - id: collect
          role: ops
          title: Collect props
          depends_on: [fix-scraper]
          after_criteria: [scrapers-serving]
          steps:
            - {id: look, run: coord sandbox describe nba-scrapers --field revision_date}
        - id: fix-scraper
          role: dev
          title: Fix the scraper
          steps:
            - {run: coord sandbox describe nba-scrapers --field revision}
        """)
    runner, board, shown = sandbox_runner(workspace, incident, wait_for_deps=120, dependency_poll=0.3)

    def finish_dev() -> None:
        time.sleep(1.0)
        board.set_task_state("sandbox-steps", "fix-scraper", "dev", "done")

    other_role = threading.Thread(target=finish_dev)
    other_role.start()
    outcome = runner.run()
    other_role.join()

    assert outcome.status == "done"
    assert any("waits for task 'fix-scraper' of role 'dev'" in line for line in shown)
    assert steps_of(board)["look"].status == "done"


def test_deploy_without_env_fails_verification(workspace, steps_of):
    incident = sandbox_incident("""\
        - id: redeploy
          role: ops
          title: Redeploy the scraper
          steps:
            - id: deploy
              run: coord sandbox deploy nba-scrapers
              verify: [scrapers-dated-today, scrapers-serving]
        """)
    runner, board, _ = sandbox_runner(workspace, incident)

    outcome = runner.run()

    assert outcome.status == "failed"
    row = steps_of(board)["deploy"]
    assert row.exit_code == 0
    assert row.status == "failed"
    assert "not verified" in row.reason
    assert "'scrapers-serving' is fail" in row.reason
    latest = board.latest_results("sandbox-steps")
    assert latest["scrapers-dated-today"].status == "pass"
    assert latest["scrapers-serving"].status == "fail"


def test_trigger_without_verify_is_unverified(workspace, steps_of):
    incident = sandbox_incident("""\
        - id: collect
          role: ops
          title: Force the workflow
          steps:
            - {id: force, run: coord sandbox trigger betting_lines}
        """)
    runner, board, _ = sandbox_runner(workspace, incident)

    outcome = runner.run()

    assert outcome.status == "done"
    row = steps_of(board)["force"]
    assert row.status == "unverified"
    assert "the exit code of a trigger does not prove it worked" in row.reason


def test_risky_step_refused_without_confirmation(workspace, steps_of):
    incident = sandbox_incident(f"""\
        - id: redeploy
          role: ops
          title: Redeploy the scraper
          steps:
            - {{id: deploy, run: '{DEPLOY}', verify: [scrapers-serving]}}
        """)
    runner, board, _ = sandbox_runner(workspace, incident, confirm=None)

    outcome = runner.run()

    assert outcome.status == "refused"
    assert "no terminal to confirm it: run again with --yes" in outcome.message
    row = steps_of(board)["deploy"]
    assert row.status == "refused"
    assert row.exit_code is None
    assert board.latest_results("sandbox-steps") == {}


def test_risky_step_declined_runs_nothing(workspace, steps_of):
    incident = sandbox_incident(f"""\
        - id: redeploy
          role: ops
          title: Redeploy the scraper
          steps:
            - {{id: deploy, run: '{DEPLOY}', verify: [scrapers-serving]}}
        """)
    questions = []
    runner, board, _ = sandbox_runner(workspace, incident, confirm=lambda question: questions.append(question) or False)

    outcome = runner.run()

    assert outcome.status == "refused"
    assert steps_of(board)["deploy"].status == "declined"
    assert "coord sandbox deploy nba-scrapers" in questions[0]
