"""Fuzz campaign for the readers and the CLI (issue 14); see docs/reliability.md."""
