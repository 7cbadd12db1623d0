"""Readers and writers per file format. Pure: they turn files into rows and rows into files."""

from labelkitchen.io.readers import FORMATS, ReadRow, detect_format, read_rows

__all__ = ["FORMATS", "ReadRow", "detect_format", "read_rows"]
