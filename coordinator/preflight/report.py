"""Preflight results: located errors and warnings, and the bytes each criterion query would scan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class PreflightProblem:
    """One problem, located in the incident file. `roles` are the prompts it affects (empty: every prompt)."""

    severity: str
    file: str
    line: int
    column: int
    key_path: str
    message: str
    roles: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.key_path}: {self.message}" if self.key_path else f"{where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "key_path": self.key_path,
            "message": self.message,
            "roles": list(self.roles),
        }


@dataclass(frozen=True)
class ByteEstimate:
    """The bytes one SQL criterion's query would scan, from the warehouse's dry run (None: no estimate)."""

    criterion_id: str
    role: str | None
    bytes_processed: int | None


@dataclass
class PreflightReport:
    file: str
    incident_id: str | None
    target: str | None
    problems: list[PreflightProblem] = field(default_factory=list)
    estimates: list[ByteEstimate] = field(default_factory=list)
    # Set when the warehouse has no estimate (DuckDB) or could not be reached.
    estimate_note: str | None = None

    @property
    def errors(self) -> list[PreflightProblem]:
        return self._sorted(ERROR)

    @property
    def warnings(self) -> list[PreflightProblem]:
        return self._sorted(WARNING)

    def _sorted(self, severity: str) -> list[PreflightProblem]:
        chosen = [problem for problem in self.problems if problem.severity == severity]
        return sorted(chosen, key=lambda problem: (problem.line, problem.column, problem.message))

    def round_bytes(self, role: str | None = None) -> int | None:
        """Return the estimated bytes of one check round (of `role`, or of every criterion); None when unknown."""
        chosen = [estimate for estimate in self.estimates if role is None or estimate.role == role]
        if not chosen or any(estimate.bytes_processed is None for estimate in chosen):
            return None
        return sum(estimate.bytes_processed or 0 for estimate in chosen)

    def role_errors(self, roles: list[str]) -> dict[str, list[str]]:
        """Return the errors that affect each role's prompt, as lines for the top of the prompt."""
        affected: dict[str, list[str]] = {role: [] for role in roles}
        for problem in self.errors:
            for role in problem.roles or roles:
                if role in affected:
                    affected[role].append(str(problem))
        return affected

    def to_json(self) -> dict[str, Any]:
        roles = sorted({estimate.role for estimate in self.estimates if estimate.role is not None})
        return {
            "file": self.file,
            "incident": self.incident_id,
            "target": self.target,
            "errors": [problem.to_json() for problem in self.errors],
            "warnings": [problem.to_json() for problem in self.warnings],
            "estimates": {
                "criteria": [
                    {"id": estimate.criterion_id, "role": estimate.role, "bytes_processed": estimate.bytes_processed}
                    for estimate in self.estimates
                ],
                "round_bytes": self.round_bytes(),
                "round_bytes_by_role": {role: self.round_bytes(role) for role in roles},
                "note": self.estimate_note,
            },
        }
