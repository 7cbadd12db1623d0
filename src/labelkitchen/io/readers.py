"""Streaming readers: each yields one :class:`ReadRow` per record, in constant memory.

A reader never raises for a bad record: it yields a row whose ``error`` says what was wrong, so
an import can either abort with the file and line named or skip the record and go on. Errors
that make the rest of a file unreadable (a broken JSON array, an unreadable Parquet file) are
raised as :class:`~labelkitchen.errors.ImportFailed`.

Bytes are decoded line by line, so a non-UTF-8 byte is reported with its line number instead of
failing somewhere inside a buffered decoder. ``utf-8`` accepts a leading byte order mark.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

import orjson

from labelkitchen.errors import ImportFailed, InvalidInput

FORMATS = ("jsonl", "json", "csv", "tsv", "parquet", "txt")
_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "txt",
    ".text": "txt",
}
_BOM = codecs.BOM_UTF8


class ReadRow(NamedTuple):
    """One record as read: ``data`` on success, else ``error`` (and ``raw`` text if any)."""

    line: int
    data: dict[str, Any] | None
    error: str | None = None
    raw: str | None = None


class ByteCounter:
    """Bytes consumed from the file so far (for progress bars)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle

    def __call__(self) -> int:
        try:
            return self._handle.tell()
        except (OSError, ValueError):
            return 0


def detect_format(path: Path, *, declared: str | None = None) -> str:
    """The format of ``path``: ``declared`` if given, else from its extension."""
    if declared is not None:
        if declared not in FORMATS:
            raise InvalidInput(f"unknown format {declared!r}; formats: {', '.join(FORMATS)}")
        return declared
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in (".gz",)]
    fmt = _EXTENSIONS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise InvalidInput(
            f"{path}: cannot tell the format from the extension {path.suffix!r}; pass "
            f"--format ({', '.join(FORMATS)})"
        )
    return fmt


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def _decode_error(exc: UnicodeDecodeError, encoding: str) -> str:
    bad = exc.object[exc.start : exc.start + 1].hex()
    hint = "; pass --encoding (for example latin-1) if the file uses another encoding"
    return f"not valid {encoding}: byte 0x{bad} at column {exc.start + 1}{hint}"


_SURROGATE = re.compile("[\udc80-\udcff]")


def _text_handle(handle: IO[bytes], encoding: str, *, newline: str = "") -> io.TextIOWrapper:
    """Decode with ``surrogateescape`` so a bad byte is found, and reported, per record."""
    codec = "utf-8-sig" if _is_utf8(encoding) else encoding
    return io.TextIOWrapper(handle, encoding=codec, errors="surrogateescape", newline=newline)


def _bad_bytes(text: str, encoding: str) -> str | None:
    match = _SURROGATE.search(text)
    if match is None:
        return None
    byte = ord(match.group()) - 0xDC00
    return (
        f"not valid {encoding}: byte 0x{byte:02x} at character {match.start() + 1}; pass "
        "--encoding (for example latin-1) if the file uses another encoding"
    )


def read_jsonl(handle: IO[bytes], *, encoding: str) -> Iterator[ReadRow]:
    fast = _is_utf8(encoding)
    for number, raw in enumerate(handle, start=1):
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        if fast:
            if not raw.strip():
                continue
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                yield _jsonl_error(number, raw, exc, encoding)
                continue
        else:
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                yield ReadRow(number, None, _decode_error(exc, encoding))
                continue
            if not text.strip():
                continue
            try:
                data = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                yield ReadRow(number, None, f"malformed JSON: {exc}", text.rstrip("\r\n"))
                continue
        if not isinstance(data, dict):
            yield ReadRow(
                number,
                None,
                f"expected a JSON object, got {type(data).__name__}",
                raw.decode("utf-8", "replace").rstrip("\r\n"),
            )
            continue
        yield ReadRow(number, data)


def _jsonl_error(number: int, raw: bytes, exc: Exception, encoding: str) -> ReadRow:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as decode_exc:
        return ReadRow(number, None, _decode_error(decode_exc, encoding))
    return ReadRow(number, None, f"malformed JSON: {exc}", text.rstrip("\r\n"))


def read_json_array(handle: IO[bytes], *, encoding: str) -> Iterator[ReadRow]:
    import ijson

    if not _is_utf8(encoding):
        handle = io.BytesIO(handle.read().decode(encoding).encode("utf-8"))
    head = handle.read(len(_BOM))
    if head != _BOM:
        handle.seek(0)
    stripped = _peek_first_char(handle)
    if stripped == b"{":
        # A .json file holding one object per line is JSON Lines with the wrong extension.
        yield from read_jsonl(handle, encoding="utf-8")
        return
    if stripped not in (b"[", b""):
        raise ImportFailed("expected a JSON array of objects (or JSON Lines)")
    item = 0
    try:
        for item, data in enumerate(ijson.items(handle, "item", use_float=True), start=1):
            if not isinstance(data, dict):
                yield ReadRow(item, None, f"expected a JSON object, got {type(data).__name__}")
                continue
            yield ReadRow(item, data)
    except ijson.JSONError as exc:
        raise ImportFailed(f"malformed JSON after item {item}: {exc}", line=item + 1) from exc
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"after item {item}: {_decode_error(exc, encoding)}") from exc


def _peek_first_char(handle: IO[bytes]) -> bytes:
    start = handle.tell()
    while True:
        chunk = handle.read(1)
        if not chunk or not chunk.isspace():
            handle.seek(start)
            return chunk


def read_delimited(handle: IO[bytes], *, encoding: str, delimiter: str) -> Iterator[ReadRow]:
    kind = "TSV" if delimiter == "\t" else "CSV"
    reader = csv.reader(_text_handle(handle, encoding), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise ImportFailed(f"unreadable {kind} header: {exc}", line=1) from exc
    problem = _bad_bytes("".join(header), encoding)
    if problem:
        raise ImportFailed(f"header: {problem}", line=1)
    header = [name.strip() for name in header]
    if len(set(header)) != len(header):
        raise ImportFailed(f"the header repeats a column name: {header}", line=1)
    last = reader.line_num
    while True:
        start = last + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            last = reader.line_num
            yield ReadRow(start, None, f"malformed {kind} row: {exc}")
            continue
        last = reader.line_num
        if not values:
            continue
        problem = _bad_bytes("".join(values), encoding)
        if problem:
            yield ReadRow(start, None, problem)
            continue
        if len(values) != len(header):
            yield ReadRow(
                start,
                None,
                f"expected {len(header)} fields as in the header, got {len(values)}",
                delimiter.join(values),
            )
            continue
        yield ReadRow(start, dict(zip(header, values, strict=True)))


def read_text(handle: IO[bytes], *, encoding: str) -> Iterator[ReadRow]:
    """One record per line; blank lines are skipped. Only ``\\n`` and ``\\r\\n`` end a line."""
    for number, line in enumerate(_text_handle(handle, encoding, newline="\n"), start=1):
        text = line.removesuffix("\n").removesuffix("\r")
        problem = _bad_bytes(text, encoding)
        if problem:
            yield ReadRow(number, None, problem)
        elif text.strip():
            yield ReadRow(number, {"text": text})


def read_parquet(path: Path, *, batch_size: int = 10_000) -> Iterator[ReadRow]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for unreadable files
        raise ImportFailed(f"not a readable Parquet file: {exc}") from exc
    row = 0
    for batch in parquet.iter_batches(batch_size=batch_size):
        for data in batch.to_pylist():
            row += 1
            yield ReadRow(row, data)


def read_rows(
    path: Path, *, fmt: str, encoding: str = "utf-8", batch_size: int = 10_000
) -> tuple[Iterator[ReadRow], Callable[[], int]]:
    """Rows of ``path`` and a function telling how many bytes were consumed so far."""
    if fmt == "parquet":
        size = path.stat().st_size
        rows = read_parquet(path, batch_size=batch_size)
        done = [0]

        def parquet_rows() -> Iterator[ReadRow]:
            yield from rows
            done[0] = size

        return parquet_rows(), lambda: done[0]
    handle = path.open("rb")
    counter = ByteCounter(handle)

    def rows_then_close() -> Iterator[ReadRow]:
        with handle:
            if fmt == "jsonl":
                yield from read_jsonl(handle, encoding=encoding)
            elif fmt == "json":
                yield from read_json_array(handle, encoding=encoding)
            elif fmt in ("csv", "tsv"):
                yield from read_delimited(
                    handle, encoding=encoding, delimiter="," if fmt == "csv" else "\t"
                )
            else:
                yield from read_text(handle, encoding=encoding)

    return rows_then_close(), counter


__all__ = ["FORMATS", "ReadRow", "detect_format", "read_rows"]
