"""The sandbox's error type."""

from coordinator.errors import CoordinatorError


class SandboxError(CoordinatorError):
    """A sandbox command failed; ``exit_code`` is 2 for bad input, 1 for a failed action."""

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
