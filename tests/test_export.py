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
from labelkitchen.services import accounts, review
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


# --- gold history and agreement with the final labels ------------------------------------------

ANSWERS = {  # record -> answers of ann, bob, cy (None: did not answer)
    "r0": ("spam", "spam", "spam"),
    "r1": ("spam", "spam", "ham"),
    "r2": ("ham", "spam", "ham"),
    "r3": ("ham", "ham", "ham"),
    "r4": ("spam", "ham", None),
    "r5": ("ham", None, None),
}
ANNOTATORS = ("ann", "bob", "cy")


@pytest.fixture
def reviewed(store: Store) -> Store:
    """Gold by import (r2), by a reviewer twice (r1: cy's answer, then edited with a note), and
    by consensus (r0, r3); r4 (a tie) and r5 (one answer) have none."""
    create_project(store, spec={"slug": "p", "task": "classify", "labels": ["spam", "ham"]})
    rows = [
        {
            "id": rid,
            "text": f"record {rid}",
            "annotations": [
                {"source": {"kind": "human", "name": name}, "value": value}
                for name, value in zip(ANNOTATORS, labels, strict=True)
                if value is not None
            ],
            **({"gold": "ham"} if rid == "r2" else {}),
        }
        for rid, labels in ANSWERS.items()
    ]
    import_rows(store, project="p", rows=rows)
    access = review.local_access(store, project="p")
    reviewer = accounts.create_user(store, username="rev", password="long enough pw")
    item = next(i for i in review.review_queue(store, access=access) if i.external_id == "r1")
    picked = next(a for a in item.answers if a["annotator"] == "cy")
    review.set_gold(
        store,
        access=access,
        user=reviewer,
        record_id=item.record_id,
        annotation_id=picked["annotation_id"],
    )
    review.set_gold(
        store,
        access=access,
        user=reviewer,
        record_id=item.record_id,
        value={"label": "spam"},
        note="two of three, and it sells",
    )
    assert review.apply_consensus(store, project="p").written == 2  # r0 and r3
    return store


def _jsonl(path: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in path.read_text("utf-8").split("\n") if line]
    return {row["id"]: row for row in rows}


def test_export_carries_final_label_how_it_was_decided_and_every_version(
    reviewed: Store, tmp_path: Path
) -> None:
    out = tmp_path / "e.jsonl"
    export_project(reviewed, project="p", format="jsonl", out=out)
    rows = _jsonl(out)
    r1 = rows["r1"]
    assert r1["gold"] == {"label": "spam"}
    info = r1["gold_info"]
    assert (info["method"], info["reviewer"], info["versions"]) == ("adjudicated", "rev", 2)
    assert info["note"] == "two of three, and it sells" and info["created_at"]
    versions = r1["gold_versions"]
    assert [(v["value"], v["method"], v["reviewer"], v["note"]) for v in versions] == [
        ({"label": "ham"}, "adjudicated", "rev", None),
        ({"label": "spam"}, "adjudicated", "rev", "two of three, and it sells"),
    ]
    assert versions[0]["created_at"] <= versions[1]["created_at"]
    assert (rows["r0"]["gold_info"]["method"], rows["r0"]["gold_info"]["reviewer"]) == (
        "consensus",
        None,
    )
    assert rows["r2"]["gold_info"]["method"] == "import"
    for rid in ("r4", "r5"):
        assert (rows[rid]["gold"], rows[rid]["gold_info"], rows[rid]["gold_versions"]) == (
            None,
            None,
            [],
        )


def test_each_annotation_says_whether_it_agrees_with_gold(reviewed: Store, tmp_path: Path) -> None:
    out = tmp_path / "e.jsonl"
    export_project(reviewed, project="p", format="jsonl", out=out)
    rows = _jsonl(out)
    agrees = {
        rid: {a["source"]["name"]: a["agrees_with_gold"] for a in row["annotations"]}
        for rid, row in rows.items()
    }
    assert agrees["r1"] == {"ann": True, "bob": True, "cy": False}
    assert agrees["r2"] == {"ann": True, "bob": False, "cy": True}
    assert agrees["r4"] == {"ann": None, "bob": None}  # no gold: nothing to compare


def test_export_writes_each_annotators_agreement_with_the_final_labels(
    reviewed: Store, tmp_path: Path
) -> None:
    out = tmp_path / "e.jsonl"
    report = export_project(reviewed, project="p", format="jsonl", out=out)
    assert report.summary_path == tmp_path / "e.jsonl.annotators.json"
    summary = json.loads(report.summary_path.read_text("utf-8"))
    assert (summary["project"], summary["records"], summary["gold_records"]) == ("p", 6, 4)
    by_name = {a["name"]: a for a in summary["annotators"]}
    # gold: r0 spam, r1 spam, r2 ham, r3 ham; bob missed r2, cy missed r1
    assert {n: (a["answers"], a["compared"], a["agreed"]) for n, a in by_name.items()} == {
        "ann": (6, 4, 4),
        "bob": (5, 4, 3),
        "cy": (4, 4, 3),
    }
    assert by_name["bob"]["rate"] == 0.75 and by_name["ann"]["kind"] == "human"
    assert [s.to_dict() for s in report.agreement] == summary["annotators"]


def test_export_to_standard_output_writes_no_summary_file(
    reviewed: Store, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    report = export_project(reviewed, project="p", format="jsonl")
    assert report.summary_path is None and report.gold_records == 4
    assert len(capsysbinary.readouterr().out.splitlines()) == 6
    assert list(tmp_path.glob("*.annotators.json")) == []


def test_csv_export_has_gold_info_as_json(reviewed: Store, tmp_path: Path) -> None:
    out = tmp_path / "e.csv"
    export_project(reviewed, project="p", format="csv", out=out)
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))}
    assert rows["r1"]["label"] == "spam"
    assert json.loads(rows["r1"]["gold_info"])["reviewer"] == "rev"
    assert len(json.loads(rows["r1"]["gold_versions"])) == 2
    assert rows["r5"]["gold_info"] == "" and json.loads(rows["r5"]["gold_versions"]) == []
    assert (tmp_path / "e.csv.annotators.json").exists()


def test_reviewed_export_reimports_with_its_final_labels_and_no_extra_meta(
    reviewed: Store, tmp_path: Path
) -> None:
    first = tmp_path / "first.jsonl"
    export_project(reviewed, project="p", format="jsonl", out=first)
    create_project(reviewed, spec={"slug": "q", "task": "classify", "labels": ["spam", "ham"]})
    import_files(reviewed, project="q", paths=[first])
    second = tmp_path / "second.jsonl"
    export_project(reviewed, project="q", format="jsonl", out=second)
    before, after = _jsonl(first), _jsonl(second)
    assert {k: r["gold"] for k, r in after.items()} == {k: r["gold"] for k, r in before.items()}
    assert all(r["meta"] == {} for r in after.values())
    assert {r["gold_info"]["method"] for r in after.values() if r["gold_info"]} == {"import"}
    assert [
        {k: v for k, v in a.items() if k != "created_at"} for a in after["r1"]["annotations"]
    ] == [{k: v for k, v in a.items() if k != "created_at"} for a in before["r1"]["annotations"]]
