"""The command line, run in-process on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labelkitchen.cli.app import app

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> list[str]:
    return ["--db", f"sqlite:///{tmp_path / 'cli.db'}"]


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=input, env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_demo_builds_the_youtube_project(db: list[str]) -> None:
    code, out = run("demo", *db)
    assert code == 0, out
    assert "created demo project youtube-spam" in out
    assert "read 370 comments" in out and "read 1,586 comments" in out
    code, out = run("stats", "youtube-spam", "--json", *db)
    stats = json.loads(out)
    assert stats["records_by_split"] == {"test": 327, "train": 1422}
    assert {k: v["gold"] for k, v in stats["labels"].items()} == {"spam": 150, "ham": 177}
    assert sum(v.get("model", 0) for v in stats["labels"].values()) > 1000  # the label model


def test_demo_twice_changes_nothing(db: list[str]) -> None:
    run("demo", *db)
    code, out = run("demo", *db)
    assert code == 0
    assert "imported 0 new" in out


def test_project_lifecycle(db: list[str], tmp_path: Path) -> None:
    code, out = run(
        "project",
        "create",
        "news",
        "--task",
        "multilabel",
        "--labels",
        "sport,tech",
        "--goal",
        "route articles",
        "--metric",
        "macro_f1",
        "--target",
        "0.8",
        *db,
    )
    assert code == 0, out
    code, out = run("project", "list", "--json", *db)
    assert [p["slug"] for p in json.loads(out)] == ["news"]
    code, out = run("project", "update", "news", "--add-label", "arts", *db)
    assert code == 0, out
    code, out = run("project", "show", "news", "--json", *db)
    assert [lb["name"] for lb in json.loads(out)["labels"]] == ["sport", "tech", "arts"]
    code, out = run("project", "delete", "news", *db, input="n\n")
    assert code != 0 and "Aborted" in out
    code, out = run("project", "delete", "news", "--yes", *db)
    assert code == 0
    code, out = run("project", "show", "news", *db)
    assert code == 1 and "no project 'news'" in out


def test_update_sets_project_settings_by_name(db: list[str]) -> None:
    code, out = run("project", "create", "s", "--task", "classify", "--labels", "a,b", *db)
    assert code == 0, out
    code, out = run(
        "project", "update", "s", "--set", "queue_strategy=margin",
        "--set", "consensus_threshold=0.75", "--set", "queue_skips_gold=false", *db,
    )  # fmt: skip
    assert code == 0, out
    code, out = run("project", "show", "s", "--json", *db)
    settings = json.loads(out)["settings"]
    assert settings["queue_strategy"] == "margin" and settings["consensus_threshold"] == 0.75
    assert settings["queue_skips_gold"] is False
    code, out = run("project", "update", "s", "--set", "colour=red", *db)
    assert code == 1 and "no such project setting" in out and "spot_check_share" in out
    code, out = run("project", "update", "s", "--set", "queue_strategy=fastest", *db)
    assert code == 1 and "queue_strategy" in out
    code, out = run("project", "update", "s", "--set", "overlap", *db)
    assert code == 1 and "NAME=VALUE" in out


def test_create_from_file(db: list[str], tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("task: classify\nlabels: [pos, neg]\nname: Reviews\n", encoding="utf-8")
    code, out = run("project", "create", "reviews", "--from-file", str(path), *db)
    assert code == 0, out
    assert "labels: pos, neg" in out


def test_create_without_task_is_explained(db: list[str]) -> None:
    code, out = run("project", "create", "x", *db)
    assert code == 1 and "needs --task and --labels" in out


def test_import_export_and_error_exit(db: list[str], tmp_path: Path) -> None:
    run("project", "create", "s", "--task", "classify", "--labels", "0,1", *db)
    good = tmp_path / "in.csv"
    good.write_text("COMMENT,CLASS\nhello,1\nbye,0\n", encoding="utf-8")
    code, out = run(
        "import", "s", str(good), "--text-field", "COMMENT", "--label-field", "CLASS", *db
    )
    assert code == 0, out
    assert "imported 2" in out
    out_file = tmp_path / "out.jsonl"
    code, out = run("export", "s", "--format", "jsonl", "--out", str(out_file), *db)
    assert code == 0 and "exported 2 records" in out
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "label": "7"}\n', encoding="utf-8")
    code, out = run("import", "s", str(bad), *db)
    assert code == 1
    assert "bad.jsonl, line 1, field 'label': label: unknown label '7'" in " ".join(out.split())


def test_skip_mode_reports_rejects_file(db: list[str], tmp_path: Path) -> None:
    run("project", "create", "s", "--task", "classify", "--labels", "a,b", *db)
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "ok"}\n{"text": ""}\n', encoding="utf-8")
    rejects = tmp_path / "rej.jsonl"
    code, out = run("import", "s", str(path), "--on-error", "skip", "--rejects", str(rejects), *db)
    assert code == 0, out
    assert "rejected 1" in out
    assert json.loads(rejects.read_text(encoding="utf-8"))["error"] == "empty text"


def test_record_text_cannot_inject_terminal_markup(db: list[str]) -> None:
    code, out = run(
        "project", "create", "m", "--task", "classify", "--labels", "[bold]x[/bold],b", *db
    )
    assert code == 0, out
    assert "[bold]x[/bold]" in out


def test_version() -> None:
    code, out = run("--version")
    assert code == 0 and out.startswith("labelkitchen ")
