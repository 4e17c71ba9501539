"""Cronium: run scripts on schedules and in workflows, each run in its own sandbox."""

__version__ = "0.1.0"
