"""The data browser: filtered keyset pages of records, and one record with what may be seen.

Reviewers, owners, viewers (stakeholders) and admins see every annotation. Annotators work
blind: they see suggestions (imports, labelling functions' label model, models) and their own
answers only, and their filters apply to their own answers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from labelkitchen.schema import Role
from labelkitchen.services.accounts import Access, User
from labelkitchen.store import Store
from labelkitchen.store import tables as t
from labelkitchen.store.queries import records_view as views

SUGGESTION_KINDS = ("import", "model", "lf")


def sees_everyone(access: Access) -> bool:
    return access.can_review or access.role is Role.VIEWER


def own_source_id(conn: Connection, access: Access, user: User) -> int | None:
    """The user's source id in the project, if they ever answered there."""
    s = t.sources
    return conn.execute(
        select(s.c.id).where(
            s.c.project_id == access.project.id, s.c.kind == "human", s.c.name == user.username
        )
    ).scalar_one_or_none()


def browse_records(
    store: Store,
    *,
    access: Access,
    user: User,
    after: int = 0,
    limit: int = 50,
    split: str | None = None,
    search: str | None = None,
    label: str | None = None,
    source_kind: str | None = None,
    answer: str | None = None,
) -> dict[str, Any]:
    with store.read() as conn:
        only = None
        if not sees_everyone(access) and (label or answer or source_kind == "human"):
            only = own_source_id(conn, access, user) or -1
            if source_kind == "human":
                source_kind = None
        rows = views.browse(
            conn,
            project_id=access.project.id,
            after=after,
            limit=limit,
            split=split,
            search=search,
            label=label,
            source_kind=source_kind,
            answer=answer,
            only_source_id=only,
        )
    records = [
        {
            "id": int(r.id),
            "external_id": r.external_id,
            "text": r.text[:500],
            "truncated": len(r.text) > 500,
            "split": r.split,
        }
        for r in rows
    ]
    return {"records": records, "next_after": records[-1]["id"] if len(records) == limit else None}


def open_record(store: Store, *, access: Access, user: User, record_id: int) -> dict[str, Any]:
    """One record with its gold and the annotations the caller may see."""
    with store.read() as conn:
        row = views.get_record(conn, project_id=access.project.id, record_id=record_id)
        everything = views.annotations_of(conn, record_id=record_id)
        if sees_everyone(access):
            shown = everything
        else:
            shown = [
                a
                for a in everything
                if a.kind in SUGGESTION_KINDS or (a.kind == "human" and a.name == user.username)
            ]
        gold = views.gold_of(conn, record_id=record_id)
    return {
        "id": int(row.id),
        "external_id": row.external_id,
        "text": row.text,
        "meta": row.meta or {},
        "split": row.split,
        "gold": None if gold is None else {"value": gold.value, "method": gold.method},
        "annotations": [
            {
                "source": {"kind": a.kind, "name": a.name, "version": a.version},
                "value": a.value,
                "answer": a.answer,
                "flag_reason": a.flag_reason,
                "duration_ms": a.duration_ms,
                "created_at": a.created_at,
            }
            for a in shown
        ],
    }


__all__ = ["browse_records", "open_record", "own_source_id", "sees_everyone"]
