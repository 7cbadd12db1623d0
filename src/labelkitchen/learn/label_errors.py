"""Suspected label errors: confident learning on out-of-sample probabilities, and labels that
contradict each other on near-duplicate texts.

Two signals, one ranking:

* **Confident learning.** Every record gets class probabilities from the project's text
  baseline (:class:`~labelkitchen.learn.baseline.TextClassifier`, the same features and
  estimator as training) fitted on the *other* folds of a (stratified, seeded) K-fold split, so
  no record is scored by a model that saw its label. cleanlab ranks the given labels by these
  probabilities and marks the set of likely issues (``cleanlab.filter.find_label_issues``,
  pruning by the estimated noise rate per class pair).
* **Near-duplicates.** Records whose normalised texts (NFKC, case-folded, whitespace collapsed)
  are identical, or near-identical by MinHash over character 5-grams (Jaccard >= a threshold,
  checked exactly), but whose labels differ: one of them is probably wrong. Each is flagged
  with the indices of its contradicting neighbours.

The ranking: cleanlab's ``self_confidence`` label quality score, the out-of-sample probability
of the given label, lowest first. Of the scores cleanlab offers it serves "flipped records near
the top" best: with 5% of the labels flipped at random (3 seeds), the lowest 10% by
self-confidence held 98.8% of the flipped records on SMS spam and 90.7% on TREC (coarse),
against 98.8% / 86.9% for the normalised margin, 98.8% / 89.9% for the confidence-weighted
entropy and 97.4% / 69.1% for self-confidence on "adjusted" probabilities (the baseline is
already class-balanced, so the adjustment over-corrects for the small classes); see
``benchmarks/label_errors.py`` and docs/benchmarks.md. The score is also a probability a
reviewer can read ("the model gives your label 3%"). The ranking covers every record;
cleanlab's issue set and the near-duplicate contradictions are the *reasons* a record carries.

Multilabel: per-label binary probabilities (the baseline's one-vs-rest) ranked by
``cleanlab.multilabel_classification``. Spans are not supported here (no class probabilities).
"""

from __future__ import annotations

import unicodedata
import warnings
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import KFold, StratifiedKFold

from labelkitchen.errors import InvalidInput
from labelkitchen.learn.baseline import TextClassifier, TrainConfig

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Label = int | tuple[int, ...]
Progress = Callable[[int, int], None]

CONFIDENT_LEARNING = "confident_learning"
NEAR_DUPLICATE = "near_duplicate"
RANKING_METHOD = "self_confidence"
TASKS = ("classify", "multilabel")
SHINGLE = 5
N_HASHES = 64
BANDS = 16
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


# --- result ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SuspectedLabel:
    """One record of the ranking: ``index`` into the input, ``rank`` (0: most suspect),
    ``score`` (label quality in [0, 1], lower: more suspect), the ``given`` and ``suggested``
    label (a class index for ``classify``, a tuple of class indices for ``multilabel``), the
    ``reasons`` it was flagged for and its contradicting near-duplicates (``neighbours``)."""

    index: int
    rank: int
    score: float
    given: Label
    suggested: Label
    reasons: tuple[str, ...]
    neighbours: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class LabelErrors:
    """Suspected label errors over ``n`` records.

    ``scores[i]``: label quality of record ``i`` (cleanlab self-confidence); ``order``: record
    indices, most suspect first; ``is_issue``: cleanlab's issue set; ``probs``: out-of-sample
    probabilities (classify: rows sum to one; multilabel: one per label); ``neighbours``:
    record -> its contradicting near-duplicates (most similar first); ``folds``: the folds used
    (fewer than asked when a class is small).
    """

    task: str
    class_names: tuple[str, ...]
    folds: int
    method: str
    given: tuple[Label, ...]
    suggested: tuple[Label, ...]
    scores: FloatArray
    order: IntArray
    is_issue: BoolArray
    probs: FloatArray
    neighbours: dict[int, tuple[int, ...]]

    @property
    def n_records(self) -> int:
        return len(self.given)

    def reasons(self, index: int) -> tuple[str, ...]:
        found = []
        if self.is_issue[index]:
            found.append(CONFIDENT_LEARNING)
        if index in self.neighbours:
            found.append(NEAR_DUPLICATE)
        return tuple(found)

    def flagged(self) -> BoolArray:
        """Records with at least one reason."""
        mask = self.is_issue.copy()
        mask[list(self.neighbours)] = True
        return mask

    def item(self, index: int, *, rank: int) -> SuspectedLabel:
        return SuspectedLabel(
            index=index,
            rank=rank,
            score=float(self.scores[index]),
            given=self.given[index],
            suggested=self.suggested[index],
            reasons=self.reasons(index),
            neighbours=self.neighbours.get(index, ()),
        )

    def ranked(self, limit: int | None = None) -> list[SuspectedLabel]:
        """The ranking, most suspect first (every record, or the first ``limit``)."""
        chosen = self.order if limit is None else self.order[:limit]
        return [self.item(int(i), rank=rank) for rank, i in enumerate(chosen)]


# --- the whole thing ------------------------------------------------------------------------


def find_label_errors(
    texts: Sequence[str],
    labels: Sequence[Any],
    *,
    class_names: Sequence[str],
    task: str = "classify",
    folds: int = 5,
    random_state: int = 0,
    config: TrainConfig | None = None,
    duplicate_threshold: float = 0.8,
    max_neighbours: int = 10,
    progress: Progress | None = None,
) -> LabelErrors:
    """Rank ``labels`` by how likely each is wrong; see the module doc.

    ``labels``: a class index per text (``classify``) or a sequence of class indices
    (``multilabel``). ``config``: the baseline's hyperparameters (default: the baseline's own,
    with ``task`` and ``random_state``). ``progress(done, total)`` is called after each fold.
    """
    given = _check(texts, labels, class_names=class_names, task=task, folds=folds)
    config = config or TrainConfig(task=task, random_state=random_state)
    if config.task != task:
        raise InvalidInput(f"config.task is {config.task!r} but task is {task!r}")
    splits = fold_splits(
        given, task=task, n_classes=len(class_names), folds=folds, random_state=random_state
    )
    probs = _out_of_sample(texts, given, class_names, splits, config, progress)
    if task == "classify":
        scores, is_issue = _rank_classify(given, probs)
        suggested: list[Label] = [int(k) for k in np.argmax(probs, axis=1)]
    else:
        scores, is_issue = _rank_multilabel(given, probs)
        suggested = [tuple(int(k) for k in np.flatnonzero(row >= 0.5)) for row in probs]
    near = find_near_duplicates(texts, threshold=duplicate_threshold, random_state=random_state)
    neighbours = contradicting_neighbours(near, given, max_neighbours=max_neighbours)
    order = np.argsort(scores, kind="stable").astype(np.int64)
    return LabelErrors(
        task=task,
        class_names=tuple(class_names),
        folds=len(splits),
        method=RANKING_METHOD,
        given=tuple(given),
        suggested=tuple(suggested),
        scores=scores,
        order=order,
        is_issue=is_issue,
        probs=probs,
        neighbours=neighbours,
    )


def _check(
    texts: Sequence[str],
    labels: Sequence[Any],
    *,
    class_names: Sequence[str],
    task: str,
    folds: int,
) -> list[Label]:
    if task not in TASKS:
        raise InvalidInput(
            f"suspected label errors need class probabilities: task {task!r} is not supported; "
            f"supported: {list(TASKS)}"
        )
    if len(texts) != len(labels):
        raise InvalidInput(f"{len(texts)} texts but {len(labels)} labels")
    if folds < 2:
        raise InvalidInput(f"folds must be at least 2; got {folds}")
    n_classes = len(class_names)
    if n_classes < (2 if task == "classify" else 1):
        raise InvalidInput(f"a {task} task needs at least two class names; got {list(class_names)}")
    given: list[Label] = []
    for row, label in enumerate(labels):
        picked = [label] if task == "classify" else list(label)
        for k in picked:
            if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 0 <= k < n_classes:
                raise InvalidInput(
                    f"labels[{row}]: expected class indices 0..{n_classes - 1} "
                    f"({list(class_names)}); got {label!r}"
                )
        given.append(int(label) if task == "classify" else tuple(sorted({int(k) for k in picked})))
    if task == "classify":
        counts = np.bincount(np.asarray(given, dtype=np.int64), minlength=n_classes)
        if int(np.sum(counts >= 2)) < 2:
            present = {class_names[k]: int(c) for k, c in enumerate(counts) if c}
            raise InvalidInput(
                "cross-validation needs at least two labels with two records or more each; "
                f"the records per label are {present}"
            )
    elif len(given) < 4 or not any(given):
        raise InvalidInput(
            f"cross-validation needs at least 4 records and one positive label; got "
            f"{len(given)} records, {sum(1 for g in given if g)} with a label"
        )
    return given


def fold_splits(
    labels: Sequence[Label], *, task: str, n_classes: int, folds: int, random_state: int
) -> list[tuple[IntArray, IntArray]]:
    """(train, held-out) index pairs. ``classify``: stratified by label, with fewer folds when
    no label has ``folds`` records (a label with fewer records than folds lands in fewer held-out
    folds, which is fine). ``multilabel``: plain shuffled K-fold."""
    n = len(labels)
    if task == "classify":
        y = np.asarray(labels, dtype=np.int64)
        n_folds = min(folds, int(np.bincount(y, minlength=n_classes).max()))
        splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=random_state)
        with warnings.catch_warnings():  # "the least populated class has only k members"
            warnings.simplefilter("ignore", UserWarning)
            pairs = list(splitter.split(np.zeros(n), y))
    else:
        n_folds = min(folds, n)
        pairs = list(KFold(n_folds, shuffle=True, random_state=random_state).split(np.zeros(n)))
    return [(train.astype(np.int64), test.astype(np.int64)) for train, test in pairs]


def cross_val_probs(
    texts: Sequence[str],
    labels: Sequence[Any],
    *,
    class_names: Sequence[str],
    task: str = "classify",
    folds: int = 5,
    random_state: int = 0,
    config: TrainConfig | None = None,
) -> FloatArray:
    """Out-of-sample probabilities of the text baseline by K-fold cross-validation."""
    given = _check(texts, labels, class_names=class_names, task=task, folds=folds)
    config = config or TrainConfig(task=task, random_state=random_state)
    splits = fold_splits(
        given, task=task, n_classes=len(class_names), folds=folds, random_state=random_state
    )
    return _out_of_sample(texts, given, class_names, splits, config, None)


def _out_of_sample(
    texts: Sequence[str],
    given: Sequence[Label],
    class_names: Sequence[str],
    splits: list[tuple[IntArray, IntArray]],
    config: TrainConfig,
    progress: Progress | None,
) -> FloatArray:
    names = list(class_names)
    as_names: list[Any] = [names[g] if isinstance(g, int) else [names[k] for k in g] for g in given]
    probs = np.zeros((len(texts), len(names)))
    for done, (train, held_out) in enumerate(splits, start=1):
        model = TextClassifier(config).fit(
            [texts[i] for i in train], [as_names[i] for i in train], label_names=names
        )
        probs[held_out] = model.predict_proba([texts[i] for i in held_out])
        if progress is not None:
            progress(done, len(splits))
    return probs


def _rank_classify(given: Sequence[Label], probs: FloatArray) -> tuple[FloatArray, BoolArray]:
    from cleanlab.filter import find_label_issues  # type: ignore[import-untyped]
    from cleanlab.rank import get_label_quality_scores  # type: ignore[import-untyped]

    y = np.asarray(given, dtype=np.int64)
    present = np.flatnonzero(np.bincount(y, minlength=probs.shape[1]))
    # cleanlab wants every class it sees to have examples: rank over the labels in use
    remap = np.full(probs.shape[1], -1, dtype=np.int64)
    remap[present] = np.arange(len(present))
    sub = probs[:, present]
    sub = sub / np.clip(sub.sum(axis=1, keepdims=True), 1e-12, None)
    labels = remap[y]
    with warnings.catch_warnings():  # "may not flag all label issues in class k"
        warnings.simplefilter("ignore", UserWarning)
        scores = get_label_quality_scores(labels, sub, method=RANKING_METHOD)
        is_issue = find_label_issues(labels, sub, n_jobs=1)
    return np.asarray(scores, dtype=np.float64), np.asarray(is_issue, dtype=bool)


def _rank_multilabel(given: Sequence[Label], probs: FloatArray) -> tuple[FloatArray, BoolArray]:
    from cleanlab.multilabel_classification.filter import find_label_issues  # type: ignore[import-untyped]
    from cleanlab.multilabel_classification.rank import get_label_quality_scores  # type: ignore[import-untyped]

    labels = [[g] if isinstance(g, int) else list(g) for g in given]
    clipped = np.clip(probs, 1e-6, 1 - 1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scores = get_label_quality_scores(labels, clipped, method=RANKING_METHOD)
        is_issue = find_label_issues(labels, clipped, n_jobs=1)
    return np.asarray(scores, dtype=np.float64), np.asarray(is_issue, dtype=bool)


# --- near-duplicates ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class NearDuplicates:
    """``group[i]``: the group of record ``i`` (records with identical normalised texts share
    one); ``pairs``: near-identical groups ``(a, b, jaccard)`` with ``a < b``."""

    group: IntArray
    pairs: tuple[tuple[int, int, float], ...]


def normalise_text(text: str) -> str:
    """What near-duplicate detection compares: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def find_near_duplicates(
    texts: Sequence[str],
    *,
    threshold: float = 0.8,
    shingle: int = SHINGLE,
    n_hashes: int = N_HASHES,
    bands: int = BANDS,
    window: int = 50,
    random_state: int = 0,
) -> NearDuplicates:
    """Identical and near-identical texts, in time and memory linear in the records.

    Identical normalised texts form groups. Between groups, MinHash signatures of the
    character ``shingle``-grams (``n_hashes`` hashes in ``bands`` bands) propose candidate
    pairs: groups sharing a band's signature, each paired with up to ``window`` others of that
    bucket (so one huge bucket cannot grow quadratically). A candidate is kept when the exact
    Jaccard similarity of the two shingle sets is at least ``threshold``.
    """
    if not 0.0 < threshold <= 1.0:
        raise InvalidInput(f"threshold must be in (0, 1]; got {threshold}")
    if n_hashes % bands:
        raise InvalidInput(f"n_hashes ({n_hashes}) must be a multiple of bands ({bands})")
    index: dict[str, int] = {}
    group = np.empty(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        group[i] = index.setdefault(normalise_text(text), len(index))
    if threshold >= 1.0 or len(index) < 2:
        return NearDuplicates(group, ())
    shingles, starts = _shingle_hashes(list(index), shingle)
    signatures = _minhash(shingles, starts, n_hashes, random_state)
    candidates = _band_candidates(signatures, bands, window, random_state)
    sets: dict[int, Any] = {}

    def shingle_set(g: int) -> Any:
        if g not in sets:
            sets[g] = np.unique(shingles[starts[g] : starts[g + 1]])
        return sets[g]

    pairs = []
    for a, b in candidates:
        sa, sb = shingle_set(a), shingle_set(b)
        inter = len(np.intersect1d(sa, sb, assume_unique=True))
        jaccard = inter / (len(sa) + len(sb) - inter)
        if jaccard >= threshold:
            pairs.append((a, b, float(jaccard)))
    return NearDuplicates(group, tuple(pairs))


def _shingle_hashes(texts: list[str], k: int) -> tuple[npt.NDArray[np.uint64], IntArray]:
    """64-bit polynomial hashes of every character k-gram, concatenated; ``starts[g]`` ..
    ``starts[g + 1]`` are text ``g``'s (a text shorter than ``k`` is one shingle)."""
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    base = np.uint64(1_000_003)
    with np.errstate(over="ignore"):
        # h[p] = sum_j codes[p + j] * base^(k - 1 - j), for every p with a full window
        full = np.zeros(max(len(codes) - k + 1, 0), dtype=np.uint64)
        for j in range(k):
            full = full * base + codes[j : j + len(full)]
    counts = np.maximum(lengths - k + 1, 1)
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    out = np.empty(int(starts[-1]), dtype=np.uint64)
    long = lengths >= k
    if long.any():
        # the windows inside each long text: positions offsets[g] .. offsets[g] + counts[g]
        pos = np.repeat(offsets[:-1][long], counts[long]) + _ranges(counts[long])
        out[np.repeat(long, counts)] = full[pos]
    for g in np.flatnonzero(~long):
        h = np.uint64(len(texts[g]) + 1)
        with np.errstate(over="ignore"):
            for ch in texts[g]:
                h = h * base + np.uint64(ord(ch))
        out[starts[g]] = h
    return out, starts


def _ranges(counts: IntArray) -> IntArray:
    """0..c-1 for every c in ``counts``, concatenated."""
    ends = np.cumsum(counts)
    return np.arange(int(ends[-1]), dtype=np.int64) - np.repeat(ends - counts, counts)


def _minhash(
    shingles: npt.NDArray[np.uint64], starts: IntArray, n_hashes: int, random_state: int
) -> npt.NDArray[np.uint64]:
    """Per text the minimum of ``n_hashes`` random odd-multiplier hashes of its shingles."""
    rng = np.random.default_rng(random_state)
    a = rng.integers(0, 2**63, size=n_hashes, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 2**63, size=n_hashes, dtype=np.uint64)
    signatures = np.empty((len(starts) - 1, n_hashes), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for h in range(n_hashes):
            values = shingles * a[h] + b[h]
            signatures[:, h] = np.minimum.reduceat(values, starts[:-1])
    return signatures


def _band_candidates(
    signatures: npt.NDArray[np.uint64], bands: int, window: int, random_state: int
) -> list[tuple[int, int]]:
    n, n_hashes = signatures.shape
    rows = n_hashes // bands
    rng = np.random.default_rng(random_state + 1)
    mix = rng.integers(0, 2**63, size=rows, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    found = []
    with np.errstate(over="ignore"):
        for band in range(bands):
            keys = (signatures[:, band * rows : (band + 1) * rows] * mix).sum(
                axis=1, dtype=np.uint64
            )
            order = np.argsort(keys, kind="stable")
            sorted_keys = keys[order]
            for d in range(1, min(window, n - 1) + 1):
                same = sorted_keys[:-d] == sorted_keys[d:]
                if not same.any():
                    break
                a, b = order[:-d][same], order[d:][same]
                found.append(np.minimum(a, b) * n + np.maximum(a, b))
    if not found:
        return []
    codes = np.unique(np.concatenate(found))
    return [(int(c // n), int(c % n)) for c in codes]


def contradicting_neighbours(
    near: NearDuplicates, labels: Sequence[Hashable], *, max_neighbours: int = 10
) -> dict[int, tuple[int, ...]]:
    """record -> the (up to ``max_neighbours``) near-duplicates whose label differs from its
    own, most similar first (identical texts, then by Jaccard), ties by index."""
    members: dict[int, dict[Hashable, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, g in enumerate(near.group.tolist()):
        members[g][labels[i]].append(i)
    linked: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for a, b, similarity in near.pairs:
        linked[a].append((similarity, b))
        linked[b].append((similarity, a))
    found: dict[int, tuple[int, ...]] = {}
    for g, by_label in members.items():
        if len(by_label) == 1 and g not in linked:
            continue
        others = [g, *(o for _, o in sorted(linked.get(g, []), key=lambda p: (-p[0], p[1])))]
        for label, records in by_label.items():
            picked: list[int] = []
            for other in others:
                room = max_neighbours - len(picked)
                if room <= 0:
                    break
                differing = [
                    candidates[:room]
                    for other_label, candidates in members[other].items()
                    if other_label != label
                ]
                picked.extend(sorted(i for part in differing for i in part)[:room])
            if picked:
                for i in records:
                    found[i] = tuple(picked)
    return dict(sorted(found.items()))


__all__ = [
    "CONFIDENT_LEARNING",
    "NEAR_DUPLICATE",
    "RANKING_METHOD",
    "LabelErrors",
    "NearDuplicates",
    "SuspectedLabel",
    "contradicting_neighbours",
    "cross_val_probs",
    "find_label_errors",
    "find_near_duplicates",
    "fold_splits",
    "normalise_text",
]
