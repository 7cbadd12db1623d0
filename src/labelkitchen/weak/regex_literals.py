"""The longest literal every match of a regular expression must contain, for a fast prefilter.

A regex LF runs ``search`` on every text unless its pattern has such a literal: then one scan
of the whole column (the texts joined, see :mod:`labelkitchen.weak.columns`) finds the few texts
that contain it, and ``search`` runs on those alone, so the result is exactly ``search``'s.
``check.*out`` must contain ``"check"``; ``\\bwin(?:s|ner)?\\b`` must contain ``"win"``; ``a|b``
has no such literal and is searched text by text.

The literal comes from Python's own parser of regular expressions (``re._parser``) and only
from places every match passes through: literal runs at the top level, inside groups, and
inside repeats of at least one. Alternatives, optional parts, lookarounds and anchors end a run.
With ``IGNORECASE`` the literal must be ASCII and is searched in the lower-cased texts; texts
holding U+0130, U+0131 or U+017F (dotted and dotless i, long s, which ``IGNORECASE`` matches to
``i`` or ``s`` although their ``str.lower()`` differs) are then always searched.

:func:`column_safe` tells when a pattern can instead run once over the joined column as it is:
when nothing in it can match the NUL separator or depends on where a text starts or ends
(``.``, negated classes, ``^``, ``$``, ``\\A``, ``\\Z``, lookarounds and back-references all
disqualify it). ``\\b`` is fine: the separator is not a word character, just as the edge of a
text is not.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

_parser: Any = importlib.import_module("re._parser")  # private but stable across 3.11-3.13
_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}
_MIN_LENGTH = 2


def required_literal(pattern: re.Pattern[str]) -> tuple[str, bool] | None:
    """``(literal, lower)`` such that every match of ``pattern`` contains ``literal`` (in the
    lower-cased text when ``lower``), or ``None`` when no useful literal is known."""
    if not isinstance(pattern.pattern, str):
        return None
    parsed = _parser.parse(pattern.pattern, pattern.flags)
    flags = int(parsed.state.flags)
    if flags & re.LOCALE:
        return None
    literal = _longest(list(parsed.data))
    if literal is None or len(literal) < _MIN_LENGTH:
        return None
    if flags & re.IGNORECASE:
        if not literal.isascii():
            return None
        return literal.lower(), True
    return literal, False


def literal_lead(pattern: re.Pattern[str]) -> int | None:
    """The most characters a match of ``pattern`` can hold before its required literal (the one
    :func:`required_literal` names), when that literal is a run at the top level of the pattern
    and what precedes it has a bounded width (``\\bwin`` 0, ``\\d{2}-x`` 2); else ``None``.

    Every match then starts at most that many characters before an occurrence of the literal,
    so a search may begin that far before the literal's first occurrence in a text."""
    found = required_literal(pattern)
    if found is None:
        return None
    parsed = _parser.parse(pattern.pattern, pattern.flags)
    items = list(parsed.data)
    literal, lower = found
    start, run = 0, ""
    for index, (op, arg) in enumerate([*items, (None, None)]):
        if str(op) == "LITERAL":
            if not run:
                start = index
            run += chr(arg)
            continue
        if run:
            if (run.lower() if lower else run) == literal and len(run) == len(literal):
                width = _parser.SubPattern(parsed.state, items[:start]).getwidth()[1]
                return int(width) if width < _UNBOUNDED else None
            if len(run) >= len(literal):
                return None  # a run at least as long came first: the literal is not this one
        run = ""
        if str(op) != "AT":
            nested = _longest([(op, arg)]) if op is not None else None
            if nested is not None and len(nested) >= len(literal):
                return None  # the literal (or one as long, found first) lies in a group
    return None


_UNBOUNDED = 1 << 16


def column_safe(pattern: re.Pattern[str]) -> bool:
    """Whether ``pattern.finditer`` over texts joined by NUL finds exactly the texts in which
    ``pattern.search`` succeeds (see the module documentation)."""
    if not isinstance(pattern.pattern, str):
        return False
    parsed = _parser.parse(pattern.pattern, pattern.flags)
    if int(parsed.state.flags) & re.LOCALE:
        return False
    return _safe(list(parsed.data))


def lowercase_twin(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """For a column-safe ``IGNORECASE`` pattern whose letters are all lower-case ASCII: the same
    pattern without ``IGNORECASE``, which matches the lower-cased texts exactly where the
    original matches the texts (outside the rows :meth:`TextColumn.case_special_rows` names).
    Python's engine scans without ``IGNORECASE`` far faster. ``None`` when that does not hold."""
    if not pattern.flags & re.IGNORECASE or not column_safe(pattern):
        return None
    source = pattern.pattern
    source = source[4:] if source.startswith("(?i)") else source
    twin = re.compile(source, pattern.flags & ~re.IGNORECASE)
    if twin.flags & re.IGNORECASE:
        return None
    parsed = _parser.parse(twin.pattern, twin.flags)
    return twin if _lowercase_only(list(parsed.data)) else None


def _lowercase_only(items: list[tuple[Any, Any]]) -> bool:
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            ok = _plain(arg)
        elif name == "IN":
            ok = all(
                _plain(v)
                if str(k) == "LITERAL"
                else (v[0] > 90 or v[1] < 65) and v[1] < 128
                if str(k) == "RANGE"
                else True
                for k, v in arg
            )
        elif name == "SUBPATTERN":
            ok = not (arg[1] | arg[2]) and _lowercase_only(list(arg[3].data))
        elif name in _REPEATS:
            ok = _lowercase_only(list(arg[2].data))
        elif name == "ATOMIC_GROUP":
            ok = _lowercase_only(list(arg.data))
        elif name == "BRANCH":
            ok = all(_lowercase_only(list(branch.data)) for branch in arg[1])
        else:
            ok = True  # anchors and categories (column_safe vetted them) know no case
        if not ok:
            return False
    return True


def _plain(code: int) -> bool:
    """An ASCII character that is its own lower case (not ``A``-``Z``)."""
    return code < 128 and not 65 <= code <= 90


_SAFE_AT = {"AT_BOUNDARY", "AT_NON_BOUNDARY"}
_SAFE_CATEGORIES = {"CATEGORY_DIGIT", "CATEGORY_WORD", "CATEGORY_SPACE"}


def _safe(items: list[tuple[Any, Any]]) -> bool:
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            ok = arg != 0
        elif name == "IN":
            ok = all(_safe_member(str(kind), value) for kind, value in arg)
        elif name == "AT":
            ok = str(arg) in _SAFE_AT
        elif name == "SUBPATTERN":
            ok = _safe(list(arg[3].data))
        elif name in _REPEATS:
            ok = _safe(list(arg[2].data))
        elif name == "ATOMIC_GROUP":
            ok = _safe(list(arg.data))
        elif name == "BRANCH":
            ok = all(_safe(list(branch.data)) for branch in arg[1])
        else:  # ANY, NOT_LITERAL, lookarounds, back-references, conditionals ...
            ok = False
        if not ok:
            return False
    return True


def _safe_member(kind: str, value: Any) -> bool:
    if kind == "LITERAL":
        return bool(value != 0)
    if kind == "RANGE":
        return bool(value[0] > 0)
    if kind == "CATEGORY":
        return str(value) in _SAFE_CATEGORIES
    return False  # NEGATE and anything unknown


def _longest(items: list[tuple[Any, Any]]) -> str | None:
    """The longest run of literals that every match of the sequence ``items`` contains."""
    best = ""
    run: list[str] = []

    def consider(candidate: str | None) -> None:
        nonlocal best
        if candidate and len(candidate) > len(best):
            best = candidate

    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            run.append(chr(arg))
            continue
        consider("".join(run))
        run = []
        if name == "SUBPATTERN":
            _, add_flags, del_flags, inner = arg
            if not (add_flags | del_flags) & (re.IGNORECASE | re.LOCALE):
                consider(_longest(list(inner.data)))
        elif name in _REPEATS:
            low, _, inner = arg
            if low >= 1:
                consider(_longest(list(inner.data)))
        elif name == "ATOMIC_GROUP":
            consider(_longest(list(arg.data)))
    consider("".join(run))
    return best or None


__all__ = ["column_safe", "literal_lead", "lowercase_twin", "required_literal"]
