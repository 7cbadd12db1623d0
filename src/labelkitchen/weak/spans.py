"""Aggregating span votes: spans become per-token BIO tags, tags are aggregated, tags become spans.

Each span LF's spans over a record are projected onto its tokens (a token belongs to a span when
they overlap; the first such token is ``B``, the rest ``I``). That gives a token-level label matrix
with ``2K + 1`` tag classes (:func:`tag_of`): ``0`` is ``O``, ``2c + 1`` is ``B`` of label ``c``
and ``2c + 2`` its ``I``. Any label model aggregates it (majority vote by default; Dawid-Skene when
LFs differ in quality), and :func:`tags_to_spans` decodes the result: per token the label with the
most ``B`` + ``I`` mass wins against ``O``, ``B`` beats ``I`` on a tie, and an ``I`` that does not
continue a span of its own label starts one.

``unmarked`` says what an LF says about tokens it did not mark: ``"abstain"`` (default: span LFs
usually find some entities, not all, so silence is no evidence) or ``"outside"`` (the LF claims
the token is ``O``). Offsets are Python ``str`` code points, end exclusive, as everywhere.

:func:`span_lf_summary` is the LF analysis of span votes, in :func:`~labelkitchen.weak.lf_summary`'s
rows: coverage, overlaps and conflicts over records, and against gold spans the share of an LF's
spans that match a gold span exactly (start, end and label) and per label its precision and
recall.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput
from labelkitchen.weak.analysis import LFStats, LFSummary, wilson_interval
from labelkitchen.weak.apply import SpanVotes
from labelkitchen.weak.labels import ABSTAIN
from labelkitchen.weak.majority import MajorityVote
from labelkitchen.weak.matrix import LabelMatrix
from labelkitchen.weak.model_base import BaseLabelModel
from labelkitchen.weak.span_hmm import TagHMM

Tokens = list[tuple[int, int]]
Tokenizer = Callable[[str], Tokens]
Span = tuple[int, int, int]
_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokenize(text: str) -> Tokens:
    """Default tokenizer: runs of word characters, and single other non-space characters."""
    return [m.span() for m in _TOKEN.finditer(text)]


def tag_of(label: int, *, inside: bool) -> int:
    """The tag class of ``B-label`` (``inside=False``) or ``I-label``."""
    return 2 * label + (2 if inside else 1)


@dataclass(frozen=True)
class TokenMatrix:
    """Token-level votes: ``L`` is tokens x LFs over ``2K + 1`` tag classes; ``record`` and
    ``tokens`` give each row's record index and character offsets."""

    L: LabelMatrix
    record: npt.NDArray[np.int64]
    tokens: npt.NDArray[np.int64]
    n_classes: int

    @property
    def n_tags(self) -> int:
        return 2 * self.n_classes + 1


def token_label_matrix(
    votes: SpanVotes,
    texts: Sequence[str],
    *,
    n_classes: int,
    unmarked: Literal["abstain", "outside"] = "abstain",
    tokenizer: Tokenizer = tokenize,
) -> TokenMatrix:
    """Project span votes onto tokens (see the module docs)."""
    if len(texts) != votes.n_records:
        raise InvalidInput(f"got {len(texts)} texts for {votes.n_records} records")
    if unmarked not in ("abstain", "outside"):
        raise InvalidInput(f"unmarked must be 'abstain' or 'outside', got {unmarked!r}")
    token_lists = [tokenizer(text) for text in texts]
    sizes = np.array([len(t) for t in token_lists], dtype=np.int64)
    first_token = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    n_tokens = int(sizes.sum())
    fill = 0 if unmarked == "outside" else ABSTAIN
    dense = np.full((n_tokens, votes.n_lfs), fill, dtype=np.int16)
    order = np.lexsort((votes.starts, votes.lfs, votes.records))
    for i in order:
        r, j = int(votes.records[i]), int(votes.lfs[i])
        start, end, label = int(votes.starts[i]), int(votes.ends[i]), int(votes.labels[i])
        if label >= n_classes:
            raise InvalidInput(f"span label {label} outside 0..{n_classes - 1}")
        inside = [t for t, (a, b) in enumerate(token_lists[r]) if a < end and b > start]
        for position, t in enumerate(inside):
            row = first_token[r] + t
            if dense[row, j] > 0:  # an earlier span of this LF already covers the token
                continue
            dense[row, j] = tag_of(label, inside=position > 0)
    record = np.repeat(np.arange(len(texts), dtype=np.int64), sizes)
    offsets = np.array([span for tokens in token_lists for span in tokens], dtype=np.int64)
    return TokenMatrix(LabelMatrix.from_dense(dense), record, offsets.reshape(-1, 2), n_classes)


def tags_to_spans(
    tag_probs: npt.NDArray[np.float64],
    tokens: npt.NDArray[np.int64],
    *,
    covered: npt.NDArray[np.bool_] | None = None,
) -> list[Span]:
    """Decode one record's per-token tag probabilities (tokens x ``2K + 1``) into spans.

    Tokens where ``covered`` is false are ``O`` whatever the probabilities say.
    """
    probs = np.asarray(tag_probs, dtype=np.float64)
    if probs.shape[0] != tokens.shape[0]:
        raise InvalidInput(
            f"{probs.shape[0]} rows of tag probabilities for {tokens.shape[0]} tokens"
        )
    k = (probs.shape[1] - 1) // 2
    spans: list[Span] = []
    current: list[int] | None = None  # [start, end, label]
    for t in range(probs.shape[0]):
        begin, inside = probs[t, 1::2][:k], probs[t, 2::2][:k]
        mass = begin + inside
        label = int(np.argmax(mass)) if k else -1
        is_outside = (
            k == 0 or probs[t, 0] >= mass[label] or (covered is not None and not covered[t])
        )
        if is_outside:
            if current is not None:
                spans.append((current[0], current[1], current[2]))
                current = None
            continue
        starts_new = current is None or current[2] != label or begin[label] > inside[label]
        if starts_new:
            if current is not None:
                spans.append((current[0], current[1], current[2]))
            current = [int(tokens[t, 0]), int(tokens[t, 1]), label]
        elif current is not None:
            current[1] = int(tokens[t, 1])
    if current is not None:
        spans.append((current[0], current[1], current[2]))
    return spans


def aggregate_spans(
    votes: SpanVotes,
    texts: Sequence[str],
    *,
    n_classes: int,
    model: BaseLabelModel | TagHMM | None = None,
    unmarked: Literal["abstain", "outside"] = "abstain",
    tokenizer: Tokenizer = tokenize,
) -> list[list[Span]]:
    """Consensus spans per record from the span votes of several LFs.

    ``model`` aggregates the token tags: a label model over tokens as independent records
    (default: :class:`MajorityVote`; :class:`~labelkitchen.weak.DawidSkene` when LFs differ in
    quality), or a :class:`~labelkitchen.weak.span_hmm.TagHMM`, which also learns how tags
    follow each other. An unfitted model is fitted on the token matrix here. Tokens no LF
    marked stay ``O``.
    """
    matrix = token_label_matrix(
        votes, texts, n_classes=n_classes, unmarked=unmarked, tokenizer=tokenizer
    )
    n_tags = matrix.n_tags
    if isinstance(model, TagHMM):
        if not hasattr(model, "confusion_"):
            model.fit(matrix)
        probs = model.predict_proba(matrix)
    else:
        aggregator = model if model is not None else MajorityVote(n_classes=n_tags)
        if not hasattr(aggregator, "n_classes_"):
            aggregator.fit(matrix.L)
        probs = aggregator.predict_proba(matrix.L) if matrix.L.n_records else np.zeros((0, n_tags))
    if probs.shape[1] != n_tags:
        raise InvalidInput(f"the model predicts {probs.shape[1]} classes, expected {n_tags} tags")
    if unmarked == "abstain":
        covered = matrix.L.votes_per_record() > 0
    else:
        covered = matrix.L.votes_per_record() >= 0
    result: list[list[Span]] = []
    bounds = np.searchsorted(matrix.record, np.arange(len(texts) + 1))
    for r in range(len(texts)):
        lo, hi = int(bounds[r]), int(bounds[r + 1])
        result.append(tags_to_spans(probs[lo:hi], matrix.tokens[lo:hi], covered=covered[lo:hi]))
    return result


def span_lf_summary(
    votes: SpanVotes,
    gold: Sequence[Sequence[Span] | None] | None = None,
    *,
    lf_names: Sequence[str] | None = None,
    n_classes: int | None = None,
) -> LFSummary:
    """One :class:`~labelkitchen.weak.analysis.LFStats` row per span LF.

    ``polarity``: the labels it marks; ``n_votes``: its spans; ``coverage``: the share of
    records with a span of it; ``overlaps``: the share of records where one of its spans shares
    a character with another LF's span; ``conflicts``: where such a span differs (other bounds
    or another label), ``conflicts_most_with`` naming the LF it differs from on most records.
    ``gold`` holds per record its gold spans ``(start, end, label)``, or ``None`` where unknown:
    ``correct`` and ``incorrect`` count its spans on records with gold by whether a gold span
    has the same start, end and label, ``accuracy`` is their share (a precision, with its Wilson
    interval), and per label ``precision`` and ``recall`` (gold spans of that label it found).
    """
    n_lfs = int(votes.n_lfs)
    names = list(lf_names) if lf_names is not None else [f"lf_{j}" for j in range(n_lfs)]
    if len(names) != n_lfs:
        raise InvalidInput(f"got {len(names)} LF names for {n_lfs} LFs")
    if gold is not None and len(gold) != votes.n_records:
        raise InvalidInput(f"votes cover {votes.n_records} records but gold has {len(gold)}")
    seen = int(votes.labels.max()) + 1 if votes.labels.size else 1
    k = seen if n_classes is None else int(n_classes)
    order = np.lexsort((votes.starts, votes.records))
    records, lfs = votes.records[order], votes.lfs[order]
    spans = np.stack([votes.starts[order], votes.ends[order], votes.labels[order]], axis=1)
    bounds = np.searchsorted(records, np.arange(votes.n_records + 1))
    pairwise = np.zeros((n_lfs, n_lfs), dtype=np.int64)
    overlapping = np.zeros((n_lfs, votes.n_records), dtype=bool)
    differing = np.zeros((n_lfs, votes.n_records), dtype=bool)
    for record in np.flatnonzero(np.diff(bounds) > 1).tolist():
        lo, hi = int(bounds[record]), int(bounds[record + 1])
        here, mine = spans[lo:hi], lfs[lo:hi]
        met = (here[:, None, 0] < here[None, :, 1]) & (here[None, :, 0] < here[:, None, 1])
        met &= mine[:, None] != mine[None, :]
        same = (here[:, None, :] == here[None, :, :]).all(axis=2)
        differ = met & ~same
        overlapping[mine[np.nonzero(met)[0]], record] = True
        pairs = {(int(mine[i]), int(mine[j])) for i, j in zip(*np.nonzero(differ), strict=True)}
        for a, b in pairs:
            differing[a, record] = True
            pairwise[a, b] += 1
    coverage = np.zeros((n_lfs, votes.n_records), dtype=bool)
    coverage[votes.lfs, votes.records] = True
    n = max(votes.n_records, 1)
    rows = []
    for j in range(n_lfs):
        partner = int(np.argmax(pairwise[j])) if n_lfs > 1 else -1
        count = int(pairwise[j, partner]) if partner >= 0 else 0
        own = lfs == j
        row = LFStats(
            name=names[j],
            polarity=tuple(int(c) for c in np.unique(spans[own, 2])),
            coverage=float(coverage[j].sum()) / n,
            overlaps=float(overlapping[j].sum()) / n,
            conflicts=float(differing[j].sum()) / n,
            n_votes=int(own.sum()),
            conflicts_most_with=names[partner] if count > 0 else None,
            conflict_count=count,
        )
        if gold is not None:
            row = _with_span_gold(row, records[own], spans[own], gold, k)
        rows.append(row)
    return LFSummary(tuple(rows), pairwise, votes.n_records)


def _with_span_gold(
    row: LFStats,
    records: npt.NDArray[np.int64],
    spans: npt.NDArray[np.int64],
    gold: Sequence[Sequence[Span] | None],
    n_classes: int,
) -> LFStats:
    """``row`` with its spans judged against the gold spans (exact start, end and label)."""
    truth = [None if g is None else {(int(a), int(b), int(c)) for a, b, c in g} for g in gold]
    judged = [truth[r] is not None for r in records.tolist()]
    right = [
        judged[i] and (int(s[0]), int(s[1]), int(s[2])) in (truth[int(records[i])] or set())
        for i, s in enumerate(spans)
    ]
    correct, n_judged = int(sum(right)), int(sum(judged))
    interval = wilson_interval(correct, n_judged)
    gold_per_class = np.zeros(n_classes, dtype=np.int64)
    for spans_of_record in truth:
        for _, _, label in spans_of_record or ():
            if 0 <= label < n_classes:
                gold_per_class[label] += 1
    precision: dict[int, float | None] = {}
    recall: dict[int, float | None] = {}
    for c in range(n_classes):
        mine = [i for i, s in enumerate(spans) if int(s[2]) == c and judged[i]]
        hits = sum(right[i] for i in mine)
        precision[c] = hits / len(mine) if mine else None
        recall[c] = hits / int(gold_per_class[c]) if gold_per_class[c] else None
    return replace(
        row,
        correct=correct,
        incorrect=n_judged - correct,
        accuracy=correct / n_judged if n_judged else None,
        accuracy_low=None if interval is None else interval[0],
        accuracy_high=None if interval is None else interval[1],
        precision=precision,
        recall=recall,
    )


__all__ = [
    "Span",
    "TokenMatrix",
    "aggregate_spans",
    "span_lf_summary",
    "tag_of",
    "tags_to_spans",
    "token_label_matrix",
    "tokenize",
]
