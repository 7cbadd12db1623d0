"""The span tagger: a token-level model for ``spans`` projects, trained from scratch with spaCy.

A blank spaCy pipeline (its rule-based tokenizer for ``lang``, no downloaded weights) with one
trainable component:

* ``ner`` (default; for projects whose spans never overlap): spaCy's transition-based entity
  recognizer over a hash-embedding CNN. It is trained greedily; predictions are decoded with a
  beam (``beam_width`` parses), and a span's **score** is its marginal probability under that
  beam: the summed probability of the beam's final parses that contain exactly this span with
  this label. Near 1 means every likely parse agrees; near 0.5 means the model hesitates.
* ``spancat`` (for projects that allow overlapping spans): spaCy's span categorizer over every
  n-gram of ``ngram_sizes`` tokens, each label an independent logistic output. A span is
  predicted when its probability reaches ``threshold``, and its **score** is that probability.

Offsets in and out are Python ``str`` code points, end exclusive. Spans from the store follow the
project tokenizer, which need not agree with spaCy's; training spans are placed with
``Doc.char_span(alignment_mode="expand")`` (a span cutting into a token grows to the whole
token). The fit reports how many spans were expanded, and how many could not be placed at all
(covering only whitespace) or, for ``ner``, overlapped an earlier span and were dropped.

Saved with spaCy's own ``to_disk`` format plus ``model.json``; loading rebuilds the pipeline from
``model.json``'s settings and reads only weights, vocabulary and tokenizer rules from disk.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput, NotFitted

FloatArray = npt.NDArray[np.float64]
KIND = "span_tagger.v1"
FORMAT_VERSION = 1
COMPONENTS = ("ner", "spancat")
_PREDICT_BATCH = 256


@dataclass(frozen=True)
class SpanConfig:
    """Hyperparameters of the span tagger (stored with every trained model)."""

    component: str = "ner"
    lang: str = "xx"
    width: int = 96
    depth: int = 4
    embed_size: int = 2000
    hidden_width: int = 64
    n_iter: int = 30
    patience: int = 5
    batch_start: int = 4
    batch_size: int = 32
    batch_compound: float = 1.01
    dropout: float = 0.2
    learn_rate: float = 0.001
    beam_width: int = 16
    ngram_sizes: tuple[int, ...] = (1, 2, 3, 4)
    threshold: float = 0.5
    random_state: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.component not in COMPONENTS:
            raise InvalidInput(
                f"span tagger component {self.component!r} is unknown; available: "
                f"{list(COMPONENTS)}"
            )
        if min(self.n_iter, self.batch_start, self.batch_size, self.beam_width) < 1:
            raise InvalidInput("n_iter, batch_start, batch_size and beam_width must be >= 1")
        if not self.ngram_sizes or min(self.ngram_sizes) < 1:
            raise InvalidInput(f"ngram_sizes must be positive, got {list(self.ngram_sizes)}")


@dataclass(frozen=True)
class Alignment:
    """How the training spans fitted spaCy's tokens."""

    n_spans: int = 0
    n_expanded: int = 0  # placed, but grown to whole tokens
    n_unplaceable: int = 0  # no token under the span: dropped
    n_overlapping: int = 0  # ``ner`` only: overlapped an earlier span, dropped

    @property
    def n_dropped(self) -> int:
        return self.n_unplaceable + self.n_overlapping


@dataclass(frozen=True)
class TaggedText:
    """One text's predicted spans and how unsure the model is about the text as a whole.

    ``uncertainty`` is in ``[0, 1]``: ``1 - |2p - 1|`` for the most hesitant candidate ``p``
    (beam marginals for ``ner``, candidate probabilities for ``spancat``); 0 for an empty text.
    """

    spans: list[dict[str, Any]]
    uncertainty: float


def span_tuples(spans: Iterable[Any]) -> list[tuple[int, int, str]]:
    """``(start, end, label)`` from span dicts (``{"start", "end", "label"}``) or triples."""
    out = []
    for span in spans:
        if isinstance(span, Mapping):
            out.append((int(span["start"]), int(span["end"]), str(span["label"])))
        else:
            start, end, label = span
            out.append((int(start), int(end), str(label)))
    return out


def majority_spans(annotations: Sequence[Iterable[Any]]) -> list[tuple[int, int, str]]:
    """The consensus of several annotators' span lists: every ``(start, end, label)`` marked by
    more than half of them (one annotator: their spans; two: the spans both marked)."""
    counts: dict[tuple[int, int, str], int] = {}
    for spans in annotations:
        for span in set(span_tuples(spans)):
            counts[span] = counts.get(span, 0) + 1
    return sorted(span for span, n in counts.items() if 2 * n > len(annotations))


class SpanTagger:
    """Span tagger over raw texts; labels are names, as in the project."""

    def __init__(self, config: SpanConfig | None = None) -> None:
        self.config = config or SpanConfig()
        self._lock = threading.Lock()

    # -- building --------------------------------------------------------------------------------

    def _tok2vec(self) -> dict[str, Any]:
        c = self.config
        return {
            "@architectures": "spacy.HashEmbedCNN.v2",
            "pretrained_vectors": None,
            "width": c.width,
            "depth": c.depth,
            "embed_size": c.embed_size,
            "window_size": 1,
            "maxout_pieces": 3,
            "subword_features": True,
        }

    def _build(self, labels: Sequence[str]) -> Any:
        import spacy

        c = self.config
        try:
            nlp = spacy.blank(c.lang)
        except ImportError as exc:
            raise InvalidInput(f"spaCy has no language {c.lang!r}: {exc}") from exc
        nlp.max_length = 10**8
        component: Any
        if c.component == "ner":
            component = nlp.add_pipe(
                "ner",
                config={
                    "model": {
                        "@architectures": "spacy.TransitionBasedParser.v2",
                        "state_type": "ner",
                        "extra_state_tokens": False,
                        "hidden_width": c.hidden_width,
                        "maxout_pieces": 2,
                        "use_upper": True,
                        "tok2vec": self._tok2vec(),
                    }
                },
            )
        else:
            component = nlp.add_pipe(
                "spancat",
                config={
                    "spans_key": "sc",
                    "threshold": c.threshold,
                    "max_positive": None,
                    "suggester": {
                        "@misc": "spacy.ngram_suggester.v1",
                        "sizes": sorted(set(c.ngram_sizes)),
                    },
                    "model": {
                        "@architectures": "spacy.SpanCategorizer.v1",
                        "scorer": {"@layers": "spacy.LinearLogistic.v1"},
                        "reducer": {"@layers": "spacy.mean_max_reducer.v1", "hidden_size": 128},
                        "tok2vec": self._tok2vec(),
                    },
                },
            )
        for label in labels:
            component.add_label(label)
        return nlp

    # -- fitting ---------------------------------------------------------------------------------

    def fit(
        self,
        texts: Sequence[str],
        spans: Sequence[Iterable[Any]],
        *,
        label_names: Sequence[str],
        dev_texts: Sequence[str] | None = None,
        dev_spans: Sequence[Iterable[Any]] | None = None,
    ) -> SpanTagger:
        """Fit on ``texts``; ``spans[i]`` lists the spans of ``texts[i]`` (dicts or
        ``(start, end, label)`` triples; an empty list says the text has none).

        Batches grow from ``batch_start`` to ``batch_size`` examples (times ``batch_compound``
        per batch), so small projects still get many updates per epoch. With dev data, training
        stops once dev micro F1 has not improved for ``patience`` epochs, and the best epoch's
        weights are kept; without, it runs ``n_iter`` epochs.
        """
        from thinc.api import Adam, fix_random_seed

        if len(texts) != len(spans):
            raise InvalidInput(f"{len(texts)} texts but {len(spans)} span lists")
        if not texts:
            raise InvalidInput("no training data: label some records first")
        if (dev_texts is None) != (dev_spans is None) or (
            dev_texts is not None and dev_spans is not None and len(dev_texts) != len(dev_spans)
        ):
            raise InvalidInput("dev_texts and dev_spans come together, one span list per text")
        names = list(dict.fromkeys(label_names))
        if not names:
            raise InvalidInput("a span tagger needs at least one label")
        train = [span_tuples(s) for s in spans]
        known = set(names)
        for index, items in enumerate(train):
            for start, end, label in items:
                if label not in known:
                    raise InvalidInput(
                        f"spans[{index}]: unknown label {label!r}; labels are {names}"
                    )
                if not 0 <= start < end <= len(texts[index]):
                    raise InvalidInput(
                        f"spans[{index}]: [{start}, {end}) is not inside a text of "
                        f"{len(texts[index])} characters"
                    )
        c = self.config
        fix_random_seed(c.random_state)
        rng = random.Random(c.random_state)
        self.label_names_ = names
        self.nlp_ = self._build(names)
        examples, alignment = self._examples(texts, train)
        self.alignment_ = alignment
        optimizer = Adam(learn_rate=c.learn_rate)
        self.nlp_.initialize(lambda: examples, sgd=optimizer)
        component = self.nlp_.get_pipe(c.component)
        dev = (
            (list(dev_texts), [span_tuples(s) for s in dev_spans])
            if dev_texts and dev_spans is not None
            else None
        )
        best_f1, best_weights, stale = -1.0, None, 0
        size = float(min(c.batch_start, c.batch_size))
        self.history_: list[dict[str, float]] = []
        for epoch in range(c.n_iter):
            rng.shuffle(examples)
            losses: dict[str, float] = {}
            begin = 0
            while begin < len(examples):
                batch = examples[begin : begin + int(size)]
                begin += len(batch)
                self.nlp_.update(batch, drop=c.dropout, sgd=optimizer, losses=losses)
                size = min(float(c.batch_size), size * c.batch_compound)
            point = {"epoch": float(epoch + 1), "loss": float(losses.get(c.component, 0.0))}
            if dev is not None:
                f1 = _micro_f1(dev[1], self.predict(dev[0]))
                point["dev_f1"] = f1
                if f1 > best_f1:
                    best_f1, best_weights, stale = f1, component.to_bytes(), 0
                else:
                    stale += 1
            self.history_.append(point)
            if dev is not None and stale >= c.patience:
                break
        if best_weights is not None:
            component.from_bytes(best_weights)
        self.best_epoch_ = (
            int(max(self.history_, key=lambda p: p.get("dev_f1", -1.0))["epoch"])
            if dev is not None
            else len(self.history_)
        )
        return self

    def _examples(
        self, texts: Sequence[str], spans: Sequence[list[tuple[int, int, str]]]
    ) -> tuple[list[Any], Alignment]:
        from spacy.tokens import SpanGroup
        from spacy.training import Example

        n_spans = n_expanded = n_unplaceable = n_overlapping = 0
        examples = []
        for text, items in zip(texts, spans, strict=True):
            reference = self.nlp_.make_doc(text)
            placed = []
            for start, end, label in sorted(items):
                n_spans += 1
                span = _trim(reference.char_span(start, end, label=label, alignment_mode="expand"))
                if span is None:
                    n_unplaceable += 1
                    continue
                if span.start_char != start or span.end_char != end:
                    n_expanded += 1
                placed.append(span)
            if self.config.component == "ner":
                kept, taken = [], -1
                for span in sorted(placed, key=lambda s: (s.start, -s.end)):
                    if span.start < taken:
                        n_overlapping += 1
                        continue
                    kept.append(span)
                    taken = span.end
                reference.ents = kept
            else:
                reference.spans["sc"] = SpanGroup(reference, name="sc", spans=placed)
            examples.append(Example(self.nlp_.make_doc(text), reference))
        return examples, Alignment(n_spans, n_expanded, n_unplaceable, n_overlapping)

    # -- predicting ------------------------------------------------------------------------------

    def _check(self) -> None:
        if not hasattr(self, "nlp_"):
            raise NotFitted("the span tagger is not trained yet; call fit first")

    def tag(self, texts: Sequence[str]) -> list[TaggedText]:
        """Spans with scores, and a per-text uncertainty (see :class:`TaggedText`)."""
        self._check()
        out: list[TaggedText] = []
        with self._lock:
            for begin in range(0, len(texts), _PREDICT_BATCH):
                docs = [self.nlp_.make_doc(t) for t in texts[begin : begin + _PREDICT_BATCH]]
                if self.config.component == "ner":
                    out.extend(self._tag_ner(docs))
                else:
                    out.extend(self._tag_spancat(docs))
        return out

    def _tag_ner(self, docs: list[Any]) -> list[TaggedText]:
        ner = self.nlp_.get_pipe("ner")
        results: list[TaggedText | None] = [None] * len(docs)
        full = [i for i, doc in enumerate(docs) if _has_words(doc)]
        if full:
            parsed = [docs[i] for i in full]
            beams = ner.beam_parse(parsed, beam_width=self.config.beam_width)
            scored = ner.scored_ents(beams)
            ner.set_annotations(parsed, beams)
            for i, doc, scores in zip(full, parsed, scored, strict=True):
                spans = [
                    {
                        "start": ent.start_char,
                        "end": ent.end_char,
                        "label": ent.label_,
                        "score": min(1.0, float(scores.get((ent.start, ent.end, ent.label_), 0.0))),
                    }
                    for ent in doc.ents
                ]
                hesitation = max(
                    (1.0 - abs(2.0 * min(1.0, float(p)) - 1.0) for p in scores.values()),
                    default=0.0,
                )
                results[i] = TaggedText(_sorted(spans), hesitation)
        return [r if r is not None else TaggedText([], 0.0) for r in results]

    def _tag_spancat(self, docs: list[Any]) -> list[TaggedText]:
        spancat = self.nlp_.get_pipe("spancat")
        full = [doc for doc in docs if _has_words(doc)]
        if not full:
            return [TaggedText([], 0.0) for _ in docs]
        indices, scores = spancat.predict(full)
        probs = np.asarray(spancat.model.ops.to_numpy(scores), dtype=np.float64)
        lengths = np.asarray(spancat.model.ops.to_numpy(indices.lengths), dtype=np.int64)
        threshold = self.config.threshold
        by_doc: dict[int, TaggedText] = {}
        offset = 0
        for doc, length in zip(full, lengths, strict=True):
            rows = np.asarray(spancat.model.ops.to_numpy(indices.dataXd[offset : offset + length]))
            block = probs[offset : offset + length]
            offset += int(length)
            spans = []
            for (start, end), row in zip(rows.tolist(), block, strict=True):
                if doc[int(start)].is_space or doc[int(end) - 1].is_space:
                    continue
                for k in np.flatnonzero(row >= threshold):
                    span = doc[int(start) : int(end)]
                    spans.append(
                        {
                            "start": span.start_char,
                            "end": span.end_char,
                            "label": self.label_names_[int(k)],
                            "score": float(row[k]),
                        }
                    )
            hesitation = float((1.0 - np.abs(2.0 * block - 1.0)).max()) if block.size else 0.0
            by_doc[id(doc)] = TaggedText(_sorted(spans), hesitation)
        return [by_doc.get(id(doc), TaggedText([], 0.0)) for doc in docs]

    def predict(self, texts: Sequence[str]) -> list[list[dict[str, Any]]]:
        """Per text, its spans ``{"start", "end", "label", "score"}`` sorted by offsets."""
        return [tagged.spans for tagged in self.tag(texts)]

    # -- persistence -----------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write ``pipeline/`` (spaCy's ``to_disk``) and ``model.json`` (never pickle)."""
        self._check()
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        self.nlp_.to_disk(folder / "pipeline")
        meta = {
            "format": FORMAT_VERSION,
            "kind": KIND,
            "config": asdict(self.config),
            "labels": self.label_names_,
            "alignment": asdict(self.alignment_),
            "history": self.history_,
            "best_epoch": self.best_epoch_,
        }
        (folder / "model.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, directory: str | Path) -> SpanTagger:
        """Read a tagger written by :meth:`save`: the pipeline is rebuilt from ``model.json``'s
        settings (never from the folder's ``config.cfg``), then weights are read into it."""
        folder = Path(directory)
        try:
            meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise InvalidInput(f"{folder}: not a labelkitchen model folder") from exc
        if meta.get("kind") != KIND:
            raise InvalidInput(f"{folder}: expected a {KIND} model, found {meta.get('kind')!r}")
        if not (folder / "pipeline").is_dir():
            raise InvalidInput(f"{folder}: the spaCy pipeline folder 'pipeline/' is missing")
        config = dict(meta["config"])
        config["ngram_sizes"] = tuple(config["ngram_sizes"])
        model = cls(SpanConfig(**config))
        model.label_names_ = list(meta["labels"])
        model.nlp_ = model._build(model.label_names_)
        model.nlp_.from_disk(folder / "pipeline", exclude=["config.cfg", "meta.json"])
        model.alignment_ = Alignment(**meta.get("alignment", {}))
        model.history_ = list(meta.get("history", []))
        model.best_epoch_ = int(meta.get("best_epoch", 0))
        return model


def _has_words(doc: Any) -> bool:
    return any(not token.is_space for token in doc)


def _trim(span: Any) -> Any:
    """The span without whitespace tokens at its edges (spaCy makes a token of each extra
    space); ``None`` when nothing else is left."""
    if span is None:
        return None
    start, end = span.start, span.end
    doc = span.doc
    while start < end and doc[start].is_space:
        start += 1
    while end > start and doc[end - 1].is_space:
        end -= 1
    if end == start:
        return None
    if (start, end) == (span.start, span.end):
        return span
    from spacy.tokens import Span

    return Span(doc, start, end, label=span.label)


def _sorted(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(spans, key=lambda s: (s["start"], s["end"], s["label"]))


def _micro_f1(
    truth: Sequence[list[tuple[int, int, str]]], predicted: Sequence[list[dict[str, Any]]]
) -> float:
    tp = n_true = n_predicted = 0
    for gold, guess in zip(truth, predicted, strict=True):
        wanted = set(gold)
        found = set(span_tuples(guess))
        tp += len(wanted & found)
        n_true += len(wanted)
        n_predicted += len(found)
    total = n_true + n_predicted
    return 2 * tp / total if total else 0.0


__all__ = [
    "KIND",
    "Alignment",
    "SpanConfig",
    "SpanTagger",
    "TaggedText",
    "majority_spans",
    "span_tuples",
]
