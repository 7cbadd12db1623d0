"""Pairwise F1 between two annotators' spans.

A span is ``(start, end, label)``: Python string offsets (code points), ``end`` exclusive, as
everywhere in labelkitchen. ``a`` and ``b`` are either one document's spans each, or equally
long lists of documents' span lists (document ``i`` of ``a`` is compared with document ``i``
of ``b``, and counts are pooled over documents, i.e. micro-averaged). The two forms are told
apart by shape: a span is a 3-sequence whose first two items are integers.

F1 is symmetric in ``a`` and ``b``: ``2 * matched / (size_a + size_b)``, which equals the F1
of treating either annotator as the reference. Labels must be equal to match in every mode.

- ``"exact"``: a span matches an identical span (same start, end and label); repeated spans
  match one to one.
- ``"overlap"``: a span matches a span of the same label whose characters overlap it, each
  span used at most once, with as many matches as possible (a maximum bipartite matching,
  computed by scipy). Lenient: a span that is too long or too short still counts once.
- ``"token"``: partial credit per character. The text is not needed: every character offset
  is a token, so a span covers ``end - start`` tokens (whitespace included). Each annotator's
  spans become a set of ``(document, offset, label)``; F1 is over those sets, so overlapping
  spans of one label by one annotator count each character once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from numbers import Integral
from typing import Any, Literal, cast

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from labelkitchen.agreement.result import NO_SPANS, AgreementResult, defined, undefined
from labelkitchen.errors import InvalidInput

Span = tuple[int, int, Hashable]
"""``(start, end, label)`` with ``end`` exclusive."""

Spans = Sequence[Any]
"""One document's spans (``Span`` each), or one span list per document; checked at run time."""

SpanMatch = Literal["exact", "token", "overlap"]
MATCHES: tuple[str, ...] = ("exact", "token", "overlap")


def span_f1_result(a: Spans, b: Spans, *, match: SpanMatch = "exact") -> AgreementResult:
    """Span F1 with its reason when undefined; see :func:`span_f1`."""
    if not (isinstance(match, str) and match in MATCHES):
        raise InvalidInput(f"match must be one of {', '.join(map(repr, MATCHES))}; got {match!r}")
    documents_a, single_a = _documents(a, "a")
    documents_b, single_b = _documents(b, "b")
    if single_a is None and single_b is None:
        documents_a = documents_b = [[]]
    elif single_a is None:
        documents_a = [[]] if single_b else []
    elif single_b is None:
        documents_b = [[]] if single_a else []
    elif single_a != single_b:
        raise InvalidInput(
            "a and b must have the same form: both one document's spans, or both a list of "
            "documents' span lists"
        )
    if len(documents_a) != len(documents_b):
        raise InvalidInput(
            f"a and b must cover the same documents; got {len(documents_a)} and "
            f"{len(documents_b)} documents"
        )
    matched = size_a = size_b = 0
    for spans_a, spans_b in zip(documents_a, documents_b, strict=True):
        by_label_a, by_label_b = _by_label(spans_a), _by_label(spans_b)
        for label in by_label_a.keys() | by_label_b.keys():
            left, right = by_label_a.get(label, []), by_label_b.get(label, [])
            if match == "token":
                merged_a, merged_b = _merged(left), _merged(right)
                matched += _shared_length(merged_a, merged_b)
                size_a += sum(end - start for start, end in merged_a)
                size_b += sum(end - start for start, end in merged_b)
            else:
                matched += _exact(left, right) if match == "exact" else _overlap(left, right)
                size_a += len(left)
                size_b += len(right)
    if size_a + size_b == 0:
        return undefined(NO_SPANS, len(documents_a))
    return defined(2 * matched / (size_a + size_b), len(documents_a))


def span_f1(a: Spans, b: Spans, *, match: SpanMatch = "exact") -> float:
    """F1 between two annotators' spans: ``"exact"``, ``"overlap"`` or ``"token"`` matching.

    See the module documentation for the span format, the two accepted shapes of ``a`` and
    ``b`` and each matching mode. 1.0 when the annotations are the same; 0.0 when only one
    annotator marked spans; nan when neither marked any.
    """
    return span_f1_result(a, b, match=match).value


def _documents(
    spans: Spans, name: str
) -> tuple[list[list[tuple[int, int, Hashable]]], bool | None]:
    """Checked span lists per document, and whether the input was one document's spans.

    The form of an empty input is open (``None``): it takes the form of the other side.
    """
    if isinstance(spans, str | bytes) or not isinstance(spans, Sequence):
        raise InvalidInput(f"{name} must be a list of spans or of span lists; got {spans!r}")
    if len(spans) == 0:
        return [], None
    if all(_looks_like_span(item) for item in spans):
        return [[_span(item, f"{name}[{i}]") for i, item in enumerate(spans)]], True
    documents = []
    for d, document in enumerate(spans):
        if isinstance(document, str | bytes) or not isinstance(document, Sequence):
            raise InvalidInput(
                f"{name}[{d}] must be a span (start, end, label) or a list of spans; "
                f"got {document!r}"
            )
        documents.append([_span(item, f"{name}[{d}][{i}]") for i, item in enumerate(document)])
    return documents, False


def _looks_like_span(item: object) -> bool:
    return (
        isinstance(item, Sequence)
        and not isinstance(item, str | bytes)
        and len(item) == 3
        and all(isinstance(x, Integral) and not isinstance(x, bool) for x in item[:2])
    )


def _span(item: object, where: str) -> tuple[int, int, Hashable]:
    if not _looks_like_span(item):
        raise InvalidInput(f"{where} must be a span (start, end, label); got {item!r}")
    fields = cast(Sequence[Any], item)
    start, end, label = int(fields[0]), int(fields[1]), fields[2]
    if not 0 <= start < end:
        raise InvalidInput(f"{where} must have 0 <= start < end (end is exclusive); got {item!r}")
    if not isinstance(label, Hashable):
        raise InvalidInput(f"{where} must have a hashable label; got {label!r}")
    return start, end, label


def _by_label(spans: list[tuple[int, int, Hashable]]) -> dict[Hashable, list[tuple[int, int]]]:
    grouped: dict[Hashable, list[tuple[int, int]]] = defaultdict(list)
    for start, end, label in spans:
        grouped[label].append((start, end))
    return grouped


def _exact(left: list[tuple[int, int]], right: list[tuple[int, int]]) -> int:
    return sum((Counter(left) & Counter(right)).values())


def _overlap(left: list[tuple[int, int]], right: list[tuple[int, int]]) -> int:
    if not left or not right:
        return 0
    starts_a, ends_a = np.asarray(left).T
    starts_b, ends_b = np.asarray(right).T
    edges = (starts_a[:, np.newaxis] < ends_b[np.newaxis, :]) & (
        starts_b[np.newaxis, :] < ends_a[:, np.newaxis]
    )
    matching = maximum_bipartite_matching(csr_matrix(edges), perm_type="column")
    return int(np.count_nonzero(matching >= 0))


def _merged(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _shared_length(left: list[tuple[int, int]], right: list[tuple[int, int]]) -> int:
    shared = i = j = 0
    while i < len(left) and j < len(right):
        shared += max(0, min(left[i][1], right[j][1]) - max(left[i][0], right[j][0]))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return shared
