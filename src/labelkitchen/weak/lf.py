"""Labelling functions: a name plus a plain function ``record -> label | None``.

A record is anything with ``.text``, ``.meta`` (a mapping) and ``.id``; :class:`Record` is the
plain one the appliers pass around. An LF of kind

- ``"classify"`` returns one label (a name from the project's label set or an int ``0..K-1``)
  or ``None`` to abstain;
- ``"multilabel"`` votes per label: a mapping ``{label: True | False}`` (present / absent; labels
  left out abstain) or an iterable of labels it says are present;
- ``"spans"`` returns an iterable of ``(start, end, label)`` spans over ``record.text``, ``end``
  exclusive, offsets in Python ``str`` code points.

Every LF has a ``version``: a stable hash of its definition (the source code and resources of a
Python LF, the fields of a declarative one), so results can be cached and stored per version.

>>> @labeling_function(resources={"words": {"subscribe", "channel"}})
... def lf_promo(record, words):
...     return "spam" if words & set(record.text.lower().split()) else None
>>> lf_promo(Record("please subscribe")), lf_promo.name
('spam', 'lf_promo')
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput
from labelkitchen.weak.labels import ABSTAIN, LabelIndex, to_index

LFKind = Literal["classify", "multilabel", "spans"]
KINDS: tuple[LFKind, ...] = ("classify", "multilabel", "spans")


@runtime_checkable
class RecordLike(Protocol):
    """What an LF may read from a record."""

    @property
    def text(self) -> str: ...

    @property
    def meta(self) -> Mapping[str, Any]: ...

    @property
    def id(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class Record:
    """A plain record: text, meta fields and an id."""

    text: str
    meta: Mapping[str, Any] = field(default_factory=dict)
    id: Any = None


def as_record(item: object, position: int) -> Record:
    """Accept a :class:`Record`, any object with ``.text`` (``.meta``, ``.id`` optional), a
    mapping with a ``"text"`` key, or a plain string (its id is its position)."""
    if isinstance(item, Record):
        return item
    if isinstance(item, str):
        return Record(item, {}, position)
    if isinstance(item, Mapping):
        if "text" not in item:
            raise InvalidInput(f"record {position} is a mapping without a 'text' key")
        return Record(str(item["text"]), item.get("meta") or {}, item.get("id", position))
    text = getattr(item, "text", None)
    if not isinstance(text, str):
        raise InvalidInput(
            f"record {position} has no .text string; pass objects with .text/.meta/.id, "
            "mappings with 'text', or strings"
        )
    meta = getattr(item, "meta", None) or {}
    return Record(text, meta, getattr(item, "id", position))


@dataclass(frozen=True)
class ColumnVotes:
    """One LF's votes on a chunk of records, positions relative to the chunk.

    ``classify``: ``rows`` and ``labels`` (class indices). ``multilabel``: ``rows``,
    ``labels`` (which label) and ``values`` (1 present, 0 absent). ``spans``: ``rows``,
    ``starts``, ``ends``, ``labels``. ``fault_rows`` lists the records on which the LF raised.
    """

    rows: npt.NDArray[np.int64]
    labels: npt.NDArray[np.int64]
    values: npt.NDArray[np.int64] | None = None
    starts: npt.NDArray[np.int64] | None = None
    ends: npt.NDArray[np.int64] | None = None
    n_faults: int = 0
    first_traceback: str | None = None
    fault_rows: npt.NDArray[np.int64] | None = None


class LabelingFunction:
    """A labelling function: ``name``, ``function(record, **resources)`` and its ``kind``.

    ``resources`` are keyword arguments bound at construction (word lists, lookup tables, a
    loaded model) and part of the version hash when they are JSON-serialisable (else their
    ``repr``).
    """

    def __init__(
        self,
        name: str,
        function: Callable[..., Any],
        *,
        resources: Mapping[str, Any] | None = None,
        kind: LFKind = "classify",
    ) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"an LF needs a non-empty name, got {name!r}")
        if kind not in KINDS:
            raise InvalidInput(f"kind must be one of {list(KINDS)}, got {kind!r}")
        if not callable(function):
            raise InvalidInput(f"LF {name!r}: function must be callable, got {function!r}")
        self.name = name
        self.function = function
        self.resources: Mapping[str, Any] = dict(resources or {})
        self.kind: LFKind = kind
        self._version: str | None = None

    def __call__(self, record: RecordLike) -> Any:
        """The raw vote on one record (a label, labels or spans, or ``None``)."""
        return self.function(record, **self.resources)

    @property
    def version(self) -> str:
        """A stable hash of the definition: source code (or bytecode) plus resources."""
        if self._version is None:
            self._version = stable_hash(
                {
                    "name": self.name,
                    "kind": self.kind,
                    "source": _source_of(self.function),
                    "resources": self.resources,
                }
            )
        return self._version

    @property
    def vectorised(self) -> bool:
        """Whether :meth:`vote_chunk` handles the whole chunk at once (declarative LFs)."""
        return False

    def vote_chunk(
        self,
        records: Sequence[Record],
        labels: LabelIndex | None,
        *,
        raise_on_error: bool,
        column: Any = None,
    ) -> ColumnVotes:
        """Run on a chunk of records; a failing record is counted as a fault unless
        ``raise_on_error``, in which case the error propagates with a note naming LF and record.
        ``column`` (the chunk's shared text column) is for declarative LFs; this one ignores it."""
        collector = _VoteCollector(self.kind, labels)
        for position, record in enumerate(records):
            try:
                collector.add(position, self.function(record, **self.resources), record.text)
            except Exception as error:
                if raise_on_error:
                    error.add_note(
                        f"in labelling function {self.name!r} on record id={record.id!r}"
                    )
                    raise
                collector.fault(position, traceback.format_exc())
        return collector.result()

    def __reduce__(self) -> tuple[Any, ...]:
        # A decorated function's module attribute is this LF, so pickling ``function`` by
        # reference would fail; refer to the LF by module and name instead.
        module = getattr(self.function, "__module__", None)
        qualname = getattr(self.function, "__qualname__", None)
        if module and qualname and _lookup(module, qualname) is self:
            return (_lookup, (module, qualname))
        return (_rebuild_lf, (self.name, self.function, dict(self.resources), self.kind))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, kind={self.kind!r})"


def labeling_function(
    name: str | None = None,
    *,
    resources: Mapping[str, Any] | None = None,
    kind: LFKind = "classify",
) -> Callable[[Callable[..., Any]], LabelingFunction]:
    """Decorator turning ``function(record, **resources)`` into a :class:`LabelingFunction`
    named ``name`` (default: the function's name)."""

    def wrap(function: Callable[..., Any]) -> LabelingFunction:
        return LabelingFunction(name or function.__name__, function, resources=resources, kind=kind)

    return wrap


class _VoteCollector:
    """Turns raw LF outputs into :class:`ColumnVotes` for one kind."""

    def __init__(self, kind: LFKind, labels: LabelIndex | None) -> None:
        self.kind = kind
        self.labels = labels
        self.rows: list[int] = []
        self.label_ids: list[int] = []
        self.values: list[int] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.fault_positions: list[int] = []
        self.first_traceback: str | None = None

    def fault(self, position: int, text: str) -> None:
        self.fault_positions.append(position)
        if self.first_traceback is None:
            self.first_traceback = text

    def add(self, position: int, output: Any, text: str) -> None:
        if output is None:
            return
        if self.kind == "classify":
            label = to_index(output, self.labels)
            if label != ABSTAIN:
                self.rows.append(position)
                self.label_ids.append(label)
        elif self.kind == "multilabel":
            for label, value in multilabel_votes(output, self.labels):
                self.rows.append(position)
                self.label_ids.append(label)
                self.values.append(value)
        else:
            for start, end, label in check_spans(output, self.labels, text_length=len(text)):
                self.rows.append(position)
                self.starts.append(start)
                self.ends.append(end)
                self.label_ids.append(label)

    def result(self) -> ColumnVotes:
        def array(values: list[int]) -> npt.NDArray[np.int64]:
            return np.asarray(values, dtype=np.int64)

        return ColumnVotes(
            rows=array(self.rows),
            labels=array(self.label_ids),
            values=array(self.values) if self.kind == "multilabel" else None,
            starts=array(self.starts) if self.kind == "spans" else None,
            ends=array(self.ends) if self.kind == "spans" else None,
            n_faults=len(self.fault_positions),
            first_traceback=self.first_traceback,
            fault_rows=array(self.fault_positions),
        )


def multilabel_votes(output: Any, labels: LabelIndex | None) -> list[tuple[int, int]]:
    """``(label index, 1 present / 0 absent)`` pairs from a multilabel LF's output."""
    if isinstance(output, Mapping):
        votes = []
        for label, value in output.items():
            if value is None:
                continue
            index = to_index(label, labels)
            if index != ABSTAIN:
                votes.append((index, 1 if value else 0))
        return votes
    if isinstance(output, str | int | np.integer):
        output = [output]
    if not isinstance(output, Iterable):
        raise InvalidInput(f"a multilabel LF returns a mapping or labels, got {output!r}")
    return [(index, 1) for index in (to_index(v, labels) for v in output) if index != ABSTAIN]


def check_spans(
    output: Any, labels: LabelIndex | None, *, text_length: int | None = None
) -> list[tuple[int, int, int]]:
    """Validated ``(start, end, label index)`` triples from a span LF's output (ending within
    ``text_length`` when given)."""
    spans = []
    for span in output:
        if not isinstance(span, Sequence) or len(span) != 3:
            raise InvalidInput(f"a span is (start, end, label), got {span!r}")
        start, end, label = span
        if not isinstance(start, int | np.integer) or not isinstance(end, int | np.integer):
            raise InvalidInput(f"span offsets must be integers, got {span!r}")
        if not 0 <= int(start) < int(end):
            raise InvalidInput(f"a span needs 0 <= start < end, got {span!r}")
        if text_length is not None and int(end) > text_length:
            raise InvalidInput(f"the span {span!r} ends past the text (length {text_length})")
        index = to_index(label, labels)
        if index != ABSTAIN:
            spans.append((int(start), int(end), index))
    return spans


def stable_hash(document: Any) -> str:
    """A short hex digest of a JSON-able document (non-JSON values hash by ``repr``)."""
    text = json.dumps(document, sort_keys=True, default=_stable_default, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _stable_default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(map(repr, value))
    return repr(value)


def _source_of(function: Callable[..., Any]) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        code = getattr(function, "__code__", None)
        if code is None:
            return repr(function)
        return str(code.co_code.hex()) + repr(code.co_consts) + repr(code.co_names)


def _lookup(module: str, qualname: str) -> Any:
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part, None)
        if target is None:
            return None
    return target


def _rebuild_lf(
    name: str, function: Callable[..., Any], resources: dict[str, Any], kind: LFKind
) -> LabelingFunction:
    return LabelingFunction(name, function, resources=resources, kind=kind)


__all__ = [
    "KINDS",
    "ColumnVotes",
    "LFKind",
    "LabelingFunction",
    "Record",
    "RecordLike",
    "as_record",
    "check_spans",
    "labeling_function",
    "multilabel_votes",
    "stable_hash",
]
