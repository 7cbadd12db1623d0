from __future__ import annotations

import multiprocessing

import numpy as np
import pytest

from labelkitchen.errors import InvalidInput
from labelkitchen.weak import (
    DaskApplier,
    LabelingFunction,
    LFCache,
    Record,
    apply_lfs,
    apply_multilabel_lfs,
    apply_span_lfs,
    keyword_lf,
    labeling_function,
    regex_lf,
    regex_span_lf,
    threshold_lf,
)

LABELS = ["ham", "spam"]
TEXTS = [
    "Subscribe to my channel",
    "Great song, love it",
    "check out my video http://x.io",
    "nice",
    "I love this song so much, subscribe",
    "",
]


@labeling_function()
def lf_link(record):
    return "spam" if "http" in record.text else None


@labeling_function()
def lf_fragile(record):
    if "song" in record.text:
        raise ValueError("cannot parse songs")
    return None


@labeling_function()
def lf_in_worker(record):
    return 1 if multiprocessing.parent_process() is not None else 0


@labeling_function(kind="multilabel")
def lf_topics(record):
    return {"music": "song" in record.text, "promo": "subscribe" in record.text.lower() or None}


@labeling_function(kind="spans")
def lf_urls(record):
    start = record.text.find("http")
    return [] if start < 0 else [(start, len(record.text), "URL")]


def lfs():
    return [
        keyword_lf("kw_sub", ["subscribe", "my channel"], "spam"),
        keyword_lf("kw_song", ["song"], "ham"),
        regex_lf("rx_check", r"check\s+out", "spam", flags=["IGNORECASE"]),
        threshold_lf("short", "@length", below=6, label="ham"),
        lf_link,
    ]


EXPECTED = [
    [1, -1, -1, -1, -1],
    [-1, 0, -1, -1, -1],
    [-1, -1, 1, -1, 1],
    [-1, -1, -1, 0, -1],
    [1, 0, -1, -1, -1],
    [-1, -1, -1, 0, -1],
]


def test_apply_builds_the_expected_matrix():
    result = apply_lfs(lfs(), TEXTS, labels=LABELS)
    assert result.L.to_dense().tolist() == EXPECTED


def test_result_names_lfs_in_column_order():
    assert apply_lfs(lfs(), TEXTS, labels=LABELS).lf_names == (
        "kw_sub",
        "kw_song",
        "rx_check",
        "short",
        "lf_link",
    )


def test_chunking_does_not_change_the_matrix():
    assert apply_lfs(lfs(), TEXTS, labels=LABELS, chunk_size=2).L.to_dense().tolist() == EXPECTED


def test_failing_lf_is_counted_not_fatal():
    result = apply_lfs([*lfs(), lf_fragile], TEXTS, labels=LABELS)
    assert result.fault_counts()["lf_fragile"] == 2
    assert "cannot parse songs" in result.faults[0].first_traceback
    assert result.L.to_dense()[:, :5].tolist() == EXPECTED


def test_failing_lf_raises_when_asked():
    with pytest.raises(ValueError, match="cannot parse songs") as caught:
        apply_lfs([lf_fragile], TEXTS, labels=LABELS, raise_on_error=True)
    assert any("lf_fragile" in note for note in caught.value.__notes__)


def test_unknown_label_is_a_fault_of_that_lf():
    result = apply_lfs([keyword_lf("kw", ["song"], "eggs")], TEXTS, labels=LABELS)
    assert result.fault_counts()["kw"] == len(TEXTS)
    assert "eggs" in result.faults[0].first_traceback


def test_names_without_label_list_are_faults_with_advice():
    result = apply_lfs([lf_link], TEXTS)
    assert "labels=" in result.faults[0].first_traceback


def test_integer_votes_need_no_label_list():
    lf = LabelingFunction("len", lambda r: 1 if len(r.text) > 10 else None)
    assert apply_lfs([lf], ["short", "a much longer text"]).L.to_dense().tolist() == [[-1], [1]]


def test_duplicate_lf_names_are_refused():
    with pytest.raises(InvalidInput, match="repeated"):
        apply_lfs([lf_link, lf_link], TEXTS, labels=LABELS)


def test_span_lfs_are_refused_by_apply_lfs():
    with pytest.raises(InvalidInput, match="kind"):
        apply_lfs([lf_urls], TEXTS, labels=LABELS)


def test_cache_recomputes_only_the_edited_lf():
    cache = LFCache()
    first = apply_lfs(lfs(), TEXTS, labels=LABELS, cache=cache)
    edited = [*lfs()[:1], keyword_lf("kw_song", ["song", "nice"], "ham"), *lfs()[2:]]
    second = apply_lfs(edited, TEXTS, labels=LABELS, cache=cache)
    assert first.computed == first.lf_names
    assert second.computed == ("kw_song",)
    assert second.L.to_dense()[3, 1] == 0


def test_cached_result_equals_a_fresh_one():
    cache = LFCache()
    apply_lfs([*lfs(), lf_fragile], TEXTS, labels=LABELS, cache=cache)
    again = apply_lfs([*lfs(), lf_fragile], TEXTS, labels=LABELS, cache=cache)
    fresh = apply_lfs([*lfs(), lf_fragile], TEXTS, labels=LABELS)
    assert again.computed == ()
    assert again.L == fresh.L
    assert again.fault_counts() == fresh.fault_counts()


def test_cache_computes_only_new_records():
    cache = LFCache()
    apply_lfs(lfs(), TEXTS[:3], labels=LABELS, cache=cache)
    result = apply_lfs(lfs(), TEXTS, labels=LABELS, cache=cache)
    assert result.L.to_dense().tolist() == EXPECTED


def test_process_pool_gives_the_serial_result():
    records = [Record(t, {}, i) for i, t in enumerate(TEXTS * 50)]
    serial = apply_lfs(lfs(), records, labels=LABELS)
    pooled = apply_lfs(lfs(), records, labels=LABELS, n_jobs=2, chunk_size=60)
    assert pooled.L == serial.L


def test_process_pool_runs_lfs_in_worker_processes():
    result = apply_lfs([lf_in_worker], TEXTS * 10, n_jobs=2, chunk_size=20)
    assert set(result.L.to_dense()[:, 0].tolist()) == {1}


def test_dask_local_cluster_gives_the_serial_result():
    distributed = pytest.importorskip("distributed")
    records = [Record(t, {}, i) for i, t in enumerate(TEXTS * 20)]
    serial = apply_lfs([*lfs(), lf_fragile], records, labels=LABELS)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = apply_lfs(
            [*lfs(), lf_fragile], records, labels=LABELS, applier=DaskApplier(client), chunk_size=25
        )
    assert on_dask.L == serial.L
    assert on_dask.fault_counts() == serial.fault_counts()


def test_n_jobs_and_applier_are_exclusive():
    from labelkitchen.weak import SerialApplier

    with pytest.raises(InvalidInput, match="either"):
        apply_lfs(lfs(), TEXTS, labels=LABELS, n_jobs=2, applier=SerialApplier())


def test_multilabel_lfs_vote_per_label():
    result = apply_multilabel_lfs([lf_topics], TEXTS, labels=["music", "promo"])
    assert result.L_by_label["music"].to_dense()[:, 0].tolist() == [0, 1, 0, 0, 1, 0]
    assert result.L_by_label["promo"].to_dense()[:, 0].tolist() == [1, -1, -1, -1, 1, -1]


def test_classify_lf_in_a_multilabel_run_votes_present():
    result = apply_multilabel_lfs(
        [keyword_lf("kw", ["song"], "music")], TEXTS, labels=["music", "promo"]
    )
    assert result.L_by_label["music"].to_dense()[:, 0].tolist() == [-1, 1, -1, -1, 1, -1]


def test_span_lfs_give_offsets_per_record():
    result = apply_span_lfs(
        [lf_urls, regex_span_lf("caps", r"\b[A-Z]\w*", "CAP")], TEXTS, labels=["URL", "CAP"]
    )
    assert result.votes.for_record(2) == [(0, 19, 30, 0)]
    assert result.votes.for_record(0) == [(1, 0, 9, 1)]


def test_keyword_lf_makes_one_pass_however_many_keywords():
    lf = keyword_lf("kw", [f"word{i}" for i in range(500)], "spam")
    texts = ["has word499 here", "nothing", "word7"] * 100
    votes = apply_lfs([lf], texts, labels=LABELS).L.to_dense()[:, 0]
    assert np.array_equal(votes, np.tile([1, -1, 1], 100))


def test_one_binary_model_per_label():
    from labelkitchen.weak import fit_per_label, predict_proba_per_label

    topics = [
        keyword_lf("kw_music", ["song"], "music"),
        keyword_lf("kw_love", ["love"], "music"),
        keyword_lf("kw_promo", ["subscribe"], "promo"),
    ]
    result = apply_multilabel_lfs([lf_topics, *topics], TEXTS, labels=["music", "promo"])
    models = fit_per_label(result.L_by_label, model="majority_vote.v1")
    probs = predict_proba_per_label(models, result.L_by_label)
    assert probs.shape == (len(TEXTS), 2)
    assert probs[1, 0] == 1.0  # "Great song, love it": every music vote says present
    assert probs[0, 1] == 1.0  # "Subscribe to my channel": promo present


@labeling_function(kind="spans")
def lf_overlong(record):
    return [(0, len(record.text) + 5, "URL")]


def test_span_past_the_text_end_is_a_fault():
    result = apply_span_lfs([lf_urls, lf_overlong], TEXTS, labels=["URL"])
    assert result.faults[0].lf == "lf_overlong"
    assert result.faults[0].count == len(TEXTS)
    assert "past the text" in result.faults[0].first_traceback


def test_cache_hashes_the_same_records_once():
    cache = LFCache()
    records = [Record(t, {}, i) for i, t in enumerate(TEXTS)]
    first = cache.content_hashes(records)
    assert cache.content_hashes(list(records)) is first  # the very same objects: reused
    copies = [Record(r.text, {"edited": True}, r.id) for r in records]
    assert not np.array_equal(cache.content_hashes(copies), first)  # new objects: hashed
