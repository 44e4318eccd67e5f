"""A small local model of the NBA props pipeline on DuckDB, for the demo and the tests.

A workspace is a folder holding a git repository of the pipeline's files and ``.sandbox/warehouse.duckdb``,
seeded with the state of the morning of 2026-01-27. The functions here stand in for gcloud, bq and curl; each
action really recomputes tables with the pipeline's rules and moves the sandbox clock.
"""

from importlib import import_module

# Each name is imported on first use, so a command that reads the clock does not load git.
_EXPORTS = {
    "SandboxError": "errors",
    "advance": "checks",
    "apply_migration": "devtools",
    "apply_patch": "devtools",
    "backfill": "jobs",
    "current_time": "checks",
    "describe_service": "services",
    "describe_table": "devtools",
    "deploy": "services",
    "find_workspace": "workspace",
    "health": "services",
    "init_workspace": "seed",
    "read_logs": "checks",
    "run_job": "jobs",
    "spot_check": "checks",
    "trigger_workflow": "services",
    "validate": "checks",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'coordinator.sandbox' has no attribute {name!r}")
    return getattr(import_module(f"coordinator.sandbox.{_EXPORTS[name]}"), name)
