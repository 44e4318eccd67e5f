"""The board's incident table, which every board verb reads.

It is apart from the tables of runs and results (coordinator.board.tables) because defining a SQLModel table
costs a few milliseconds at import, and `coord checkin` or `coord claim` use none of those.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class BoardIncident(SQLModel, table=True):
    __tablename__ = "incident"

    id: str = Field(primary_key=True)
    title: str
    file: str
    loaded_at: dt.datetime = Field(default_factory=utc_now)
