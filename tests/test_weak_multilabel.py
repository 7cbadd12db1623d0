"""Labelling functions and label models in a multilabel project: stored per-label votes, the
per-label summary, and one label model per label whose label sets are stored and exported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from labelkitchen.cli.app import app
from labelkitchen.errors import InvalidInput
from labelkitchen.services.exporting import export_project
from labelkitchen.services.importing import import_rows
from labelkitchen.services.lf_examples import lf_examples
from labelkitchen.services.projects import create_project
from labelkitchen.services.weak import (
    apply_project_lfs,
    fit_label_model,
    project_lf_summary,
)
from labelkitchen.store import Store
from labelkitchen.store import tables as t
from labelkitchen.weak import keyword_lf, labeling_function, regex_span_lf

ROWS = [
    {"id": "1", "text": "my invoice is wrong, fix it asap", "split": "test",
     "gold": {"labels": ["billing", "urgent"]}},
    {"id": "2", "text": "a copy of the invoice please", "split": "test",
     "gold": {"labels": ["billing"]}},
    {"id": "3", "text": "the app crashes, asap", "split": "test", "gold": {"labels": ["urgent"]}},
    {"id": "4", "text": "hello, just saying thanks", "split": "test", "gold": {"labels": []}},
    {"id": "5", "text": "refund my invoice now", "split": "train"},
    {"id": "6", "text": "asap asap", "split": "train"},
    {"id": "7", "text": "nothing to see", "split": "train"},
]  # fmt: skip


@labeling_function(kind="multilabel")
def thanks(record):
    """A thank-you note is neither a billing question nor urgent."""
    return {"billing": False, "urgent": False} if "thanks" in record.text else None


LFS = [
    keyword_lf("invoice", ["invoice"], "billing"),  # a classify LF: "billing is present"
    keyword_lf("asap", ["asap"], "urgent"),
    thanks,
]


@pytest.fixture
def tickets(store: Store) -> Store:
    spec = {"slug": "t", "task": "multilabel", "labels": ["billing", "urgent"]}
    create_project(store, spec=spec)
    import_rows(store, project="t", rows=ROWS)
    return store


def test_apply_stores_one_vote_per_lf_and_label(tickets: Store) -> None:
    report = apply_project_lfs(tickets, project="t", lfs=LFS)
    assert report.votes == {"invoice": 3, "asap": 3, "thanks": 2}  # thanks: both labels absent
    assert report.coverage("thanks") == 1 / 7  # one record, two votes
    with tickets.read() as conn:
        stored = conn.execute(select(func.count()).select_from(t.lf_votes)).scalar_one()
    assert stored == 8


def test_summary_has_a_row_per_lf_and_label(tickets: Store) -> None:
    apply_project_lfs(tickets, project="t", lfs=LFS)
    result = project_lf_summary(tickets, project="t")
    assert result.task == "multilabel" and result.n_gold == 4
    rows = {(row.label, row.name): row for row in result.summary.rows}
    assert sorted(rows) == [
        ("billing", "invoice"),
        ("billing", "thanks"),
        ("urgent", "asap"),
        ("urgent", "thanks"),
    ]
    invoice = rows[("billing", "invoice")]
    assert (invoice.polarity, invoice.coverage) == ((1,), 3 / 7)
    assert (invoice.correct, invoice.incorrect) == (2, 0)  # records 1 and 2; 5 has no gold
    assert rows[("urgent", "thanks")].polarity == (0,)
    assert (rows[("urgent", "thanks")].correct, rows[("urgent", "thanks")].incorrect) == (1, 0)


def test_fit_stores_label_sets_with_probabilities(tickets: Store, tmp_path: Path) -> None:
    apply_project_lfs(tickets, project="t", lfs=LFS)
    report = fit_label_model(tickets, project="t", model="majority_vote.v1")
    assert report.metric == "accuracy per label"
    assert (report.n_records, report.n_labelled, report.n_test) == (7, 6, 4)
    assert report.test_accuracy == 1.0  # 4 test records x 2 labels, all decided right
    out = tmp_path / "e.jsonl"
    export_project(tickets, project="t", format="jsonl", out=out)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line]
    weak = {r["id"]: r["annotations"][0]["value"] for r in rows if r["annotations"]}
    assert sorted(weak) == ["1", "2", "3", "4", "5", "6"]  # 7: no LF voted
    assert weak["1"]["labels"] == ["billing", "urgent"]
    assert weak["4"] == {"labels": [], "probs": {"billing": 0.0, "urgent": 0.0}, "confidence": 1.0}
    # record 2: billing present (one vote), urgent unvoted: a coin, and not counted as sure
    assert weak["2"] == {"labels": ["billing"], "probs": {"billing": 1.0, "urgent": 0.5},
                         "confidence": 1.0}  # fmt: skip


def test_fit_with_the_default_label_model_per_label(tickets: Store) -> None:
    apply_project_lfs(tickets, project="t", lfs=LFS)
    report = fit_label_model(tickets, project="t")
    assert report.selected.startswith("majority_vote.v1(")  # the default, tie-breakers on
    assert report.selected.endswith(") for every label")
    assert report.version == 1


def test_span_lfs_are_refused_in_a_multilabel_project(tickets: Store) -> None:
    with pytest.raises(InvalidInput, match="not span LFs: \\['urls'\\]"):
        apply_project_lfs(tickets, project="t", lfs=[regex_span_lf("urls", r"http\S+", "billing")])


def test_examples_name_the_labels_an_lf_voted(tickets: Store) -> None:
    please = keyword_lf("please", ["please"], "urgent")  # wrong on 2; misses 1 and 3
    hello = keyword_lf("hello", ["hello"], "urgent")  # against thanks on record 4
    apply_project_lfs(tickets, project="t", lfs=[*LFS, please, hello])
    (four,) = lf_examples(tickets, project="t", lf="thanks").examples
    assert (four.external_id, four.vote, four.gold) == (
        "4",
        "billing: absent; urgent: absent",
        "(none)",
    )
    assert four.others == {"hello": "urgent: present"}
    wrong = lf_examples(tickets, project="t", lf="please", kind="wrong")
    assert [(e.external_id, e.vote, e.gold) for e in wrong.examples] == [
        ("2", "urgent: present", "billing")
    ]
    missed = lf_examples(tickets, project="t", lf="please", kind="missed")
    assert [e.external_id for e in missed.examples] == ["1", "3"]
    assert lf_examples(tickets, project="t", lf="invoice", kind="missed").matching == 0
    conflicts = lf_examples(tickets, project="t", lf="thanks", kind="conflicts")
    assert [e.external_id for e in conflicts.examples] == ["4"]
    assert lf_examples(tickets, project="t", lf="invoice", kind="conflicts").matching == 0
    first = lf_examples(tickets, project="t", lf="invoice").examples[0]
    assert (first.external_id, first.vote, first.gold) == (
        "1",
        "billing: present",
        "billing, urgent",
    )
    assert first.others == {"asap": "urgent: present"}


def test_cli_stats_and_fit_on_a_multilabel_project(tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in ROWS), encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "lfs:\n"
        "  - {type: keyword, name: invoice, keywords: [invoice], label: billing}\n"
        "  - {type: keyword, name: asap, keywords: [asap], label: urgent}\n",
        encoding="utf-8",
    )
    db = ["--db", f"sqlite:///{tmp_path / 'm.db'}"]
    runner = CliRunner()
    env = {"COLUMNS": "200"}
    for step in (
        ["project", "create", "m", "--task", "multilabel", "--labels", "billing,urgent", *db],
        ["import", "m", str(data), *db],
        ["lf", "apply", "m", str(rules), *db],
    ):
        result = runner.invoke(app, step, env=env)
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["lf", "stats", "m", "--json", *db], env=env)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["task"] == "multilabel"
    assert [(row["label"], row["name"]) for row in payload["lfs"]] == [
        ("billing", "invoice"),
        ("urgent", "asap"),
    ]
    result = runner.invoke(app, ["lf", "stats", "m", *db], env=env)
    assert result.exit_code == 0, result.output
    assert "label" in result.output and "present" in result.output
    result = runner.invoke(app, ["weak", "fit", "m", *db], env=env)
    assert result.exit_code == 0, result.output
    assert "test accuracy per label on 4 gold records" in " ".join(result.output.split())


def test_training_with_weak_labels_uses_the_label_sets(tickets: Store) -> None:
    from labelkitchen.services.train import train_project

    apply_project_lfs(tickets, project="t", lfs=LFS)
    fit_label_model(tickets, project="t", model="majority_vote.v1")
    report = train_project(tickets, project="t", weak=True)
    assert (report.n_weak, report.n_train, report.n_test) == (2, 2, 4)  # records 5 and 6


def test_fit_uses_each_labels_dev_gold(store: Store) -> None:
    create_project(store, spec={"slug": "d", "task": "multilabel", "labels": ["billing", "urgent"]})
    dev = [
        {"id": f"d{i}", "text": text, "split": "dev", "gold": {"labels": labels}}
        for i, (text, labels) in enumerate(
            [("invoice asap", ["billing", "urgent"]), ("invoice", ["billing"]),
             ("asap", ["urgent"]), ("hello thanks", [])]
        )
    ]  # fmt: skip
    import_rows(store, project="d", rows=[*dev, *ROWS])
    apply_project_lfs(store, project="d", lfs=LFS)
    report = fit_label_model(store, project="d")
    assert " @ " in report.selected  # chosen on the dev gold (" @ dev" or " @ uniform")
    assert report.test_accuracy == 1.0 and report.n_test == 4
