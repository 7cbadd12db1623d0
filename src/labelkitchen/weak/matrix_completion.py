"""Matrix completion: source accuracies from how sources agree, the model Snorkel's LabelModel
fits, written on numpy and scipy (no torch).

Let ``psi(L)`` be the one-hot votes of a record (``n_lfs * K`` indicators; abstains are all
zero) and ``O = E[psi psi^T]`` their overlap matrix, computed once from the statistics of ``L``.
If sources are conditionally independent given the true class ``Y``, every off-diagonal block is

    O[i, j] = mu_i diag(p) mu_j^T        (i != j)

with ``mu_j[l, y] = P(source j votes l | Y = y)`` and ``p`` the class balance, and the diagonal
gives the first moments ``P(source j votes l) = sum_y p_y mu_j[l, y]``. ``fit`` finds ``mu`` in
``[0, 1]`` minimising the squared error of both (L-BFGS-B with the analytic gradient), from a
start in which every source is right with probability ``init_accuracy``, which selects the
solution where sources are better than chance. Cost per iteration depends on ``n_lfs`` and
``K`` only, never on the number of records.

Predicting combines the votes naive-Bayes style: ``log p_y + sum_j log mu_j[vote_j, y]``. With
``abstain="outcome"`` an abstain contributes ``log P(abstain | y) = log(1 - sum_l mu_j[l, y])``
too; ``"ignore"`` (Snorkel's choice) leaves abstains out.

Without a given or dev-gold class balance, ``p`` is uniform (as in Snorkel); with
``estimate_balance=True`` fitting ``mu`` alternates with setting ``p`` to the mean posterior over
the training records for ``balance_rounds`` rounds. On the WRENCH sets this estimate was worse
than uniform, hence the default.

``l2`` pulls ``mu`` towards its start. Sources that rarely overlap leave ``mu`` barely
identified; without the pull the fit drifts (WRENCH TREC: 34% accuracy at ``l2=0``, 58% at
``0.1``, majority vote 61%).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy.optimize import minimize

from labelkitchen.errors import InvalidInput
from labelkitchen.weak.matrix import LabelMatrix
from labelkitchen.weak.model_base import BaseLabelModel, FitData, FloatArray, softmax_rows
from labelkitchen.weak.registry import register_model

_MU_FLOOR = 0.01  # probabilities are clipped to [0.01, 0.99] when predicting, as Snorkel does


@register_model("matrix_completion.v1")
class MatrixCompletion(BaseLabelModel):
    """Fit ``P(vote | class)`` per source from agreement statistics; see the module docs.

    Learned attributes: ``mu_`` (``n_lfs x K x K``, ``[j, l, y] = P(vote l | class y)``),
    ``class_balance_``, ``loss_`` (final relative fitting error), ``n_iter_``.
    """

    def __init__(
        self,
        *,
        n_classes: int | None = None,
        abstain: Literal["ignore", "outcome"] = "ignore",
        estimate_balance: bool = False,
        init_accuracy: float = 0.7,
        l2: float = 0.1,
        balance_rounds: int = 3,
        max_iter: int = 500,
        random_state: int | None = None,
    ) -> None:
        self.n_classes = n_classes
        self.abstain = abstain
        self.estimate_balance = estimate_balance
        self.init_accuracy = init_accuracy
        self.l2 = l2
        self.balance_rounds = balance_rounds
        self.max_iter = max_iter
        self.random_state = random_state

    def _fit(self, data: FitData) -> None:
        self._check_params()
        k = data.n_classes
        stats = data.stats
        n_lfs = stats.n_lfs
        n_records = max(stats.n_records, 1)
        overlaps = stats.overlaps(k) / n_records
        first = np.diag(overlaps).copy()
        mask = np.ones_like(overlaps)
        for j in range(n_lfs):
            mask[j * k : (j + 1) * k, j * k : (j + 1) * k] = 0.0

        if data.class_balance is not None:
            balance, rounds = data.class_balance, 1
        else:
            balance = np.full(k, 1.0 / k)
            rounds = 1 + max(self.balance_rounds, 0) if self.estimate_balance else 1
        mu = _initial_mu(first, balance, n_lfs, k, self.init_accuracy)
        anchor = mu.copy()
        rows = stats.matrix()
        weights = stats.counts.astype(np.float64)
        loss, n_iter = 0.0, 0
        for round_index in range(rounds):
            mu, loss, iters = _fit_mu(
                mu, anchor, overlaps, first, mask, balance, self.l2, self.max_iter
            )
            n_iter += iters
            if round_index < rounds - 1:
                mu3 = mu.reshape(n_lfs, k, k)
                posterior = _posterior(rows, mu3, balance, self.abstain)
                updated = (weights @ posterior) / weights.sum()
                balance = np.clip(updated, 1e-3, None)
                balance = balance / balance.sum()
        self.n_classes_ = k
        self.n_lfs_ = n_lfs
        self.mu_ = mu.reshape(n_lfs, k, k)
        self.class_balance_ = np.asarray(balance, dtype=np.float64)
        self.loss_ = float(loss)
        self.n_iter_ = n_iter

    def _check_params(self) -> None:
        if self.abstain not in ("ignore", "outcome"):
            raise InvalidInput(f"abstain must be 'ignore' or 'outcome', got {self.abstain!r}")
        if not 0.0 < self.init_accuracy < 1.0:
            raise InvalidInput(f"init_accuracy must lie in (0, 1), got {self.init_accuracy}")
        if self.l2 < 0:
            raise InvalidInput(f"l2 must be non-negative, got {self.l2}")

    def _predict_proba(self, L: LabelMatrix) -> FloatArray:
        return _posterior(L, self.mu_, self.class_balance_, self.abstain)


def _initial_mu(
    first: FloatArray, balance: FloatArray, n_lfs: int, k: int, accuracy: float
) -> FloatArray:
    """Each vote ``l`` of source ``j`` is right with probability ``accuracy``; the remaining mass
    is spread over the other classes in proportion to their balance. Matches the first moments."""
    rates = first.reshape(n_lfs, k)  # P(source j votes l)
    mu = np.zeros((n_lfs, k, k))
    for y in range(k):
        others = 1.0 - balance[y]
        mu[:, y, y] = accuracy * rates[:, y] / balance[y]
        for label in range(k):
            if label != y:
                mu[:, label, y] = (1.0 - accuracy) * rates[:, label] / max(others, 1e-12)
    return np.clip(mu, 0.0, 1.0).reshape(n_lfs * k, k)


def _fit_mu(
    start: FloatArray,
    anchor: FloatArray,
    overlaps: FloatArray,
    first: FloatArray,
    mask: FloatArray,
    balance: FloatArray,
    l2: float,
    max_iter: int,
) -> tuple[FloatArray, float, int]:
    """Minimise the moment-matching loss over the rows of ``mu`` of votes that occur at all.

    A vote never cast has ``P(vote | y) = 0`` for every ``y``; its row and column of ``O`` are
    zero, so the problem shrinks to the votes that occur (one per source for the usual
    single-label keyword rule), whatever ``K``.
    """
    active = np.flatnonzero(first > 0)
    mu = np.zeros_like(start)
    if active.size == 0:
        return mu, 0.0, 0
    target = (mask * overlaps)[np.ix_(active, active)]
    keep = mask[np.ix_(active, active)]
    moments = first[active]
    prior = anchor[active]
    scale = float((target**2).sum() + (moments**2).sum()) or 1.0
    shape = (active.size, start.shape[1])

    def objective(flat: FloatArray) -> tuple[float, FloatArray]:
        sub = flat.reshape(shape)
        scaled = sub * balance[None, :]
        residual = target - keep * (scaled @ sub.T)
        moment = moments - sub @ balance
        drift = sub - prior
        value = (residual**2).sum() + (moment**2).sum() + l2 * (drift**2).sum()
        grad = -4.0 * residual @ scaled - 2.0 * np.outer(moment, balance) + 2.0 * l2 * drift
        return float(value / scale), np.asarray(grad.ravel() / scale, dtype=np.float64)

    initial = start[active].ravel()
    result: Any = minimize(
        objective,
        initial,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, 1.0)] * initial.size,
        options={"maxiter": max_iter, "ftol": 1e-14, "gtol": 1e-12},
    )
    mu[active] = np.asarray(result.x, dtype=np.float64).reshape(shape)
    return mu, float(result.fun), int(result.nit)


def _posterior(L: LabelMatrix, mu: FloatArray, balance: FloatArray, abstain: str) -> FloatArray:
    n_lfs, k, _ = mu.shape
    clipped = np.clip(mu, _MU_FLOOR, 1.0 - _MU_FLOOR)
    log_votes = np.log(clipped)  # source, vote, class
    base = np.log(np.clip(balance, 1e-12, None))
    if abstain == "outcome":
        silent = np.clip(1.0 - mu.sum(axis=1), _MU_FLOOR, 1.0 - _MU_FLOOR)  # source, class
        log_silent = np.log(silent)
        base = base + log_silent.sum(axis=0)
        log_votes = log_votes - log_silent[:, None, :]
    table = log_votes.reshape(n_lfs * k, k)
    scores = np.asarray(L.one_hot(k) @ table, dtype=np.float64) + base[None, :]
    return softmax_rows(scores)


__all__ = ["MatrixCompletion"]
