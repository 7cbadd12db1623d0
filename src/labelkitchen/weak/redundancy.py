"""Near-copies among labelling functions: finding them and counting each group once.

Every simple label model assumes the LFs err independently given the true class. Two LFs that
are near-copies of each other (two keyword lists sharing most of their words, a regex and its
refinement) break that: a model counts their shared evidence twice, and where such a pair faces
one other LF in a tie, the pair wins for no reason. :func:`near_copy_groups` finds them from the
votes alone, and :func:`merge_columns` turns each group into one column, so a model fitted on
the merged votes weighs a group once.

Two LFs count as near-copies when, among the records majority vote assigns to the same class
(records with a clear majority only), they fire together far more often than two LFs that err
independently would: the Mantel-Haenszel odds ratio of "a fires" and "b fires", pooled over the
classes, is at least ``min_odds_ratio`` (conditioning on a class that their own votes decide
makes independent LFs look *negatively* associated, so a large positive ratio is not chance),
or they fire on nearly the same records (Jaccard index at least ``min_jaccard``: an exact copy
of a rule that covers most of its class leaves too few records without it for the odds ratio),
and where both fire they give the same class at least ``min_agreement`` of the time (a copy
nearly always does; two good crowd workers given the same batches of items fire together too,
but disagree now and then, and stay apart). Groups are the connected pairs; a merged column
takes, on each record, the vote of the group's first LF (in column order) that voted.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from labelkitchen.weak.matrix import LabelMatrix
from labelkitchen.weak.model_base import clear_majority, vote_counts
from labelkitchen.weak.stats import LabelStats, merge_stats

MAX_CELLS = 20_000_000
"""Above ``classes x LFs x LFs`` pair counts, no groups are looked for (each LF stays its own)."""

MAX_ROWS = 5_000
"""Distinct rows the pairwise tables are counted on, at most (evenly spaced, with their counts:
enough to tell a near-copy's odds ratio of 50 from independence)."""


def near_copy_groups(
    stats: LabelStats,
    n_classes: int,
    *,
    min_odds_ratio: float = 50.0,
    min_agreement: float = 0.98,
    min_jaccard: float = 0.95,
) -> npt.NDArray[np.int64]:
    """Per LF, the index of the first LF of its group (its own index when it has no copy)."""
    n_lfs = stats.n_lfs
    groups = np.arange(n_lfs, dtype=np.int64)
    if n_lfs < 2 or stats.n_unique == 0:
        return groups
    if n_classes * n_lfs * n_lfs > MAX_CELLS:
        return groups
    rows = stats.matrix()
    weights = stats.counts.astype(np.float64)
    if rows.n_records > MAX_ROWS:
        keep = np.linspace(0, rows.n_records - 1, MAX_ROWS).astype(np.int64)
        rows, weights = rows.take_records(keep), weights[keep]
    record, lf, label = rows.to_triplets()
    label = label.astype(np.int64)
    majority = clear_majority(vote_counts(rows, n_classes))
    clear = majority >= 0
    # (a) firings stratified by the record's majority class: column lf * K + class
    inside = majority[record] >= 0
    both, fires = _pair_counts(
        record[inside], lf[inside] * n_classes + majority[record[inside]], weights, n_lfs, n_classes
    )
    sizes = np.bincount(majority[clear], weights=weights[clear], minlength=n_classes)
    numerator = np.zeros((n_lfs, n_lfs))
    denominator = np.zeros((n_lfs, n_lfs))
    for c in np.flatnonzero(sizes > 0):
        n11, f, total = both[c], fires[c], float(sizes[c])
        only_a = f[:, None] - n11
        only_b = f[None, :] - n11
        neither = total - f[:, None] - f[None, :] + n11
        numerator += n11 * neither / total
        denominator += only_a * only_b / total
    odds = (numerator + 0.5) / (denominator + 0.5)
    # (b) agreement where both fire: column lf * K + the class it voted
    same_class, _ = _pair_counts(record, lf * n_classes + label, weights, n_lfs, n_classes)
    same = same_class.sum(axis=0)
    co = _pair_counts(record, lf, weights, n_lfs, 1)[0][0]  # both fire, whatever they vote
    agreement = np.divide(same, co, out=np.zeros_like(same), where=co > 0)
    fired_alone = np.diag(co)
    jaccard = np.divide(
        co, fired_alone[:, None] + fired_alone[None, :] - co, out=np.zeros_like(co), where=co > 0
    )
    dependent = (odds >= min_odds_ratio) | (jaccard >= min_jaccard)
    linked = dependent & (agreement >= min_agreement) & (co > 0)
    np.fill_diagonal(linked, False)
    if not linked.any():
        return groups
    _, labels = sp.csgraph.connected_components(sp.csr_array(linked), directed=False)
    first = np.full(int(labels.max()) + 1, n_lfs, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(n_lfs, dtype=np.int64))
    return np.asarray(first[labels], dtype=np.int64)


def merge_columns(L: LabelMatrix, groups: npt.NDArray[np.int64]) -> LabelMatrix:
    """``L`` with one column per group (groups in order of their first LF): on each record the
    vote of the group's first LF that voted."""
    representatives, column_of = np.unique(groups, return_inverse=True)
    n_groups = int(representatives.size)
    if n_groups == L.n_lfs:
        return L
    rows, cols, labels = L.to_triplets()  # row-major, columns ascending within a row
    cells = rows * n_groups + column_of[cols]
    _, first = np.unique(cells, return_index=True)
    return LabelMatrix.from_triplets(
        rows[first],
        column_of[cols[first]],
        labels[first],
        shape=(L.n_records, n_groups),
    )


def merge_stats_columns(stats: LabelStats, groups: npt.NDArray[np.int64]) -> LabelStats:
    """:func:`merge_columns` applied to statistics (rows that become equal are summed)."""
    if np.unique(groups).size == stats.n_lfs:
        return stats
    merged = merge_columns(stats.matrix(), groups).to_dense()
    return merge_stats([LabelStats(merged, stats.counts)])


def _pair_counts(
    record: npt.NDArray[np.int64],
    column: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float64],
    n_lfs: int,
    n_classes: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """For entries ``(record, lf * K + c)``, the weighted counts per class ``c`` of records on
    which both LFs of a pair have an entry with that class (``K x LFs x LFs``), and per class
    each LF's own count (``K x LFs``)."""
    n_records = int(record.max()) + 1 if record.size else 0
    width = n_lfs * n_classes
    indicator = sp.csr_array((np.ones(record.size), (record, column)), shape=(n_records, width))
    weighted = sp.csr_array((weights[record], (record, column)), shape=(n_records, width))
    product = (indicator.T @ weighted).tocoo()
    a, b = product.row.astype(np.int64), product.col.astype(np.int64)
    keep = a % n_classes == b % n_classes
    both = np.zeros((n_classes, n_lfs, n_lfs))
    both[a[keep] % n_classes, a[keep] // n_classes, b[keep] // n_classes] = product.data[keep]
    own = np.zeros((n_classes, n_lfs))
    np.add.at(own, (column % n_classes, column // n_classes), weights[record])
    return both, own


__all__ = ["MAX_CELLS", "MAX_ROWS", "merge_columns", "merge_stats_columns", "near_copy_groups"]
