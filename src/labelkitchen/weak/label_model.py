"""The recommended default: pick a label model on dev gold, never worse than majority vote there.

Without dev gold, :class:`LabelModel` fits ``default``: majority vote whose ties are broken by
``default_tie_break`` (the accuracy-weighted vote), checked by ``default_tie_check``
(Dawid-Skene): it decides a tie only where both learned models pick the same class (else the
tie stays a tie), and with ``default_overrule`` it follows a clear majority except where both
models rate one other class strictly highest. On synthetic LF sets the
unsupervised models that reweight every vote sometimes fell far below majority vote, and either
tie-breaker alone fell below it on some (the weighted vote on one-sided LFs over three classes,
Dawid-Skene on TREC); checked by each other they stayed at or above it on the WRENCH, crowd
and eight fixed synthetic LF sets (docs/weak-supervision.md lists them). Near-copy LFs are
merged before the tie-breakers are fitted, and a tie-breaker that overturns many clear
majorities is dropped (see :mod:`~labelkitchen.weak.majority`): on 400 random LF sets drawn
after these settings were chosen, that took the sets where the default fell more than 0.5
points below majority vote from 21 to 2. With dev gold it fits every candidate (models and their
main settings, each with the class balance from dev gold and with a uniform one), scores each on
the dev records with ``metric``, and keeps the best, but only if it beats majority vote by more
than chance: in ``n_bootstrap`` paired resamples of the dev records it must beat majority vote in
at least a share ``Phi(confidence)`` of them (84% for ``confidence=1``), so a lucky dev set does
not pull the choice away from the baseline. Candidates that learn from the dev gold itself (the
weighted vote with ``accuracy_source="dev"``) are scored by ``n_folds``-fold cross-fitting on the
dev records, so they are not graded on what they were taught.

Scores use expected counts under random tie-breaking (a record whose top classes tie counts as
each tied class with equal share), so they do not depend on a random draw. Dev records no LF
voted on count as a uniformly random guess for every candidate: the choice rests on the records
the LFs cover, not on how a candidate guesses the rest. ``metric`` is ``"accuracy"``,
``"macro_f1"``, or ``"f1"`` (F1 of class 1, the positive class of a binary task).
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput
from labelkitchen.weak.matrix import LabelMatrix
from labelkitchen.weak.model_base import BaseLabelModel, FitData, FloatArray
from labelkitchen.weak.registry import get_model, register_model

CandidateSpec = tuple[str, dict[str, Any]]

DEFAULT_CANDIDATES: tuple[CandidateSpec, ...] = (
    ("majority_vote.v1", {}),
    ("majority_vote.v1", {"tie_break_model": "weighted_vote.v1"}),
    (
        "majority_vote.v1",
        {"tie_break_model": "weighted_vote.v1", "tie_break_check": "dawid_skene.v1"},
    ),
    (
        "majority_vote.v1",
        {
            "tie_break_model": "weighted_vote.v1",
            "tie_break_check": "dawid_skene.v1",
            "tie_break_overrule": True,
        },
    ),
    ("weighted_vote.v1", {"accuracy_source": "agreement"}),
    ("weighted_vote.v1", {"accuracy_source": "agreement", "one_sided": "free"}),
    ("weighted_vote.v1", {"accuracy_source": "dev"}),
    ("dawid_skene.v1", {"abstain": "outcome"}),
    ("matrix_completion.v1", {"l2": 0.0}),
    ("matrix_completion.v1", {"l2": 0.1}),
    ("matrix_completion.v1", {"l2": 1.0}),
)
"""Candidates tried when dev gold is given; majority vote is always the baseline."""

_BASELINE = "majority_vote.v1"
Metric = Literal["accuracy", "macro_f1", "f1"]
Balance = Literal["dev", "uniform"]


@register_model("label_model.v1")
class LabelModel(BaseLabelModel):
    """Chooses and wraps one label model; see the module documentation.

    ``candidates`` is a list of registered names or ``(name, hyperparameters)`` pairs (``None``:
    :data:`DEFAULT_CANDIDATES`); ``balances`` the class balances each is tried with when dev gold
    is given (a class balance passed to ``fit`` replaces them). Learned attributes: ``model_``
    (the fitted chosen model), ``selected_`` (its description), ``scores_`` (dev score per
    candidate; empty without dev gold), ``class_balance_``. ``default`` names the model fitted
    without dev gold; when it is majority vote, ``default_tie_break`` names the model that
    breaks its ties (``None``: a coin), ``default_tie_check`` the model that must agree
    for a tie to be broken (``None``: no check), and ``default_overrule`` whether the two,
    where they agree, also overrule a clear majority.
    """

    def __init__(
        self,
        *,
        n_classes: int | None = None,
        candidates: Sequence[Any] | None = None,
        balances: Sequence[Balance] = ("dev", "uniform"),
        metric: Metric = "accuracy",
        default: str = "majority_vote.v1",
        default_tie_break: str | None = "weighted_vote.v1",
        default_tie_check: str | None = "dawid_skene.v1",
        default_overrule: bool = True,
        confidence: float = 1.0,
        n_bootstrap: int = 500,
        n_folds: int = 5,
        random_state: int | None = None,
    ) -> None:
        self.n_classes = n_classes
        self.candidates = candidates
        self.balances = balances
        self.metric = metric
        self.default = default
        self.default_tie_break = default_tie_break
        self.default_tie_check = default_tie_check
        self.default_overrule = default_overrule
        self.confidence = confidence
        self.n_bootstrap = n_bootstrap
        self.n_folds = n_folds
        self.random_state = random_state

    def _fit(self, data: FitData) -> None:
        if self.metric not in ("accuracy", "macro_f1", "f1"):
            raise InvalidInput(
                f"metric must be 'accuracy', 'macro_f1' or 'f1', got {self.metric!r}"
            )
        specs = self._candidate_specs()
        has_gold = data.y_dev is not None and bool(np.any(data.y_dev >= 0))
        self.scores_: dict[str, float] = {}
        if not has_gold or data.L_dev is None or data.y_dev is None:
            given = data.class_balance if data.class_balance_source == "given" else None
            params = self._default_params()
            model = self._build(self.default, params, data.n_classes)
            model.fit(data.votes, class_balance=given)
            self.selected_ = describe(self.default, params)
        else:
            known = np.flatnonzero(data.y_dev >= 0)
            L_dev, y_dev = data.L_dev.take_records(known), data.y_dev[known]
            uncovered = L_dev.votes_per_record() == 0
            shares: dict[str, FloatArray] = {}
            fitted: dict[str, BaseLabelModel] = {}
            for (name, params), (balance_name, balance) in self._grid(specs, data):
                label = describe(name, params, balance_name)
                model = self._build(name, params, data.n_classes)
                model.fit(data.stats, L_dev=L_dev, y_dev=y_dev, class_balance=balance)
                fitted[label] = model
                if learns_from_dev(model):
                    probs = self._cross_fit(name, params, data, L_dev, y_dev, balance)
                else:
                    probs = model.predict_proba(L_dev)
                shares[label] = tie_shares(probs)
                shares[label][uncovered] = 1.0 / data.n_classes  # a guess for every candidate
            self.selected_ = self._select(shares, y_dev, data.n_classes)
            model = fitted[self.selected_]
        self.model_ = model
        self.n_classes_ = data.n_classes
        self.n_lfs_ = data.n_lfs
        self.class_balance_ = np.asarray(getattr(model, "class_balance_"), dtype=np.float64)  # noqa: B009

    def _grid(
        self, specs: list[CandidateSpec], data: FitData
    ) -> list[tuple[CandidateSpec, tuple[str, FloatArray | None]]]:
        if data.class_balance_source == "given":
            balances: list[tuple[str, FloatArray | None]] = [("given", data.class_balance)]
        else:
            balances = []
            for name in self.balances:
                if name == "dev":
                    balances.append(("dev", None))
                elif name == "uniform":
                    balances.append(("uniform", np.full(data.n_classes, 1.0 / data.n_classes)))
                else:
                    raise InvalidInput(f"balances holds 'dev' or 'uniform', got {name!r}")
            if not balances:
                raise InvalidInput("balances must name at least one class balance")
        return [(spec, balance) for spec in specs for balance in balances]

    def _candidate_specs(self) -> list[CandidateSpec]:
        raw = DEFAULT_CANDIDATES if self.candidates is None else self.candidates
        specs: list[CandidateSpec] = []
        for entry in raw:
            if isinstance(entry, str):
                specs.append((entry, {}))
                continue
            if len(entry) != 2 or not isinstance(entry[0], str) or not isinstance(entry[1], dict):
                raise InvalidInput(
                    f"a candidate is a model name or a (name, params) pair, got {entry!r}"
                )
            specs.append((entry[0], dict(entry[1])))
        if not any(name == _BASELINE and not params for name, params in specs):
            specs.insert(0, (_BASELINE, {}))
        for name, _ in specs:
            if name == self.model_name:
                raise InvalidInput(f"{self.model_name} cannot be its own candidate")
            get_model(name)
        return specs

    def _default_params(self) -> dict[str, Any]:
        if self.default != _BASELINE or self.default_tie_break is None:
            return {}
        params: dict[str, Any] = {"tie_break_model": self.default_tie_break}
        if self.default_tie_check is not None:
            params["tie_break_check"] = self.default_tie_check
            if self.default_overrule:
                params["tie_break_overrule"] = True
        return params

    def _build(self, name: str, params: dict[str, Any], n_classes: int) -> BaseLabelModel:
        cls = get_model(name)
        return cls(**{**params, "n_classes": n_classes, "random_state": self.random_state})

    def _cross_fit(
        self,
        name: str,
        params: dict[str, Any],
        data: FitData,
        L_dev: LabelMatrix,
        y_dev: npt.NDArray[np.int64],
        balance: FloatArray | None,
    ) -> FloatArray:
        n_dev = y_dev.size
        order = np.random.default_rng(self.random_state).permutation(n_dev)
        probs = np.full((n_dev, data.n_classes), 1.0 / data.n_classes)
        if n_dev < 2:
            return probs
        for fold in np.array_split(order, max(2, min(self.n_folds, n_dev))):
            train = np.setdiff1d(order, fold)
            model = self._build(name, params, data.n_classes)
            model.fit(
                data.stats,
                L_dev=L_dev.take_records(train),
                y_dev=y_dev[train],
                class_balance=balance,
            )
            probs[fold] = model.predict_proba(L_dev.take_records(fold))
        return probs

    def _select(
        self, shares: dict[str, FloatArray], y_dev: npt.NDArray[np.int64], n_classes: int
    ) -> str:
        baseline_label = describe(_BASELINE, {}, "dev" if "dev" in self.balances else "uniform")
        if baseline_label not in shares:
            baseline_label = next(label for label in shares if label.startswith(_BASELINE + "()"))
        rng = np.random.default_rng(self.random_state)
        resamples = rng.multinomial(
            y_dev.size, np.full(y_dev.size, 1.0 / y_dev.size), size=max(self.n_bootstrap, 1)
        ).astype(np.float64)
        full = np.ones((1, y_dev.size))
        baseline_boot = dev_score(shares[baseline_label], y_dev, n_classes, self.metric, resamples)
        required = NormalDist().cdf(self.confidence)
        best = baseline_label
        best_score = float(
            dev_score(shares[baseline_label], y_dev, n_classes, self.metric, full)[0]
        )
        for label, share in shares.items():
            score = float(dev_score(share, y_dev, n_classes, self.metric, full)[0])
            self.scores_[label] = score
            if score <= best_score:
                continue
            boot = dev_score(share, y_dev, n_classes, self.metric, resamples)
            if float(np.mean(boot > baseline_boot)) >= required:
                best, best_score = label, score
        return best

    def _predict_proba(self, L: LabelMatrix) -> FloatArray:
        return self.model_.predict_proba(L)


def describe(name: str, params: dict[str, Any], balance: str | None = None) -> str:
    """A readable label for a candidate: ``weighted_vote.v1(accuracy_source='dev') @ dev``."""
    args = ", ".join(f"{k}={v!r}" for k, v in sorted(params.items()))
    label = f"{name}({args})"
    return label if balance is None else f"{label} @ {balance}"


def learns_from_dev(model: BaseLabelModel) -> bool:
    """Whether the fitted ``model`` took more than the class balance from the dev gold."""
    return getattr(model, "accuracy_source_", None) == "dev"


def tie_shares(probs: FloatArray) -> FloatArray:
    """Per record, each class's chance of being predicted when ties among the top classes are
    broken at random (rows sum to one)."""
    top = probs.max(axis=1, keepdims=True)
    tied = (probs >= top - 1e-9).astype(np.float64)
    return np.asarray(tied / tied.sum(axis=1, keepdims=True), dtype=np.float64)


def dev_score(
    shares: FloatArray,
    y: npt.NDArray[np.int64],
    n_classes: int,
    metric: str,
    weights: FloatArray,
) -> FloatArray:
    """``metric`` from expected counts, once per row of ``weights`` (record weights, e.g.
    bootstrap resampling counts)."""
    truth = np.zeros((y.size, n_classes))
    truth[np.arange(y.size), y] = 1.0
    hits = weights @ (shares * truth)  # resamples x classes: expected true positives
    predicted = weights @ shares
    actual = weights @ truth
    total = weights.sum(axis=1)
    if metric == "accuracy":
        return np.asarray(hits.sum(axis=1) / np.maximum(total, 1e-12), dtype=np.float64)
    denominator = predicted + actual
    f1 = np.where(denominator > 0, 2.0 * hits / np.maximum(denominator, 1e-12), 0.0)
    if metric == "f1":
        return np.asarray(f1[:, 1], dtype=np.float64)
    return np.asarray(f1.mean(axis=1), dtype=np.float64)


__all__ = [
    "DEFAULT_CANDIDATES",
    "LabelModel",
    "describe",
    "dev_score",
    "learns_from_dev",
    "tie_shares",
]
