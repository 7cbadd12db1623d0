"""Annotating: claim the next record, answer it, undo, edit, and see one's own history.

Every answer is an append-only annotation by the annotator's source (kind ``human``). The queue
keeps the project's overlap: a record is handed to at most k annotators, never twice to one, and
a reservation that runs out returns its slot. Blind by default: an annotator sees suggestions
from imports, labelling functions' label model and models, never other people's answers.

The newest trained model's stored prediction for the record (see :mod:`services.train`) comes
first among the suggestions, marked with the model (name and version) and its ``confidence``: the
predicted label's probability (classify), the least sure of its per-label decisions
(multilabel: ``p`` for a chosen label, ``1 - p`` for one left out), or ``1 - u/2`` for the span
tagger's record uncertainty ``u`` (the probability of its least sure span decision). Predictions
are only stored for records the model did not train on, so they never carry another annotator's
answer back to the screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from labelkitchen.errors import Conflict, InvalidInput, NotFound
from labelkitchen.schema import ANSWERS, Project, TaskType
from labelkitchen.services.accounts import Access, User, require
from labelkitchen.services.browse import SUGGESTION_KINDS, own_source_id
from labelkitchen.store import Store
from labelkitchen.store.queries import queue as queue_queries
from labelkitchen.store.queries import records_view as views
from labelkitchen.store.queries import training as training_queries
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


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _hold(access: Access) -> timedelta:
    return timedelta(minutes=access.project.spec.settings.reservation_minutes)


def _until(access: Access) -> datetime:
    return _now() + _hold(access)


def _source(conn: Connection, access: Access, user: User) -> int:
    return ensure_source(
        conn, project_id=access.project.id, kind="human", name=user.username, user_id=user.id
    )


def _payload(
    store: Store, access: Access, record_id: int, source_id: int | None, *, look_back: bool
) -> dict[str, Any]:
    """The record as its annotator sees it: suggestions, and (``look_back``) their own answer."""
    found = queue_queries.record_for_annotator(
        store, project_id=access.project.id, record_id=record_id, kinds=SUGGESTION_KINDS
    )
    if found is None:
        raise NotFound(f"no record {record_id} in this project")
    row, suggested = found
    mine = (
        queue_queries.own_answer_now(store, record_id=record_id, source_id=source_id)
        if look_back and source_id is not None
        else None
    )
    predicted = _model_suggestion(store, access.project, record_id)
    return {
        "id": int(row.id),
        "external_id": row.external_id,
        "text": row.text,
        "meta": row.meta or {},
        "split": row.split,
        "suggestions": ([predicted] if predicted is not None else [])
        + [
            {"source": {"kind": s.kind, "name": s.name, "version": s.version}, "value": s.value}
            for s in suggested
            if s.value
        ],
        "previous": (
            {"value": mine.value, "answer": mine.answer, "flag_reason": mine.flag_reason}
            if mine is not None
            else None
        ),
    }


def _model_suggestion(store: Store, project: Project, record_id: int) -> dict[str, Any] | None:
    """The newest model's stored prediction for the record as a suggestion (see the module doc),
    or ``None`` when no model predicted it: one indexed lookup by record id."""
    found = training_queries.newest_prediction(store, project_id=project.id, record_id=record_id)
    if found is None or not isinstance(found.value, dict):
        return None
    value: dict[str, Any] = dict(found.value)
    probs = {str(k): float(v) for k, v in (found.probs or {}).items()}
    if project.task is TaskType.SPANS:
        if not isinstance(value.get("spans"), list):
            return None
        confidence = 1.0 - (found.score or 0.0) / 2.0
    elif project.task is TaskType.MULTILABEL:
        chosen = set(value.get("labels") or [])
        value = {"labels": sorted(chosen), "probs": probs}
        confidence = min(
            (p if name in chosen else 1.0 - p for name, p in probs.items()), default=0.0
        )
    else:
        if not isinstance(value.get("label"), str):
            return None
        value = {"label": value["label"], "probs": probs}
        confidence = probs.get(value["label"], 0.0)
    return {
        "source": {"kind": "model", "name": found.model, "version": str(found.version)},
        "value": value,
        "confidence": round(min(max(confidence, 0.0), 1.0), 4),
    }


def next_record(store: Store, *, access: Access, user: User) -> dict[str, Any] | None:
    """The record reserved for this user: the one they hold, else a newly claimed one.

    Only the claim itself runs in a write transaction: finding what the user holds and reading
    the record happen in reads around it, so writers queue for as little as possible. A held
    reservation is extended once less than half of it is left.
    """
    require(access.can_annotate, "annotate")
    project_id = access.project.id
    now = _now()
    state = queue_queries.annotator_state(
        store, project_id=project_id, user_id=user.id, username=user.username, now=now
    )
    source_id = state.source_id
    held = (
        None if state.held is None or state.held_until is None else (state.held, state.held_until)
    )
    record_id: int | None = None
    if held is None:
        with store.write() as conn:
            if source_id is None:
                source_id = _source(conn, access, user)
            settings = access.project.spec.settings
            queue_queries.catch_up(
                conn,
                project_id=project_id,
                slots=settings.overlap,
                strategy=settings.queue_strategy,
                skip_gold=settings.queue_skips_gold,
            )
            if state.expired:
                queue_queries.release_expired(conn, project_id=project_id, now=now)
            record_id = queue_queries.claim(
                conn,
                project_id=project_id,
                user_id=user.id,
                source_id=source_id,
                until=now + _hold(access),
                now=now,
            )
        if record_id is None:  # nothing open, or another request of this user just claimed one
            with store.read() as conn:
                held = queue_queries.held_record(
                    conn, project_id=project_id, user_id=user.id, now=now
                )
            if held is None:
                return None
    if held is not None:
        record_id, held_until = held
        if _aware(held_until) - now < _hold(access) / 2:
            with store.write() as conn:
                queue_queries.extend(
                    conn,
                    project_id=project_id,
                    user_id=user.id,
                    record_id=record_id,
                    until=now + _hold(access),
                )
    if record_id is None:  # pragma: no cover - set by the claim or the reservation above
        return None
    # A freshly claimed record was never answered by this user (the claim skips those).
    return _payload(store, access, record_id, source_id, look_back=held is not None)


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
    found = queue_queries.record_and_source(
        store, project_id=project_id, record_id=record_id, username=user.username
    )
    if found is None:
        raise NotFound(f"no record {record_id} in this project")
    text, source_id = found
    value = answer.value
    if answer.answer in ("accept", "flag") or value:
        if value is None:
            raise InvalidInput("an accepted answer needs a value")
        value = access.project.normalize_value(value, text=text)
    value = value or {}
    fields = {
        "value": value,
        "answer": answer.answer,
        "duration_ms": answer.duration_ms,
        "flag_reason": answer.flag_reason,
        "guidelines_version": answer.guidelines_version,
    }
    with store.write() as conn:
        if source_id is None:
            source_id = _source(conn, access, user)
        current = queue_queries.own_answer(conn, record_id=record_id, source_id=source_id)
        held = queue_queries.drop_reservation(
            conn, project_id=project_id, user_id=user.id, record_id=record_id
        )
        _settle_slots(
            conn,
            project_id,
            record_id,
            held=held,
            old=None if current is None else current.answer,
            new=answer.answer,
        )
        if current is not None and current.value == value and current.answer == answer.answer:
            stored_id, created = int(current.id), False  # a retried request: nothing new
        else:
            stored_id = queue_queries.add_answer(
                conn,
                project_id=project_id,
                record_id=record_id,
                source_id=source_id,
                fields=fields,
                supersedes=None if current is None else int(current.id),
            )
            created = True
    return {
        "id": stored_id,
        "record_id": record_id,
        "value": value,
        "answer": answer.answer,
        "created": created,
    }


def _settle_slots(
    conn: Connection, project_id: int, record_id: int, *, held: bool, old: str | None, new: str
) -> None:
    """Keep ``slots_left`` true to the overlap: an answer uses a slot, a skip gives it back.

    The user held a slot if they claimed the record (a reservation on a record they never
    answered) or if their current answer counts; a reservation from undo holds none.
    """
    had_slot = (held and old is None) or (old is not None and old != "skip")
    needs_slot = new != "skip"
    if had_slot and not needs_slot:
        queue_queries.give_back_slot(conn, project_id=project_id, record_id=record_id)
    elif (
        needs_slot
        and not had_slot
        and not queue_queries.take_slot(conn, project_id=project_id, record_id=record_id)
        and queue_queries.is_queued(conn, project_id=project_id, record_id=record_id)
    ):
        raise Conflict("this record already has all the annotations it needs")


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
    return _payload(store, access, record_id, source_id, look_back=True)


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
