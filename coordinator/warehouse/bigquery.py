"""A BigQuery warehouse: `bigquery://PROJECT?location=US[&maximum_bytes_billed=N&timeout=S&api_endpoint=URL]`.

Queries run with application-default credentials, named parameters bound from the incident's typed values,
labels naming the incident and criterion, a job timeout and a per-query byte cap. With a cap, every query
is dry-run first and refused before it runs when the estimate is over the cap, because BigQuery bills
by bytes scanned and a criterion measured every minute must not scan a whole table each time.
Transient errors (backend errors, rate limits, dropped connections) are retried; all others are not.

Every query passes the read-only guard. A dry run also rejects a statement that BigQuery itself reports as
other than SELECT, so with a cap BigQuery checks each query too. Without a cap no dry run runs, so the
guard's verdict is computed by sqlglot rather than read from the SQL cache.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

from coordinator.spec.params import TypedValue, sql_parameter_names
from coordinator.warehouse.base import DryRun, QueryResult, WarehouseError, WarehouseUnavailableError
from coordinator.warehouse.guard import read_only_problem

DEFAULT_TIMEOUT_SECONDS = 300.0
DEFAULT_CONCURRENT_QUERIES = 4
# Retrying never outlasts this, so an unreachable endpoint is reported within a minute.
MAX_RETRY_SECONDS = 60.0
URL_OPTIONS = ("location", "maximum_bytes_billed", "timeout", "api_endpoint", "concurrency")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
BIGQUERY_SCOPE = "https://www.googleapis.com/auth/bigquery"
# Error reasons that BigQuery documents as worth retrying; every other reason fails at once.
TRANSIENT_REASONS = frozenset({"backendError", "internalError", "rateLimitExceeded", "jobRateLimitExceeded"})
SIZE_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
LABEL_TEXT = re.compile(r"[^a-z0-9_-]")
LABEL_MAX_LENGTH = 63


@dataclass(frozen=True)
class BigQuerySettings:
    """The options of a `bigquery://` URL."""

    project: str
    location: str | None = None
    maximum_bytes_billed: int | None = None
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    api_endpoint: str | None = None
    concurrency: int = DEFAULT_CONCURRENT_QUERIES

    @property
    def anonymous(self) -> bool:
        """Whether to send no credentials: only to an endpoint on this machine (an emulator)."""
        if self.api_endpoint is None:
            return False
        return urlparse(self.api_endpoint).hostname in LOOPBACK_HOSTS


def parse_url(url: str) -> BigQuerySettings:
    """Read a `bigquery://PROJECT?...` URL; raise WarehouseError naming the bad option."""
    parsed = urlparse(url)
    if not parsed.netloc:
        raise WarehouseError(f"{url}: no project: write bigquery://PROJECT?location=US")
    options = {key: values[-1] for key, values in parse_qs(parsed.query, keep_blank_values=True).items()}
    unknown = sorted(set(options) - set(URL_OPTIONS))
    if unknown:
        raise WarehouseError(f"{url}: unknown option {unknown[0]!r}: options are {', '.join(URL_OPTIONS)}")

    settings: dict[str, Any] = {"project": parsed.netloc, "location": options.get("location") or None}
    if "maximum_bytes_billed" in options:
        settings["maximum_bytes_billed"] = parse_size(options["maximum_bytes_billed"], url=url)
    if "timeout" in options:
        settings["timeout"] = _positive(options["timeout"], float, "timeout", "seconds", url)
    if "concurrency" in options:
        settings["concurrency"] = _positive(options["concurrency"], int, "concurrency", "queries", url)
    if "api_endpoint" in options:
        endpoint = urlparse(options["api_endpoint"])
        if endpoint.scheme not in ("http", "https") or not endpoint.hostname:
            raise WarehouseError(f"{url}: api_endpoint must be an http:// or https:// URL, not {options['api_endpoint']!r}")
        settings["api_endpoint"] = options["api_endpoint"]
    return BigQuerySettings(**settings)


def parse_size(text: str, *, url: str) -> int:
    """Read a byte count such as `1000000000`, `10GB` or `1TiB`."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).upper() if match else ""
    if match is None or unit not in SIZE_UNITS or float(match.group(1)) <= 0:
        raise WarehouseError(
            f"{url}: maximum_bytes_billed={text!r} is not a byte count: write e.g. 10000000000, 10GB or 1TiB"
        )
    return int(float(match.group(1)) * SIZE_UNITS[unit])


def _positive(text: str, kind: type, name: str, unit: str, url: str) -> Any:
    try:
        value = kind(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise WarehouseError(f"{url}: {name}={text!r} must be a positive number of {unit}")
    return value


def format_bytes(count: int) -> str:
    """Return a byte count as people read it: `1.5 GB` (decimal units, as BigQuery's console shows them)."""
    for unit, size in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} B"


def job_labels(labels: dict[str, str]) -> dict[str, str]:
    """Return labels that BigQuery accepts: lowercase letters, digits, `_` and `-`, at most 63 characters,
    keys starting with a letter. Other characters become `_`."""
    cleaned = {}
    for key, value in labels.items():
        key_text = LABEL_TEXT.sub("_", key.lower())[:LABEL_MAX_LENGTH]
        if not key_text[:1].isalpha():
            key_text = ("l" + key_text)[:LABEL_MAX_LENGTH]
        cleaned[key_text] = LABEL_TEXT.sub("_", str(value).lower())[:LABEL_MAX_LENGTH]
    return cleaned


def over_budget_message(label: str, estimate: int, cap: int) -> str:
    return (
        f"{label}: rejected before running: the dry run estimates {estimate} bytes ({format_bytes(estimate)}), over the "
        f"target's maximum_bytes_billed of {cap} bytes ({format_bytes(cap)}): narrow the query (filter on the "
        "partition column) or raise maximum_bytes_billed in the target's URL"
    )


class BigQueryWarehouse:
    def __init__(self, settings: BigQuerySettings, *, url: str) -> None:
        self.settings = settings
        self.url = url
        self.max_concurrent_queries = settings.concurrency
        self._client = None

    @classmethod
    def from_url(cls, url: str) -> BigQueryWarehouse:
        return cls(parse_url(url), url=url)

    def query(
        self, sql: str, params: dict[str, TypedValue], *, label: str, job_labels: dict[str, str] | None = None
    ) -> QueryResult:
        """Run one read-only query; with a byte cap, refuse it first when the dry run estimates more."""
        cap = self.settings.maximum_bytes_billed
        if cap is not None:
            estimate = self.dry_run(sql, params, label=label).bytes_processed
            if estimate is not None and estimate > cap:
                raise WarehouseError(over_budget_message(label, estimate, cap))
        return self._execute(sql, params, label=label, labels=job_labels or {})

    def dry_run(self, sql: str, params: dict[str, TypedValue], *, label: str) -> DryRun:
        """Compile the query on BigQuery without running it; return its estimate of the bytes it would scan.

        BigQuery's own reading of the statement is a second barrier behind the read-only guard: a statement
        it reports as anything but SELECT is rejected. A type not reported (None) leaves the decision to the guard.
        """
        config = self._job_config(sql, params, label=label, labels={}, dry_run=True)
        job = self._call(label, lambda client: client.query(sql, job_config=config, **self._request_options()))
        statement_type = job.statement_type
        if statement_type is not None and statement_type != "SELECT":
            raise WarehouseError(
                f"{label}: BigQuery's dry run reports a {statement_type} statement: criteria and queries only "
                "read, so write one SELECT statement"
            )
        return DryRun(bytes_processed=job.total_bytes_processed)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _execute(self, sql: str, params: dict[str, TypedValue], *, label: str, labels: dict[str, str]) -> QueryResult:
        import concurrent.futures

        from google.api_core.retry import Retry

        config = self._job_config(sql, params, label=label, labels=labels, dry_run=False)
        jobs = []

        def run_job(client):
            jobs.append(client.query(sql, job_config=config, **self._request_options()))
            return jobs[-1].result(timeout=self.settings.timeout, retry=self._retry())

        job_retry = Retry(predicate=is_transient_job_failure, initial=1.0, maximum=10.0, timeout=MAX_RETRY_SECONDS)
        try:
            rows = self._call(label, job_retry(run_job))
        except concurrent.futures.TimeoutError:
            job = jobs[-1]
            job.cancel()
            raise WarehouseError(
                f"{label}: BigQuery job {job.job_id} timed out after {self.settings.timeout:g} s: "
                "narrow the query or raise the target's timeout option"
            ) from None
        job = jobs[-1]
        columns = [field.name for field in rows.schema]
        data = [tuple(_plain(value) for value in row.values()) for row in rows]
        return QueryResult(
            columns=columns, rows=data, bytes_processed=job.total_bytes_processed, bytes_billed=job.total_bytes_billed
        )

    def _job_config(self, sql: str, params: dict[str, TypedValue], *, label: str, labels: dict[str, str], dry_run: bool):
        from google.cloud import bigquery

        # A query that no dry run checks first takes the guard's verdict from sqlglot, not from the SQL cache,
        # because on BigQuery nothing else would stop a write statement that a tampered cache lets through.
        checked_by_dry_run = dry_run or self.settings.maximum_bytes_billed is not None
        problem = read_only_problem(sql, use_cache=checked_by_dry_run)
        if problem is not None:
            raise WarehouseError(f"{label}: {problem} (criteria and queries only read)")
        names = sorted(set(sql_parameter_names(sql)))
        missing = [name for name in names if name not in params]
        if missing:
            raise WarehouseError(f"{label}: no value for query parameter @{missing[0]}")

        config = bigquery.QueryJobConfig(
            query_parameters=[query_parameter(name, params[name]) for name in names],
            use_legacy_sql=False,
            dry_run=dry_run,
            use_query_cache=not dry_run,
            labels=job_labels(labels),
            job_timeout_ms=int(self.settings.timeout * 1000),
        )
        if self.settings.maximum_bytes_billed is not None:
            config.maximum_bytes_billed = self.settings.maximum_bytes_billed
        return config

    def _request_options(self) -> dict[str, Any]:
        # The client's own job retry also retries connections that cannot be opened, for up to 10 minutes.
        # So it is off, and `_execute` retries failed jobs itself, on transient reasons only.
        return {"timeout": self.settings.timeout, "retry": self._retry(), "job_retry": None}

    def _retry(self):
        from google.api_core.retry import Retry

        return Retry(predicate=is_transient, initial=1.0, maximum=10.0, multiplier=2.0, timeout=MAX_RETRY_SECONDS)

    def _call(self, label: str, action):
        """Run `action(client)`, turning the client's exceptions into one-line WarehouseErrors."""
        from google.api_core import exceptions as api_exceptions
        from google.auth import exceptions as auth_exceptions

        client = self._connect()
        try:
            return action(client)
        except api_exceptions.GoogleAPICallError as error:
            raise describe_api_error(error, label) from None
        except api_exceptions.RetryError as error:
            cause = error.cause
            if isinstance(cause, api_exceptions.GoogleAPICallError):
                raise describe_api_error(cause, label) from None
            where = self.settings.api_endpoint or "bigquery.googleapis.com"
            raise WarehouseUnavailableError(
                f"{label}: BigQuery at {where} still failing after retries for {MAX_RETRY_SECONDS:g} s: {_flatten(str(cause))}"
            ) from None
        except auth_exceptions.RefreshError as error:
            raise WarehouseUnavailableError(
                f"{label}: BigQuery rejected the application-default credentials ({_flatten(str(error))}): "
                "run `gcloud auth application-default login` again"
            ) from None
        except auth_exceptions.GoogleAuthError as error:
            raise WarehouseUnavailableError(f"{label}: BigQuery credentials failed: {_flatten(str(error))}") from None
        except (ConnectionError, OSError) as error:
            where = self.settings.api_endpoint or "bigquery.googleapis.com"
            raise WarehouseUnavailableError(f"{label}: cannot reach BigQuery at {where}: {_flatten(str(error))}") from None

    def _connect(self):
        if self._client is not None:
            return self._client
        from google.api_core.client_options import ClientOptions
        from google.cloud import bigquery

        options = ClientOptions(api_endpoint=self.settings.api_endpoint) if self.settings.api_endpoint else None
        self._client = bigquery.Client(
            project=self.settings.project,
            credentials=self._credentials(),
            location=self.settings.location,
            client_options=options,
        )
        return self._client

    def _credentials(self):
        if self.settings.anonymous:
            from google.auth.credentials import AnonymousCredentials

            return AnonymousCredentials()

        import google.auth
        from google.auth.exceptions import DefaultCredentialsError

        try:
            credentials, _project = google.auth.default(scopes=[BIGQUERY_SCOPE])
        except DefaultCredentialsError as error:
            raise WarehouseUnavailableError(
                f"{self.url}: no application-default credentials for BigQuery ({_flatten(str(error))}): run "
                "`gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a key file"
            ) from None
        return credentials


def query_parameter(name: str, typed: TypedValue):
    """Return a named BigQuery parameter of the value's type; naive timestamps are UTC."""
    from google.cloud import bigquery

    value = typed.value
    if typed.type == "TIMESTAMP" and isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    if typed.type == "DATE" and isinstance(value, dt.datetime):
        value = value.date()
    return bigquery.ScalarQueryParameter(name, typed.type, value)


def is_transient(error: BaseException) -> bool:
    """Return whether a failed request is worth retrying: a backend error, a rate limit or a dropped connection.

    A connection that could not be opened at all (refused, unknown host) is not retried: the endpoint is
    down or wrong, and waiting would only delay the message.
    """
    import requests
    from google.api_core import exceptions as api_exceptions

    if isinstance(error, (api_exceptions.ServerError, api_exceptions.TooManyRequests)):
        return True
    if isinstance(error, (requests.ConnectionError, ConnectionError)):
        return "Failed to establish a new connection" not in str(error)
    if isinstance(error, requests.Timeout):
        return True
    return is_transient_job_failure(error)


def is_transient_job_failure(error: BaseException) -> bool:
    """Return whether a query job failed for a reason BigQuery documents as transient."""
    from google.api_core import exceptions as api_exceptions

    return isinstance(error, api_exceptions.GoogleAPICallError) and bool(_reasons(error) & TRANSIENT_REASONS)


def describe_api_error(error, label: str) -> WarehouseError:
    """Return a one-line WarehouseError saying what BigQuery refused and what to do."""
    from google.api_core import exceptions as api_exceptions

    reasons = _reasons(error)
    message = _first_message(error)
    if "quotaExceeded" in reasons or isinstance(error, api_exceptions.TooManyRequests) or "rateLimitExceeded" in reasons:
        return WarehouseError(f"{label}: BigQuery quota exceeded: {message}: wait for the quota to refill, or ask for a larger quota")
    if "bytesBilledLimitExceeded" in reasons:
        return WarehouseError(f"{label}: BigQuery rejected the query over maximum_bytes_billed: {message}")
    if isinstance(error, api_exceptions.Unauthorized):
        return WarehouseUnavailableError(
            f"{label}: BigQuery rejected the credentials: {message}: run `gcloud auth application-default login`"
        )
    if isinstance(error, api_exceptions.Forbidden):
        return WarehouseError(
            f"{label}: BigQuery permission denied: {message}: ask for roles/bigquery.jobUser on the project and "
            "roles/bigquery.dataViewer on the datasets"
        )
    if isinstance(error, api_exceptions.NotFound):
        return WarehouseError(f"{label}: BigQuery: {message}")
    if isinstance(error, api_exceptions.BadRequest):
        return WarehouseError(f"{label}: BigQuery: {message}")
    return WarehouseError(f"{label}: BigQuery {error.__class__.__name__}: {message}")


def _reasons(error) -> set[str]:
    return {item.get("reason") for item in (getattr(error, "errors", None) or []) if isinstance(item, dict)}


def _first_message(error) -> str:
    for item in getattr(error, "errors", None) or []:
        if isinstance(item, dict) and item.get("message"):
            return _flatten(item["message"])
    return _flatten(getattr(error, "message", None) or str(error))


def _flatten(message: str) -> str:
    """Return a message on one line, dropping a `LINE n:` excerpt of SQL rewritten by an emulator."""
    lines = []
    for line in message.splitlines():
        if line.startswith("LINE "):
            break
        if line.strip():
            lines.append(line.strip())
    return " ".join(lines)


def _plain(value: Any) -> Any:
    """Return timestamps as naive UTC, as the DuckDB warehouse and the board store them."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value
