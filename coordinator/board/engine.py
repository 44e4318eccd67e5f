"""Opening the board: SQLite in WAL mode with a busy timeout by default, any SQLAlchemy URL otherwise."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import SQLModel, create_engine

from coordinator.errors import CoordinatorError

BUSY_TIMEOUT_MS = 30_000


def default_board_url(repo: Path) -> str:
    return f"sqlite:///{repo / '.coordinator' / 'board.db'}"


def board_url(repo: Path, override: str | None = None) -> str:
    """Return the board URL: `--board`, else COORD_BOARD, else `.coordinator/board.db` in the repository."""
    return override or os.environ.get("COORD_BOARD") or default_board_url(repo)


def open_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url)
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
            raise CoordinatorError(f"cannot open the board at {url}: {error.__class__.__name__}: {error}") from None
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


def migrate(connection: Connection) -> None:
    """Apply the numbered migrations the board has not seen; each runs once, in order."""
    connection.execute(text("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"))
    current = connection.execute(text("SELECT MAX(version) FROM schema_version")).scalar() or 0
    for number, migration in enumerate(MIGRATIONS, start=1):
        if number > current:
            migration(connection)
            connection.execute(text("INSERT INTO schema_version (version) VALUES (:v)"), {"v": number})
