"""Opening the board: SQLite in WAL mode with a busy timeout by default, any SQLAlchemy URL otherwise."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlmodel import SQLModel, create_engine

from coordinator.errors import CoordinatorError

BUSY_TIMEOUT_MS = 30_000


def default_board_url(repo: Path) -> str:
    return f"sqlite:///{repo / '.coordinator' / 'board.db'}"


def _reject_memory(url: str) -> None:
    if url in ("sqlite://", "sqlite:///", "sqlite:///:memory:") or ":memory:" in url:
        raise CoordinatorError(f"board URL {url!r} is an in-memory database, which keeps nothing: give a file path")


def board_url(repo: Path, override: str | None = None) -> str:
    """Return the board URL: `--board`, else COORD_BOARD, else `.coordinator/board.db` in the repository.

    A value without `://` is taken as the path of a SQLite file.
    """
    chosen = override or os.environ.get("COORD_BOARD")
    if not chosen:
        return default_board_url(repo)
    if "://" not in chosen:
        return f"sqlite:///{Path(chosen).resolve()}"
    _reject_memory(chosen)
    return chosen


def open_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url)
    except ArgumentError:
        raise CoordinatorError(
            f"invalid board URL {url!r}: give a SQLAlchemy URL such as sqlite:///PATH or postgresql://HOST/DB, "
            "or a file path"
        ) from None
    except ModuleNotFoundError as error:
        raise CoordinatorError(
            f"board URL {url!r} needs the database driver {error.name!r}, which is not installed: install it "
            "in coordinator's environment or use a SQLite board"
        ) from None
    except OSError as error:
        raise CoordinatorError(f"cannot create the board folder for {url}: {error.strerror}") from None
    for attempt in range(3):
        try:
            with engine.begin() as connection:
                migrate(connection)
            return engine
        except OperationalError as error:
            # Two processes opening a new board at once can race on CREATE TABLE; the loser retries and
            # then finds the tables made.
            if attempt == 2 or "already exists" not in str(error):
                raise CoordinatorError(f"cannot open the board at {url}: {error.orig}") from None
        except SQLAlchemyError as error:
            reason = getattr(error, "orig", None) or str(error).splitlines()[0]
            raise CoordinatorError(f"cannot open the board at {url}: {error.__class__.__name__}: {reason}") from None
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_tables(connection: Connection, *models: type[SQLModel]) -> None:
    """Create the tables of `models` that do not exist yet."""
    for model in models:
        model.__table__.create(connection, checkfirst=True)


def add_columns(connection: Connection, model: type[SQLModel], *names: str) -> None:
    """Add the named columns of `model` to its table where they are missing (a new board has them already)."""
    table = model.__table__
    present = {column["name"] for column in inspect(connection).get_columns(table.name)}
    for name in names:
        if name in present:
            continue
        column = table.columns[name]
        column_type = column.type.compile(dialect=connection.dialect)
        connection.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{name}" {column_type}'))


def _initial_tables(connection: Connection) -> None:
    from coordinator.board.tables import BoardIncident, CriterionResult, RoleRun, StepRun, TaskState, Tick

    create_tables(connection, BoardIncident, TaskState, RoleRun, StepRun, CriterionResult, Tick)


# Each migration runs once per board, in list order, and must be safe on a board that already has what it
# adds: a new board's tables are created from the current models, which already include later columns.
# Append new migrations at the end; never reorder or remove one.
MIGRATIONS: list[Callable[[Connection], None]] = [_initial_tables]


def _git_provenance(connection: Connection) -> None:
    """Record the repository's HEAD sha and whether its tree was dirty on every step run and criterion result."""
    from coordinator.board.tables import CriterionResult, StepRun

    add_columns(connection, StepRun, "git_sha", "git_dirty")
    add_columns(connection, CriterionResult, "git_sha", "git_dirty")


MIGRATIONS.append(_git_provenance)


def _coordination_tables(connection: Connection) -> None:
    """Add the leases, check-ins and messages that roles use to coordinate."""
    from coordinator.board.coordination import COORDINATION_TABLES, add_lease_index

    add_lease_index()
    create_tables(connection, *COORDINATION_TABLES)


MIGRATIONS.append(_coordination_tables)


def _step_resume(connection: Connection) -> None:
    """Add what step-level resume and detached runs need: the task attempt and command pid, the run's log."""
    from coordinator.board.tables import RoleRun, StepRun

    add_columns(connection, StepRun, "attempt", "pid")
    add_columns(connection, RoleRun, "log_path")


MIGRATIONS.append(_step_resume)


def _bytes_scanned(connection: Connection) -> None:
    """Record the bytes a SQL criterion's query processed and was billed for."""
    from coordinator.board.tables import CriterionResult

    add_columns(connection, CriterionResult, "bytes_processed", "bytes_billed")


MIGRATIONS.append(_bytes_scanned)


def migrate(connection: Connection) -> None:
    """Apply the numbered migrations the board has not seen; each runs once, in order."""
    connection.execute(text("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"))
    current = connection.execute(text("SELECT MAX(version) FROM schema_version")).scalar() or 0
    if current > len(MIGRATIONS):
        raise CoordinatorError(
            f"the board has schema version {current}, newer than this coordinator knows ({len(MIGRATIONS)}): "
            "upgrade coordinator, or use another board with --board"
        )
    for number, migration in enumerate(MIGRATIONS, start=1):
        if number > current:
            migration(connection)
            connection.execute(text("INSERT INTO schema_version (version) VALUES (:v)"), {"v": number})
