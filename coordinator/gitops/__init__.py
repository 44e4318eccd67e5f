"""Git as the incident's record: provenance of steps and results, drift of deployed services, the commits
each role made, overlapping edits between roles, and committing handoffs.

Only this package imports git (GitPython). Each module imports it inside its functions, so commands that do
not read the repository stay fast.
"""
