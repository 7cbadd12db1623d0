"""Docs that cannot fall behind the code: CLI reference, settings, README commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelkitchen.cli.reference import commands, render
from labelkitchen.schema import ProjectSettings
from labelkitchen.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_is_current() -> None:
    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == render(), "docs/cli.md is stale: run `make docs`"


@pytest.mark.parametrize("command", commands())
def test_every_command_is_in_the_reference(command: str) -> None:
    assert f"## `{command}`" in (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    text = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert f"`LABELKITCHEN_{name.upper()}`" in text


@pytest.mark.parametrize("name", sorted(ProjectSettings.model_fields))
def test_every_project_setting_is_documented(name: str) -> None:
    text = (ROOT / "docs" / "concepts.md").read_text(encoding="utf-8")
    assert f"| `{name}` |" in text


@pytest.mark.parametrize("command", ["make demo", "make test"])
def test_readme_gives_the_two_commands(command: str) -> None:
    assert command in (ROOT / "README.md").read_text(encoding="utf-8")


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "name", ["README.md", "CONTRIBUTING.md", "CHANGELOG.md", "LICENSE", "docs/concepts.md"]
)
def test_project_documents_exist(name: str) -> None:
    assert (ROOT / name).stat().st_size > 200


def test_demo_data_carries_its_licence_and_citation() -> None:
    text = (ROOT / "src/labelkitchen/demo/data/LICENSE.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in text and "TubeSpam" in text
