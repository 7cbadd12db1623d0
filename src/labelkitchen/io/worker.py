"""The import reader process (run as ``python -m labelkitchen.io.reader_process``).

The parent writes one pickled job to standard input; the worker reads and validates the files
and writes length-prefixed pickled messages (batches, then ``None``, or an error) to standard
output. Pickle only ever crosses this pipe between labelkitchen and a child it started itself.

A plain subprocess, not ``multiprocessing``: spawning through ``multiprocessing`` re-imports the
caller's ``__main__``, which breaks scripts and notebooks that call ``import_files``.
"""

from __future__ import annotations

import pickle
import struct
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from labelkitchen.io.prepare import Source, located, run_loop
from labelkitchen.io.readers import read_rows

_HEADER = struct.Struct("<Q")


def write_message(out: IO[bytes], item: Any) -> None:
    data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEADER.pack(len(data)))
    out.write(data)
    out.flush()


def read_message(source: IO[bytes]) -> Any:
    header = source.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("the import reader stopped without a final message")
    (size,) = _HEADER.unpack(header)
    return pickle.loads(source.read(size))  # our own child's output, never outside data


def file_sources(paths: Sequence[Path], formats: Sequence[str], encoding: str) -> list[Source]:
    sources: list[Source] = []
    for path, fmt in zip(paths, formats, strict=True):
        rows, position = read_rows(path, fmt=fmt, encoding=encoding)
        sources.append((str(path), located(rows, str(path)), position))
    return sources


def main() -> None:
    job = pickle.loads(sys.stdin.buffer.read())  # written by our parent process
    paths, formats, encoding, preparer, batch_size, skip = job
    out = sys.stdout.buffer

    def put(item: Any) -> bool:
        write_message(out, item)
        return True

    make: Callable[[], list[Source]] = lambda: file_sources(paths, formats, encoding)  # noqa: E731
    run_loop(make, preparer, batch_size=batch_size, skip=skip, put=put)
