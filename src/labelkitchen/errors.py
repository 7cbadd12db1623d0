"""The exceptions labelkitchen raises, chosen by what the caller can do about them.

Every error is a :class:`LabelkitchenError`; each subclass is also the builtin a Python user
would expect (``InvalidInput`` is a ``ValueError``, ``NotFound`` a ``LookupError``), so
``except ValueError`` keeps working in notebooks. HTTP status mapping lives in ``server/``.
"""

from __future__ import annotations


class LabelkitchenError(Exception):
    """Base class of every error labelkitchen raises on purpose."""


class InvalidInput(LabelkitchenError, ValueError):
    """The input was malformed or does not fit the project (bad label, bad span, bad file)."""


class NotFound(LabelkitchenError, LookupError):
    """A project, record, user or other named thing does not exist."""


class Conflict(LabelkitchenError):
    """The change clashes with what is stored (an existing slug, a duplicate external id)."""


class PermissionDenied(LabelkitchenError, PermissionError):
    """The caller is not allowed to do this."""


class NotFitted(LabelkitchenError, RuntimeError):
    """An estimator was used before ``fit``."""


class ImportFailed(InvalidInput):
    """An import was aborted; nothing it read was stored.

    ``location`` names where the first bad input was (``file``, ``line``, ``field``).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        super().__init__(message)

    @property
    def location(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(self.file)
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        return ", ".join(parts)


__all__ = [
    "Conflict",
    "ImportFailed",
    "InvalidInput",
    "LabelkitchenError",
    "NotFitted",
    "NotFound",
    "PermissionDenied",
]
