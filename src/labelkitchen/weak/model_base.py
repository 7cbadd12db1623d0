"""What every label model shares: scikit-learn's estimator contract, input checks, tie-breaking,
and persistence as JSON plus ``.npz`` (never pickle).

A label model is built with hyperparameters only (stored unchanged), learns from a label matrix in
``fit`` (learned attributes end in ``_``), and turns votes into class probabilities. Subclasses
implement ``_fit(data)`` on :class:`FitData` (statistics of ``L`` plus optional dev gold and class
balance) and ``_predict_proba(L)``.

Saved form: ``save(path)`` writes the directory ``path`` with ``model.json`` (registered name,
hyperparameters, JSON-able learned attributes) and ``arrays.npz`` (learned arrays, read back with
``allow_pickle=False``).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput, NotFitted
from labelkitchen.weak.labels import ABSTAIN, MAX_CLASSES
from labelkitchen.weak.matrix import LabelMatrix, as_label_matrix
from labelkitchen.weak.stats import LabelStats, compute_stats

TieBreak = Literal["random", "abstain", "first"]
FloatArray = npt.NDArray[np.float64]
LabelInput = LabelMatrix | LabelStats | npt.ArrayLike

_savez: Callable[..., None] = np.savez  # plain alias: numpy's stub mistypes **arrays
FORMAT = "labelkitchen.label_model"
FORMAT_VERSION = 1
_TIE_ATOL = 1e-9


@dataclass(frozen=True)
class FitData:
    """Everything ``fit`` received, checked and resolved: the votes (a matrix, or statistics
    summed over partitions) and, derived from them on first use, their ``stats``.

    ``class_balance`` is the given balance, else the one from dev gold, else ``None`` (the model
    estimates it or assumes uniform); ``class_balance_source`` says which
    (``"given"``, ``"dev"`` or ``None``).
    """

    votes: LabelMatrix | LabelStats
    n_classes: int
    class_balance: FloatArray | None
    class_balance_source: str | None
    L_dev: LabelMatrix | None
    y_dev: npt.NDArray[np.int64] | None

    @cached_property
    def stats(self) -> LabelStats:
        """The statistics of ``L`` (computed on first use: majority vote never needs them)."""
        votes = self.votes
        return votes if isinstance(votes, LabelStats) else compute_stats(votes)

    @property
    def n_lfs(self) -> int:
        return self.votes.n_lfs


class BaseLabelModel:
    """Base class of the label models; see the module documentation."""

    model_name: ClassVar[str] = ""
    n_classes: int | None
    random_state: int | None

    # scikit-learn style parameters -----------------------------------------------------------

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p for p in signature.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyperparameters as given to ``__init__``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise InvalidInput(
                    f"{type(self).__name__} has no parameter {name!r}; available: {valid}"
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # fitting and predicting ------------------------------------------------------------------

    def fit(
        self,
        L: LabelInput,
        *,
        L_dev: LabelMatrix | npt.ArrayLike | None = None,
        y_dev: npt.ArrayLike | None = None,
        class_balance: npt.ArrayLike | None = None,
    ) -> Self:
        """Learn from the votes ``L`` (a :class:`LabelMatrix`, a dense ``-1``-for-abstain array,
        or :class:`~labelkitchen.weak.stats.LabelStats` summed over partitions).

        ``L_dev``/``y_dev`` are votes and gold labels of a dev set; ``class_balance`` the known
        class proportions. Returns ``self``.
        """
        data = prepare_fit_data(
            L, n_classes=self.n_classes, L_dev=L_dev, y_dev=y_dev, class_balance=class_balance
        )
        self._fit(data)
        self.__dict__.pop("uncovered_balance_", None)
        uncovered = uncovered_balance(data)
        if uncovered is not None:
            self.uncovered_balance_ = uncovered
        return self

    def predict_proba(self, L: LabelMatrix | npt.ArrayLike) -> FloatArray:
        """Class probabilities, one row per record (rows sum to one)."""
        matrix = self._check_predict_input(L)
        probs = self._predict_proba(matrix)
        uncovered: FloatArray | None = getattr(self, "uncovered_balance_", None)
        if uncovered is not None:
            probs[matrix.votes_per_record() == 0] = uncovered
        return normalize_rows(probs)

    def predict(
        self, L: LabelMatrix | npt.ArrayLike, *, tie_break: TieBreak = "random"
    ) -> npt.NDArray[np.int64]:
        """The most probable class per record.

        Ties (equal top probabilities, e.g. a record no source voted on) are broken by
        ``tie_break``: ``"random"`` draws among the tied classes with ``random_state``,
        ``"first"`` takes the lowest class index, ``"abstain"`` returns ``-1``.
        """
        return break_ties(
            self.predict_proba(L), tie_break=tie_break, random_state=self.random_state
        )

    def _fit(self, data: FitData) -> None:
        raise NotImplementedError

    def _predict_proba(self, L: LabelMatrix) -> FloatArray:
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_classes_"):
            raise NotFitted(f"{type(self).__name__} is not fitted yet; call fit(L) first")

    def _check_predict_input(self, L: LabelMatrix | npt.ArrayLike) -> LabelMatrix:
        self._check_fitted()
        matrix = as_label_matrix(L)
        n_lfs: int = getattr(self, "n_lfs_")  # noqa: B009 - set by every _fit
        n_classes: int = getattr(self, "n_classes_")  # noqa: B009
        if matrix.n_lfs != n_lfs:
            raise InvalidInput(
                f"{type(self).__name__} was fitted on {n_lfs} LFs, got a matrix with {matrix.n_lfs}"
            )
        if matrix.max_label() >= n_classes:
            raise InvalidInput(
                f"the label matrix holds class {matrix.max_label()}, outside 0..{n_classes - 1}"
            )
        return matrix

    # persistence -----------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the model to the directory ``path`` (``model.json`` + ``arrays.npz``)."""
        self._check_fitted()
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        document, arrays = self.to_state()
        (directory / "model.json").write_text(json.dumps(document, indent=2, sort_keys=True))
        with (directory / "arrays.npz").open("wb") as handle:
            _savez(handle, **arrays)
        return directory

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a model written by :meth:`save`; it must be of this class."""
        document, arrays = read_state(path)
        model = model_from_state(document, arrays)
        if not isinstance(model, cls):
            raise InvalidInput(
                f"{path} holds a {document.get('model')!r} model, not {cls.model_name!r}"
            )
        return model

    def to_state(self, prefix: str = "") -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
        """The JSON document and named arrays that describe this fitted model."""
        attributes: dict[str, Any] = {}
        arrays: dict[str, npt.NDArray[Any]] = {}
        for name, value in vars(self).items():
            if not name.endswith("_") or name.startswith("_"):
                continue
            if isinstance(value, BaseLabelModel):
                nested, nested_arrays = value.to_state(prefix=f"{prefix}{name}/")
                attributes[name] = {"__model__": nested}
                arrays.update(nested_arrays)
            elif isinstance(value, np.ndarray):
                arrays[prefix + name] = value
                attributes[name] = {"__array__": prefix + name}
            else:
                attributes[name] = _jsonable(value, name)
        params = {k: _jsonable(v, k) for k, v in self.get_params().items()}
        document = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model": self.model_name,
            "params": params,
            "attributes": attributes,
        }
        return document, arrays


def read_state(path: str | Path) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
    """The JSON document and arrays stored by :meth:`BaseLabelModel.save` in ``path``."""
    directory = Path(path)
    json_path, npz_path = directory / "model.json", directory / "arrays.npz"
    if not json_path.is_file() or not npz_path.is_file():
        raise InvalidInput(f"{directory} is not a saved label model (needs model.json, arrays.npz)")
    document = json.loads(json_path.read_text())
    if document.get("format") != FORMAT or document.get("format_version") != FORMAT_VERSION:
        raise InvalidInput(
            f"{json_path} is not a labelkitchen label model of format version {FORMAT_VERSION}"
        )
    with np.load(npz_path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    return document, arrays


def model_from_state(
    document: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]
) -> BaseLabelModel:
    """Rebuild a fitted model from :meth:`BaseLabelModel.to_state` output."""
    from labelkitchen.weak.registry import get_model

    cls = get_model(str(document["model"]))
    model = cls(**document["params"])
    for name, value in document["attributes"].items():
        if isinstance(value, dict) and "__array__" in value:
            setattr(model, name, arrays[value["__array__"]])
        elif isinstance(value, dict) and "__model__" in value:
            setattr(model, name, model_from_state(value["__model__"], arrays))
        else:
            setattr(model, name, value)
    return model


def _jsonable(value: Any, name: str) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return [_jsonable(v, name) for v in value]
    if isinstance(value, list):
        return [_jsonable(v, name) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, name) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise InvalidInput(f"cannot save {name!r}: {type(value).__name__} is not JSON-serialisable")


# helpers shared by the models -------------------------------------------------------------------


def prepare_fit_data(
    L: LabelInput,
    *,
    n_classes: int | None,
    L_dev: LabelMatrix | npt.ArrayLike | None,
    y_dev: npt.ArrayLike | None,
    class_balance: npt.ArrayLike | None,
) -> FitData:
    """Check and resolve the arguments of ``fit`` (see :class:`FitData`)."""
    stats = L if isinstance(L, LabelStats) else as_label_matrix(L)
    if stats.n_lfs == 0:
        raise InvalidInput("the label matrix has no LFs (columns)")
    dev_matrix = None if L_dev is None else as_label_matrix(L_dev)
    gold = None if y_dev is None else np.asarray(y_dev).astype(np.int64).ravel()
    if (dev_matrix is None) != (gold is None):
        raise InvalidInput("pass L_dev and y_dev together, or neither")
    if dev_matrix is not None and gold is not None:
        if dev_matrix.n_records != gold.size:
            raise InvalidInput(
                f"L_dev has {dev_matrix.n_records} records but y_dev has {gold.size} labels"
            )
        if dev_matrix.n_lfs != stats.n_lfs:
            raise InvalidInput(f"L has {stats.n_lfs} LFs but L_dev has {dev_matrix.n_lfs}")
        if gold.size and gold.min() < ABSTAIN:
            raise InvalidInput("y_dev holds class indices (-1 marks a record without gold)")
    balance = None if class_balance is None else np.asarray(class_balance, dtype=np.float64)
    k = resolve_n_classes(n_classes, stats, dev_matrix, gold, balance)
    source: str | None = None
    if balance is not None:
        balance = check_class_balance(balance, k)
        source = "given"
    elif gold is not None and np.any(gold >= 0):
        known = gold[gold >= 0]
        balance = (np.bincount(known, minlength=k) + 1.0) / (known.size + k)
        source = "dev"
    return FitData(stats, k, balance, source, dev_matrix, gold)


def uncovered_balance(data: FitData) -> FloatArray | None:
    """With dev gold: the class shares among the dev records no LF voted on (add-one smoothed),
    the model's answer for such records. Records the LFs miss are not a sample of all records
    (a class whose LFs cover it well is rare among them), so neither the overall class balance
    nor a uniform guess is right there. ``None`` without dev records that no LF voted on."""
    if data.L_dev is None or data.y_dev is None:
        return None
    silent = (data.L_dev.votes_per_record() == 0) & (data.y_dev >= 0)
    if not silent.any():
        return None
    counts = np.bincount(data.y_dev[silent], minlength=data.n_classes).astype(np.float64)
    return np.asarray((counts + 1.0) / (counts.sum() + data.n_classes), dtype=np.float64)


def resolve_n_classes(
    n_classes: int | None,
    stats: LabelMatrix | LabelStats,
    L_dev: LabelMatrix | None,
    y_dev: npt.NDArray[np.int64] | None,
    class_balance: FloatArray | None,
) -> int:
    seen = max(
        stats.max_label(),
        L_dev.max_label() if L_dev is not None else ABSTAIN,
        int(y_dev.max()) if y_dev is not None and y_dev.size else ABSTAIN,
    )
    if n_classes is None:
        k = max(seen + 1, 2, class_balance.size if class_balance is not None else 0)
    else:
        k = int(n_classes)
        if not 2 <= k <= MAX_CLASSES:
            raise InvalidInput(f"n_classes must be in 2..{MAX_CLASSES}, got {n_classes}")
        if seen >= k:
            raise InvalidInput(f"n_classes={k} but class {seen} occurs in the votes or gold")
    return k


def check_class_balance(balance: FloatArray, n_classes: int) -> FloatArray:
    balance = np.asarray(balance, dtype=np.float64).ravel()
    if balance.size != n_classes:
        raise InvalidInput(f"class_balance needs {n_classes} entries, got {balance.size}")
    if np.any(~np.isfinite(balance)) or np.any(balance < 0) or not balance.sum() > 0:
        raise InvalidInput(f"class_balance must be non-negative and not all zero, got {balance}")
    if not np.isclose(balance.sum(), 1.0, atol=1e-6):
        raise InvalidInput(f"class_balance must sum to 1, got {balance.sum():.6g}")
    return np.asarray(balance / balance.sum(), dtype=np.float64)


def normalize_rows(probs: FloatArray) -> FloatArray:
    """Rows scaled to sum to one; an all-zero row becomes uniform."""
    probs = np.asarray(probs, dtype=np.float64)
    totals = probs.sum(axis=1, keepdims=True)
    uniform = np.full_like(probs, 1.0 / max(probs.shape[1], 1))
    safe = np.where(totals > 0, totals, 1.0)
    return np.asarray(np.where(totals > 0, probs / safe, uniform), dtype=np.float64)


_FEW_COLUMNS = 16


def vote_counts(L: LabelMatrix, n_classes: int) -> FloatArray:
    """``records x classes`` counts of the votes each record received (vectorised)."""
    cells, _, labels = L.to_triplets()
    cells *= n_classes  # each vote's (record, class) cell, built in place
    cells += labels
    flat = np.bincount(cells, minlength=L.n_records * n_classes)
    return flat.reshape(L.n_records, n_classes).astype(np.float64)


def clear_majority(votes: FloatArray) -> npt.NDArray[np.int64]:
    """Per record (a row of :func:`vote_counts`), the class with strictly the most votes, or
    ``-1`` where the top classes tie or nobody voted."""
    top = row_max(votes)[:, None]
    alone = row_sum((votes == top) & (top > 0)) == 1
    return np.where(alone, np.argmax(votes, axis=1), -1).astype(np.int64)


def row_max(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``values.max(axis=1)``: column by column while there are few columns (numpy reduces a
    short last axis one row at a time, several times slower on records x classes arrays)."""
    if values.ndim != 2 or not 0 < values.shape[1] <= _FEW_COLUMNS:
        return np.asarray(values.max(axis=1))
    out = values[:, 0].copy()
    for c in range(1, values.shape[1]):
        np.maximum(out, values[:, c], out=out)
    return out


def row_sum(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``values.sum(axis=1)`` added column by column in the same order (so the same floats)
    while there are few columns; booleans count as integers."""
    if values.ndim != 2 or not 0 < values.shape[1] <= _FEW_COLUMNS:
        return np.asarray(values.sum(axis=1))
    dtype = np.int64 if values.dtype == np.bool_ else values.dtype
    out = values[:, 0].astype(dtype)
    for c in range(1, values.shape[1]):
        np.add(out, values[:, c], out=out, casting="unsafe")
    return out


def softmax_rows(log_probs: FloatArray) -> FloatArray:
    shifted = log_probs - row_max(log_probs)[:, None]
    weights = np.exp(shifted)
    return np.asarray(weights / row_sum(weights)[:, None], dtype=np.float64)


def break_ties(
    probs: FloatArray, *, tie_break: TieBreak, random_state: int | None
) -> npt.NDArray[np.int64]:
    """Argmax per row with ties resolved as :meth:`BaseLabelModel.predict` describes."""
    if tie_break not in ("random", "abstain", "first"):
        raise InvalidInput(f"tie_break must be 'random', 'abstain' or 'first', got {tie_break!r}")
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    top = probs.max(axis=1, keepdims=True)
    tied = probs >= top - _TIE_ATOL
    if tie_break == "first":
        return np.asarray(np.argmax(tied, axis=1), dtype=np.int64)
    if tie_break == "abstain":
        winners = np.argmax(tied, axis=1)
        return np.asarray(np.where(tied.sum(axis=1) > 1, ABSTAIN, winners), dtype=np.int64)
    rng = np.random.default_rng(random_state)
    draws = np.where(tied, rng.random(probs.shape), -1.0)
    return np.asarray(np.argmax(draws, axis=1), dtype=np.int64)


__all__ = [
    "BaseLabelModel",
    "FitData",
    "TieBreak",
    "break_ties",
    "clear_majority",
    "model_from_state",
    "normalize_rows",
    "prepare_fit_data",
    "read_state",
    "row_max",
    "row_sum",
    "softmax_rows",
    "vote_counts",
]
