"""Training a project's baseline, the served /predict, model export and the standalone server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from labelkitchen.cli.app import app as cli
from labelkitchen.errors import InvalidInput
from labelkitchen.learn import SpanConfig, TrainConfig
from labelkitchen.server import create_app
from labelkitchen.server.model_app import create_model_app
from labelkitchen.services import accounts
from labelkitchen.services.importing import import_rows
from labelkitchen.services.projects import create_project, get_project
from labelkitchen.services.train import (
    TrainReport,
    _collect,
    current_model,
    export_model,
    train_project,
)
from labelkitchen.settings import Settings
from labelkitchen.store import Store

SPAM = [
    "win free money",
    "free prize inside",
    "click this link now",
    "cheap pills here",
    "subscribe to my channel",
    "earn cash fast",
]
HAM = [
    "lovely song",
    "her voice is great",
    "best video ever",
    "I love the lyrics",
    "this beat is amazing",
    "great performance",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Store:
    path = tmp_path_factory.mktemp("train") / "t.db"
    store = Store.open(settings=Settings(database_url=f"sqlite:///{path}", secret_key="k"))
    create_project(
        store,
        spec={
            "slug": "s",
            "task": "classify",
            "labels": ["spam", "ham"],
            "goal": {"metric": "accuracy", "target": 0.5},
        },
    )
    rows = [{"text": f"{t} {i}", "label": "spam", "split": "train"} for i, t in enumerate(SPAM * 4)]
    rows += [{"text": f"{t} {i}", "label": "ham", "split": "train"} for i, t in enumerate(HAM * 4)]
    rows += [{"text": t, "gold": {"label": "spam"}, "split": "test"} for t in SPAM[:3]]
    rows += [{"text": t, "gold": {"label": "ham"}, "split": "test"} for t in HAM[:3]]
    rows += [{"text": "unlabelled pool record", "split": "train"}]
    import_rows(store, project="s", rows=rows, options=_gold_is_gold())
    accounts.create_user(store, username="ann", password="long password")
    accounts.set_member(store, project="s", username="ann", role="viewer")
    train_project(store, project="s")
    return store


def _gold_is_gold():  # imported labels act as gold here: a finished labelled set
    from labelkitchen.io.prepare import ImportOptions

    return ImportOptions(labels_as="gold")


def test_training_stores_a_versioned_model_with_metrics(trained: Store) -> None:
    report = train_project(trained, project="s")
    assert report.version == 2 and report.n_train == 48 and report.n_test == 6
    assert report.metrics["test"]["accuracy"] >= 0.8
    assert report.goal["met"] is True and len(report.dataset_hash) == 64


def test_predict_endpoint(trained: Store) -> None:
    client = TestClient(create_app(trained.settings, store=trained))
    headers = {"Authorization": f"Bearer {accounts.create_token(trained, username='ann').token}"}
    response = client.post(
        "/api/projects/s/predict", json={"texts": ["free money"]}, headers=headers
    )
    assert response.status_code == 200
    prediction = response.json()["predictions"][0]
    assert prediction["label"] == "spam" and abs(sum(prediction["probs"].values()) - 1) < 1e-6


@pytest.mark.parametrize(
    "body",
    [{"texts": [""]}, {"texts": [5]}, {"texts": []}, {"texts": ["x" * 1_000_001]}, {"text": "x"}],
)
def test_predict_rejects_bad_input_with_422(trained: Store, body: dict) -> None:
    client = TestClient(create_app(trained.settings, store=trained))
    headers = {"Authorization": f"Bearer {accounts.create_token(trained, username='ann').token}"}
    assert client.post("/api/projects/s/predict", json=body, headers=headers).status_code == 422


def test_exported_model_serves_alone(trained: Store, tmp_path: Path) -> None:
    folder = export_model(trained, project="s", directory=tmp_path / "model")
    client = TestClient(create_model_app(folder))
    response = client.post("/predict", json={"texts": ["her voice is great"]})
    assert response.json()["predictions"][0]["label"] == "ham"
    assert client.post("/predict", json={"texts": ["  "]}).status_code == 422
    assert client.get("/health").json()["card"]["project"] == "s"


def test_no_labels_no_training(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'e.db'}") as store:
        create_project(store, spec={"slug": "e", "task": "classify", "labels": ["a", "b"]})
        import_rows(store, project="e", rows=[{"text": "x"}])
        with pytest.raises(InvalidInput, match="no training labels yet"):
            train_project(store, project="e")


def test_demo_weak_training_meets_the_goal(tmp_path: Path) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}"]
    runner = CliRunner()
    env = {"COLUMNS": "200"}
    assert runner.invoke(cli, ["demo", "--no-serve", *db], env=env).exit_code == 0
    runner.invoke(cli, ["weak", "fit", "youtube-spam", "--model", "majority_vote.v1", *db])
    result = runner.invoke(cli, ["train", "youtube-spam", "--weak", *db], env=env)
    assert result.exit_code == 0, result.output
    assert "goal: precision of 'spam' on test" in result.output


def test_simulate_command_writes_curves_and_plot(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    rows = [{"text": f"{t} {i}", "label": "spam"} for i, t in enumerate(SPAM * 10)]
    rows += [{"text": f"{t} {i}", "label": "ham"} for i, t in enumerate(HAM * 10)]
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    out = tmp_path / "curves.json"
    result = CliRunner().invoke(
        cli,
        [
            "simulate",
            str(data),
            "--strategy",
            "random",
            "--strategy",
            "margin",
            "--seeds",
            "2",
            "--seed-size",
            "6",
            "--batch",
            "10",
            "--budget",
            "26",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    curves = json.loads(out.read_text())["curves"]
    assert set(curves) == {"random", "margin"} and set(curves["margin"]) == {"0", "1"}
    assert [n for n, _ in curves["margin"]["0"]] == [6, 16, 26]
    assert out.with_suffix(".png").exists()


# --- spans projects: the span tagger ----------------------------------------------------------

WNUT_LABELS = ["person", "location", "corporation", "product", "creative-work", "group"]
SMALL_TAGGER = SpanConfig(n_iter=3, width=64, depth=2, embed_size=1000, beam_width=8)


def _distinct(sentences: list) -> list:
    """One sentence per text (the store keeps one record per distinct text)."""
    first: dict[str, tuple] = {}
    for text, spans in sentences:
        first.setdefault(text, (text, spans))
    return list(first.values())


def _span_rows(sentences: list, split: str, *, gold: bool = True) -> list[dict]:
    rows = []
    for text, spans in sentences:
        value = {"spans": [{"start": s, "end": e, "label": lb} for s, e, lb in spans]}
        rows.append({"text": text, "split": split, **({"gold": value} if gold else {})})
    return rows


@pytest.fixture(scope="module")
def spans_trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, TrainReport]:
    from tests.conftest import shared_data
    from tests.learn.test_spans import read_conll

    path = tmp_path_factory.mktemp("spans") / "s.db"
    store = Store.open(settings=Settings(database_url=f"sqlite:///{path}", secret_key="k"))
    create_project(
        store,
        spec={
            "slug": "ner",
            "task": "spans",
            "labels": WNUT_LABELS,
            "goal": {"metric": "micro_f1", "target": 0.9},
            "settings": {"queue_strategy": "least_confidence"},
        },
    )
    train = _distinct(read_conll(shared_data("wnut17", "wnut17train.conll")))
    test = _distinct(read_conll(shared_data("wnut17", "emerging.test.annotated")))
    rows = _span_rows(train[:150], "train") + _span_rows(train[150:190], "dev")
    rows += _span_rows(test[:40], "test") + _span_rows(train[190:220], "train", gold=False)
    import_rows(store, project="ner", rows=rows)
    accounts.create_user(store, username="nia", password="long password")
    accounts.set_member(store, project="ner", username="nia", role="viewer")
    return store, train_project(store, project="ner", config=SMALL_TAGGER)


@pytest.fixture(scope="module")
def spans_store(spans_trained: tuple[Store, TrainReport]) -> Store:
    return spans_trained[0]


def test_spans_project_trains_the_span_tagger(spans_trained: tuple[Store, TrainReport]) -> None:
    report = spans_trained[1]
    assert report.kind == "span_tagger.v1" and report.version == 1
    assert (report.n_train, report.n_dev, report.n_test) == (150, 40, 40)
    test = report.metrics["test"]
    assert {"micro_f1", "macro_f1", "micro_precision", "micro_recall"} <= set(test)
    assert set(test["per_label"]) == set(WNUT_LABELS) and test["n"] == 40
    assert report.alignment == {
        "n_spans": sum(len(s) for s in _wnut_spans(150)),
        "n_expanded": 0,
        "n_unplaceable": 0,
        "n_overlapping": 0,
    }
    assert report.goal["metric"] == "micro_f1" and report.goal["met"] is False


def _wnut_spans(n: int) -> list:
    from tests.conftest import shared_data
    from tests.learn.test_spans import read_conll

    return [s for _, s in _distinct(read_conll(shared_data("wnut17", "wnut17train.conll")))[:n]]


def test_span_pool_predictions_order_an_uncertainty_queue(spans_store: Store) -> None:
    with spans_store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT p.value, p.score FROM queue_items q JOIN predictions p "
            "ON p.record_id = q.record_id WHERE q.slots_left > 0 ORDER BY q.priority"
        ).all()
    assert len(rows) == 30
    scores = [score for _, score in rows]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert all("spans" in json.loads(value) for value, _ in rows)


def test_predict_endpoint_answers_spans(spans_store: Store) -> None:
    client = TestClient(create_app(spans_store.settings, store=spans_store))
    token = accounts.create_token(spans_store, username="nia").token
    text = "Watching the new Star Wars film with Taylor in London tonight"
    response = client.post(
        "/api/projects/ner/predict",
        json={"texts": [text, "hello"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert len(predictions) == 2 and set(predictions[0]) == {"spans"}
    for span in predictions[0]["spans"]:
        assert 0 <= span["start"] < span["end"] <= len(text)
        assert span["label"] in WNUT_LABELS and 0 <= span["score"] <= 1
    bad = client.post(
        "/api/projects/ner/predict",
        json={"texts": ["   "]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert bad.status_code == 422


def test_exported_span_tagger_serves_alone(spans_store: Store, tmp_path: Path) -> None:
    folder = export_model(spans_store, project="ner", directory=tmp_path / "model")
    assert (folder / "pipeline" / "ner").is_dir()
    client = TestClient(create_model_app(folder))
    texts = ["Watching Star Wars with Taylor in London", "nothing here"]
    served = client.post("/predict", json={"texts": texts}).json()["predictions"]
    _, _, model = current_model(spans_store, get_project(spans_store, slug="ner"))
    assert served == [{"spans": spans} for spans in model.predict(texts)]
    assert client.get("/health").json()["kind"] == "span_tagger.v1"
    assert client.post("/predict", json={"texts": [""]}).status_code == 422


def test_span_consensus_keeps_what_most_annotators_marked(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'c.db'}") as store:
        create_project(store, spec={"slug": "c", "task": "spans", "labels": ["PER", "LOC"]})
        per, loc = {"start": 0, "end": 5, "label": "PER"}, {"start": 9, "end": 14, "label": "LOC"}
        votes = {"a": [per, loc], "b": [per], "c": [loc | {"label": "PER"}]}
        import_rows(
            store,
            project="c",
            rows=[
                {
                    "text": "Alice in Paris",
                    "split": "train",
                    "annotations": [
                        {"source": {"kind": "human", "name": name}, "value": {"spans": spans}}
                        for name, spans in votes.items()
                    ],
                }
            ],
        )
        data = _collect(store, get_project(store, slug="c"), weak=False)
    assert data.labels["train"] == [[(0, 5, "PER")]]


def test_span_projects_refuse_a_text_config(spans_store: Store) -> None:
    with pytest.raises(InvalidInput, match="trains with a SpanConfig"):
        train_project(spans_store, project="ner", config=TrainConfig())


# --- the model in the loop: suggestions, uncertainty order, weak spans ------------------------


def _sms(n: int) -> list[tuple[str, str]]:
    """The first ``n`` distinct messages of the SMS spam collection as ``(label, text)``."""
    from tests.conftest import shared_data

    seen: dict[str, str] = {}
    for line in shared_data("sms_spam", "SMSSpamCollection").read_text("utf-8").splitlines():
        label, text = line.split("\t", 1)
        seen.setdefault(text, label)
        if len(seen) == n:
            break
    return [(label, text) for text, label in seen.items()]


def _sms_project(tmp_path: Path, *, overlap: int = 1) -> Store:
    """200 gold SMS messages to train on, 40 more in the pool, and two annotators."""
    store = Store.open(settings=Settings(database_url=f"sqlite:///{tmp_path / 'sms.db'}"))
    create_project(
        store,
        spec={
            "slug": "sms",
            "task": "classify",
            "labels": ["ham", "spam"],
            "settings": {"queue_strategy": "least_confidence", "overlap": overlap},
        },
    )
    messages = _sms(240)
    rows = [{"text": t, "gold": {"label": lb}, "split": "train"} for lb, t in messages[:200]]
    rows += [{"text": t, "split": "train"} for _, t in messages[200:]]
    import_rows(store, project="sms", rows=rows)
    for name in ("ann", "bob"):
        accounts.create_user(store, username=name, password="long password")
        accounts.set_member(store, project="sms", username=name, role="annotator")
    return store


def _next(store: Store, slug: str, username: str) -> dict:
    from labelkitchen.services.annotate import next_record

    user = accounts.user_named(store, username=username)
    access = accounts.access(store, user=user, project=slug)
    record = next_record(store, access=access, user=user)
    assert record is not None
    return record


def _stored_predictions(store: Store) -> dict[int, tuple]:
    """record id -> (value, probs, score, model version) of every stored prediction."""
    with store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT p.record_id, p.value, p.probs, p.score, m.version "
            "FROM predictions p JOIN models m ON m.id = p.model_id"
        ).all()
    return {
        int(r[0]): (json.loads(r[1]), json.loads(r[2]) if r[2] else {}, r[3], r[4]) for r in rows
    }


def test_the_next_record_carries_the_models_suggestion_first(tmp_path: Path) -> None:
    store = _sms_project(tmp_path)
    train_project(store, project="sms")
    record = _next(store, "sms", "ann")
    stored = _stored_predictions(store)
    value, probs, _, _ = stored[record["id"]]
    top = max(probs, key=probs.get)
    assert value == {"label": top}
    assert record["suggestions"][0] == {
        "source": {"kind": "model", "name": "text_baseline.v1", "version": "1"},
        "value": {"label": top, "probs": probs},
        "confidence": round(probs[top], 4),
    }
    # least confidence first: no pool record has a lower top probability
    assert probs[top] == min(max(p.values()) for _, p, _, _ in stored.values())
    store.close()


def test_a_record_without_a_prediction_has_no_model_suggestion(tmp_path: Path) -> None:
    store = _sms_project(tmp_path)
    record = _next(store, "sms", "ann")  # no model yet
    assert all(s["source"]["kind"] != "model" for s in record["suggestions"])
    store.close()


def test_a_retrained_model_never_suggests_another_annotators_answer(tmp_path: Path) -> None:
    from labelkitchen.services.annotate import Answer, submit_answer

    store = _sms_project(tmp_path, overlap=2)
    train_project(store, project="sms")
    record = _next(store, "sms", "bob")
    model_label = record["suggestions"][0]["value"]["label"]
    other = "ham" if model_label == "spam" else "spam"
    bob = accounts.user_named(store, username="bob")
    submit_answer(
        store,
        access=accounts.access(store, user=bob, project="sms"),
        user=bob,
        record_id=record["id"],
        answer=Answer({"label": other}),
    )
    train_project(store, project="sms")  # bob's answer is now training data
    stored = _stored_predictions(store)
    assert record["id"] not in stored and {v[3] for v in stored.values()} == {2}
    shown = _next(store, "sms", "ann")
    assert shown["suggestions"][0]["source"]["version"] == "2"
    assert all(s["source"]["kind"] != "human" for s in shown["suggestions"])
    store.close()


def test_multilabel_suggestion_lists_the_labels_over_their_thresholds(tmp_path: Path) -> None:
    from tests.conftest import shared_data

    lines = shared_data("trec", "train_5500.label").read_text("latin-1").splitlines()[:300]
    coarse = [(line.split(":", 1)[0], line.split(" ", 1)[1]) for line in lines]
    labels = sorted({c for c, _ in coarse})
    store = Store.open(settings=Settings(database_url=f"sqlite:///{tmp_path / 'm.db'}"))
    create_project(
        store,
        spec={
            "slug": "trec",
            "task": "multilabel",
            "labels": labels,
            "settings": {"queue_strategy": "least_confidence"},
        },
    )
    rows = [
        {"text": t, "gold": {"labels": [c]}, "split": "train" if i % 5 else "dev"}
        for i, (c, t) in enumerate(coarse[:260])
    ]
    rows += [{"text": t, "split": "train"} for _, t in coarse[260:]]
    import_rows(store, project="trec", rows=rows)
    accounts.create_user(store, username="ann", password="long password")
    accounts.set_member(store, project="trec", username="ann", role="annotator")
    train_project(store, project="trec")
    _, _, model = current_model(store, get_project(store, slug="trec"))
    suggestion = _next(store, "trec", "ann")["suggestions"][0]
    probs = suggestion["value"]["probs"]
    chosen = [n for n, t in zip(labels, model.thresholds_, strict=True) if probs[n] >= t]
    assert suggestion["value"]["labels"] == chosen
    decisions = [probs[n] if n in chosen else 1 - probs[n] for n in labels]
    assert suggestion["confidence"] == round(min(decisions), 4)
    store.close()


def test_refreshing_a_spans_queue_orders_it_by_the_taggers_uncertainty(
    spans_store: Store,
) -> None:
    from labelkitchen.services.priorities import refresh_priorities
    from labelkitchen.store.queries.queue import reprioritise

    project = get_project(spans_store, slug="ner")
    with spans_store.write() as conn:
        reprioritise(conn, project_id=project.id, strategy="sequential")  # scramble the order
    assert "span tagger" in refresh_priorities(spans_store, project=project)
    with spans_store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT q.record_id, q.priority, p.score FROM queue_items q JOIN predictions p "
            "ON p.record_id = q.record_id"
        ).all()
    assert len(rows) == 30 and len({score for _, _, score in rows}) > 1
    assert all(priority == -score for _, priority, score in rows)


def test_a_spans_queue_serves_the_least_confident_record_first(spans_store: Store) -> None:
    accounts.create_user(spans_store, username="ana", password="long password")
    accounts.set_member(spans_store, project="ner", username="ana", role="annotator")
    stored = _stored_predictions(spans_store)
    record = _next(spans_store, "ner", "ana")
    value, _, score, _ = stored[record["id"]]
    assert score == max(s for _, _, s, _ in stored.values())
    assert record["suggestions"][0] == {
        "source": {"kind": "model", "name": "span_tagger.v1", "version": "1"},
        "value": value,
        "confidence": round(1 - score / 2, 4),
    }
    _, _, tagger = current_model(spans_store, get_project(spans_store, slug="ner"))
    assert value["spans"] == tagger.predict([record["text"]])[0]


PLACES = ["London", "Paris", "New York", "Chicago", "Toronto", "Florida", "Canada", "Boston"]


@pytest.fixture(scope="module")
def weak_spans_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A spans project with 40 gold WNUT-17 sentences, 340 unlabelled ones and three span LFs
    applied from a rules file: two gazetteers of places that agree, and one that calls
    'Canada' a person (a tie against the places gazetteer there)."""
    from tests.conftest import shared_data
    from tests.learn.test_spans import read_conll

    folder = tmp_path_factory.mktemp("weak-spans")
    url = f"sqlite:///{folder / 'w.db'}"
    store = Store.open(settings=Settings(database_url=url))
    create_project(store, spec={"slug": "wk", "task": "spans", "labels": WNUT_LABELS})
    train = _distinct(read_conll(shared_data("wnut17", "wnut17train.conll")))
    rows = _span_rows(train[:40], "train") + _span_rows(train[40:60], "dev")
    rows += _span_rows(train[60:400], "train", gold=False)
    import_rows(store, project="wk", rows=rows)
    rules = folder / "lfs.yaml"
    rules.write_text(
        json.dumps(
            [
                {"type": "gazetteer", "name": "places", "terms": PLACES, "label": "location"},
                {"type": "gazetteer", "name": "cities", "terms": PLACES[:5], "label": "location"},
                {"type": "gazetteer", "name": "contested", "terms": ["Canada"], "label": "person"},
            ]
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["lf", "apply", "wk", str(rules), "--db", url])
    assert result.exit_code == 0, result.output
    return store


def test_span_lf_votes_are_stored_with_their_offsets(weak_spans_store: Store) -> None:
    with weak_spans_store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT r.text, v.start, v.end, s.name FROM lf_votes v "
            "JOIN records r ON r.id = v.record_id JOIN sources s ON s.id = v.source_id"
        ).all()
    assert {name for *_, name in rows} == {"places", "cities", "contested"}
    lowered = {p.lower() for p in PLACES}
    assert all(text[start:end].lower() in lowered for text, start, end, _ in rows)


def test_span_lf_coverage_counts_records_not_spans(store: Store, tmp_path: Path) -> None:
    from labelkitchen.services.weak import apply_project_lfs, load_lfs

    create_project(store, spec={"slug": "g", "task": "spans", "labels": ["location"]})
    texts = ["Paris and Paris again, then Paris", "Boston", "nothing here", "still nothing"]
    import_rows(store, project="g", rows=[{"text": t} for t in texts])
    rules = tmp_path / "lfs.json"
    rules.write_text(
        json.dumps([{"type": "gazetteer", "name": "places", "terms": PLACES, "label": "location"}]),
        encoding="utf-8",
    )
    report = apply_project_lfs(store, project="g", lfs=load_lfs(rules))
    assert report.votes["places"] == 4 and report.covered == {"places": 2}
    assert report.coverage("places") == 0.5


def test_weak_spans_train_the_tagger_where_no_human_labelled(weak_spans_store: Store) -> None:
    project = get_project(weak_spans_store, slug="wk")
    data = _collect(weak_spans_store, project, weak=True)
    by_text = dict(zip(data.texts["train"], data.labels["train"], strict=True))
    weak = {text: spans for text, spans in by_text.items() if text not in _gold_texts(40)}
    assert len(weak) == data.n_weak > 0
    lowered = {p.lower() for p in PLACES}
    for text, spans in weak.items():
        assert spans and all(
            label == "location" and text[s:e].lower() in lowered for s, e, label in spans
        )
        assert "canada" not in text.lower()  # a tie between two LFs: left out
    assert any("canada" in text.lower() for text in data.pool_texts)
    report = train_project(weak_spans_store, project="wk", weak=True, config=SMALL_TAGGER)
    assert (report.n_weak, report.n_train) == (len(weak), 40 + len(weak))
    assert train_project(weak_spans_store, project="wk", config=SMALL_TAGGER).n_weak == 0


def _gold_texts(n: int) -> set[str]:
    from tests.conftest import shared_data
    from tests.learn.test_spans import read_conll

    return {t for t, _ in _distinct(read_conll(shared_data("wnut17", "wnut17train.conll")))[:n]}
