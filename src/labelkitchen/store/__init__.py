"""Persistence: tables, migrations and query functions. Only services import this package."""

from labelkitchen.store.engine import Store

__all__ = ["Store"]
