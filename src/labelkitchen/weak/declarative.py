"""Declarative labelling functions: LFs as data, so experts can write them and they run vectorised.

Each is a plain dict (JSON and YAML serialisable) with a ``type``:

=============  ==================================================================  =========
``keyword``    any of ``keywords`` occurs in the text (whole word or substring)    classify
``regex``      ``pattern`` matches somewhere in the text                           classify
``lookup``     ``table[meta[field]]``                                              classify
``threshold``  a numeric meta field (or ``@length`` / ``@words`` of the text)       classify
               lies above and/or below bounds
``regex_span`` every match of ``pattern`` (or of one group) is a span              spans
``gazetteer``  every occurrence of one of ``terms`` is a span                      spans
=============  ==================================================================  =========

The classes live in :mod:`~labelkitchen.weak.rule_lfs` (classify) and
:mod:`~labelkitchen.weak.span_lfs` (spans); this module holds their base class, the helpers they
share and :func:`lf_from_dict`. ``to_dict()`` gives the dict, :func:`lf_from_dict` reads it
back, ``version`` hashes it. A keyword list compiles to one regular-expression alternation that
runs once over the whole column of texts (joined with a separator no keyword can match), however
many keywords there are; see :mod:`labelkitchen.weak.columns`. Case-insensitive keywords compare
``str.lower()`` forms.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput
from labelkitchen.weak.columns import TextColumn
from labelkitchen.weak.labels import ABSTAIN, LabelIndex, to_index
from labelkitchen.weak.lf import ColumnVotes, LabelingFunction, LFKind, Record, RecordLike
from labelkitchen.weak.lf import stable_hash as _stable_hash

Label = str | int
_FLAG_NAMES = ("IGNORECASE", "MULTILINE", "DOTALL", "VERBOSE", "ASCII")


class DeclarativeLF(LabelingFunction):
    """Base class: a labelling function defined by data (see the module docs)."""

    type_name: ClassVar[str] = ""
    _registry: ClassVar[dict[str, type[DeclarativeLF]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.type_name:
            DeclarativeLF._registry[cls.type_name] = cls

    def __init__(self, name: str, *, kind: LFKind = "classify") -> None:
        super().__init__(name, self._vote_one, kind=kind)

    # subclasses: the fields of to_dict(), one vote, and the vectorised hits over a column
    def _fields(self) -> dict[str, Any]:
        raise NotImplementedError

    def _vote_one(self, record: RecordLike) -> Any:
        raise NotImplementedError

    def _hits(self, column: TextColumn) -> tuple[npt.NDArray[np.int64], Any]:
        """Positions voted on and, per position, the label (or one label for all of them)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The definition as a JSON/YAML-serialisable dict (``type``, ``name`` and fields)."""
        return {"type": self.type_name, "name": self.name, **self._fields()}

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> DeclarativeLF:
        """Build from :meth:`to_dict` output (``type`` must match this class, if given)."""
        fields = dict(document)
        kind = fields.pop("type", cls.type_name)
        if kind != cls.type_name:
            raise InvalidInput(f"expected an LF of type {cls.type_name!r}, got {kind!r}")
        name = fields.pop("name", None)
        if not isinstance(name, str):
            raise InvalidInput(f"a {cls.type_name} LF needs a 'name' string, got {document!r}")
        try:
            return cls(name, **fields)
        except TypeError as error:
            raise InvalidInput(f"bad fields for a {cls.type_name} LF {name!r}: {error}") from error

    @property
    def version(self) -> str:
        return _stable_hash(self.to_dict())

    @property
    def vectorised(self) -> bool:
        return True

    def vote_chunk(
        self,
        records: Sequence[Record],
        labels: LabelIndex | None,
        *,
        raise_on_error: bool,
        column: Any = None,
    ) -> ColumnVotes:
        """Vote on the whole chunk at once; ``column`` is the chunk's shared
        :class:`~labelkitchen.weak.columns.TextColumn` (built here when not given). An error
        counts as a fault on every record of the chunk."""
        try:
            shared = column if isinstance(column, TextColumn) else TextColumn(records)
            return self._column_votes(shared, labels)
        except Exception as error:
            if raise_on_error:
                error.add_note(f"in labelling function {self.name!r}")
                raise
            return ColumnVotes(
                rows=np.zeros(0, np.int64),
                labels=np.zeros(0, np.int64),
                values=np.zeros(0, np.int64) if self.kind == "multilabel" else None,
                starts=np.zeros(0, np.int64) if self.kind == "spans" else None,
                ends=np.zeros(0, np.int64) if self.kind == "spans" else None,
                n_faults=len(records),
                first_traceback=traceback.format_exc(),
                fault_rows=np.arange(len(records), dtype=np.int64),
            )

    def _column_votes(self, column: TextColumn, labels: LabelIndex | None) -> ColumnVotes:
        rows, found = self._hits(column)
        if isinstance(found, str | int):  # one label for every row: convert it once
            codes = np.full(rows.size, to_index(found, labels), dtype=np.int64)
        else:
            index = {v: to_index(v, labels) for v in set(found)}
            codes = np.array([index[v] for v in found], dtype=np.int64).reshape(-1)
        keep = codes != ABSTAIN
        return ColumnVotes(rows=rows[keep], labels=codes[keep])

    def __reduce__(self) -> tuple[Any, ...]:
        return (lf_from_dict, (self.to_dict(),))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DeclarativeLF):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.version)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()!r})"


def lf_from_dict(document: Mapping[str, Any]) -> DeclarativeLF:
    """Build any declarative LF from its dict; the error lists the known types."""
    _load_builtin_types()
    kind = document.get("type")
    cls = DeclarativeLF._registry.get(str(kind))
    if cls is None:
        known = sorted(DeclarativeLF._registry)
        raise InvalidInput(f"unknown LF type {kind!r}; available: {known}")
    return cls.from_dict(document)


def _load_builtin_types() -> None:
    # Importing the modules registers their classes (DeclarativeLF.__init_subclass__).
    from labelkitchen.weak import rule_lfs, span_lfs  # noqa: F401


# text helpers ---------------------------------------------------------------------------------


def as_text(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


def regex_flags(flags: Iterable[str] | int) -> tuple[int, list[str]]:
    if isinstance(flags, int):
        names = [n for n in _FLAG_NAMES if flags & getattr(re, n)]
    else:
        names = [str(f).upper() for f in flags]
    value = 0
    for name in names:
        if name not in _FLAG_NAMES:
            raise InvalidInput(f"unknown regex flag {name!r}; available: {list(_FLAG_NAMES)}")
        value |= getattr(re, name)
    return value, sorted(set(names))


def check_label(label: Any) -> Label:
    if isinstance(label, bool) or not isinstance(label, str | int):
        raise InvalidInput(f"a declarative LF votes a label name or class index, got {label!r}")
    return label


__all__ = ["DeclarativeLF", "Label", "as_text", "check_label", "lf_from_dict", "regex_flags"]
