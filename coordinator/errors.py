"""The error family that `coord` reports to the user as one line per problem."""

from __future__ import annotations

from dataclasses import dataclass


class CoordinatorError(Exception):
    """A problem the user can fix: bad input, a missing file, an unreachable board.

    The command line prints the message without a traceback and exits with `exit_code`.
    """

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One located problem in an input file."""

    file: str
    line: int
    column: int
    key_path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        if self.key_path:
            return f"{where}: {self.key_path}: {self.message}"
        return f"{where}: {self.message}"


class IncidentFileError(CoordinatorError):
    """An incident file that cannot be used, with every problem found in it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda problem: (problem.line, problem.column))
        super().__init__("\n".join(str(problem) for problem in self.problems))
