"""Examples behind an LF's statistics: a random sample of the records it voted on, got wrong,
fought another LF over, or missed, with its vote, the gold label and the other LFs' votes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput, NotFound
from labelkitchen.schema import Project, TaskType
from labelkitchen.services.weak import project_matrix
from labelkitchen.services.weak_multilabel import multilabel_matrix
from labelkitchen.services.weak_spans import project_span_votes
from labelkitchen.store import Store
from labelkitchen.store.queries import projects as project_queries
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


Describe = Callable[[int], tuple[str | None, str | None, dict[str, str]]]
"""For a record's position: the LF's vote, the gold label and the other LFs' votes, as text."""


@dataclass(frozen=True)
class _Matches:
    record_ids: npt.NDArray[np.int64]
    splits: list[str | None]
    match: npt.NDArray[np.bool_]
    describe: Describe


def lf_examples(
    store: Store, *, project: str, lf: str, kind: str = "votes", limit: int = 10, seed: int = 0
) -> LFExamples:
    """A random sample (``seed``) of up to ``limit`` records of one kind for one LF, with its
    vote, the gold label and the other LFs' votes: what a rule catches, where it is wrong, where
    it fights other rules, and what it misses. Kinds: :data:`EXAMPLE_KINDS`. In a multilabel
    project votes read ``label: present`` or ``label: absent``; in a spans project they list
    the marked text with its label, and a span is right where a gold span has the same start,
    end and label."""
    if kind not in EXAMPLE_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(EXAMPLE_KINDS)}, got {kind!r}")
    if not 1 <= limit <= MAX_EXAMPLES:
        raise InvalidInput(f"limit must be between 1 and {MAX_EXAMPLES:,}, got {limit}")
    with store.read() as conn:
        row = project_queries.get_project(conn, slug=project)
    if row.task is TaskType.MULTILABEL:
        found = _multilabel_matches(store, row, lf, kind)
    elif row.task is TaskType.SPANS:
        found = _span_matches(store, row, lf, kind)
    else:
        found = _classify_matches(store, project, lf, kind)
    rows = np.flatnonzero(found.match)
    chosen = np.sort(
        np.random.default_rng(seed).choice(rows, size=min(limit, rows.size), replace=False)
    )
    with store.read() as conn:
        texts = queries.texts_of(
            conn, project_id=row.id, record_ids=found.record_ids[chosen].tolist()
        )
    examples = []
    for position in chosen.tolist():
        record_id = int(found.record_ids[position])
        text, external_id = texts[record_id]
        vote, gold, others = found.describe(position)
        examples.append(
            LFExample(
                record_id=record_id,
                external_id=external_id,
                split=found.splits[position],
                text=text,
                vote=vote,
                gold=gold,
                others=others,
            )
        )
    return LFExamples(
        project=project, lf=lf, kind=kind, matching=int(rows.size), examples=tuple(examples)
    )


def _check(project: str, lf: str, lf_names: Sequence[str], kind: str, has_gold: bool) -> int:
    """The LF's column; refuses an unknown LF and a gold kind without gold."""
    if lf not in lf_names:
        raise NotFound(
            f"project {project!r} has no active LF {lf!r}; its LFs: {', '.join(lf_names)}"
        )
    if kind in _NEEDS_GOLD and not has_gold:
        raise InvalidInput(f"kind {kind!r} compares with gold labels, and {project!r} has none")
    return list(lf_names).index(lf)


def _classify_matches(store: Store, project: str, lf: str, kind: str) -> _Matches:
    data = project_matrix(store, project)
    j = _check(project, lf, data.lf_names, kind, bool((data.y >= 0).any()))
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
    names = data.project.label_names

    def describe(position: int) -> tuple[str | None, str | None, dict[str, str]]:
        votes = data.L.take_records([position]).to_dense()[0].tolist()
        others = {data.lf_names[c]: names[v] for c, v in enumerate(votes) if v >= 0 and c != j}
        vote = names[own[position]] if own[position] >= 0 else None
        gold = names[data.y[position]] if data.y[position] >= 0 else None
        return vote, gold, others

    return _Matches(data.record_ids, data.splits, match, describe)


def _multilabel_matches(store: Store, row: Project, lf: str, kind: str) -> _Matches:
    data = multilabel_matrix(store, row)
    j = _check(row.slug, lf, data.lf_names, kind, bool(data.gold.any()))
    names = row.label_names
    own = {n: data.L_by_label[n].take_lfs([j]).to_dense()[:, 0].astype(np.int64) for n in names}
    voted = np.zeros(len(data.record_ids), dtype=bool)
    match = np.zeros(len(data.record_ids), dtype=bool)
    for name in names:
        mine, y = own[name], data.y_by_label[name]
        voted |= mine >= 0
        if kind == "wrong":
            match |= (mine >= 0) & (y >= 0) & (y != mine)
        elif kind == "conflicts":
            L = data.L_by_label[name]
            for_class = vote_counts(L, 2)
            same = for_class[np.arange(mine.size), np.maximum(mine, 0)]
            match |= (mine >= 0) & (for_class.sum(axis=1) - same > 0)
        elif kind == "missed":
            says_present = bool((mine == 1).any())
            match |= says_present & (mine < 0) & (y == 1)
    if kind == "votes":
        match = voted

    def describe(position: int) -> tuple[str | None, str | None, dict[str, str]]:
        said: dict[int, list[str]] = {}
        for name in names:
            votes = data.L_by_label[name].take_records([position]).to_dense()[0].tolist()
            for c, v in enumerate(votes):
                if v >= 0:
                    said.setdefault(c, []).append(f"{name}: {'present' if v else 'absent'}")
        gold = (
            ", ".join(n for n in names if data.y_by_label[n][position] == 1) or "(none)"
            if data.gold[position]
            else None
        )
        others = {data.lf_names[c]: "; ".join(v) for c, v in said.items() if c != j}
        return ("; ".join(said[j]) if j in said else None), gold, others

    return _Matches(data.record_ids, data.splits, match, describe)


def _span_matches(store: Store, row: Project, lf: str, kind: str) -> _Matches:
    data = project_span_votes(store, row)
    j = _check(row.slug, lf, data.lf_names, kind, any(g is not None for g in data.gold))
    votes = data.votes
    by_record: dict[int, list[tuple[int, int, int, int]]] = {}
    for r, c, a, b, lb in zip(
        votes.records.tolist(),
        votes.lfs.tolist(),
        votes.starts.tolist(),
        votes.ends.tolist(),
        votes.labels.tolist(),
        strict=True,
    ):
        by_record.setdefault(r, []).append((c, a, b, lb))
    match = np.zeros(len(data.record_ids), dtype=bool)
    for r, spans in by_record.items():
        mine = {(a, b, lb) for c, a, b, lb in spans if c == j}
        truth = data.gold[r]
        if kind == "votes":
            match[r] = bool(mine)
        elif kind == "wrong":
            match[r] = truth is not None and bool(mine - set(truth))
        elif kind == "conflicts":
            match[r] = any(
                c != j and a < b2 and a2 < b and (a, b, lb) != (a2, b2, lb2)
                for c, a, b, lb in spans
                for a2, b2, lb2 in mine
            )
    if kind == "missed":
        marks = set(votes.labels[votes.lfs == j].tolist())
        for r, known in enumerate(data.gold):
            marked = {(a, b, lb) for c, a, b, lb in by_record.get(r, []) if c == j}
            match[r] = known is not None and any(g[2] in marks and g not in marked for g in known)
    names = row.label_names

    def describe(position: int) -> tuple[str | None, str | None, dict[str, str]]:
        def spans_of(c: int) -> str:
            found = sorted((a, b, lb) for cc, a, b, lb in by_record.get(position, []) if cc == c)
            return "; ".join(f"{a}-{b} {names[lb]}" for a, b, lb in found)

        others = {
            data.lf_names[c]: spans_of(c)
            for c in sorted({c for c, *_ in by_record.get(position, [])})
            if c != j
        }
        gold = data.gold[position]
        shown = (
            None
            if gold is None
            else "; ".join(f"{a}-{b} {names[lb]}" for a, b, lb in sorted(gold)) or "(none)"
        )
        return spans_of(j) or None, shown, others

    return _Matches(data.record_ids, data.splits, match, describe)


__all__ = ["EXAMPLE_KINDS", "MAX_EXAMPLES", "LFExample", "LFExamples", "lf_examples"]
