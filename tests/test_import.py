"""Import: every format, dedup, pre-labels, and every kind of bad input (store unchanged)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.conftest import snapshot, write_lines

from labelkitchen.errors import ImportFailed, InvalidInput, NotFound
from labelkitchen.services.exporting import export_project
from labelkitchen.services.importing import ImportOptions, import_files, import_rows
from labelkitchen.services.projects import create_project
from labelkitchen.services.stats import project_stats
from labelkitchen.settings import Settings
from labelkitchen.store import Store


@pytest.fixture
def spam(store: Store) -> Store:
    create_project(store, spec={"slug": "spam", "task": "classify", "labels": ["spam", "ham"]})
    return store


@pytest.fixture
def ner(store: Store) -> Store:
    create_project(store, spec={"slug": "ner", "task": "spans", "labels": ["PER", "LOC"]})
    return store


def _export(store: Store, slug: str, tmp_path: Path) -> list[dict]:
    out = tmp_path / f"{slug}-export.jsonl"
    export_project(store, project=slug, format="jsonl", out=out)
    return [json.loads(line) for line in out.read_text(encoding="utf-8").split("\n") if line]


def test_jsonl_import_keeps_text_id_meta_and_split(spam: Store, tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "a.jsonl",
        [
            json.dumps({"id": "c1", "text": "Héllo 👋", "author": "ann", "n": 3}),
            json.dumps({"id": 2, "text": "second", "split": "dev"}),
        ],
    )
    report = import_files(spam, project="spam", paths=[path])
    assert (report.read, report.imported, report.duplicates) == (2, 2, 0)
    rows = _export(spam, "spam", tmp_path)
    assert rows[0]["id"] == "c1" and rows[0]["text"] == "Héllo 👋"
    assert rows[0]["meta"] == {"author": "ann", "n": 3}
    assert (rows[1]["id"], rows[1]["split"]) == ("2", "dev")


def test_json_array_import(spam: Store, tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"text": "one"}, {"text": "two", "x": 1.5}]), encoding="utf-8")
    assert import_files(spam, project="spam", paths=[path]).imported == 2


def test_csv_with_bom_and_multiline_quoted_field(spam: Store, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b'\xef\xbb\xbfid,text,who\r\n1,"multi\r\nline, with comma",a\r\n2,plain,b\r\n')
    import_files(spam, project="spam", paths=[path])
    rows = _export(spam, "spam", tmp_path)
    assert [r["id"] for r in rows] == ["1", "2"]
    assert rows[0]["text"] == "multi\r\nline, with comma"
    assert rows[0]["meta"] == {"who": "a"}


def test_tsv_with_text_field_option(spam: Store, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.tsv", ["body\tlang", "hola\tes"])
    import_files(spam, project="spam", paths=[path], options=ImportOptions(text_field="body"))
    assert _export(spam, "spam", tmp_path)[0]["text"] == "hola"


def test_parquet_import(spam: Store, tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"text": ["a b", "c d"], "score": [0.5, 0.25]}), path)
    assert import_files(spam, project="spam", paths=[path]).imported == 2
    assert _export(spam, "spam", tmp_path)[1]["meta"] == {"score": 0.25}


def test_text_import_one_record_per_line_keeps_u0085(spam: Store, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.txt", ["first line", "", "second\u0085still second"])
    report = import_files(spam, project="spam", paths=[path])
    assert report.imported == 2
    assert _export(spam, "spam", tmp_path)[1]["text"] == "second\u0085still second"


def test_latin1_with_encoding_option(spam: Store, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes("caf\xe9\n".encode("latin-1"))
    import_files(spam, project="spam", paths=[path], options=ImportOptions(encoding="latin-1"))
    assert _export(spam, "spam", tmp_path)[0]["text"] == "café"


def test_duplicates_are_skipped_and_reported(spam: Store, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", [json.dumps({"text": t}) for t in "abca"])
    report = import_files(spam, project="spam", paths=[path])
    assert (report.read, report.imported, report.duplicates) == (4, 3, 1)


def test_reimport_adds_nothing(spam: Store, tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "a.jsonl",
        [json.dumps({"id": str(i), "text": f"text {i}", "label": "spam"}) for i in range(50)],
    )
    import_files(spam, project="spam", paths=[path])
    before = snapshot(spam)
    again = import_files(spam, project="spam", paths=[path])
    assert (again.imported, again.duplicates, again.annotations) == (0, 50, 0)
    assert snapshot(spam) == before


def test_prelabels_become_import_annotations(spam: Store, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", [json.dumps({"text": "buy now", "label": "spam"})])
    report = import_files(spam, project="spam", paths=[path])
    assert report.annotations == 1
    stats = project_stats(spam, project="spam")
    assert [(s.kind, s.name, s.count) for s in stats.annotations] == [("import", "import", 1)]
    assert stats.labels["spam"] == {"import": 1}


def test_changed_prelabel_supersedes_and_keeps_history(spam: Store, tmp_path: Path) -> None:
    first = write_lines(tmp_path / "a.jsonl", [json.dumps({"text": "hm", "label": "spam"})])
    second = write_lines(tmp_path / "b.jsonl", [json.dumps({"text": "hm", "label": "ham"})])
    import_files(spam, project="spam", paths=[first])
    import_files(spam, project="spam", paths=[second])
    rows = _export(spam, "spam", tmp_path)
    assert [a["value"] for a in rows[0]["annotations"]] == [{"label": "ham"}]
    assert len(snapshot(spam)["annotations"]) == 2  # the old version is kept, superseded


def test_label_map_and_gold(spam: Store, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.csv", ["text,CLASS", "win money,1", "nice song,0"])
    options = ImportOptions(
        label_field="CLASS", label_map={"1": "spam", "0": "ham"}, labels_as="gold"
    )
    report = import_files(spam, project="spam", paths=[path], options=options)
    assert report.gold == 2
    assert [r["gold"] for r in _export(spam, "spam", tmp_path)] == [
        {"label": "spam"},
        {"label": "ham"},
    ]


def test_multilabel_csv_labels(store: Store, tmp_path: Path) -> None:
    create_project(store, spec={"slug": "m", "task": "multilabel", "labels": "a,b,c"})
    path = write_lines(tmp_path / "a.csv", ["text,labels", 'x,"c,a"', 'y,"[""b""]"'])
    import_files(store, project="m", paths=[path])
    values = [r["annotations"][0]["value"] for r in _export(store, "m", tmp_path)]
    assert values == [{"labels": ["a", "c"]}, {"labels": ["b"]}]


def test_spans_import(ner: Store, tmp_path: Path) -> None:
    text = "Ann lives in Paris"
    path = write_lines(
        tmp_path / "a.jsonl",
        [
            json.dumps(
                {"text": text, "spans": [[13, 18, "LOC"], {"start": 0, "end": 3, "label": "PER"}]}
            )
        ],
    )
    import_files(ner, project="ner", paths=[path])
    spans = _export(ner, "ner", tmp_path)[0]["annotations"][0]["value"]["spans"]
    assert spans == [
        {"start": 0, "end": 3, "label": "PER"},
        {"start": 13, "end": 18, "label": "LOC"},
    ]


def test_rows_api_imports_python_dicts(spam: Store) -> None:
    report = import_rows(spam, project="spam", rows=[{"text": "a"}, {"text": "b"}])
    assert report.imported == 2


# --- bad input: each aborts with file, line and field named, and changes nothing -----------

LONG = "x" * 101
BAD_INPUT = {
    "malformed-json": (['{"text": "ok"}', '{"text": "broken'], "line 2", "malformed JSON"),
    "missing-text": (['{"text": "ok"}', '{"body": "x"}'], "line 2", "missing text field"),
    "empty-text": (['{"text": "ok"}', '{"text": "  "}'], "field 'text'", "empty text"),
    "text-not-string": (['{"text": 5}'], "line 1", "text must be a string"),
    "too-long": (['{"text": "ok"}', json.dumps({"text": LONG})], "line 2", "over the limit"),
    "unknown-label": (
        ['{"text": "ok"}', '{"text": "x", "label": "eggs"}'],
        "field 'label'",
        "unknown label 'eggs'",
    ),
    "not-an-object": (["[1, 2]"], "line 1", "expected a JSON object"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_jsonl_aborts_and_changes_nothing(case: str, store: Store, tmp_path: Path) -> None:
    settings = store.settings.model_copy(update={"max_record_chars": 100})
    store.settings = settings
    create_project(store, spec={"slug": "spam", "task": "classify", "labels": ["spam", "ham"]})
    import_rows(store, project="spam", rows=[{"text": "already here"}])
    lines, where, message = BAD_INPUT[case]
    path = write_lines(tmp_path / "bad.jsonl", lines)
    before = snapshot(store)
    with pytest.raises(ImportFailed) as failure:
        import_files(store, project="spam", paths=[path])
    assert str(path) in str(failure.value)
    assert where in str(failure.value)
    assert message in str(failure.value)
    assert snapshot(store) == before


def test_non_utf8_bytes_name_the_line(spam: Store, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "bad.txt", [b"fine", b"caf\xe9"])
    before = snapshot(spam)
    with pytest.raises(ImportFailed, match=r"line 2: not valid utf-8: byte 0xe9"):
        import_files(spam, project="spam", paths=[path])
    assert snapshot(spam) == before


def test_non_utf8_in_jsonl(spam: Store, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "bad.jsonl", [b'{"text": "caf\xe9"}'])
    with pytest.raises(ImportFailed, match=r"line 1: not valid utf-8"):
        import_files(spam, project="spam", paths=[path])


def test_non_utf8_in_csv(spam: Store, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "bad.csv", [b"text", b"ok", b"caf\xe9"])
    with pytest.raises(ImportFailed, match=r"line 3: not valid utf-8: byte 0xe9"):
        import_files(spam, project="spam", paths=[path])


@pytest.mark.parametrize(
    ("spans", "message"),
    [
        ([[0, 40, "PER"]], "out of bounds"),
        ([[-1, 3, "PER"]], "out of bounds"),
        ([[0, 2, "PER"]], "token boundaries"),
        ([[0, 3, "PER"], [0, 9, "LOC"]], "overlaps"),
        ([[0, 3, "ORG"]], "unknown label 'ORG'"),
        ([[0, "3", "PER"]], "must be integers"),
    ],
    ids=["past-end", "negative", "misaligned", "overlap", "unknown-label", "not-int"],
)
def test_bad_spans_abort(ner: Store, tmp_path: Path, spans: list, message: str) -> None:
    path = write_lines(
        tmp_path / "bad.jsonl",
        [
            json.dumps({"text": "Ann Smith in Paris"}),
            json.dumps({"text": "Ann lives in Paris", "spans": spans}),
        ],
    )
    before = snapshot(ner)
    with pytest.raises(ImportFailed) as failure:
        import_files(ner, project="ner", paths=[path])
    assert "line 2, field 'spans'" in str(failure.value)
    assert message in str(failure.value)
    assert snapshot(ner) == before


def test_overlapping_spans_allowed_when_project_says_so(store: Store, tmp_path: Path) -> None:
    create_project(
        store,
        spec={
            "slug": "o",
            "task": "spans",
            "labels": ["A", "B"],
            "settings": {"allow_overlapping_spans": True},
        },
    )
    rows = [{"text": "New York City", "spans": [[0, 8, "A"], [4, 13, "B"]]}]
    assert import_rows(store, project="o", rows=rows).annotations == 1


def test_duplicate_external_id_with_other_text_aborts(spam: Store, tmp_path: Path) -> None:
    import_rows(spam, project="spam", rows=[{"id": "7", "text": "original"}])
    path = write_lines(
        tmp_path / "bad.jsonl",
        [
            json.dumps({"id": "8", "text": "fine"}),
            json.dumps({"id": "7", "text": "different"}),
        ],
    )
    before = snapshot(spam)
    with pytest.raises(ImportFailed, match=r"line 2, field 'id': duplicate external id '7'"):
        import_files(spam, project="spam", paths=[path])
    assert snapshot(spam) == before


def test_duplicate_external_id_within_one_file(spam: Store, tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "bad.jsonl",
        [
            json.dumps({"id": "x", "text": "one"}),
            json.dumps({"id": "x", "text": "two"}),
        ],
    )
    with pytest.raises(ImportFailed, match="duplicate external id 'x'"):
        import_files(spam, project="spam", paths=[path])
    assert snapshot(spam)["records"] == []


def test_empty_file_aborts(spam: Store, tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    before = snapshot(spam)
    with pytest.raises(ImportFailed, match=re.escape("empty.jsonl: the file holds no records")):
        import_files(spam, project="spam", paths=[path])
    assert snapshot(spam) == before


def test_missing_file_is_named(spam: Store, tmp_path: Path) -> None:
    good = write_lines(tmp_path / "good.jsonl", ['{"text": "a"}'])
    before = snapshot(spam)
    with pytest.raises(NotFound, match=re.escape("nope.jsonl: no such file")):
        import_files(spam, project="spam", paths=[good, tmp_path / "nope.jsonl"])
    assert snapshot(spam) == before


def test_unknown_extension_asks_for_format(spam: Store, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "data.xyz", ["a"])
    with pytest.raises(InvalidInput, match="--format"):
        import_files(spam, project="spam", paths=[path])


def test_error_in_second_file_rolls_back_the_first(spam: Store, tmp_path: Path) -> None:
    good = write_lines(tmp_path / "good.jsonl", [json.dumps({"text": f"t{i}"}) for i in range(30)])
    bad = write_lines(tmp_path / "bad.jsonl", ['{"text": '])
    with pytest.raises(ImportFailed, match=re.escape("bad.jsonl, line 1")):
        import_files(spam, project="spam", paths=[good, bad])
    assert snapshot(spam)["records"] == []


def test_error_after_many_batches_rolls_back(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'b.db'}", import_batch_size=10)
    with Store.open(settings=settings) as store:
        create_project(store, spec={"slug": "s", "task": "classify", "labels": ["a", "b"]})
        lines = [json.dumps({"text": f"t{i}"}) for i in range(95)] + ["{oops"]
        path = write_lines(tmp_path / "big.jsonl", lines)
        with pytest.raises(ImportFailed, match="line 96"):
            import_files(store, project="s", paths=[path])
        assert snapshot(store)["records"] == []


def test_skip_mode_keeps_good_records_and_writes_rejects(spam: Store, tmp_path: Path) -> None:
    import_rows(spam, project="spam", rows=[{"id": "1", "text": "taken"}])
    path = write_lines(
        tmp_path / "mixed.jsonl",
        [
            json.dumps({"text": "good one", "label": "spam"}),
            "{not json",
            json.dumps({"text": ""}),
            json.dumps({"text": "bad label", "label": "eggs"}),
            json.dumps({"id": "1", "text": "clash"}),
            json.dumps({"text": "good two"}),
        ],
    )
    rejects = tmp_path / "rejects.jsonl"
    report = import_files(
        spam,
        project="spam",
        paths=[path],
        options=ImportOptions(on_error="skip", rejects_path=rejects),
    )
    assert (report.imported, report.rejected) == (2, 4)
    entries = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert [(e["line"], e["field"]) for e in entries] == [
        (2, None),
        (3, "text"),
        (4, "label"),
        (5, "id"),
    ]
    assert entries[2]["record"] == {"text": "bad label", "label": "eggs"}
    assert "unknown label 'eggs'" in entries[2]["error"]


def test_unknown_project(store: Store, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", ['{"text": "a"}'])
    with pytest.raises(NotFound, match="no project 'ghost'"):
        import_files(store, project="ghost", paths=[path])


# --- the separate reader process (used for large files) ----------------------------------


@pytest.fixture
def process_store(tmp_path: Path) -> Store:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'p.db'}",
        import_process_min_bytes=0,
        import_batch_size=50,
    )
    store = Store.open(settings=settings)
    create_project(store, spec={"slug": "s", "task": "classify", "labels": ["a", "b"]})
    return store


def test_process_reader_imports_and_labels(process_store: Store, tmp_path: Path) -> None:
    lines = [json.dumps({"id": str(i), "text": f"t{i}", "label": "ab"[i % 2]}) for i in range(300)]
    path = write_lines(tmp_path / "a.jsonl", [*lines, lines[0]])
    report = import_files(process_store, project="s", paths=[path])
    assert (report.read, report.imported, report.duplicates, report.annotations) == (
        301,
        300,
        1,
        300,
    )


def test_process_reader_error_aborts_with_location(process_store: Store, tmp_path: Path) -> None:
    lines = [json.dumps({"text": f"t{i}"}) for i in range(120)] + ['{"text": "x", "label": "z"}']
    path = write_lines(tmp_path / "bad.jsonl", lines)
    before = snapshot(process_store)
    with pytest.raises(ImportFailed, match=r"bad.jsonl, line 121, field 'label'"):
        import_files(process_store, project="s", paths=[path])
    assert snapshot(process_store) == before


def test_process_reader_skip_mode(process_store: Store, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "m.jsonl", ['{"text": "ok"}', "{nope", '{"text": "ok2"}'])
    rejects = tmp_path / "r.jsonl"
    report = import_files(
        process_store,
        project="s",
        paths=[path],
        options=ImportOptions(on_error="skip", rejects_path=rejects),
    )
    assert (report.imported, report.rejected) == (2, 1)
    assert orjson.loads(rejects.read_bytes())["line"] == 2
