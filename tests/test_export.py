"""Export: formats, splits, and a lossless JSONL round trip (Hypothesis)."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labelkitchen.schema import tokenize
from labelkitchen.services.exporting import export_project
from labelkitchen.services.importing import import_files, import_rows
from labelkitchen.services.projects import create_project
from labelkitchen.settings import Settings
from labelkitchen.store import Store


@pytest.fixture
def filled(store: Store) -> Store:
    create_project(store, spec={"slug": "s", "task": "classify", "labels": ["spam", "ham"]})
    import_rows(
        store,
        project="s",
        rows=[
            {"id": "a", "text": "win money", "split": "test", "gold": {"label": "spam"}},
            {"id": "b", "text": "nice song", "split": "train", "label": "ham", "who": "x"},
        ],
    )
    return store


def test_csv_export_has_label_column_and_json_fields(filled: Store, tmp_path: Path) -> None:
    out = tmp_path / "e.csv"
    report = export_project(filled, project="s", format="csv", out=out)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert report.records == 2
    assert [(r["id"], r["label"]) for r in rows] == [("a", "spam"), ("b", "")]
    assert json.loads(rows[1]["meta"]) == {"who": "x"}
    assert json.loads(rows[1]["annotations"])[0]["value"] == {"label": "ham"}


def test_parquet_export(filled: Store, tmp_path: Path) -> None:
    out = tmp_path / "e.parquet"
    export_project(filled, project="s", format="parquet", out=out)
    table = pq.read_table(out)
    assert table.column("text").to_pylist() == ["win money", "nice song"]


def test_split_filter(filled: Store, tmp_path: Path) -> None:
    out = tmp_path / "e.jsonl"
    assert export_project(filled, project="s", format="jsonl", out=out, split="test").records == 1


def test_export_pages_through_many_records(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}", export_batch_size=7)
    with Store.open(settings=settings) as store:
        create_project(store, spec={"slug": "s", "task": "classify", "labels": ["a", "b"]})
        import_rows(store, project="s", rows=[{"text": f"t{i}", "label": "a"} for i in range(50)])
        out = tmp_path / "e.jsonl"
        export_project(store, project="s", format="jsonl", out=out)
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").split("\n") if line]
    assert [r["text"] for r in rows] == [f"t{i}" for i in range(50)]
    assert all(len(r["annotations"]) == 1 for r in rows)


# --- the round trip --------------------------------------------------------------------------

TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40).filter(
    lambda s: s.strip() != ""
)
JSON_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.text(max_size=10)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
META = st.dictionaries(st.text(max_size=8), JSON_VALUE, max_size=4)


@st.composite
def records(draw: st.DrawFn) -> dict:
    text = draw(TEXT)
    record: dict = {"text": text, "meta": draw(META)}
    tokens = tokenize(text)
    if tokens and draw(st.booleans()):
        chosen = sorted(draw(st.sets(st.sampled_from(tokens), max_size=3)))
        spans, last_end = [], -1
        for start, end in chosen:
            if start >= last_end:
                spans.append([start, end, draw(st.sampled_from(["A", "B"]))])
                last_end = end
        record["spans"] = spans
    if draw(st.booleans()):
        record["split"] = draw(st.sampled_from(["train", "dev", "test"]))
    return record


_COUNTER = iter(range(10**9))


@pytest.fixture(scope="module")
def roundtrip_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    path = tmp_path_factory.mktemp("roundtrip") / "rt.db"
    return Store.open(f"sqlite:///{path}")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(rows=st.lists(records(), min_size=1, max_size=6, unique_by=lambda r: r["text"]))
def test_jsonl_export_reimports_losslessly(roundtrip_store: Store, rows: list[dict]) -> None:
    store, n = roundtrip_store, next(_COUNTER)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for slug in (f"one{n}", f"two{n}"):
            create_project(store, spec={"slug": slug, "task": "spans", "labels": ["A", "B"]})
        import_rows(store, project=f"one{n}", rows=rows)
        first = folder / "one.jsonl"
        export_project(store, project=f"one{n}", format="jsonl", out=first)
        import_files(store, project=f"two{n}", paths=[first])
        second = folder / "two.jsonl"
        export_project(store, project=f"two{n}", format="jsonl", out=second)
        assert second.read_bytes() == first.read_bytes()
        exported = [json.loads(x) for x in first.read_text("utf-8").split("\n") if x]
    assert [r["text"] for r in exported] == [r["text"] for r in rows]
    for original, out in zip(rows, exported, strict=True):
        assert out["meta"] == original["meta"]
        assert out["split"] == original.get("split")
        spans = [a["value"]["spans"] for a in out["annotations"]]
        expected = (
            [[{"start": s, "end": e, "label": lb} for s, e, lb in original["spans"]]]
            if (original.get("spans"))
            else []
        )
        assert spans == expected
