from __future__ import annotations

import pickle
from types import SimpleNamespace

import pytest

from labelkitchen.errors import InvalidInput
from labelkitchen.weak import LabelIndex, LabelingFunction, Record, labeling_function
from labelkitchen.weak.lf import as_record


@labeling_function(resources={"words": ["subscribe", "channel"]})
def lf_promo(record, words):
    return "spam" if any(w in record.text.lower() for w in words) else None


def _short(record):
    return "ham" if len(record.text) < 10 else None


def test_decorator_names_the_lf_after_the_function():
    assert isinstance(lf_promo, LabelingFunction)
    assert lf_promo.name == "lf_promo"


def test_decorated_lf_receives_its_resources():
    assert lf_promo(Record("Subscribe now")) == "spam"


def test_lf_reads_text_meta_and_id_of_any_object():
    lf = LabelingFunction("by_author", lambda r: r.meta["author"] if r.id == 7 else None)
    record = SimpleNamespace(text="x", meta={"author": "spam"}, id=7)
    assert lf(record) == "spam"


def test_version_is_stable_for_the_same_definition():
    assert LabelingFunction("short", _short).version == LabelingFunction("short", _short).version


def test_version_changes_with_resources():
    a = LabelingFunction("short", _short, resources={"n": 1})
    b = LabelingFunction("short", _short, resources={"n": 2})
    assert a.version != b.version


def test_version_changes_with_source():
    a = LabelingFunction("lf", lambda r: "ham")
    b = LabelingFunction("lf", lambda r: "spam")
    assert a.version != b.version


def test_decorated_lf_pickles_by_reference():
    assert pickle.loads(pickle.dumps(lf_promo)) is lf_promo


def test_plain_lf_pickles_by_value():
    restored = pickle.loads(pickle.dumps(LabelingFunction("short", _short)))
    assert restored.name == "short" and restored(Record("tiny")) == "ham"


@pytest.mark.parametrize(
    ("item", "text", "record_id"),
    [
        ("plain text", "plain text", 3),
        ({"text": "from a dict", "id": "a"}, "from a dict", "a"),
        (Record("a record", {}, 9), "a record", 9),
    ],
)
def test_records_come_in_several_shapes(item, text, record_id):
    record = as_record(item, 3)
    assert (record.text, record.id) == (text, record_id)


def test_a_record_without_text_is_refused():
    with pytest.raises(InvalidInput, match="text"):
        as_record(42, 0)


def test_an_lf_needs_a_name():
    with pytest.raises(InvalidInput, match="name"):
        LabelingFunction("", _short)


def test_label_index_maps_names_and_ints():
    index = LabelIndex(("ham", "spam"))
    assert [index.to_index(v) for v in ("spam", 0, None, -1)] == [1, 0, -1, -1]


def test_label_index_error_lists_the_labels():
    with pytest.raises(InvalidInput, match=r"available: \['ham', 'spam'\]"):
        LabelIndex(("ham", "spam")).to_index("eggs")


def test_label_index_rejects_out_of_range_ints():
    with pytest.raises(InvalidInput, match=r"0\.\.1"):
        LabelIndex(("ham", "spam")).to_index(2)
