"""Cloud Run services and the scraper's workflow decisions in the sandbox.

A deploy snapshots what the service's behaviour depends on from the files at git HEAD: the scraper's
betting_lines window from ``config/workflows.yaml``; the Phase 3 service's batch writer and whether its
processor integrates the processing gate and declares hard dependencies.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml

from coordinator.sandbox import clock, pipeline, repo
from coordinator.sandbox.errors import SandboxError
from coordinator.sandbox.workspace import open_warehouse

SCRAPER_SERVICE = "nba-scrapers"
SERVICES = (
    SCRAPER_SERVICE,
    clock.PHASE3_SERVICE,
    "nba-phase4-precompute-processors",
    "prediction-coordinator",
)
WORKFLOWS = ("betting_lines",)
BATCH_WRITER_PATH = "shared/utils/bigquery_batch_writer.py"
PHASE3_PROCESSOR_PATH = "data_processors/analytics/player_game_summary/player_game_summary_processor.py"
DESCRIBE_FIELDS = (
    "revision", "revision_date", "deployed_at", "git_commit", "window_before_game_hours", "writer",
    "processing_gate", "hard_dependencies", "env",
)
DEPLOY_MINUTES = 4
SCRAPE_MINUTES = 3
SKIP_MINUTES = 1
TRIGGER_MINUTES = 1
# Environment variables a revision needs to serve. A deploy sets exactly the --env variables it is given, so
# a redeploy without one creates a revision dated today that starts and then fails every request.
REQUIRED_ENV = {SCRAPER_SERVICE: ("BETTINGPROS_API_KEY",)}
# The key the seeded revisions were deployed with; any non-empty value serves.
SEEDED_ENV = {SCRAPER_SERVICE: {"BETTINGPROS_API_KEY": "bp-seeded-key-0000"}}


@dataclass
class ServiceSnapshot:
    git_commit: str
    window_before_game_hours: int | None = None
    writer: str | None = None
    processing_gate: bool | None = None
    hard_dependencies: list[str] = field(default_factory=list)


@dataclass
class WorkflowDecision:
    decision_time: datetime
    workflow: str
    action: str
    reason: str
    rows_collected: int = 0

    def line(self) -> str:
        text = f"{self.workflow} {self.action} - {self.reason}"
        return text + (f"; collected {self.rows_collected} props rows" if self.rows_collected else "")


def check_service(service: str) -> None:
    if service not in SERVICES:
        raise SandboxError(f"unknown service '{service}'; known services: {', '.join(SERVICES)}")


def code_lines(text: str) -> str:
    """Return ``text`` without comment lines, so a commented-out call does not count as used."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def batch_writer_kind(text: str | None) -> str:
    """Return ``streaming`` when the writer calls insert_rows_json, ``load_jobs`` for load_table_from_json."""
    code = code_lines(text or "")
    if "insert_rows_json(" in code:
        return "streaming"
    if "load_table_from_json(" in code:
        return "load_jobs"
    return "unknown"


def hard_dependencies(text: str | None) -> list[str]:
    match = re.search(r"^\s*HARD_DEPENDENCIES\s*=\s*\[([^\]]*)\]", code_lines(text or ""), re.MULTILINE)
    if not match:
        return []
    return re.findall(r"['\"]([^'\"]+)['\"]", match.group(1))


def uses_processing_gate(text: str | None) -> bool:
    code = code_lines(text or "")
    return "ProcessingGate(" in code and "check_can_process(" in code


def window_hours(workflows_text: str | None) -> int:
    """Return betting_lines.window_before_game_hours from workflows.yaml, nested under ``workflows`` or not."""
    if workflows_text is None:
        raise SandboxError(f"deploy failed: {repo.WORKFLOWS_PATH} is not committed at HEAD", exit_code=1)
    try:
        config = yaml.safe_load(workflows_text) or {}
    except yaml.YAMLError as error:
        raise SandboxError(f"deploy failed: {repo.WORKFLOWS_PATH} at HEAD is invalid YAML: {error}".splitlines()[0], exit_code=1)
    workflows = config.get("workflows", config)
    value = (workflows.get("betting_lines") or {}).get("window_before_game_hours")
    if not isinstance(value, int):
        raise SandboxError(
            f"deploy failed: {repo.WORKFLOWS_PATH} at HEAD has no integer betting_lines.window_before_game_hours",
            exit_code=1,
        )
    return value


def snapshot_at_head(workspace: Path, service: str) -> ServiceSnapshot:
    sha, workflows_text = repo.read_at_head(workspace, repo.WORKFLOWS_PATH)
    snapshot = ServiceSnapshot(git_commit=sha)
    if service == SCRAPER_SERVICE:
        snapshot.window_before_game_hours = window_hours(workflows_text)
    if service == clock.PHASE3_SERVICE:
        processor_text = repo.read_at_head(workspace, PHASE3_PROCESSOR_PATH)[1]
        snapshot.writer = batch_writer_kind(repo.read_at_head(workspace, BATCH_WRITER_PATH)[1])
        snapshot.processing_gate = uses_processing_gate(processor_text)
        snapshot.hard_dependencies = hard_dependencies(processor_text)
    return snapshot


def insert_revision(con, service: str, revision: str, deployed_at: datetime, snapshot: ServiceSnapshot, *, env: dict[str, str]) -> None:
    con.execute(
        "INSERT INTO sandbox.service_revisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            service, revision, deployed_at, snapshot.git_commit, snapshot.window_before_game_hours, snapshot.writer,
            snapshot.processing_gate, ",".join(snapshot.hard_dependencies), json.dumps(env, sort_keys=True),
        ],
    )


def next_revision_name(con, service: str, deployed_at: datetime) -> str:
    rows = con.execute(
        "SELECT revision FROM sandbox.service_revisions WHERE service = ? ORDER BY deployed_at DESC LIMIT 1", [service]
    ).fetchall()
    number = int(rows[0][0].removeprefix(service + "-").split("-")[0]) + 1 if rows else 1
    digest = hashlib.sha256(f"{service}{deployed_at.isoformat()}".encode()).digest()
    suffix = "".join(chr(ord("a") + byte % 26) for byte in digest[:3])
    return f"{service}-{number:05d}-{suffix}"


def deploy(workspace: Path, service: str, *, env: dict[str, str] | None = None) -> dict[str, str]:
    """Build and deploy a new revision of ``service`` from git HEAD at the sandbox clock; return its description.

    The revision gets exactly ``env``: a deploy without a variable in REQUIRED_ENV succeeds and is dated
    today, but the revision fails to serve (see ``serving_problem``).
    """
    check_service(service)
    snapshot = snapshot_at_head(workspace, service)
    with open_warehouse(workspace) as con:
        deployed_at = clock.advance_clock(con, DEPLOY_MINUTES)
        revision = next_revision_name(con, service, deployed_at)
        insert_revision(con, service, revision, deployed_at, snapshot, env=env or {})
        clock.write_log(
            con,
            f"Deployed revision {revision} of {service} from commit {snapshot.git_commit[:8]}",
            source=service,
            resource_type="cloud_run_revision",
        )
        return describe_revision(con, service)


def describe_revision(con, service: str) -> dict[str, str]:
    rows = con.execute(
        f"SELECT revision, deployed_at, git_commit, window_before_game_hours, writer, processing_gate, "
        f"hard_dependencies, env FROM sandbox.service_revisions WHERE service = ? ORDER BY deployed_at DESC LIMIT 1",
        [service],
    ).fetchall()
    revision, deployed_at, sha, window, writer, gate, dependencies, env = rows[0]
    values = {
        "revision": revision,
        "revision_date": deployed_at.date().isoformat(),
        "deployed_at": deployed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": sha,
        "window_before_game_hours": "" if window is None else str(window),
        "writer": writer or "",
        "processing_gate": "" if gate is None else str(gate).lower(),
        "hard_dependencies": dependencies or "",
        "env": env,
    }
    return values


def serving_problem(service: str, description: dict[str, str]) -> str | None:
    """Return why the described revision fails to serve requests, or None when it serves."""
    env = json.loads(description["env"] or "{}")
    missing = [name for name in REQUIRED_ENV.get(service, ()) if not env.get(name)]
    if missing:
        return f"revision {description['revision']} fails to serve: environment variable {', '.join(missing)} is not set"
    return None


def health(workspace: Path, service: str) -> tuple[bool, str]:
    """Probe the latest revision like a request to its /health endpoint; return (serving, one-line response)."""
    description = describe_service(workspace, service)
    problem = serving_problem(service, description)
    if problem is not None:
        return False, f"503 Service Unavailable: {problem}"
    return True, f"200 OK: revision {description['revision']} of {service} serves requests"


def describe_service(workspace: Path, service: str) -> dict[str, str]:
    """Return the latest revision of ``service`` as {field: text}."""
    check_service(service)
    with open_warehouse(workspace, read_only=True) as con:
        return describe_revision(con, service)


def first_game_start(con, game_date: date) -> datetime | None:
    rows = con.execute("SELECT MIN(game_start_time) FROM nba_raw.nbac_schedule WHERE game_date = ?", [game_date]).fetchall()
    return rows[0][0]


def decide_workflow(con, workflow: str, moment: datetime, window: int) -> WorkflowDecision:
    """Decide like the scraper's game-aware workflows: RUN from ``window`` hours before the day's first game."""
    game_date = clock.game_date_at(moment)
    first_game = first_game_start(con, game_date)
    if first_game is None:
        return WorkflowDecision(moment, workflow, "SKIP", f"No games scheduled for {game_date}")
    hours_left = (first_game - moment).total_seconds() / 3600
    action = "RUN" if moment >= first_game - timedelta(hours=window) else "SKIP"
    return WorkflowDecision(moment, workflow, action, f"First game in {hours_left:.1f}h (window starts {window}h before)")


def record_decision(con, decision: WorkflowDecision) -> None:
    con.execute(
        "INSERT INTO nba_orchestration.workflow_decisions VALUES (?, ?, ?, ?)",
        [decision.decision_time, decision.workflow, decision.action, decision.reason],
    )


def trigger_workflow(workspace: Path, workflow: str) -> WorkflowDecision:
    """Stand in for POST /execute-workflows with force_workflows: the request is accepted and nothing runs.

    The deployed scraper does not read force_workflows, so the call returns 200 and no workflow runs. Only
    the scraper's hourly evaluation (``evaluate_workflows``) collects props, so a criterion on the props
    table catches this where the exit code cannot.
    """
    if workflow not in WORKFLOWS:
        raise SandboxError(f"unknown workflow '{workflow}'; known workflows: {', '.join(WORKFLOWS)}")
    with open_warehouse(workspace) as con:
        moment = clock.advance_clock(con, TRIGGER_MINUTES)
        decision = WorkflowDecision(moment, workflow, "ACCEPTED", "200 OK; force_workflows is not read by this revision, no workflow ran")
        clock.write_log(con, f"POST /execute-workflows force_workflows=[{workflow}]: {decision.reason}",
                        source=SCRAPER_SERVICE, resource_type="cloud_run_revision")
        return decision


def evaluate_workflows(con) -> list[WorkflowDecision]:
    """Run the scraper's hourly workflow evaluation: each game-aware workflow runs inside its window.

    A revision that fails to serve evaluates nothing, and the job fails.
    """
    description = describe_revision(con, SCRAPER_SERVICE)
    problem = serving_problem(SCRAPER_SERVICE, description)
    if problem is not None:
        raise SandboxError(f"execute-workflows failed: {problem}", exit_code=1)
    window = int(description["window_before_game_hours"])
    decisions = []
    for workflow in WORKFLOWS:
        decision = decide_workflow(con, workflow, clock.current_time(con), window)
        record_decision(con, decision)
        if decision.action == "RUN":
            collected_at = clock.advance_clock(con, SCRAPE_MINUTES)
            decision.rows_collected = pipeline.collect_props(con, clock.game_date_at(decision.decision_time), collected_at)
        else:
            clock.advance_clock(con, SKIP_MINUTES)
        clock.write_log(con, decision.line(), source=SCRAPER_SERVICE, resource_type="cloud_run_revision")
        decisions.append(decision)
    return decisions

