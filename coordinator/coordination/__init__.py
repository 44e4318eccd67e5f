"""Coordination between parallel roles: resources and conflicts, policies, leases, check-ins, messages.

The modules here import only the standard library, pydantic and the board, so the board verbs that
agents call often (`coord claim`, `coord checkin`, `coord board --json`) start fast.
"""
