"""Query strategies: registered, versioned functions from probabilities to scores.

A strategy scores every pool record (higher = ask a human sooner). :func:`select_batch` turns
scores into a batch, optionally diversity-aware: among the most uncertain candidates it picks a
spread-out subset by k-means++ seeding over the features, so a batch is not 50 near-duplicates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from labelkitchen.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]
Strategy = Callable[..., FloatArray]
_REGISTRY: dict[str, Strategy] = {}


def register_strategy(name: str) -> Callable[[Strategy], Strategy]:
    def add(function: Strategy) -> Strategy:
        _REGISTRY[name] = function
        return function

    return add


def available_strategies() -> list[str]:
    return sorted(_REGISTRY)


def get_strategy(name: str) -> Strategy:
    """A strategy by versioned name (``"entropy.v1"``); a bare name takes its newest version."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    versions = sorted(n for n in _REGISTRY if n.split(".v")[0] == name)
    if versions:
        return _REGISTRY[versions[-1]]
    raise InvalidInput(f"unknown query strategy {name!r}; available: {available_strategies()}")


def _probs(probs: Any) -> FloatArray:
    array = np.asarray(probs, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] < 1:
        raise InvalidInput(f"probabilities must be records x classes, got shape {array.shape}")
    return array


@register_strategy("random.v1")
def random_scores(
    probs: Any = None, *, n: int | None = None, random_state: int | None = None, **_: Any
) -> FloatArray:
    size = n if n is not None else len(_probs(probs))
    return np.random.default_rng(random_state).random(size)


@register_strategy("least_confidence.v1")
def least_confidence(probs: Any, **_: Any) -> FloatArray:
    result: FloatArray = 1.0 - _probs(probs).max(axis=1)
    return result


@register_strategy("margin.v1")
def margin(probs: Any, **_: Any) -> FloatArray:
    p = _probs(probs)
    if p.shape[1] == 1:
        return 1.0 - np.abs(2 * p[:, 0] - 1)
    top2 = -np.partition(-p, 1, axis=1)[:, :2]
    return 1.0 - (top2[:, 0] - top2[:, 1])


@register_strategy("entropy.v1")
def entropy(probs: Any, **_: Any) -> FloatArray:
    p = np.clip(_probs(probs), 1e-12, 1.0)
    result: FloatArray = -(p * np.log(p)).sum(axis=1)
    return result


@register_strategy("lf_disagreement.v1")
def lf_disagreement(
    probs: Any = None, *, L: Any = None, n_classes: int | None = None, **_: Any
) -> FloatArray:
    """Vote entropy of the labelling functions on each record (0 where they agree or abstain).

    ``L`` is records x LFs with -1 for abstain (dense), or a
    :class:`~labelkitchen.weak.LabelMatrix`.
    """
    if L is None:
        raise InvalidInput("lf_disagreement needs the label matrix L (apply LFs first)")
    dense = L.to_dense() if hasattr(L, "to_dense") else np.asarray(L)
    k = n_classes or int(dense.max(initial=0)) + 1
    counts = np.stack([(dense == c).sum(axis=1) for c in range(k)], axis=1).astype(float)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    logs = np.log(np.where(shares > 0, shares, 1.0))
    result: FloatArray = -(shares * logs).sum(axis=1)
    return result


def select_batch(
    scores: Any,
    size: int,
    *,
    features: Any = None,
    diversity: bool = False,
    candidates: int = 10,
    exclude: Any = None,
    random_state: int | None = None,
) -> npt.NDArray[np.int64]:
    """Indices of the next ``size`` records: highest scores first, or with ``diversity`` a
    k-means++ spread over the ``candidates * size`` highest-scoring ones."""
    values = np.asarray(scores, dtype=np.float64).copy()
    if exclude is not None:
        values[np.asarray(exclude)] = -np.inf
    available = int(np.isfinite(values).sum())
    size = min(size, available)
    if size <= 0:
        return np.array([], dtype=np.int64)
    pool = min(available, max(size, candidates * size) if diversity else size)
    top = np.argpartition(-values, pool - 1)[:pool]
    top = top[np.argsort(-values[top], kind="stable")]
    if not diversity or features is None or pool <= size:
        return top[:size].astype(np.int64)
    return top[_kmeans_pp(_rows(features, top), size, random_state)].astype(np.int64)


def _rows(features: Any, index: npt.NDArray[np.int64]) -> Any:
    return features[index] if sparse.issparse(features) else np.asarray(features)[index]


def _kmeans_pp(X: Any, k: int, random_state: int | None) -> npt.NDArray[np.int64]:
    """k-means++ seeding: the first is the most uncertain, each next one far from those chosen.

    Sparse features stay sparse (TF-IDF rows have hundreds of thousands of columns): squared
    distances come from row norms and one sparse product per pick.
    """
    rng = np.random.default_rng(random_state)
    if sparse.issparse(X):
        rows = sparse.csr_matrix(X, dtype=np.float64)
        norms = np.asarray(rows.multiply(rows).sum(axis=1)).ravel()

        def dots(i: int) -> FloatArray:
            return np.asarray((rows @ rows[i].T).todense()).ravel()

    else:
        dense = np.asarray(X, dtype=np.float64)
        norms = (dense**2).sum(axis=1)

        def dots(i: int) -> FloatArray:
            result: FloatArray = dense @ dense[i]
            return result

    chosen = [0]
    distance = norms + norms[0] - 2 * dots(0)
    for _ in range(1, k):
        weights = np.clip(distance, 0, None)
        weights[chosen] = 0
        total = weights.sum()
        pick = (
            int(rng.choice(len(weights), p=weights / total))
            if total > 0
            else int(next(i for i in range(len(weights)) if i not in chosen))
        )
        chosen.append(pick)
        distance = np.minimum(distance, norms + norms[pick] - 2 * dots(pick))
    return np.array(chosen, dtype=np.int64)


__all__ = [
    "available_strategies",
    "entropy",
    "get_strategy",
    "least_confidence",
    "lf_disagreement",
    "margin",
    "random_scores",
    "register_strategy",
    "select_batch",
]
