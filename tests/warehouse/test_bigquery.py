"""The BigQuery backend's own logic, without a server: URLs, job settings, the byte cap, errors, retries."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from google.api_core import exceptions as api_exceptions

from coordinator.spec.params import TypedValue
from coordinator.warehouse.base import DryRun, QueryResult, WarehouseError, WarehouseUnavailableError, open_warehouse
from coordinator.warehouse.bigquery import (
    BigQueryWarehouse,
    describe_api_error,
    is_transient,
    job_labels,
    parse_url,
)

URL = "bigquery://nba-props-platform?location=US&maximum_bytes_billed=1GB&timeout=30"


class EstimatedWarehouse(BigQueryWarehouse):
    """A BigQuery warehouse whose dry run returns a fixed estimate and whose queries are only recorded."""

    def __init__(self, url: str, estimate: int | None) -> None:
        super().__init__(parse_url(url), url=url)
        self.estimate = estimate
        self.executed: list[str] = []

    def dry_run(self, sql, params, *, label):
        return DryRun(bytes_processed=self.estimate)

    def _execute(self, sql, params, *, label, labels):
        self.executed.append(sql)
        return QueryResult(columns=["n"], rows=[(1,)], bytes_processed=self.estimate, bytes_billed=self.estimate)


def test_url_options_parsed():
    settings = parse_url(URL + "&api_endpoint=http://127.0.0.1:9050&concurrency=2")

    assert settings.project == "nba-props-platform"
    assert settings.location == "US"
    assert settings.maximum_bytes_billed == 10**9
    assert settings.timeout == 30.0
    assert settings.concurrency == 2
    assert settings.anonymous


@pytest.mark.parametrize(
    "url, message",
    [
        ("bigquery://?location=US", "no project"),
        ("bigquery://p?location=US&maximum_bytes=5", "unknown option 'maximum_bytes'"),
        ("bigquery://p?maximum_bytes_billed=lots", "is not a byte count"),
        ("bigquery://p?timeout=-1", "timeout='-1' must be a positive number of seconds"),
        ("bigquery://p?api_endpoint=ftp://x", "api_endpoint must be an http:// or https:// URL"),
    ],
)
def test_bad_url_rejected(url: str, message: str, tmp_path):
    with pytest.raises(WarehouseError) as raised:
        open_warehouse(url, root=tmp_path)

    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_remote_endpoint_not_anonymous():
    assert not parse_url("bigquery://p?api_endpoint=https://bigquery.example.com").anonymous
    assert not parse_url("bigquery://p").anonymous


def test_job_labels_sanitised():
    labels = job_labels({"incident": "2026-01-27 Pipeline.Recovery", "Criterion": "x" * 80, "9key": "v"})

    assert labels == {"incident": "2026-01-27_pipeline_recovery", "criterion": "x" * 63, "l9key": "v"}


def test_job_config_carries_settings():
    warehouse = BigQueryWarehouse.from_url(URL)
    params = {
        "day": TypedValue(dt.date(2026, 1, 27), "DATE"),
        "now": TypedValue(dt.datetime(2026, 1, 27, 15, 0), "TIMESTAMP"),
        "samples": TypedValue(20, "INT64"),
        "unused": TypedValue("x", "STRING"),
    }

    config = warehouse._job_config(
        "SELECT @samples AS n FROM t WHERE d = @day AND ts < @now",
        params,
        label="criterion 'x'",
        labels={"incident": "inc-1", "criterion": "props_today"},
        dry_run=False,
    )
    sent = {parameter.name: (parameter.type_, parameter.value) for parameter in config.query_parameters}

    assert config.labels == {"incident": "inc-1", "criterion": "props_today"}
    assert config.maximum_bytes_billed == 10**9
    assert int(config.job_timeout_ms) == 30_000
    assert sent == {
        "day": ("DATE", dt.date(2026, 1, 27)),
        "now": ("TIMESTAMP", dt.datetime(2026, 1, 27, 15, 0, tzinfo=dt.timezone.utc)),
        "samples": ("INT64", 20),
    }


def test_job_config_rejects_writes_and_missing_values():
    warehouse = BigQueryWarehouse.from_url(URL)

    with pytest.raises(WarehouseError, match="DELETE is not allowed"):
        warehouse._job_config("DELETE FROM t WHERE TRUE", {}, label="q", labels={}, dry_run=True)
    with pytest.raises(WarehouseError, match="no value for query parameter @day"):
        warehouse._job_config("SELECT 1 FROM t WHERE d = @day", {}, label="q", labels={}, dry_run=True)


def test_cap_refuses_before_running():
    warehouse = EstimatedWarehouse(URL, estimate=5 * 10**9)

    with pytest.raises(WarehouseError) as raised:
        warehouse.query("SELECT COUNT(*) AS n FROM t", {}, label="criterion 'props_today'")

    assert warehouse.executed == []
    assert str(raised.value).startswith("criterion 'props_today': rejected before running:")
    assert "estimates 5000000000 bytes (5.0 GB)" in str(raised.value)
    assert "maximum_bytes_billed of 1000000000 bytes (1.0 GB)" in str(raised.value)


def test_under_cap_runs():
    warehouse = EstimatedWarehouse(URL, estimate=10**6)

    result = warehouse.query("SELECT COUNT(*) AS n FROM t", {}, label="criterion 'props_today'")

    assert warehouse.executed == ["SELECT COUNT(*) AS n FROM t"]
    assert result.bytes_processed == 10**6


def test_missing_credentials_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "absent.json"))
    warehouse = BigQueryWarehouse.from_url("bigquery://nba-props-platform?location=US")

    with pytest.raises(WarehouseUnavailableError) as raised:
        warehouse.query("SELECT 1 AS n", {}, label="criterion 'x'")

    assert "no application-default credentials" in str(raised.value)
    assert "gcloud auth application-default login" in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "error, expected",
    [
        (
            api_exceptions.Forbidden("x", errors=[{"reason": "accessDenied", "message": "Access Denied: Project p: no bigquery.jobs.create"}]),
            "criterion 'x': BigQuery permission denied: Access Denied: Project p: no bigquery.jobs.create",
        ),
        (
            api_exceptions.Forbidden("x", errors=[{"reason": "quotaExceeded", "message": "Quota exceeded: too many bytes"}]),
            "criterion 'x': BigQuery quota exceeded: Quota exceeded: too many bytes",
        ),
        (
            api_exceptions.NotFound("x", errors=[{"reason": "notFound", "message": "Not found: Table p:d.t was not found\nin location US"}]),
            "criterion 'x': BigQuery: Not found: Table p:d.t was not found in location US",
        ),
        (
            api_exceptions.BadRequest("x", errors=[{"reason": "invalidQuery", "message": "Unrecognized name: usage_rat at [3:7]"}]),
            "criterion 'x': BigQuery: Unrecognized name: usage_rat at [3:7]",
        ),
    ],
)
def test_api_errors_one_line(error, expected: str):
    message = str(describe_api_error(error, "criterion 'x'"))

    assert message.startswith(expected)
    assert "\n" not in message


@pytest.mark.parametrize(
    "error, transient",
    [
        (api_exceptions.InternalServerError("x", errors=[{"reason": "backendError"}]), True),
        (api_exceptions.Forbidden("x", errors=[{"reason": "rateLimitExceeded"}]), True),
        (api_exceptions.ServiceUnavailable("x"), True),
        (api_exceptions.Forbidden("x", errors=[{"reason": "quotaExceeded"}]), False),
        (api_exceptions.Forbidden("x", errors=[{"reason": "accessDenied"}]), False),
        (api_exceptions.NotFound("x", errors=[{"reason": "notFound"}]), False),
        (api_exceptions.BadRequest("x", errors=[{"reason": "invalidQuery"}]), False),
        (ConnectionError("Connection reset by peer"), True),
        (ConnectionError("Failed to establish a new connection: [Errno 111] Connection refused"), False),
    ],
)
def test_retries_transient_only(error, transient: bool):
    assert is_transient(error) is transient


class BarrierWarehouse:
    """A warehouse whose queries wait for each other: it only completes when two run at the same time."""

    max_concurrent_queries = 4
    url = "fake://"

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2, timeout=30)

    def query(self, sql, params, *, label, job_labels=None):
        self.barrier.wait()
        return QueryResult(columns=["n"], rows=[(3,)], bytes_processed=100, bytes_billed=10_485_760)

    def close(self) -> None:
        pass


def test_round_runs_sql_concurrently(small):
    from coordinator.criteria.round import check_round

    incident, context, board, _file = small
    extra = incident.criteria[0].model_copy(update={"id": "rows-loaded-again"})
    incident = incident.model_copy(update={"criteria": [*incident.criteria, extra]})
    context.incident = incident
    context._warehouse = BarrierWarehouse()
    context.close = lambda: None

    evaluations = check_round(incident, context, board)
    stored = board.results(incident.incident.id)

    assert [evaluation.criterion_id for evaluation in evaluations] == ["rows-loaded", "reviewed", "rows-loaded-again"]
    assert [evaluation.status for evaluation in evaluations] == ["pass", "waiting", "pass"]
    assert [(row.criterion_id, row.bytes_processed, row.bytes_billed) for row in stored] == [
        ("rows-loaded", 100, 10_485_760),
        ("rows-loaded-again", 100, 10_485_760),
    ]


class DryRunJob:
    """What the client returns for a dry run: an estimate and BigQuery's reading of the statement."""

    def __init__(self, statement_type: str | None) -> None:
        self.statement_type = statement_type
        self.total_bytes_processed = 1000


class ServerWarehouse(BigQueryWarehouse):
    """A BigQuery warehouse whose client calls return a dry-run job of a given statement type; runs are recorded."""

    def __init__(self, url: str, statement_type: str | None) -> None:
        super().__init__(parse_url(url), url=url)
        self.statement_type = statement_type
        self.executed: list[str] = []

    def _call(self, label, action):
        return DryRunJob(self.statement_type)

    def _execute(self, sql, params, *, label, labels):
        self._job_config(sql, params, label=label, labels=labels, dry_run=False)
        self.executed.append(sql)
        return QueryResult(columns=["n"], rows=[(1,)])


@pytest.fixture
def tampered_cache(tmp_path, monkeypatch):
    """A private SQL cache whose guard verdict lets DELETE_SQL through, as a hand edit could make it."""
    import json

    from coordinator.warehouse import sql_cache
    from coordinator.warehouse.guard import read_only_problem

    path = tmp_path / "cache" / "sql-cache.json"
    path.parent.mkdir(mode=0o700)
    path.write_text(json.dumps({"fingerprint": sql_cache.fingerprint(), "entries": {sql_cache._key("guard", DELETE_SQL): None}}))
    path.chmod(0o600)
    monkeypatch.setenv("COORD_SQL_CACHE", str(path))
    sql_cache.reset()
    read_only_problem.cache_clear()
    yield path
    sql_cache.reset()
    read_only_problem.cache_clear()


DELETE_SQL = "DELETE FROM `p.raw.events` WHERE TRUE"


@pytest.mark.parametrize("statement_type", ["DELETE", "INSERT", "MERGE", "CREATE_TABLE_AS_SELECT", "SCRIPT"])
def test_dry_run_rejects_write_statement(tampered_cache, statement_type):
    warehouse = ServerWarehouse(URL, statement_type)

    with pytest.raises(WarehouseError) as raised:
        warehouse.query(DELETE_SQL, {}, label="criterion 'props_today'")

    assert str(raised.value) == (
        f"criterion 'props_today': BigQuery's dry run reports a {statement_type} statement: criteria and queries "
        "only read, so write one SELECT statement"
    )
    assert warehouse.executed == []


@pytest.mark.parametrize("statement_type", ["SELECT", None])
def test_select_or_unreported_statement_runs(statement_type):
    warehouse = ServerWarehouse(URL, statement_type)

    warehouse.query("SELECT COUNT(*) AS n FROM t", {}, label="criterion 'props_today'")

    assert warehouse.executed == ["SELECT COUNT(*) AS n FROM t"]


def test_without_cap_guard_ignores_cache(tampered_cache):
    warehouse = ServerWarehouse("bigquery://p?location=US", "DELETE")

    with pytest.raises(WarehouseError, match=r"^criterion 'x': DELETE is not allowed \(criteria and queries only read\)$"):
        warehouse.query(DELETE_SQL, {}, label="criterion 'x'")

    assert warehouse.executed == []
