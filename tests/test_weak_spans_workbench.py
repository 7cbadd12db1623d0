"""Span LFs in a spans project: lf stats judges each LF's spans against the gold spans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labelkitchen.cli.app import app
from labelkitchen.errors import InvalidInput
from labelkitchen.services.importing import import_rows
from labelkitchen.services.projects import create_project
from labelkitchen.services.weak import apply_project_lfs, fit_label_model, project_lf_summary
from labelkitchen.store import Store
from labelkitchen.weak import gazetteer_span_lf, regex_span_lf


def _spans(*triples):
    return {"spans": [{"start": s, "end": e, "label": lb} for s, e, lb in triples]}


ROWS = [
    {"id": "1", "text": "Ann flew to Rome", "split": "test",
     "gold": _spans((0, 3, "PER"), (12, 16, "LOC"))},
    {"id": "2", "text": "Paris Hilton in Paris", "split": "test",
     "gold": _spans((0, 12, "PER"), (16, 21, "LOC"))},
    {"id": "3", "text": "Rome again", "split": "train"},
]  # fmt: skip
LFS = [
    gazetteer_span_lf("cities", ["Rome", "Paris"], "LOC"),
    gazetteer_span_lf("people", ["Ann", "Paris Hilton"], "PER"),
    regex_span_lf("capitalised", r"\b[A-Z][a-z]+\b", "PER"),
]


@pytest.fixture
def news(store: Store) -> Store:
    create_project(store, spec={"slug": "n", "task": "spans", "labels": ["PER", "LOC"]})
    import_rows(store, project="n", rows=ROWS)
    apply_project_lfs(store, project="n", lfs=LFS)
    return store


def test_stats_judge_span_lfs_against_gold_spans(news: Store) -> None:
    result = project_lf_summary(news, project="n")
    assert (result.task, result.n_gold) == ("spans", 2)
    rows = {row.name: row for row in result.summary.rows}
    cities = rows["cities"]  # Rome (right), Paris (wrong: part of a name), Paris (right), Rome
    assert (cities.n_votes, cities.polarity, cities.coverage) == (4, (1,), 1.0)
    assert (cities.correct, cities.incorrect) == (2, 1)
    assert cities.recall == {0: 0.0, 1: 1.0}
    people = rows["people"]
    assert (people.correct, people.incorrect, people.precision) == (2, 0, {0: 1.0, 1: None})
    capitalised = rows["capitalised"]  # Ann, Rome, Paris, Hilton, Paris, Rome: only Ann right
    assert (capitalised.correct, capitalised.incorrect) == (1, 4)
    assert capitalised.conflicts_most_with == "cities"


def test_weak_fit_is_refused_on_spans_projects_with_a_way_forward(news: Store) -> None:
    with pytest.raises(InvalidInput, match="weak fit on classify and multilabel ones"):
        fit_label_model(news, project="n")


def test_cli_stats_on_a_spans_project(tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in ROWS), encoding="utf-8")
    rules = tmp_path / "lfs.py"
    rules.write_text(
        "from labelkitchen.weak import gazetteer_span_lf\n"
        "lfs = [gazetteer_span_lf('cities', ['Rome', 'Paris'], 'LOC')]\n",
        encoding="utf-8",
    )
    db = ["--db", f"sqlite:///{tmp_path / 'n.db'}"]
    runner = CliRunner()
    env = {"COLUMNS": "200"}
    for step in (
        ["project", "create", "n", "--task", "spans", "--labels", "PER,LOC", *db],
        ["import", "n", str(data), *db],
        ["lf", "apply", "n", str(rules), *db],
    ):
        result = runner.invoke(app, step, env=env)
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["lf", "stats", "n", "--json", *db], env=env)
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output)["lfs"]
    assert (row["name"], row["n_votes"], row["correct"], row["incorrect"]) == ("cities", 4, 2, 1)
