"""Training a project's baseline, the served /predict, model export and the standalone server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from labelkitchen.cli.app import app as cli
from labelkitchen.errors import InvalidInput
from labelkitchen.server import create_app
from labelkitchen.server.model_app import create_model_app
from labelkitchen.services import accounts
from labelkitchen.services.importing import import_rows
from labelkitchen.services.projects import create_project
from labelkitchen.services.train import export_model, train_project
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
