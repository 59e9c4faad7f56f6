"""Benchmarks: each ``bench/<name>/run.py`` prints JSON with its figures and a baseline's."""
