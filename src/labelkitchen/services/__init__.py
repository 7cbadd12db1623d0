"""Workflows over a project. CLI commands and HTTP routes call these; they call store and core."""
