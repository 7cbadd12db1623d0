"""Labelling functions and label models in the workbench: stored votes, stats, fitted labels."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from sqlalchemy import Table, func, select
from typer.testing import CliRunner

from labelkitchen.cli.app import app
from labelkitchen.demo import lfs_path
from labelkitchen.errors import InvalidInput, NotFound
from labelkitchen.services.demo import build_demo
from labelkitchen.services.exporting import export_project
from labelkitchen.services.importing import import_rows
from labelkitchen.services.lf_examples import lf_examples
from labelkitchen.services.projects import create_project
from labelkitchen.services.weak import (
    apply_project_lfs,
    fit_label_model,
    fit_notes,
    load_lfs,
    overrule_notes,
    project_lf_summary,
    tie_notes,
)
from labelkitchen.store import Store
from labelkitchen.store import tables as t
from labelkitchen.weak import LabelMatrix, LabelModel, MajorityVote, keyword_lf
from labelkitchen.weak.synthetic import random_label_matrix

ROWS = [
    {"id": "1", "text": "check out my channel", "split": "test", "gold": {"label": "spam"}},
    {"id": "2", "text": "subscribe to me", "split": "test", "gold": {"label": "spam"}},
    {"id": "3", "text": "lovely song", "split": "test", "gold": {"label": "ham"}},
    {"id": "4", "text": "this song is my channel favourite", "split": "train"},
    {"id": "5", "text": "nothing matches here", "split": "train"},
]
LFS = [
    keyword_lf("channel", ["my channel"], "spam"),
    keyword_lf("subscribe", ["subscribe"], "spam"),
    keyword_lf("song", ["song"], "ham"),
]


@pytest.fixture
def spam(store: Store) -> Store:
    create_project(store, spec={"slug": "s", "task": "classify", "labels": ["spam", "ham"]})
    import_rows(store, project="s", rows=ROWS)
    return store


def _count(store: Store, table: Table) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_apply_stores_sparse_votes(spam: Store) -> None:
    report = apply_project_lfs(spam, project="s", lfs=LFS)
    assert report.votes == {"channel": 2, "subscribe": 1, "song": 2}
    assert _count(spam, t.lf_votes) == 5  # abstains are not stored


def test_reapplying_replaces_votes(spam: Store) -> None:
    apply_project_lfs(spam, project="s", lfs=LFS)
    apply_project_lfs(spam, project="s", lfs=LFS)
    assert _count(spam, t.lf_votes) == 5


def test_editing_an_lf_retires_its_old_version(spam: Store) -> None:
    apply_project_lfs(spam, project="s", lfs=LFS)
    apply_project_lfs(spam, project="s", lfs=[keyword_lf("song", ["song", "lovely"], "ham")])
    summary = project_lf_summary(spam, project="s")
    assert [row.name for row in summary.summary.rows] == ["channel", "song", "subscribe"]
    assert summary.versions["song"] == keyword_lf("song", ["song", "lovely"], "ham").version
    assert _count(spam, t.lf_votes) == 5  # old song: 2 votes gone; new song: 2 votes


def test_summary_against_gold(spam: Store) -> None:
    apply_project_lfs(spam, project="s", lfs=LFS)
    result = project_lf_summary(spam, project="s")
    assert result.n_gold == 3
    channel = result.summary.row("channel")
    assert (channel.coverage, channel.correct, channel.incorrect) == (0.4, 1, 0)
    song = result.summary.row("song")
    assert (song.correct, song.incorrect) == (1, 0)
    assert song.conflicts_most_with == "channel"  # record 4


def test_fit_stores_probabilistic_labels_visible_in_export(spam: Store, tmp_path: Path) -> None:
    apply_project_lfs(spam, project="s", lfs=LFS)
    report = fit_label_model(spam, project="s", model="majority_vote.v1")
    assert (report.n_records, report.n_labelled, report.n_test) == (5, 4, 3)
    assert report.test_accuracy == 1.0
    out = tmp_path / "e.jsonl"
    export_project(spam, project="s", format="jsonl", out=out)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").split("\n") if line]
    weak = {r["id"]: r["annotations"][0]["value"] for r in rows if r["annotations"]}
    assert weak["1"]["label"] == "spam"
    assert weak["3"] == {"label": "ham", "probs": {"spam": 0.0, "ham": 1.0}}
    assert abs(sum(weak["4"]["probs"].values()) - 1.0) < 1e-6
    assert "5" not in weak  # no LF voted: no weak label
    assert _count(spam, t.models) == 1


def test_refit_supersedes_instead_of_duplicating(spam: Store) -> None:
    apply_project_lfs(spam, project="s", lfs=LFS)
    fit_label_model(spam, project="s", model="majority_vote.v1")
    second = fit_label_model(spam, project="s", model="majority_vote.v1")
    assert second.version == 2
    with spam.read() as conn:
        current = conn.execute(
            select(func.count())
            .select_from(t.annotations)
            .where(t.annotations.c.superseded_by.is_(None))
        ).scalar_one()
    assert current == 4


def test_fit_needs_lfs(spam: Store) -> None:
    with pytest.raises(InvalidInput, match="no labelling functions yet"):
        fit_label_model(spam, project="s")


def test_spans_projects_are_refused_with_a_reason(store: Store) -> None:
    create_project(store, spec={"slug": "n", "task": "spans", "labels": ["PER"]})
    import_rows(store, project="n", rows=[{"text": "Ann"}])
    with pytest.raises(InvalidInput, match="work on classify and multilabel projects"):
        apply_project_lfs(store, project="n", lfs=LFS)


def test_demo_label_model_is_not_below_majority_vote(sqlite_store: Store) -> None:
    fit = build_demo(sqlite_store).label_model
    assert fit.test_accuracy is not None and fit.test_majority_accuracy is not None
    assert fit.test_accuracy >= fit.test_majority_accuracy


def test_demo_rules_load() -> None:
    lfs = load_lfs(lfs_path())
    assert len(lfs) >= 8 and {"link", "subscribe"} <= {lf.name for lf in lfs}


def test_python_module_lfs(tmp_path: Path) -> None:
    path = tmp_path / "my_lfs.py"
    path.write_text(
        "from labelkitchen.weak import labeling_function\n"
        "@labeling_function()\n"
        "def shouty(record):\n"
        "    return 'spam' if record.text.isupper() else None\n",
        encoding="utf-8",
    )
    assert [lf.name for lf in load_lfs(path)] == ["shouty"]


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("- {type: nonsense, name: x}", ".yaml", "unknown LF type 'nonsense'"),
        (
            "- {type: keyword, name: a, keywords: [x], label: s}\n"
            "- {type: keyword, name: a, keywords: [y], label: s}",
            ".yaml",
            "repeated: \\['a'\\]",
        ),
        ("[]", ".yaml", "holds no labelling functions"),
        ("x = 1", ".txt", "LF files are .py modules"),
        ("lfs: 3", ".yml", "expected a list"),
    ],
)
def test_bad_lf_files_are_explained(
    tmp_path: Path, content: str, suffix: str, message: str
) -> None:
    path = tmp_path / f"rules{suffix}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidInput, match=message):
        load_lfs(path)


def test_missing_lf_file(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such LF file"):
        load_lfs(tmp_path / "nope.py")


def test_cli_apply_stats_fit(tmp_path: Path) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'w.db'}"]
    runner = CliRunner()
    env = {"COLUMNS": "200"}
    assert runner.invoke(app, ["demo", *db], env=env).exit_code == 0
    result = runner.invoke(app, ["lf", "stats", "youtube-spam", "--json", *db], env=env)
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["n_gold"] == 327 and len(stats["lfs"]) >= 8
    result = runner.invoke(
        app, ["weak", "fit", "youtube-spam", "--model", "majority_vote.v1", *db], env=env
    )
    assert result.exit_code == 0, result.output
    assert "test accuracy on 327 gold records" in result.output


def test_cli_stats_names_near_copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two rules that are the same keyword under different names show up as near-copies."""
    rng = np.random.default_rng(5)
    words = np.array(["promo", "tune", "link", "voice", "filler", "other"])
    rows = [{"id": str(i), "text": " ".join(rng.choice(words, size=3))} for i in range(400)]
    data = tmp_path / "rows.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "lfs:\n"
        "  - {type: keyword, name: promo, keywords: [promo], label: spam}\n"
        "  - {type: keyword, name: promo_again, keywords: [promo], label: spam}\n"
        "  - {type: keyword, name: link, keywords: [link], label: spam}\n"
        "  - {type: keyword, name: tune, keywords: [tune], label: ham}\n"
        "  - {type: keyword, name: voice, keywords: [voice], label: ham}\n",
        encoding="utf-8",
    )
    db = ["--db", f"sqlite:///{tmp_path / 'c.db'}"]
    runner = CliRunner()
    env = {"COLUMNS": "200"}
    steps = [
        ["project", "create", "c", "--task", "classify", "--labels", "spam,ham", *db],
        ["import", "c", str(data), *db],
        ["lf", "apply", "c", str(rules), *db],
    ]
    for step in steps:
        result = runner.invoke(app, step, env=env)
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["lf", "stats", "c", "--json", *db], env=env)
    assert result.exit_code == 0, result.output
    copies = {row["name"]: row["near_copies"] for row in json.loads(result.output)["lfs"]}
    assert copies == {
        "promo": ["promo_again"],
        "promo_again": ["promo"],
        "link": [],
        "tune": [],
        "voice": [],
    }
    result = runner.invoke(app, ["weak", "fit", "c", *db], env=env)
    assert result.exit_code == 0, result.output
    assert "near-copies counted once by the tie-breaking models: promo, promo_again" in " ".join(
        result.output.split()
    )
    wide = Console(width=200, file=io.StringIO(), highlight=False, markup=False)
    monkeypatch.setattr("labelkitchen.cli.weak.console", wide)
    result = runner.invoke(app, ["lf", "stats", "c", *db], env=env)
    assert result.exit_code == 0, result.output
    table = wide.file.getvalue()
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines()[4:] if line.strip()}
    assert "near-copies of" in table.splitlines()[2]
    assert rows["promo"][-1] == "promo_again" and rows["promo_again"][-1] == "promo"
    assert rows["link"][-1] != "promo"  # no copies: the column is empty


def test_fit_notes_say_when_ties_are_left_as_ties() -> None:
    data = random_label_matrix(309)  # Dawid-Skene runs away here (see tests/weak)
    model = LabelModel(n_classes=data.n_classes, random_state=0).fit(data.L)
    names = [f"lf{j}" for j in range(data.L.shape[1])]
    notes = fit_notes(model, names)
    assert any(n.startswith("ties left as ties: dawid_skene.v1 overturned") for n in notes)
    assert fit_notes(MajorityVote().fit(data.L), names) == ()  # no tie-breaker, nothing to say


def test_overrule_notes_count_the_clear_majorities_given_another_class() -> None:
    data = random_label_matrix(600_036)  # the two tie-breaking models overrule here (tests/weak)
    L = LabelMatrix.from_dense(data.L)
    model = LabelModel(n_classes=data.n_classes, random_state=0).fit(L)
    probs = model.predict_proba(L)
    majority = MajorityVote(n_classes=data.n_classes).fit(L).predict_proba(L)
    clear = majority.max(axis=1) == 1.0
    changed = int(np.count_nonzero(clear & (probs.argmax(axis=1) != majority.argmax(axis=1))))
    assert changed > 0
    (note,) = overrule_notes(model, L, probs)
    assert note == (
        f"{changed:,} of the {int(clear.sum()):,} records with a clear majority got another "
        "class, the one weighted_vote.v1 and dawid_skene.v1 both rate highest"
    )
    plain = MajorityVote(n_classes=data.n_classes).fit(L)
    assert overrule_notes(plain, L, plain.predict_proba(L)) == ()


def test_tie_notes_point_at_dev_gold_when_many_records_are_ties() -> None:
    # 12 ties (0 vs 1, and 0 vs 1 vs 2 once), 8 clear majorities, 5 records without votes
    rows = [[0, 1, -1]] * 11 + [[0, 1, 2]] + [[0, 0, 1]] * 4 + [[2, -1, -1]] * 4 + [[-1] * 3] * 5
    L = LabelMatrix.from_dense(np.array(rows))
    (note,) = tie_notes(L, 3, dev_gold=False)
    assert note.startswith("12 of the 20 records with votes (60%) are ties")
    assert "--split dev" in note
    assert tie_notes(L, 3, dev_gold=True) == ()  # gold decides the ties: nothing to say
    few = LabelMatrix.from_dense(np.array(rows[10:]))  # 2 ties: too few to mention
    assert tie_notes(few, 3, dev_gold=False) == ()


def test_lf_examples_by_kind(spam: Store) -> None:
    lovely = keyword_lf("lovely", ["lovely"], "spam")  # wrong on record 3 (gold ham)
    apply_project_lfs(spam, project="s", lfs=[*LFS, lovely])
    votes = lf_examples(spam, project="s", lf="song")
    assert (votes.matching, [e.external_id for e in votes.examples]) == (2, ["3", "4"])
    four = votes.examples[1]
    assert (four.vote, four.gold, four.split) == ("ham", None, "train")
    assert four.text == "this song is my channel favourite"
    assert four.others == {"channel": "spam"}
    conflicts = lf_examples(spam, project="s", lf="song", kind="conflicts")
    assert [e.external_id for e in conflicts.examples] == ["3", "4"]  # lovely, channel
    assert conflicts.examples[0].others == {"lovely": "spam"}
    assert lf_examples(spam, project="s", lf="subscribe", kind="conflicts").matching == 0
    assert lf_examples(spam, project="s", lf="song", kind="wrong").matching == 0
    wrong = lf_examples(spam, project="s", lf="lovely", kind="wrong")
    assert [(e.external_id, e.vote, e.gold) for e in wrong.examples] == [("3", "spam", "ham")]
    missed = lf_examples(spam, project="s", lf="channel", kind="missed")
    assert [(e.external_id, e.vote, e.gold) for e in missed.examples] == [("2", None, "spam")]
    one = lf_examples(spam, project="s", lf="channel", limit=1, seed=3)
    assert one.matching == 2 and len(one.examples) == 1
    assert one == lf_examples(spam, project="s", lf="channel", limit=1, seed=3)  # reproducible


def test_lf_examples_reject_bad_requests(spam: Store) -> None:
    apply_project_lfs(spam, project="s", lfs=LFS)
    with pytest.raises(NotFound, match="no active LF 'chanel'; its LFs: channel, song"):
        lf_examples(spam, project="s", lf="chanel")
    with pytest.raises(InvalidInput, match="kind must be one of votes, wrong"):
        lf_examples(spam, project="s", lf="song", kind="errors")
    with pytest.raises(InvalidInput, match="limit must be between 1 and"):
        lf_examples(spam, project="s", lf="song", limit=0)
    create_project(spam, spec={"slug": "u", "task": "classify", "labels": ["spam", "ham"]})
    import_rows(spam, project="u", rows=[{"id": "1", "text": "my channel"}])
    apply_project_lfs(spam, project="u", lfs=LFS)
    with pytest.raises(InvalidInput, match="compares with gold labels, and 'u' has none"):
        lf_examples(spam, project="u", lf="channel", kind="wrong")


def test_cli_lf_examples_shows_record_text_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [
        {"id": "a", "text": "[bold red]boom[/bold red] see my channel", "gold": {"label": "ham"}},
        {"id": "b", "text": "my channel [link=http://x]here[/link]", "gold": {"label": "spam"}},
    ]
    data = tmp_path / "rows.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "lfs:\n  - {type: keyword, name: channel, keywords: [my channel], label: spam}\n",
        encoding="utf-8",
    )
    db = ["--db", f"sqlite:///{tmp_path / 'x.db'}"]
    runner = CliRunner()
    env = {"COLUMNS": "200"}
    for step in (
        ["project", "create", "x", "--task", "classify", "--labels", "spam,ham", *db],
        ["import", "x", str(data), *db],
        ["lf", "apply", "x", str(rules), *db],
    ):
        result = runner.invoke(app, step, env=env)
        assert result.exit_code == 0, result.output
    wide = Console(width=200, file=io.StringIO(), highlight=False)
    monkeypatch.setattr("labelkitchen.cli.weak.console", wide)  # markup on, as in a terminal
    result = runner.invoke(app, ["lf", "examples", "x", "channel", *db], env=env)
    assert result.exit_code == 0, result.output
    table = wide.file.getvalue()
    assert "channel: 2 of 2 records it voted on" in table
    assert "[bold red]boom[/bold red] see my channel" in table
    assert "[link=http://x]here[/link]" in table
    monkeypatch.undo()
    result = runner.invoke(
        app, ["lf", "examples", "x", "channel", "--kind", "wrong", "--json", *db], env=env
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["matching"] == 1
    assert payload["examples"][0]["text"].startswith("[bold red]boom")
    result = runner.invoke(app, ["lf", "examples", "x", "nope", *db], env=env)
    assert result.exit_code != 0
    assert "no active LF 'nope'" in result.output


def test_fit_reports_test_accuracy_with_and_without_uncovered_records(store: Store) -> None:
    create_project(store, spec={"slug": "c", "task": "classify", "labels": ["spam", "ham"]})
    rows = [
        {"id": "1", "text": "check my channel", "split": "test", "gold": {"label": "spam"}},
        {"id": "2", "text": "lovely song", "split": "test", "gold": {"label": "ham"}},
        {"id": "3", "text": "no rule here", "split": "test", "gold": {"label": "ham"}},
    ]
    import_rows(store, project="c", rows=rows)
    apply_project_lfs(store, project="c", lfs=LFS)
    report = fit_label_model(store, project="c", model="majority_vote.v1")
    assert report.test_coverage == 2 / 3
    assert report.test_covered_accuracy == 1.0
    assert report.test_majority_covered_accuracy == 1.0
    assert report.test_accuracy == 2 / 3  # record 3 counts as the first label, spam: wrong
