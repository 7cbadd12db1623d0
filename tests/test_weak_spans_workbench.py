"""Span LFs in a spans project: lf stats judges each LF's spans against the gold spans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labelkitchen.cli.app import app
from labelkitchen.errors import InvalidInput
from labelkitchen.services.exporting import export_project
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


def test_weak_fit_stores_aggregated_spans_with_scores(news: Store, tmp_path: Path) -> None:
    report = fit_label_model(news, project="n")
    assert (report.model, report.metric) == ("majority_vote.v1", "span F1")
    assert (report.n_records, report.n_labelled, report.n_test) == (3, 3, 2)
    out = tmp_path / "e.jsonl"
    export_project(news, project="n", format="jsonl", out=out)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line]
    weak = {r["id"]: r["annotations"][0]["value"] for r in rows if r["annotations"]}
    # "Ann": people and capitalised agree; "Rome": cities (LOC) against capitalised (PER)
    first = {(s["start"], s["end"], s["label"]): s["score"] for s in weak["1"]["spans"]}
    assert first[(0, 3, "PER")] == 1.0
    assert weak["1"]["confidence"] == min(first.values())
    # "Ann" is right on test; the ties and "Paris Hilton" (split at "Hilton") are not all
    assert report.test_accuracy is not None and 0.0 < report.test_accuracy < 1.0
    assert report.test_accuracy == report.test_majority_accuracy  # majority vote on both sides


@pytest.mark.parametrize("model", ["dawid_skene.v1", "label_model.v1", "tag_hmm.v1"])
def test_weak_fit_aggregates_with_other_tag_models(news: Store, model: str) -> None:
    report = fit_label_model(news, project="n", model=model)
    assert report.model == model and report.n_labelled == 3


def test_weak_fit_on_spans_refuses_an_unknown_model(news: Store) -> None:
    with pytest.raises(InvalidInput, match=r"majority_vote\.v1, dawid_skene\.v1, label_model\.v1"):
        fit_label_model(news, project="n", model="weighted_vote.v1")


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


def test_examples_show_the_spans_of_each_lf(news: Store) -> None:
    from labelkitchen.services.lf_examples import lf_examples

    votes = lf_examples(news, project="n", lf="cities")
    assert votes.matching == 3
    first = votes.examples[0]
    assert (first.external_id, first.split, first.vote) == ("1", "test", "12-16 LOC")
    assert first.gold == "0-3 PER; 12-16 LOC"
    assert first.others == {"people": "0-3 PER", "capitalised": "0-3 PER; 12-16 PER"}
    wrong = lf_examples(news, project="n", lf="cities", kind="wrong")
    assert [e.external_id for e in wrong.examples] == ["2"]  # Paris of Paris Hilton
    conflicts = lf_examples(news, project="n", lf="people", kind="conflicts")
    assert [e.external_id for e in conflicts.examples] == ["2"]  # record 1: the same Ann
    assert lf_examples(news, project="n", lf="people", kind="missed").matching == 0
    missed = lf_examples(news, project="n", lf="capitalised", kind="missed")
    assert [e.external_id for e in missed.examples] == ["2"]  # Paris Hilton as one name
