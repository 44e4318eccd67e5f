"""Checks of an incident before its prompts are handed out: SQL, files, executables, dates, bounds, owners."""

from coordinator.preflight.report import ByteEstimate, PreflightProblem, PreflightReport
from coordinator.preflight.run import run_preflight

__all__ = ["ByteEstimate", "PreflightProblem", "PreflightReport", "run_preflight"]
