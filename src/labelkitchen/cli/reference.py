"""Generate docs/cli.md from the commands' own ``--help`` (``make docs``)."""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.testing import CliRunner

from labelkitchen.cli.app import app

HEADER = """# CLI reference

Generated from each command's `--help` by `make docs` (`python -m labelkitchen.cli.reference`);
a test fails when this file falls behind the code. `lk` is a short alias of `labelkitchen`.
"""
_ENV = {"COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1", "FORCE_COLOR": None}


def _walk(command: Any, path: list[str]) -> list[list[str]]:
    found = [path]
    subcommands = getattr(command, "commands", None) or {}
    for name in sorted(subcommands):
        found += _walk(subcommands[name], [*path, name])
    return found


def commands() -> list[str]:
    """Every command path, e.g. ``labelkitchen project create``."""
    return [" ".join(path) for path in _walk(typer.main.get_command(app), ["labelkitchen"])]


def help_text(path: list[str]) -> str:
    result = CliRunner().invoke(app, [*path[1:], "--help"], env=_ENV, prog_name=path[0])
    if result.exit_code != 0:
        raise RuntimeError(f"{' '.join(path)} --help failed: {result.output}")
    return "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())


def render() -> str:
    parts = [HEADER]
    for command in commands():
        path = command.split()
        parts.append(f"\n## `{command}`\n\n```text\n{help_text(path)}\n```\n")
    return "".join(parts)


if __name__ == "__main__":
    sys.stdout.write(render())
