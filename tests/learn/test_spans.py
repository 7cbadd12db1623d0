"""The span tagger (spaCy from scratch), entity-level evaluation and span consensus."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import shared_data

from labelkitchen.errors import InvalidInput, NotFitted
from labelkitchen.learn import (
    SpanConfig,
    SpanTagger,
    evaluate_spans,
    load_model,
    majority_spans,
    model_kind,
)

WNUT_LABELS = ["person", "location", "corporation", "product", "creative-work", "group"]
Spans = list[tuple[int, int, str]]


def read_conll(path: Path) -> list[tuple[str, Spans]]:
    """WNUT-17 CoNLL as ``(text, spans)``: tokens joined by one space, BIO tags to char spans.
    Whitespace-only lines (the train file has lines holding only a TAB) end a sentence."""
    sentences: list[list[tuple[str, str]]] = [[]]
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            if sentences[-1]:
                sentences.append([])
            continue
        token, tag = line.split("\t")
        sentences[-1].append((token, tag))
    out = []
    for sentence in (s for s in sentences if s):
        text, spans, current = "", [], None
        for token, tag in sentence:
            start = len(text) + (1 if text else 0)
            text = f"{text} {token}" if text else token
            end = len(text)
            label = tag[2:]
            if tag.startswith("I-") and current is not None and current[2] == label:
                current = (current[0], end, label)
                continue
            if current is not None:
                spans.append(current)
            current = (start, end, label) if tag[:2] in ("B-", "I-") else None
        if current is not None:
            spans.append(current)
        out.append((text, spans))
    return out


TRAIN_FILE = shared_data("wnut17", "wnut17train.conll")
DEV_FILE = shared_data("wnut17", "emerging.dev.conll")
SMALL = SpanConfig(n_iter=3, width=64, depth=2, embed_size=1000, beam_width=8)

NAMES = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank"]
CITIES = ["Paris", "Berlin", "Madrid", "Rome", "Oslo", "Vienna"]
PATTERNS = [
    "{n} flew to {c} on Monday .",
    "Yesterday {n} visited {c} .",
    "In {c} , {n} met friends .",
    "{n} lives in {c} now .",
]


def _toy() -> tuple[list[str], list[Spans]]:
    texts, spans = [], []
    for i, pattern in enumerate(PATTERNS):
        for j, name in enumerate(NAMES):
            city = CITIES[(i + j) % len(CITIES)]
            text = pattern.format(n=name, c=city)
            n, c = text.index(name), text.index(city)
            texts.append(text)
            spans.append(sorted([(n, n + len(name), "person"), (c, c + len(city), "place")]))
    return texts, spans


@pytest.fixture(scope="module")
def wnut() -> tuple[list[tuple[str, Spans]], list[tuple[str, Spans]]]:
    return read_conll(TRAIN_FILE)[:160], read_conll(DEV_FILE)[:60]


@pytest.fixture(scope="module")
def tagger(wnut: tuple[list[tuple[str, Spans]], list[tuple[str, Spans]]]) -> SpanTagger:
    train, dev = wnut
    return SpanTagger(SMALL).fit(
        [t for t, _ in train],
        [s for _, s in train],
        label_names=WNUT_LABELS,
        dev_texts=[t for t, _ in dev],
        dev_spans=[s for _, s in dev],
    )


def test_conll_reader_treats_a_lone_tab_as_a_sentence_break() -> None:
    sentences = read_conll(TRAIN_FILE)
    assert len(sentences) == 3394  # SOURCE.md: 3,394 sentences, 1,975 entities
    assert sum(len(spans) for _, spans in sentences) == 1975
    text, spans = sentences[0]
    assert [text[s:e] for s, e, _ in spans] == ["Empire State Building", "ESB"]


def test_predicted_spans_lie_in_the_text_with_a_score(
    tagger: SpanTagger, wnut: tuple[list[tuple[str, Spans]], list[tuple[str, Spans]]]
) -> None:
    texts = [t for t, _ in wnut[1]]
    predicted = tagger.predict(texts)
    assert len(predicted) == len(texts)
    for text, spans in zip(texts, predicted, strict=True):
        assert spans == sorted(spans, key=lambda s: (s["start"], s["end"], s["label"]))
        for span in spans:
            assert set(span) == {"start", "end", "label", "score"}
            assert 0 <= span["start"] < span["end"] <= len(text)
            assert text[span["start"] : span["end"]].strip() == text[span["start"] : span["end"]]
            assert span["label"] in WNUT_LABELS and 0.0 <= span["score"] <= 1.0


def test_training_history_keeps_the_best_dev_epoch(tagger: SpanTagger) -> None:
    assert [p["epoch"] for p in tagger.history_] == [1.0, 2.0, 3.0]
    best = max(tagger.history_, key=lambda p: p["dev_f1"])
    assert tagger.best_epoch_ == best["epoch"]


@pytest.mark.slow
def test_saved_tagger_predicts_identically_in_another_process(
    tagger: SpanTagger,
    wnut: tuple[list[tuple[str, Spans]], list[tuple[str, Spans]]],
    tmp_path: Path,
) -> None:
    folder = tagger.save(tmp_path / "m")
    assert json.loads((folder / "model.json").read_text())["kind"] == "span_tagger.v1"
    assert (folder / "pipeline" / "ner").is_dir() and not list(folder.rglob("*.pkl"))
    texts = [t for t, _ in wnut[0][:40]] + ["Meet me at Google in Paris", "x"]
    here = tagger.tag(texts)
    code = (
        "import json\nfrom labelkitchen.learn import SpanTagger\n"
        f"m = SpanTagger.load({str(folder)!r})\n"
        f"t = m.tag({texts!r})\n"
        "print(json.dumps([[x.spans, x.uncertainty] for x in t]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == [[x.spans, x.uncertainty] for x in here]
    assert model_kind(folder) == "span_tagger.v1"
    assert isinstance(load_model(folder), SpanTagger)


@pytest.mark.parametrize("component", ["ner", "spancat"])
def test_learns_names_and_places_in_new_sentences(component: str) -> None:
    texts, spans = _toy()
    config = SpanConfig(component=component, n_iter=10, width=64, depth=2, embed_size=1000)
    model = SpanTagger(config).fit(texts, spans, label_names=["person", "place"])
    predicted = model.predict(["Yesterday Carol visited Oslo .", "Frank lives in Rome now ."])
    found = [[(s["start"], s["end"], s["label"]) for s in row] for row in predicted]
    assert (10, 15, "person") in found[0] and (24, 28, "place") in found[0]
    assert (0, 5, "person") in found[1] and (15, 19, "place") in found[1]
    tagged = model.tag(["Frank lives in Rome now .", " "])
    assert 0.0 <= tagged[0].uncertainty <= 1.0 and tagged[1] == type(tagged[1])([], 0.0)


def test_spans_off_spacy_tokens_are_expanded_or_counted() -> None:
    texts = ["Hello Johnson and Mary!", "Visit New York City today", "two  spaces"]
    spans = [
        [(6, 10, "person"), (18, 22, "person")],  # "John" cuts into "Johnson": expanded
        [(6, 14, "place"), (6, 19, "place")],  # overlapping: ner keeps the first, longest
        [(3, 5, "place"), (0, 5, "place")],  # only whitespace: dropped; "two  ": trimmed
    ]
    ner = SpanTagger(SpanConfig(n_iter=1, width=32, depth=1)).fit(
        texts, spans, label_names=["person", "place"]
    )
    assert ner.alignment_.n_spans == 6
    assert ner.alignment_.n_expanded == 2
    assert ner.alignment_.n_unplaceable == 1
    assert ner.alignment_.n_overlapping == 1
    spancat = SpanTagger(SpanConfig(component="spancat", n_iter=1, width=32, depth=1)).fit(
        texts, spans, label_names=["person", "place"]
    )
    assert spancat.alignment_.n_overlapping == 0 and spancat.alignment_.n_dropped == 1
    assert spancat.nlp_.get_pipe("spancat").labels == ("person", "place")  # trimming kept labels


def test_unknown_label_is_explained() -> None:
    with pytest.raises(InvalidInput, match=r"unknown label 'thing'.*person"):
        SpanTagger(SMALL).fit(["a b"], [[(0, 1, "thing")]], label_names=["person"])


def test_span_outside_its_text_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"\[0, 9\) is not inside"):
        SpanTagger(SMALL).fit(["a b"], [[(0, 9, "person")]], label_names=["person"])


def test_unknown_component_lists_the_known() -> None:
    with pytest.raises(InvalidInput, match="available"):
        SpanConfig(component="crf")


def test_unfitted_tagger_says_so() -> None:
    with pytest.raises(NotFitted):
        SpanTagger().predict(["x"])


def test_loading_another_kind_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text(json.dumps({"kind": "text_baseline.v1"}))
    with pytest.raises(InvalidInput, match=r"expected a span_tagger\.v1 model"):
        SpanTagger.load(tmp_path)


def test_entity_level_scores_by_hand() -> None:
    truth = [[(0, 5, "PER"), (10, 15, "LOC")], [(0, 3, "ORG")], []]
    predicted = [
        [{"start": 0, "end": 5, "label": "PER", "score": 0.9}, (10, 14, "LOC")],  # 1 of 2
        [(0, 3, "LOC")],  # right place, wrong label: a false positive and a miss
        [(4, 6, "PER")],  # a false positive
    ]
    result = evaluate_spans(truth, predicted, labels=["PER", "LOC", "ORG"])
    assert result.n == 3 and result.n_true == 3 and result.n_predicted == 4
    assert result.per_label["PER"] == {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1}
    assert result.per_label["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert result.per_label["ORG"]["support"] == 1 and result.per_label["ORG"]["f1"] == 0.0
    assert result.micro_precision == 1 / 4 and result.micro_recall == 1 / 3
    assert result.micro_f1 == pytest.approx(2 / 7)  # 2 tp / (4 predicted + 3 true)
    assert result.macro_f1 == pytest.approx((2 / 3) / 3)
    assert result.accuracy is None and result.confusion is None
    assert result.metric("f1", "PER") == pytest.approx(2 / 3)


def test_perfect_spans_score_one() -> None:
    truth = [[(0, 5, "PER")], [(2, 4, "LOC"), (6, 9, "PER")]]
    result = evaluate_spans(truth, truth, labels=["PER", "LOC"])
    assert result.micro_f1 == result.macro_f1 == 1.0


def test_majority_spans_need_more_than_half_the_annotators() -> None:
    a = [{"start": 0, "end": 5, "label": "PER"}, {"start": 9, "end": 12, "label": "LOC"}]
    b = [(0, 5, "PER")]
    c = [(0, 5, "ORG"), (9, 12, "LOC")]
    assert majority_spans([a, b, c]) == [(0, 5, "PER"), (9, 12, "LOC")]
    assert majority_spans([a, c]) == [(9, 12, "LOC")]
    assert majority_spans([b]) == [(0, 5, "PER")]
    assert majority_spans([[], [], b]) == []
