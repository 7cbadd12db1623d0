"""Rewrite one benchmark's own section of docs/benchmarks.md, leaving the others alone.

A section runs from ``<!-- NAME:start -->`` to ``<!-- NAME:end -->``; the rendered section
includes both markers. A section not there yet is appended under its heading.
"""

from __future__ import annotations

from pathlib import Path


def replace_section(doc: Path, *, start: str, end: str, heading: str, section: str) -> None:
    """Put ``section`` (markers included) in place of the text between ``start`` and ``end``."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + f"\n\n{heading}\n\n" + section + "\n"
    doc.write_text(text, encoding="utf-8")
