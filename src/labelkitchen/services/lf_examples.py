"""Examples behind an LF's statistics: a random sample of the records it voted on, got wrong,
fought another LF over, or missed, with its vote, the gold label and the other LFs' votes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelkitchen.errors import InvalidInput, NotFound
from labelkitchen.services.weak import project_matrix
from labelkitchen.store import Store
from labelkitchen.store.queries import weak as queries
from labelkitchen.weak.model_base import vote_counts

EXAMPLE_KINDS = ("votes", "wrong", "conflicts", "missed")
"""What ``lf_examples`` samples: records the LF voted on, voted on against gold, voted on
against another LF, or abstained on although gold is a label it votes (what it misses)."""
_NEEDS_GOLD = ("wrong", "missed")
MAX_EXAMPLES = 1_000


@dataclass(frozen=True)
class LFExample:
    record_id: int
    external_id: str | None
    split: str | None
    text: str
    vote: str | None
    """The LF's label, ``None`` where it abstained (kind ``missed``)."""
    gold: str | None
    others: dict[str, str]
    """The other LFs that voted on the record: name -> label."""


@dataclass(frozen=True)
class LFExamples:
    project: str
    lf: str
    kind: str
    matching: int
    """How many records match ``kind`` (the examples are a random sample of them)."""
    examples: tuple[LFExample, ...]


def lf_examples(
    store: Store, *, project: str, lf: str, kind: str = "votes", limit: int = 10, seed: int = 0
) -> LFExamples:
    """A random sample (``seed``) of up to ``limit`` records of one kind for one LF, with its
    vote, the gold label and the other LFs' votes: what a rule catches, where it is wrong, where
    it fights other rules, and what it misses. Kinds: :data:`EXAMPLE_KINDS`."""
    if kind not in EXAMPLE_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(EXAMPLE_KINDS)}, got {kind!r}")
    if not 1 <= limit <= MAX_EXAMPLES:
        raise InvalidInput(f"limit must be between 1 and {MAX_EXAMPLES:,}, got {limit}")
    data = project_matrix(store, project)
    if lf not in data.lf_names:
        raise NotFound(
            f"project {project!r} has no active LF {lf!r}; its LFs: {', '.join(data.lf_names)}"
        )
    if kind in _NEEDS_GOLD and not (data.y >= 0).any():
        raise InvalidInput(f"kind {kind!r} compares with gold labels, and {project!r} has none")
    j = data.lf_names.index(lf)
    n_classes = len(data.project.label_names)
    own = data.L.take_lfs([j]).to_dense()[:, 0].astype(np.int64)
    voted = own >= 0
    if kind == "votes":
        match = voted
    elif kind == "wrong":
        match = voted & (data.y >= 0) & (data.y != own)
    elif kind == "conflicts":
        others = vote_counts(data.L, n_classes)
        others[np.flatnonzero(voted), own[voted]] -= 1.0
        disagreeing = others.sum(axis=1) - others[np.arange(own.size), np.maximum(own, 0)]
        match = voted & (disagreeing > 0)
    else:
        polarity = np.unique(own[voted])
        match = ~voted & np.isin(data.y, polarity)
    rows = np.flatnonzero(match)
    chosen = np.sort(
        np.random.default_rng(seed).choice(rows, size=min(limit, rows.size), replace=False)
    )
    names = data.project.label_names
    dense = data.L.take_records(chosen).to_dense()
    with store.read() as conn:
        texts = queries.texts_of(
            conn, project_id=data.project.id, record_ids=data.record_ids[chosen].tolist()
        )
    examples = []
    for position, votes in zip(chosen.tolist(), dense, strict=True):
        record_id = int(data.record_ids[position])
        text, external_id = texts[record_id]
        examples.append(
            LFExample(
                record_id=record_id,
                external_id=external_id,
                split=data.splits[position],
                text=text,
                vote=names[own[position]] if own[position] >= 0 else None,
                gold=names[data.y[position]] if data.y[position] >= 0 else None,
                others={
                    data.lf_names[c]: names[int(v)]
                    for c, v in enumerate(votes.tolist())
                    if v >= 0 and c != j
                },
            )
        )
    return LFExamples(
        project=project, lf=lf, kind=kind, matching=int(rows.size), examples=tuple(examples)
    )


__all__ = ["EXAMPLE_KINDS", "MAX_EXAMPLES", "LFExample", "LFExamples", "lf_examples"]
