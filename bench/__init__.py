"""Benchmarks of `coord` against the floor and against Soda Core; run with `python -m bench`."""
