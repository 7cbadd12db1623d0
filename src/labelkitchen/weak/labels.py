"""Label names and their integer indices: ``0..K-1`` inside the maths, ``ABSTAIN = -1``.

Users write labels as strings (``"spam"``); label models work on integers. A :class:`LabelIndex`
is the one place the two meet: labelling functions may return either a name from the index or an
integer in ``0..K-1``, and ``None`` (or ``ABSTAIN``) to abstain.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from labelkitchen.errors import InvalidInput

ABSTAIN = -1
"""The vote of a source that says nothing about a record (Snorkel's convention)."""

MAX_CLASSES = 126
"""Largest number of classes a :class:`~labelkitchen.weak.matrix.LabelMatrix` can hold (int8)."""


@dataclass(frozen=True)
class LabelIndex:
    """An ordered set of label names; position ``i`` is class ``i``.

    >>> index = LabelIndex(("ham", "spam"))
    >>> index.to_index("spam"), index.to_index(0), index.to_index(None)
    (1, 0, -1)
    """

    names: tuple[str, ...]
    _positions: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = tuple(self.names)
        if len(set(names)) != len(names):
            raise InvalidInput(f"label names must be unique, got {list(names)}")
        if len(names) > MAX_CLASSES:
            raise InvalidInput(f"at most {MAX_CLASSES} labels are supported, got {len(names)}")
        for name in names:
            if not isinstance(name, str):
                raise InvalidInput(f"label names must be strings, got {name!r}")
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "_positions", {name: i for i, name in enumerate(names)})

    @classmethod
    def of(cls, labels: LabelIndex | Iterable[str]) -> LabelIndex:
        """Return ``labels`` as a :class:`LabelIndex` (a sequence of names becomes one)."""
        if isinstance(labels, LabelIndex):
            return labels
        if isinstance(labels, str):
            raise InvalidInput(f"labels must be a sequence of names, got the string {labels!r}")
        return cls(tuple(labels))

    @property
    def n_classes(self) -> int:
        return len(self.names)

    def to_index(self, label: object) -> int:
        """Map a label name, an integer class or ``None`` to ``0..K-1`` or ``ABSTAIN``."""
        return to_index(label, self)

    def to_name(self, index: int) -> str | None:
        """Map ``0..K-1`` to the label name and ``ABSTAIN`` to ``None``."""
        if index == ABSTAIN:
            return None
        if not 0 <= index < len(self.names):
            raise InvalidInput(
                f"class index must be in 0..{len(self.names) - 1} or {ABSTAIN}, got {index}"
            )
        return self.names[index]


def to_index(label: object, index: LabelIndex | None, *, n_classes: int | None = None) -> int:
    """Map one vote to ``0..K-1`` or ``ABSTAIN``.

    ``None`` and ``-1`` abstain. Strings need ``index``; integers must lie in ``0..K-1`` where ``K``
    is ``index.n_classes`` or ``n_classes`` (unbounded below :data:`MAX_CLASSES` when neither is
    known).
    """
    if label is None:
        return ABSTAIN
    if isinstance(label, str):
        if index is None:
            raise InvalidInput(
                f"got the label name {label!r} but no label names were given; "
                "pass labels=[...] listing the label names in class order"
            )
        position = index._positions.get(label)
        if position is None:
            raise InvalidInput(f"unknown label {label!r}; available: {list(index.names)}")
        return position
    if isinstance(label, bool) or not isinstance(label, int | np.integer):
        raise InvalidInput(f"a vote must be a label name, an int or None, got {label!r}")
    value = int(label)
    if value == ABSTAIN:
        return ABSTAIN
    limit = index.n_classes if index is not None else n_classes
    limit = MAX_CLASSES if limit is None else limit
    if not 0 <= value < limit:
        raise InvalidInput(f"class index must be in 0..{limit - 1} or {ABSTAIN}, got {value}")
    return value


def label_names(labels: LabelIndex | Sequence[str] | None) -> LabelIndex | None:
    """Return ``labels`` as a :class:`LabelIndex`, or ``None`` when no names were given."""
    return None if labels is None else LabelIndex.of(labels)


__all__ = ["ABSTAIN", "MAX_CLASSES", "LabelIndex", "label_names", "to_index"]
