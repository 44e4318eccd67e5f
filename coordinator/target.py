"""The place an incident's commands and queries run: the repository, a target, its parameters and clock."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from coordinator.errors import CoordinatorError

if TYPE_CHECKING:
    # The spec package builds the incident's pydantic models on import. The board verbs need only find_repo,
    # so the methods that use the spec import it themselves.
    from coordinator.spec.models import Incident, Param, ParamValue
    from coordinator.spec.params import TypedValue


def find_repo(start: Path) -> Path:
    """Return the git work tree holding `start`, or `start` itself when it is in none."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def choose_target(incident: Incident, requested: str | None) -> str:
    """Return `--target`, else the incident's default target, else its only target."""
    if requested:
        if requested not in incident.targets:
            known = ", ".join(sorted(incident.targets))
            raise CoordinatorError(f"unknown target {requested!r}: this incident defines {known}")
        return requested
    if incident.incident.default_target:
        return incident.incident.default_target
    if len(incident.targets) == 1:
        return next(iter(incident.targets))
    raise CoordinatorError(f"choose a target with --target: this incident defines {', '.join(sorted(incident.targets))}")


@dataclass
class TargetContext:
    incident: Incident
    target: str
    repo: Path
    now: dt.datetime | None = None
    _warehouse: object | None = field(default=None, repr=False)
    # The check round's threads and the main thread, which may interrupt them, share one warehouse.
    _warehouse_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def spec(self):
        return self.incident.targets[self.target]

    @property
    def workdir(self) -> Path:
        folder = Path(self.spec.workdir)
        return folder if folder.is_absolute() else (self.repo / folder).resolve()

    def params(self, extra: dict[str, Param | ParamValue] | None = None) -> dict[str, TypedValue]:
        from coordinator.spec.params import TypedValue, resolve

        values = resolve(self.incident, self.target, extra=extra)
        if self.now is None:
            self.refresh_clock()
        values["now"] = TypedValue(self.now, "TIMESTAMP")
        return values

    def refresh_clock(self) -> dt.datetime:
        """Read the target's clock (a query or a command) when it has one, else this machine's UTC time."""
        clock = self.spec.clock
        if clock is None:
            self.now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
            return self.now

        if isinstance(clock, str) or clock.command is not None:
            command = clock if isinstance(clock, str) else clock.command
            outcome = self.run_command(command, timeout=60)
            text = outcome.output.strip().splitlines()[-1] if outcome.output.strip() else ""
            source = f"clock command {command!r} printed {text!r} (exit code {outcome.exit_code})"
        else:
            result = self.warehouse().query(clock.sql, {}, label=f"clock of target {self.target!r}")
            text = str(result.rows[0][0]) if result.rows and result.rows[0] else ""
            source = f"clock query returned {text!r}"
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise CoordinatorError(f"target {self.target!r}: {source}, not an ISO-8601 time") from None
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
        self.now = moment
        return moment

    def run_command(self, command: str, *, timeout: float, env=None, cwd: Path | None = None, on_line=None, on_start=None):
        """Run a shell command in the target's work folder with the warehouse closed.

        An embedded warehouse file admits one writing process, and the command may be the one that writes.
        """
        from coordinator.runner.shell import run_command

        self.close()
        folder = cwd or self.workdir
        if not folder.is_dir():
            raise CoordinatorError(
                f"work folder {folder} not found: check targets.{self.target}.workdir or the step's workdir"
            )
        return run_command(
            command,
            cwd=folder,
            env={**self.spec.env, **(env or {})},
            timeout=timeout,
            on_line=on_line,
            on_start=on_start,
        )

    def secret_values(self, env: dict[str, str] | None = None) -> list[str]:
        """Return the values of the environment variables the incident or this target marks secret.

        A value comes from `env` (a step's), else the target's env, else this process's environment.
        """
        import os

        names = [*self.incident.secrets, *self.spec.secrets]
        sources = [env or {}, self.spec.env, os.environ]
        values = []
        for name in names:
            value = next((source[name] for source in sources if source.get(name)), None)
            if value:
                values.append(value)
        return values

    def warehouse(self):
        with self._warehouse_lock:
            if self._warehouse is None:
                from coordinator.warehouse.base import open_warehouse

                self._warehouse = open_warehouse(self.spec.warehouse, root=self.workdir)
            return self._warehouse

    def interrupt_queries(self) -> bool:
        """Interrupt the queries running on the warehouse, from any thread; False when it cannot.

        DuckDB interrupts its queries. The BigQuery warehouse keeps no handle on its running jobs, so it cannot.
        """
        interrupt = getattr(self._warehouse, "interrupt", None)
        if interrupt is None:
            return self._warehouse is None
        interrupt()
        return True

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None
