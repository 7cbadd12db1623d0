"""Review and annotator quality: the pure core on hand-computed cases, the services on SQLite,
and the Snow et al. (2008) RTE crowd labels imported as human annotations."""

from __future__ import annotations

import csv
import math
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select, update
from tests.conftest import shared_data
from typer.testing import CliRunner

from labelkitchen import quality
from labelkitchen.cli.app import app
from labelkitchen.services import quality as quality_service
from labelkitchen.services import review
from labelkitchen.services.importing import import_rows
from labelkitchen.services.projects import create_project
from labelkitchen.store import Store
from labelkitchen.store import tables as t

# --- core -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("votes", "expected"),
    [
        (["a", "a", "b"], "a"),
        (["a", "b"], None),
        (["a", None, None], "a"),
        ([None, None], None),
        ([], None),
    ],
)
def test_majority_label_is_strict(votes: list[str | None], expected: str | None) -> None:
    assert quality.majority_label(votes) == expected


def test_disagreement_is_one_minus_top_share() -> None:
    assert quality.disagreement(["a", "a", "b", None]) == pytest.approx(1 / 3)
    assert quality.disagreement(["a", "a"]) == 0.0
    assert math.isnan(quality.disagreement([None]))


def test_agreement_rate_counts_only_pairs_with_both_sides() -> None:
    rate = quality.agreement_rate(["a", "b", None, "a"], ["a", "a", "a", None])
    assert (rate.agreed, rate.n, rate.value) == (1, 2, 0.5)
    assert quality.agreement_rate([None], ["a"]).value is None


def test_consensus_of_others_leaves_the_coder_out() -> None:
    rows = [["a", "b", "b"], ["a", "a", "b"], ["a", "b", None]]
    assert quality.consensus_of_others(rows, 0) == ["b", None, "b"]


def test_active_seconds_uses_durations_then_capped_gaps() -> None:
    # 10 s measured; then a 40 s gap; then a 2 h gap capped at 300 s
    seconds = quality.active_seconds([0.0, 40.0, 7240.0], [10_000, None, None])
    assert seconds == pytest.approx(10 + 40 + 300)


def test_median_ms_ignores_unmeasured() -> None:
    assert quality.median_ms([1000, None, 3000, 2000]) == 2000.0
    assert quality.median_ms([None]) is None


def test_error_rate_has_a_wilson_interval() -> None:
    rate = quality.error_rate(2, 10)
    assert rate.rate == 0.2
    assert rate.low == pytest.approx(0.0567, abs=1e-4)  # Wilson 95% for 2 of 10
    assert rate.high == pytest.approx(0.5098, abs=1e-4)
    assert quality.error_rate(0, 0).rate is None


def test_fit_annotator_model_finds_the_spammer() -> None:
    truth = np.array([0, 1] * 20)
    good = truth.copy()
    noisy = truth.copy()
    noisy[::4] = 1 - noisy[::4]
    spammer = np.ones_like(truth)
    model = quality.fit_annotator_model(np.stack([good, good, noisy, spammer], axis=1), n_classes=2)
    assert model.accuracy[3] < model.accuracy[2] < model.accuracy[0]
    assert model.confusion.shape == (4, 2, 2)
    np.testing.assert_allclose(model.confusion.sum(axis=2), 1.0)
    assert (model.predictions == truth).all()


# --- services on SQLite -------------------------------------------------------------------------

ANSWERS = {  # record -> answers of ann, bob, cy (None: did not answer)
    "r0": ("spam", "spam", "spam"),
    "r1": ("spam", "spam", "ham"),
    "r2": ("ham", "spam", "ham"),
    "r3": ("ham", "ham", "ham"),
    "r4": ("spam", "ham", None),
    "r5": ("ham", None, None),
}
ANNOTATORS = ("ann", "bob", "cy")


def _rows(answers: dict[str, tuple[Any, ...]], gold: dict[str, Any] | None = None) -> list[dict]:
    rows = []
    for i, (rid, labels) in enumerate(answers.items()):
        row: dict[str, Any] = {
            "id": rid,
            "text": f"record {rid} text",
            "annotations": [
                {
                    "source": {"kind": "human", "name": name},
                    "value": value,
                    "duration_ms": 1000 * (j + 1),
                    "created_at": f"2024-01-01T10:{i:02d}:00",
                }
                for j, (name, value) in enumerate(zip(ANNOTATORS, labels, strict=False))
                if value is not None
            ],
        }
        if gold and rid in gold:
            row["gold"] = gold[rid]
        rows.append(row)
    return rows


@pytest.fixture
def classify(sqlite_store: Store) -> Store:
    create_project(sqlite_store, spec={"slug": "p", "task": "classify", "labels": ["spam", "ham"]})
    import_rows(sqlite_store, project="p", rows=_rows(ANSWERS, gold={"r2": "ham", "r4": "ham"}))
    return sqlite_store


def _ids(store: Store) -> dict[str, int]:
    with store.read() as conn:
        return {e: int(i) for i, e in conn.execute(select(t.records.c.id, t.records.c.external_id))}


def test_agreement_overall_matches_the_agreement_functions(classify: Store) -> None:
    from labelkitchen.agreement import fleiss_kappa, krippendorff_alpha

    report = review.agreement_report(classify, project="p", n_resamples=50)
    ratings = [list(v) for v in ANSWERS.values()]
    by_name = {c.name: c for c in report.overall}
    assert report.n_records == 6 and report.annotators == list(ANNOTATORS)
    assert by_name["krippendorff_alpha"].value == pytest.approx(krippendorff_alpha(ratings))
    assert by_name["fleiss_kappa"].value == pytest.approx(fleiss_kappa(ratings))
    # percent agreement by hand: units with >= 2 ratings r0..r4: 1, 1/3, 1/3, 1, 0
    assert by_name["percent_agreement"].value == pytest.approx((1 + 1 / 3 + 1 / 3 + 1 + 0) / 5)
    alpha = by_name["krippendorff_alpha"]
    assert alpha.ci_low is not None and alpha.ci_high is not None
    assert alpha.ci_low <= alpha.value <= alpha.ci_high


def test_agreement_pairs_give_cohen_kappa_and_undefined_with_reason(sqlite_store: Store) -> None:
    create_project(sqlite_store, spec={"slug": "p", "task": "classify", "labels": ["spam", "ham"]})
    answers = {"r0": ("spam", "spam", None), "r1": ("ham", "spam", None), "r2": (None, None, "ham")}
    import_rows(sqlite_store, project="p", rows=_rows(answers))
    report = review.agreement_report(sqlite_store, project="p", n_resamples=0)
    pairs = {(p.a, p.b): p for p in report.pairs}
    # ann vs bob: observed 1/2; expected (1/2)(1) + (1/2)(0) = 1/2 -> kappa 0
    assert pairs[("ann", "bob")].value == pytest.approx(0.0)
    assert pairs[("ann", "cy")].value is None
    assert "both coders" in (pairs[("ann", "cy")].reason or "")
    assert report.matrix[0][1] == pytest.approx(0.0) and report.matrix[0][2] is None


def test_agreement_per_label_one_vs_rest_is_undefined_when_nobody_chose_it(
    sqlite_store: Store,
) -> None:
    create_project(
        sqlite_store, spec={"slug": "p", "task": "classify", "labels": ["spam", "ham", "eggs"]}
    )
    import_rows(sqlite_store, project="p", rows=_rows(ANSWERS))
    report = review.agreement_report(sqlite_store, project="p", n_resamples=0)
    eggs = {c.name: c for c in report.per_label["eggs"]}
    assert eggs["krippendorff_alpha"].value is None
    assert "same value ('no')" in (eggs["krippendorff_alpha"].reason or "")
    assert eggs["percent_agreement"].value == 1.0


def test_agreement_multilabel_per_label_yes_no(sqlite_store: Store) -> None:
    create_project(sqlite_store, spec={"slug": "m", "task": "multilabel", "labels": ["x", "y"]})
    answers = {"r0": (["x"], ["x", "y"]), "r1": (["y"], ["y"])}
    import_rows(sqlite_store, project="m", rows=_rows(answers))
    report = review.agreement_report(sqlite_store, project="m", n_resamples=0)
    x = {c.name: c for c in report.per_label["x"]}
    y = {c.name: c for c in report.per_label["y"]}
    assert x["percent_agreement"].value == 1.0  # x: (yes, yes), (no, no)
    assert y["percent_agreement"].value == 0.5  # y: (no, yes), (yes, yes)
    assert {c.name: c for c in report.overall}["percent_agreement"].n_units == 4


def test_agreement_spans_pairwise_f1_per_label(sqlite_store: Store) -> None:
    create_project(sqlite_store, spec={"slug": "s", "task": "spans", "labels": ["PER", "LOC"]})
    text = "Ada met Bob in Paris"
    ann = {"source": {"kind": "human", "name": "ann"}}
    bob = {"source": {"kind": "human", "name": "bob"}}
    row = {
        "text": text,
        "annotations": [
            {**ann, "value": [[0, 3, "PER"], [8, 11, "PER"], [15, 20, "LOC"]]},
            {**bob, "value": [[0, 3, "PER"], [15, 20, "PER"]]},
        ],
    }
    import_rows(sqlite_store, project="s", rows=[row])
    report = review.agreement_report(sqlite_store, project="s", n_resamples=0)
    overall = {c.name: c for c in report.overall}
    assert overall["span_f1_exact"].value == pytest.approx(2 * 1 / (3 + 2))
    per = {label: {c.name: c for c in cs} for label, cs in report.per_label.items()}
    assert per["PER"]["span_f1_exact"].value == pytest.approx(2 * 1 / (2 + 2))
    assert per["LOC"]["span_f1_exact"].value == pytest.approx(0.0)
    assert report.pairs[0].value == pytest.approx(0.4)


def test_agreement_on_a_project_without_answers_is_undefined(sqlite_store: Store) -> None:
    create_project(sqlite_store, spec={"slug": "e", "task": "classify", "labels": ["a", "b"]})
    report = review.agreement_report(sqlite_store, project="e")
    assert report.n_records == 0
    assert all(c.value is None and c.reason for c in report.overall)


def test_review_queue_ranks_by_disagreement_then_model_uncertainty(classify: Store) -> None:
    access = review.local_access(classify, project="p")
    items = review.review_queue(classify, access=access, include_resolved=True)
    ids = _ids(classify)
    # r4 (1 of 2 agree: 0.5) before r1, r2 (2 of 3: 1/3); unanimous r0, r3 and lone r5 absent
    assert items[0].record_id == ids["r4"]
    assert {i.record_id for i in items} == {ids["r1"], ids["r2"], ids["r4"]}
    assert items[0].disagreement == pytest.approx(0.5)
    assert {a["annotator"] for a in items[1].answers} == set(ANNOTATORS)
    unresolved = review.review_queue(classify, access=access)
    assert {i.record_id for i in unresolved} == {ids["r1"]}  # r2, r4 have gold


def test_set_gold_appends_versions_and_keeps_the_old(classify: Store) -> None:
    access = review.local_access(classify, project="p")
    ids = _ids(classify)
    reviewer = _user(classify, "rita")
    first = review.set_gold(
        classify, access=access, user=reviewer, record_id=ids["r1"], value="ham", note="why"
    )
    picked = review.review_queue(classify, access=access, include_resolved=True)
    spam_answer = next(
        a["annotation_id"]
        for item in picked
        if item.record_id == ids["r1"]
        for a in item.answers
        if a["value"] == {"label": "spam"}
    )
    second = review.set_gold(
        classify, access=access, user=reviewer, record_id=ids["r1"], annotation_id=spam_answer
    )
    assert first.value == {"label": "ham"} and second.value == {"label": "spam"}
    assert [v["current"] for v in second.versions] == [False, True]
    assert second.versions[0]["note"] == "why" and second.versions[1]["reviewer"] == "rita"
    assert second.versions[1]["annotation_id"] == spam_answer


def test_set_gold_rejects_an_answer_from_another_record(classify: Store) -> None:
    access = review.local_access(classify, project="p")
    ids = _ids(classify)
    with classify.read() as conn:
        other = conn.execute(
            select(t.annotations.c.id).where(t.annotations.c.record_id == ids["r0"])
        ).scalar()
    with pytest.raises(ValueError, match="not an answer on this record"):
        review.set_gold(
            classify,
            access=access,
            user=_user(classify, "rita"),
            record_id=ids["r1"],
            annotation_id=other,
        )


@pytest.mark.parametrize(
    ("rule", "threshold", "written"),
    [("unanimous", 1.0, 2), ("majority", 0.66, 4), ("majority", 0.7, 2), ("majority", 0.5, 4)],
)
def test_consensus_writes_gold_for_agreeing_records(
    sqlite_store: Store, rule: str, threshold: float, written: int
) -> None:
    create_project(sqlite_store, spec={"slug": "p", "task": "classify", "labels": ["spam", "ham"]})
    import_rows(sqlite_store, project="p", rows=_rows(ANSWERS))
    report = review.apply_consensus(
        sqlite_store,
        project="p",
        rule=rule,  # type: ignore[arg-type]
        threshold=threshold,
    )
    # r0, r3 unanimous; r1, r2 two of three (0.667); r4 a tie; r5 a single answer
    assert report.written == written
    assert report.not_agreeing == 6 - written


def test_consensus_counts_and_never_overwrites_review(classify: Store) -> None:
    ids = _ids(classify)
    report = review.apply_consensus(classify, project="p", rule="majority", threshold=0.6)
    # agreeing: r0, r1, r2, r3; r2 has imported gold (a review): kept
    assert (report.written, report.reviewed, report.not_agreeing) == (3, 1, 2)
    again = review.apply_consensus(classify, project="p", rule="majority", threshold=0.6)
    assert (again.written, again.unchanged) == (0, 3)
    with classify.read() as conn:
        methods = dict(
            conn.execute(
                select(t.gold.c.record_id, t.gold.c.method).where(t.gold.c.superseded_by.is_(None))
            ).all()
        )
    assert methods[ids["r0"]] == "consensus" and methods[ids["r2"]] == "import"


def _user(store: Store, name: str, rate: float | None = None) -> Any:
    from labelkitchen.services import accounts

    user = accounts.create_user(store, username=name, password="long enough pw")
    if rate is not None:
        with store.write() as conn:
            conn.execute(update(t.users).where(t.users.c.id == user.id).values(hourly_rate=rate))
    return user


def test_annotator_report_hand_computed(classify: Store) -> None:
    _user(classify, "ann", rate=36.0)
    report = quality_service.annotator_report(classify, project="p")
    ann = next(a for a in report.annotators if a.annotator == "ann")
    assert ann.answers == 6 and ann.median_ms == 1000.0
    assert ann.active_hours == pytest.approx(6 / 3600)  # six measured seconds
    assert ann.answers_per_hour == pytest.approx(3600.0)
    # others' majority: r0 spam, r1 tie, r2 tie, r3 ham, r4 ham, r5 none -> 2 of 3 (r0, r3)
    assert (ann.consensus.agreed, ann.consensus.n) == (2, 3)
    assert (ann.gold.agreed, ann.gold.n) == (1, 2)  # r2 ham right, r4 spam wrong
    # cost: 36/h over 2 s on the two gold records -> 0.02, per gold label 0.01
    assert ann.gold_records == 2
    assert ann.cost_per_gold_label == pytest.approx(36 * 2 / 3600 / 2)
    assert report.cost_per_gold_label == pytest.approx(36 * 2 / 3600 / 2)
    assert ann.estimated_accuracy is not None and ann.confusion is not None
    assert np.allclose(np.sum(ann.confusion, axis=1), 1.0)


def test_spot_checks_sample_mark_and_error_rate(classify: Store) -> None:
    access = review.local_access(classify, project="p")
    sample = quality_service.sample_spot_checks(classify, access=access, share=0.5, random_state=1)
    assert sample.per_annotator == {"ann": 3, "bob": 2, "cy": 2}
    checks = quality_service.list_spot_checks(classify, access=access)
    rita = _user(classify, "rita")
    for i, check in enumerate(c for c in checks if c["annotator"] == "ann"):
        quality_service.mark_spot_check(
            classify, access=access, user=rita, check_id=check["id"], correct=i != 0, note="n"
        )
    summary = {s.annotator: s for s in quality_service.spot_check_summary(classify, access=access)}
    assert (summary["ann"].error.errors, summary["ann"].error.checked) == (1, 3)
    assert summary["ann"].open == 0 and summary["bob"].open == 2
    assert summary["bob"].error.rate is None
    again = quality_service.sample_spot_checks(classify, access=access, share=0.5)
    assert again.created == 0  # the share is already checked


# --- crowd data: Snow et al. (2008) RTE -----------------------------------------------------------


@pytest.fixture(scope="module")
def rte(tmp_path_factory: pytest.TempPathFactory) -> Store:
    from labelkitchen.settings import Settings

    folder = shared_data("crowd_rte_snow2008")
    path = tmp_path_factory.mktemp("rte") / "rte.db"
    store = Store.open(settings=Settings(database_url=f"sqlite:///{path}"))
    create_project(store, spec={"slug": "rte", "task": "classify", "labels": ["no", "yes"]})
    with (folder / "rte1.tsv").open(encoding="utf-8") as handle:
        texts = {
            r["id"]: f"{r['text']}\n{r['hypothesis']}"
            for r in csv.DictReader(handle, delimiter="\t")
        }
    items: dict[str, dict[str, Any]] = {}
    with (folder / "rte.standardized.tsv").open(encoding="utf-8") as handle:
        for r in csv.DictReader(handle, delimiter="\t"):
            item = items.setdefault(
                r["orig_id"], {"gold": ("no", "yes")[int(r["gold"])], "ann": []}
            )
            item["ann"].append(
                {
                    "source": {"kind": "human", "name": r["!amt_worker_ids"]},
                    "value": ("no", "yes")[int(r["response"])],
                }
            )
    rows = [
        {"id": k, "text": texts[k], "gold": v["gold"], "annotations": v["ann"]}
        for k, v in items.items()
    ]
    import_rows(store, project="rte", rows=rows)
    return store


def test_rte_dawid_skene_beats_majority_vote_against_gold(rte: Store) -> None:
    report = quality_service.annotator_report(rte, project="rte")
    assert report.n_gold == 800 and len(report.annotators) == 164
    majority, model = report.majority_vs_gold, report.model_vs_gold
    assert majority is not None and model is not None and majority.n == model.n == 800
    # ties go to the first label ("no"), as in SOURCE.md: 91.9%
    assert majority.value == pytest.approx(0.919, abs=0.001)
    assert model.value is not None and model.value > majority.value
    best = max(report.annotators, key=lambda a: a.accepted)
    assert best.accepted == 800 and best.gold.value is not None
    assert best.estimated_accuracy == pytest.approx(best.gold.value, abs=0.1)


def test_rte_agreement_is_fair(rte: Store) -> None:
    report = review.agreement_report(rte, project="rte", n_resamples=20)
    alpha = {c.name: c for c in report.overall}["krippendorff_alpha"]
    assert alpha.value is not None and 0.2 < alpha.value < 0.3  # noisy crowd, fair agreement
    assert report.n_records == 800


def test_cli_agreement_annotators_and_consensus(classify: Store) -> None:
    url = str(classify.engine.url)
    runner = CliRunner()
    result = runner.invoke(app, ["agreement", "p", "--db", url, "--resamples", "0"])
    assert result.exit_code == 0, result.output
    assert "krippendorff_alpha" in result.output and "Pairs" in result.output
    result = runner.invoke(app, ["annotators", "p", "--db", url, "--json"])
    assert result.exit_code == 0, result.output
    assert '"annotator": "ann"' in result.output
    result = runner.invoke(app, ["review", "consensus", "p", "--db", url, "--rule", "unanimous"])
    assert result.exit_code == 0, result.output
    assert "wrote 2 consensus gold labels" in result.output
    result = runner.invoke(app, ["review", "queue", "p", "--db", url])
    assert result.exit_code == 0 and "Review queue" in result.output
    result = runner.invoke(app, ["review", "consensus", "p", "--db", url, "--rule", "most"])
    assert result.exit_code == 1


# --- over time, drift, review passes, project settings -------------------------------------------


def test_split_periods_picks_the_shortest_unit_that_fits() -> None:
    hours = quality.split_periods([0.0, 3599.0, 3600.0 * 5])
    assert (hours.unit, hours.index) == ("hour", [0, 0, 1])
    assert hours.starts == [0.0, 5 * 3600.0]  # empty hours between are not listed
    days = quality.split_periods([0.0, 86400.0 * 11.5], max_periods=12)
    assert days.unit == "day" and days.index == [0, 1]
    weeks = quality.split_periods([0.0, 86400.0 * 12.5], max_periods=12)
    assert weeks.unit == "week"
    assert quality.split_periods([]).starts == []
    with pytest.raises(ValueError, match="max_periods"):
        quality.split_periods([1.0], max_periods=0)


def test_drift_test_flags_a_real_drop_and_not_noise() -> None:
    steady = quality.drift_test([True, False, True, None, True] * 8)
    assert steady.change == pytest.approx(0.0, abs=0.15)
    assert steady.p_value is not None and steady.p_value > 0.3
    falling = quality.drift_test([True] * 30 + [True, False, False] * 10)
    assert falling.earlier.n == falling.later.n == 30
    assert falling.change == pytest.approx(10 / 30 - 1.0)
    assert falling.p_value is not None and falling.p_value < 0.001
    assert quality.drift_test([None, True]).p_value is None


def _timed_rows(days: int, per_day: int, drop_from_day: int) -> list[dict[str, Any]]:
    """Three annotators, ``per_day`` records a day; from ``drop_from_day`` on, cy answers
    against the other two on every second record."""
    rows = []
    for day in range(days):
        for k in range(per_day):
            label = ("spam", "ham")[k % 2]
            wrong = day >= drop_from_day and k % 2 == 0
            answers = {"ann": label, "bob": label, "cy": "ham" if wrong else label}
            rows.append(
                {
                    "id": f"d{day}-{k}",
                    "text": f"day {day} record {k}",
                    "annotations": [
                        {
                            "source": {"kind": "human", "name": name},
                            "value": value,
                            "duration_ms": 2000,
                            "created_at": f"2024-03-{day + 1:02d}T09:{k:02d}:00",
                        }
                        for name, value in answers.items()
                    ],
                }
            )
    return rows


def test_agreement_over_time_and_annotator_drift(sqlite_store: Store) -> None:
    create_project(sqlite_store, spec={"slug": "t", "task": "classify", "labels": ["spam", "ham"]})
    import_rows(sqlite_store, project="t", rows=_timed_rows(days=6, per_day=20, drop_from_day=3))
    report = review.agreement_report(sqlite_store, project="t", n_resamples=50)
    assert report.period_unit == "day" and len(report.over_time) == 6
    assert [p.units for p in report.over_time] == [20] * 6
    assert all(p.value == pytest.approx(1.0) for p in report.over_time[:3])
    later = report.over_time[3]
    assert later.value is not None and later.value < 0.8
    assert later.low is not None and later.high is not None and later.low <= later.value
    assert report.over_time[0].start.startswith("2024-03-01T00:00:00")

    stats = quality_service.annotator_report(sqlite_store, project="t")
    assert stats.period_unit == "day"
    cy = next(a for a in stats.annotators if a.annotator == "cy")
    assert [p.agreement_with_consensus for p in cy.drift] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5]
    assert [p.answers for p in cy.drift] == [20] * 6 and cy.drift[0].median_ms == 2000.0
    assert cy.drift_change == pytest.approx(-0.5)
    assert cy.drift_p_value is not None and cy.drift_p_value < 0.001
    ann = next(a for a in stats.annotators if a.annotator == "ann")
    assert ann.drift_change is not None and ann.drift_p_value is not None
    assert ann.drift_p_value > 0.05  # ann did not change; cy's errors are not hers
    data = stats.to_dict()
    assert data["annotators"][2]["drift"][3]["agreement_with_consensus"] == 0.5


def _at(clock: str) -> datetime:
    return datetime.fromisoformat(f"2024-01-02T{clock}")


def test_cost_per_gold_label_counts_review_passes(classify: Store) -> None:
    _user(classify, "ann", rate=36.0)
    rita = _user(classify, "rita", rate=72.0)
    access = review.local_access(classify, project="p")
    ids = _ids(classify)
    before = quality_service.annotator_report(classify, project="p")
    assert before.review_passes == 0 and before.reviewers == []
    # two passes on r1 (60 s apart: one capped gap of work), one on r0 after 30 s
    review.set_gold(classify, access=access, user=rita, record_id=ids["r1"], value="ham")
    with classify.write() as conn:
        conn.execute(
            update(t.gold).values(created_at=_at("10:00:00")).where(t.gold.c.user_id == rita.id)
        )
    review.set_gold(classify, access=access, user=rita, record_id=ids["r1"], value="spam")
    with classify.write() as conn:
        conn.execute(
            update(t.gold)
            .values(created_at=_at("10:01:00"))
            .where(t.gold.c.user_id == rita.id, t.gold.c.superseded_by.is_(None))
        )
    review.set_gold(classify, access=access, user=rita, record_id=ids["r0"], value="spam")
    with classify.write() as conn:
        conn.execute(
            update(t.gold)
            .values(created_at=_at("10:01:30"))
            .where(t.gold.c.record_id == ids["r0"], t.gold.c.superseded_by.is_(None))
        )
    report = quality_service.annotator_report(classify, project="p")
    (reviewer,) = report.reviewers
    assert (reviewer.reviewer, reviewer.passes, reviewer.records) == ("rita", 3, 2)
    assert reviewer.active_hours == pytest.approx(90 / 3600)
    assert reviewer.cost == pytest.approx(72 * 90 / 3600)
    assert report.review_passes == 3 and report.reviewed_gold == 2
    # gold now on r0, r1, r2, r4; ann's 1 s per record on each of them at 36/h
    assert report.n_gold == 4
    annotation_cost = 36 * 4 / 3600
    assert report.cost_on_gold == pytest.approx(annotation_cost + 72 * 90 / 3600)
    assert report.cost_per_gold_label == pytest.approx(report.cost_on_gold / 4)
    assert report.cost_note is not None and "bob" in report.cost_note
    # human answers (accept) on gold records: r0 3, r1 3, r2 3, r4 2 -> 11, plus 3 reviews
    assert report.passes_per_gold_label == pytest.approx((11 + 3) / 4)


def test_consensus_and_spot_checks_follow_the_project_settings(sqlite_store: Store) -> None:
    create_project(
        sqlite_store,
        spec={
            "slug": "p",
            "task": "classify",
            "labels": ["spam", "ham"],
            "settings": {"consensus_rule": "unanimous", "spot_check_share": 1.0},
        },
    )
    import_rows(sqlite_store, project="p", rows=_rows(ANSWERS))
    report = review.apply_consensus(sqlite_store, project="p")
    assert (report.rule, report.written) == ("unanimous", 2)
    access = review.local_access(sqlite_store, project="p")
    sample = quality_service.sample_spot_checks(sqlite_store, access=access)
    accepted = sum(1 for labels in ANSWERS.values() for v in labels if v is not None)
    assert sample.created == accepted


def test_cli_shows_agreement_over_time_and_drift(sqlite_store: Store) -> None:
    create_project(sqlite_store, spec={"slug": "t", "task": "classify", "labels": ["spam", "ham"]})
    import_rows(sqlite_store, project="t", rows=_timed_rows(days=4, per_day=10, drop_from_day=2))
    url = str(sqlite_store.engine.url)
    runner = CliRunner()
    result = runner.invoke(app, ["agreement", "t", "--db", url, "--resamples", "0"])
    assert result.exit_code == 0, result.output
    assert "Over time (per day" in result.output and "2024-03-04 00:00" in result.output
    result = runner.invoke(app, ["annotators", "t", "--db", url])
    assert result.exit_code == 0, result.output
    assert "drift" in result.output and "-0.50" in result.output  # cy's drop


def test_annotators_see_how_their_disagreements_were_resolved(classify: Store) -> None:
    from labelkitchen.schema import Role
    from labelkitchen.services.accounts import Access

    ids = _ids(classify)
    reviewer = _user(classify, "rita")
    cy = _user(classify, "cy")  # the imported answers of source "cy" are hers by name
    project = review.local_access(classify, project="p").project
    mine = Access(project=project, role=Role.ANNOTATOR, is_admin=False)
    assert review.my_resolutions(classify, access=mine, user=cy) == []  # nothing decided yet
    access = review.local_access(classify, project="p")
    review.set_gold(
        classify, access=access, user=reviewer, record_id=ids["r1"], value="spam", note="a link"
    )
    review.set_gold(classify, access=access, user=reviewer, record_id=ids["r3"], value="ham")
    (item,) = review.my_resolutions(classify, access=mine, user=cy)  # r3 was unanimous
    assert item.record_id == ids["r1"] and item.mine == {"label": "ham"}
    assert item.final == {"label": "spam"} and item.agreed is False
    assert (item.method, item.reviewer, item.note) == ("adjudicated", "rita", "a link")
    assert item.answers == [
        {"value": {"label": "spam"}, "count": 2},
        {"value": {"label": "ham"}, "count": 1},
    ]
    assert "ann" not in str(item) and "bob" not in str(item)  # counts, never names
    viewer = Access(project=project, role=Role.VIEWER, is_admin=False)
    with pytest.raises(PermissionError, match="annotators"):
        review.my_resolutions(classify, access=viewer, user=cy)


def test_resolved_queue_items_carry_every_gold_version_read_in_one_query(
    classify: Store,
) -> None:
    from sqlalchemy import event

    access = review.local_access(classify, project="p")
    ids = _ids(classify)
    rita, rob = _user(classify, "rita"), _user(classify, "rob")
    review.set_gold(classify, access=access, user=rita, record_id=ids["r1"], value="ham", note="n")
    review.set_gold(classify, access=access, user=rob, record_id=ids["r1"], value="spam")
    gold_reads: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM gold" in statement:
            gold_reads.append(statement)

    event.listen(classify.engine, "before_cursor_execute", count)
    try:
        items = {
            i.record_id: i
            for i in review.review_queue(classify, access=access, include_resolved=True)
        }
    finally:
        event.remove(classify.engine, "before_cursor_execute", count)
    # the current gold of the project, then the versions of the three resolved records at once
    assert len(gold_reads) == 2
    r1 = items[ids["r1"]].gold_versions
    assert [(v["value"], v["method"], v["reviewer"], v["note"], v["current"]) for v in r1] == [
        ({"label": "ham"}, "adjudicated", "rita", "n", False),
        ({"label": "spam"}, "adjudicated", "rob", None, True),
    ]
    assert r1[0]["created_at"] and r1[0]["id"] < r1[1]["id"]
    # imported gold is one version without a reviewer
    assert [(v["value"], v["method"], v["reviewer"]) for v in items[ids["r4"]].gold_versions] == [
        ({"label": "ham"}, "import", None)
    ]
    assert items[ids["r1"]].gold == {"value": {"label": "spam"}, "method": "adjudicated"}
    assert review.review_queue(classify, access=access) == []  # every disagreement decided


def test_unresolved_queue_items_have_no_gold_versions(classify: Store) -> None:
    access = review.local_access(classify, project="p")
    (item,) = review.review_queue(classify, access=access)
    assert item.gold is None and item.gold_versions == []


def test_cli_export_says_where_the_agreement_summary_went(classify: Store, tmp_path: Any) -> None:
    out = tmp_path / "p.jsonl"
    result = CliRunner().invoke(
        app, ["export", "p", "--out", str(out), "--db", str(classify.engine.url)]
    )
    assert result.exit_code == 0, result.output
    summary = out.with_name("p.jsonl.annotators.json")
    assert summary.exists()
    assert "per-annotator agreement" in result.output
    assert str(summary) in result.output.replace("\n", "")
