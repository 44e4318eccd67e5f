"""Ownership checks: every criterion has an owner, every role a handoff path of its own; and percentage
criteria have an upper bound."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from coordinator.preflight.checker import Checker
from coordinator.preflight.report import WARNING

PERCENT_COLUMN = re.compile(r"pct|percent|coverage|ratio|accuracy", re.IGNORECASE)
PERCENT_OUTPUT = re.compile(r"\(\?P<value>[^)]*\)\)?\\?%")


def check_ownership(checker: Checker) -> None:
    incident = checker.incident
    final = incident.coordination.final_validation
    listed = {criterion_id for role in incident.roles for criterion_id in role.criteria}

    for index, criterion in enumerate(incident.criteria):
        if criterion.role is not None or criterion.id in listed:
            continue
        if final is not None and final.criterion == criterion.id:
            continue
        checker.add(
            ("criteria", index),
            f"criterion {criterion.id!r} has no owner: set role: NAME, list it in a role's criteria, or name it in "
            "coordination.final_validation if it belongs to the whole incident",
        )

    for index, criterion in enumerate(incident.criteria):
        listing = sorted(role.name for role in incident.roles if criterion.id in role.criteria)
        others = [name for name in listing if name != criterion.role]
        if criterion.role is not None and others:
            checker.add(
                ("criteria", index, "role"),
                f"criterion {criterion.id!r} belongs to {criterion.role!r} but is also in the checklist of {', '.join(others)}: "
                "one role measures and reports it",
                severity=WARNING,
                roles=[criterion.role, *others],
            )

    paths: dict[str, str] = {}
    for index, role in enumerate(incident.roles):
        path = role.handoff.path
        parts = PurePosixPath(path).parts
        if not path.strip() or PurePosixPath(path).is_absolute() or ".." in parts:
            checker.add(
                ("roles", index, "handoff", "path"),
                f"role {role.name!r} has handoff path {path!r}: give a path inside the repository",
                roles=[role.name],
            )
        if path in paths:
            checker.add(
                ("roles", index, "handoff", "path"),
                f"roles {paths[path]!r} and {role.name!r} write their handoffs to the same path {path!r}: give each role its own",
                roles=[paths[path], role.name],
            )
        paths.setdefault(path, role.name)


def check_bounds(checker: Checker) -> None:
    """Report percentage and ratio criteria with only a lower bound: a coverage of 120% is a bug, not a pass."""
    for index, criterion in enumerate(checker.incident.criteria):
        expect = criterion.expect
        if expect is None or expect.op is None:
            continue
        if criterion.sql is not None:
            measured = expect.column or ""
            is_percent = bool(PERCENT_COLUMN.search(measured))
        else:
            measured = "the percentage in the output"
            is_percent = bool(expect.output and PERCENT_OUTPUT.search(expect.output))
        if not is_percent:
            continue
        roles = checker.criterion_roles(criterion)
        if expect.op in (">", ">="):
            checker.add(
                ("criteria", index, "expect"),
                f"criterion {criterion.id!r} bounds {measured} only from below ({expect.op} {expect.value}), so a value "
                "above 100% (or a ratio above 1) passes: use op: between with value: [LOW, 100] (or [LOW, 1])",
                roles=roles,
            )
        elif expect.op == "between":
            high = expect.value[1]
            if isinstance(high, (int, float)) and high > 100:
                checker.add(
                    ("criteria", index, "expect"),
                    f"criterion {criterion.id!r} lets {measured} reach {high}, above 100%: lower the upper bound to 100",
                    roles=roles,
                )
