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
