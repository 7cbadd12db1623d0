"""Annotating: claim the next record, answer it, undo, edit, and see one's own history.

Every answer is an append-only annotation by the annotator's source (kind ``human``). The queue
keeps the project's overlap: a record is handed to at most k annotators, never twice to one, and
a reservation that runs out returns its slot. Blind by default: an annotator sees suggestions
from imports, labelling functions' label model and models, never other people's answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from labelkitchen.errors import Conflict, InvalidInput, NotFound
from labelkitchen.schema import ANSWERS
from labelkitchen.services.accounts import Access, User, require
from labelkitchen.services.browse import SUGGESTION_KINDS, own_source_id
from labelkitchen.store import Store
from labelkitchen.store import tables as t
from labelkitchen.store.queries import annotations as annotation_queries
from labelkitchen.store.queries import queue as queue_queries
from labelkitchen.store.queries import records_view as views
from labelkitchen.store.queries.sources import ensure_source


@dataclass(frozen=True)
class Answer:
    value: dict[str, Any] | None
    answer: str = "accept"
    duration_ms: int | None = None
    flag_reason: str | None = None
    guidelines_version: int | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _until(access: Access) -> datetime:
    return _now() + timedelta(minutes=access.project.spec.settings.reservation_minutes)


def _source(conn: Connection, access: Access, user: User) -> int:
    return ensure_source(
        conn, project_id=access.project.id, kind="human", name=user.username, user_id=user.id
    )


def _payload(conn: Connection, access: Access, record_id: int, source_id: int) -> dict[str, Any]:
    row = views.get_record(conn, project_id=access.project.id, record_id=record_id)
    suggestions = [
        {"source": {"kind": s.kind, "name": s.name, "version": s.version}, "value": s.value}
        for s in views.annotations_of(conn, record_id=record_id, kinds=SUGGESTION_KINDS)
        if s.answer == "accept" and s.value
    ]
    mine = views.annotations_of(conn, record_id=record_id, source_id=source_id)
    previous = (
        {"value": mine[-1].value, "answer": mine[-1].answer, "flag_reason": mine[-1].flag_reason}
        if mine
        else None
    )
    return {
        "id": int(row.id),
        "external_id": row.external_id,
        "text": row.text,
        "meta": row.meta or {},
        "split": row.split,
        "suggestions": suggestions,
        "previous": previous,
    }


def next_record(store: Store, *, access: Access, user: User) -> dict[str, Any] | None:
    """The record reserved for this user: the one they hold, else a newly claimed one."""
    require(access.can_annotate, "annotate")
    project_id = access.project.id
    with store.write() as conn:
        source_id = _source(conn, access, user)
        now = _now()
        record_id = queue_queries.held_record(conn, project_id=project_id, user_id=user.id, now=now)
        if record_id is not None:
            queue_queries.extend(
                conn,
                project_id=project_id,
                user_id=user.id,
                record_id=record_id,
                until=_until(access),
            )
        else:
            queue_queries.release_expired(conn, project_id=project_id, now=now)
            record_id = queue_queries.claim(
                conn,
                project_id=project_id,
                user_id=user.id,
                source_id=source_id,
                until=_until(access),
            )
        if record_id is None:
            return None
        return _payload(conn, access, record_id, source_id)


def submit_answer(
    store: Store, *, access: Access, user: User, record_id: int, answer: Answer
) -> dict[str, Any]:
    """Store one answer; returns the stored annotation (``created`` False if it repeated the
    current one, as a retried request does)."""
    require(access.can_annotate, "annotate")
    if answer.answer not in ANSWERS:
        raise InvalidInput(f"answer {answer.answer!r} is not one of {list(ANSWERS)}")
    if answer.answer == "flag" and not (answer.flag_reason or "").strip():
        raise InvalidInput("a flag needs a reason (flag_reason)")
    project_id = access.project.id
    with store.write() as conn:
        record = views.get_record(conn, project_id=project_id, record_id=record_id)
        value = answer.value
        if answer.answer in ("accept", "flag") or value:
            if value is None:
                raise InvalidInput("an accepted answer needs a value")
            value = access.project.normalize_value(value, text=record.text)
        source_id = _source(conn, access, user)
        current = views.annotations_of(conn, record_id=record_id, source_id=source_id)
        held = queue_queries.drop_reservation(
            conn, project_id=project_id, user_id=user.id, record_id=record_id
        )
        _settle_slots(
            conn,
            project_id,
            record_id,
            held=held,
            old=current[-1].answer if current else None,
            new=answer.answer,
        )
        extra: dict[str, Any] = {"answer": answer.answer}
        for key in ("duration_ms", "flag_reason", "guidelines_version"):
            if getattr(answer, key) is not None:
                extra[key] = getattr(answer, key)
        added = annotation_queries.append_versions(
            conn,
            t.annotations,
            project_id=project_id,
            source_id=source_id,
            items=[annotation_queries.NewVersion(record_id, value or {}, extra)],
        )
        stored = views.annotations_of(conn, record_id=record_id, source_id=source_id)[-1]
    return {
        "id": int(stored.id),
        "record_id": record_id,
        "value": stored.value,
        "answer": stored.answer,
        "created": bool(added),
    }


def _settle_slots(
    conn: Connection, project_id: int, record_id: int, *, held: bool, old: str | None, new: str
) -> None:
    """Keep ``slots_left`` true to the overlap: an answer uses a slot, a skip gives it back."""
    counted_before = old is not None and old != "skip"
    counts_now = new != "skip"
    if held:  # the claim already took a slot for this user
        if old is None and not counts_now:
            queue_queries.give_back_slot(conn, project_id=project_id, record_id=record_id)
        return
    if counts_now and not counted_before:
        if not queue_queries.take_slot(conn, project_id=project_id, record_id=record_id) and (
            queue_queries.is_queued(conn, project_id=project_id, record_id=record_id)
        ):
            raise Conflict("this record already has all the annotations it needs")
    elif counted_before and not counts_now:
        queue_queries.give_back_slot(conn, project_id=project_id, record_id=record_id)


def undo_last(store: Store, *, access: Access, user: User) -> dict[str, Any]:
    """Hand the user's last answered record back to them; their next answer replaces it."""
    require(access.can_annotate, "annotate")
    project_id = access.project.id
    with store.write() as conn:
        source_id = _source(conn, access, user)
        last = views.last_answer(conn, project_id=project_id, source_id=source_id)
        if last is None:
            raise NotFound("nothing to undo: you have not answered anything here yet")
        record_id = int(last.record_id)
        queue_queries.reserve_again(
            conn,
            project_id=project_id,
            user_id=user.id,
            record_id=record_id,
            until=_until(access),
        )
        return _payload(conn, access, record_id, source_id)


def my_history(
    store: Store, *, access: Access, user: User, before: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    with store.write() as conn:
        source_id = _source(conn, access, user)
        rows = views.history(
            conn,
            project_id=access.project.id,
            source_id=source_id,
            before=before,
            limit=min(max(limit, 1), 200),
        )
    return [
        {
            "annotation_id": int(r.id),
            "record_id": int(r.record_id),
            "value": r.value,
            "answer": r.answer,
            "created_at": r.created_at,
            "text": r.text[:300],
        }
        for r in rows
    ]


def progress(store: Store, *, access: Access, user: User) -> dict[str, Any]:
    """How many records this user answered here, and how many slots are still open."""
    with store.read() as conn:
        own = own_source_id(conn, access, user)
        done = (
            0
            if own is None
            else views.count_answers(conn, project_id=access.project.id, source_id=own)
        )
        remaining = queue_queries.open_slots(conn, project_id=access.project.id)
    return {"done": done, "open_slots": remaining}


__all__ = [
    "Answer",
    "my_history",
    "next_record",
    "progress",
    "submit_answer",
    "undo_last",
]
