"""Active-learning simulation on labelled data: learning curves per strategy and seed.

One test split (stratified, fixed across strategies and seeds) is held out. For each seed, a
random seed set is labelled; then each round trains the baseline, records macro F1 on the test
split, scores the unlabelled pool with the strategy and "labels" the next batch from the known
labels, until the budget is spent. Features are TF-IDF fitted once on all texts (no labels are
used for that), so rounds only refit the logistic regression.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

from labelkitchen.errors import InvalidInput
from labelkitchen.learn.baseline import TextClassifier, TrainConfig
from labelkitchen.learn.strategies import get_strategy, select_batch


@dataclass(frozen=True)
class Curve:
    strategy: str
    seed: int
    points: list[tuple[int, float]]  # (number of labels, macro F1 on the test split)


def simulate(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    strategies: Sequence[str],
    seeds: int = 5,
    seed_size: int = 20,
    batch: int = 20,
    budget: int = 500,
    test_size: float = 0.3,
    diversity: bool = False,
    config: TrainConfig | None = None,
    on_point: Callable[[str, int, int, float], None] | None = None,
) -> list[Curve]:
    """Learning curves (see the module documentation)."""
    if len(texts) != len(labels):
        raise InvalidInput(f"{len(texts)} texts but {len(labels)} labels")
    names = sorted(set(labels))
    if len(names) < 2:
        raise InvalidInput("simulation needs at least two labels")
    for name in strategies:
        get_strategy(name)
    y = np.array([names.index(label) for label in labels])
    pool_idx, test_idx = train_test_split(
        np.arange(len(y)), test_size=test_size, stratify=y, random_state=0
    )
    if budget > len(pool_idx):
        raise InvalidInput(f"budget {budget} is more than the pool of {len(pool_idx)} records")
    config = config or TrainConfig()
    features = TextClassifier(config)._features().fit_transform(list(texts))
    X_pool, X_test, y_pool, y_test = (
        features[pool_idx],
        features[test_idx],
        y[pool_idx],
        y[test_idx],
    )
    curves = []
    for seed in range(seeds):
        start = _seed_set(y_pool, seed_size, seed)
        for name in strategies:
            points = _run(
                name,
                X_pool,
                y_pool,
                X_test,
                y_test,
                start,
                batch,
                budget,
                seed,
                diversity,
                config,
                len(names),
            )
            for n, f1 in points:
                if on_point is not None:
                    on_point(name, seed, n, f1)
            curves.append(Curve(name, seed, points))
    return curves


def _seed_set(y: np.ndarray[Any, Any], size: int, seed: int) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    for _ in range(100):
        chosen = rng.choice(len(y), size=min(size, len(y)), replace=False)
        if len(np.unique(y[chosen])) >= 2:
            return chosen
    raise InvalidInput("could not draw a seed set with two labels; raise --seed-size")


def _run(
    name: str,
    X_pool: Any,
    y_pool: np.ndarray[Any, Any],
    X_test: Any,
    y_test: np.ndarray[Any, Any],
    start: np.ndarray[Any, Any],
    batch: int,
    budget: int,
    seed: int,
    diversity: bool,
    config: TrainConfig,
    n_classes: int,
) -> list[tuple[int, float]]:
    strategy = get_strategy(name)
    labelled = list(start)
    points = []
    while True:
        model = LogisticRegression(
            C=config.C,
            class_weight=config.class_weight,
            max_iter=config.max_iter,
            random_state=config.random_state,
        )
        model.fit(X_pool[labelled], y_pool[labelled])
        predicted = model.predict(X_test)
        points.append(
            (
                len(labelled),
                float(
                    f1_score(
                        y_test,
                        predicted,
                        average="macro",
                        labels=list(range(n_classes)),
                        zero_division=0,
                    )
                ),
            )
        )
        if len(labelled) >= budget:
            return points
        probs = np.zeros((X_pool.shape[0], n_classes))
        probs[:, model.classes_] = model.predict_proba(X_pool)
        scores = strategy(probs, n=X_pool.shape[0], random_state=seed * 1000 + len(labelled))
        take = min(batch, budget - len(labelled))
        chosen = select_batch(
            scores,
            take,
            features=X_pool if diversity else None,
            diversity=diversity,
            exclude=labelled,
            random_state=seed,
        )
        labelled.extend(int(i) for i in chosen)


def curves_to_json(curves: Sequence[Curve], settings: dict[str, Any]) -> dict[str, Any]:
    """``{"settings": ..., "curves": {strategy: {seed: [[n_labels, macro_f1], ...]}}}``."""
    out: dict[str, dict[str, list[list[float]]]] = {}
    for curve in curves:
        out.setdefault(curve.strategy, {})[str(curve.seed)] = [[n, f] for n, f in curve.points]
    return {"settings": settings, "curves": out}


def plot_curves(data: dict[str, Any], path: Any, *, title: str = "") -> None:
    """Mean learning curve per strategy with a band of one standard deviation, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=120)
    for strategy, by_seed in sorted(data["curves"].items()):
        runs = list(by_seed.values())
        xs = [n for n, _ in runs[0]]
        ys = np.array([[f for _, f in run][: len(xs)] for run in runs])
        mean, std = ys.mean(axis=0), ys.std(axis=0)
        axes.plot(xs, mean, label=strategy)
        axes.fill_between(xs, mean - std, mean + std, alpha=0.15)
    axes.set_xlabel("labelled records")
    axes.set_ylabel("macro F1 on the test split")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


__all__ = ["Curve", "curves_to_json", "plot_curves", "simulate"]
