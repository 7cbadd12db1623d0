"""The annotation queue: open slots per record, reservations, the atomic claim and the answer.

``queue_items`` holds one row per record with ``slots_left``: how many more independent
annotations the record wants (the project's overlap k, less answers and live reservations).
``assignments`` holds who reserved which record until when. A claim runs in one write
transaction: on SQLite ``BEGIN IMMEDIATE`` serialises claims and the claim is one
``UPDATE ... RETURNING``; on PostgreSQL the candidate row is taken ``FOR UPDATE SKIP LOCKED`` so
concurrent claimants pass each other. The scan walks the partial index of open items in priority
order and never the whole project.

Slots: a claim takes one, and the reservation holds it until the answer. An answer that counts
(anything but a skip) keeps it; a skip, or a reservation that runs out unanswered, gives it back.
A reservation made by undo (on a record already answered) takes none: the answer holds it.

The statements an annotator runs on every request (claim, hand out, answer) are built once at
import, with bound parameters, so a request pays for executing them and not for building and
caching SQL; each is a few index lookups.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)

from labelkitchen.store import tables as t
from labelkitchen.store.engine import Direct, Store, execute_direct

q, x, a, s, r = t.queue_items, t.assignments, t.annotations, t.sources, t.records


def enqueue_new_records(
    conn: Connection,
    *,
    project_id: int,
    after_id: int,
    slots: int,
    strategy: str,
    skip_gold: bool,
) -> int:
    """Queue the project's records with ``id > after_id`` (those an import just added)."""
    priority = "r.id" if strategy == "sequential" else "random()"
    if conn.dialect.name == "sqlite":
        # SQLite's random() is a 64-bit integer; scale it into [0, 1) like PostgreSQL's.
        priority = (
            "r.id" if strategy == "sequential" else "(random() / 18446744073709551616.0 + 0.5)"
        )
    result = conn.execute(
        text(
            "INSERT INTO queue_items (project_id, record_id, priority, slots_left) "
            f"SELECT r.project_id, r.id, {priority}, :slots FROM records r "
            "WHERE r.project_id = :project AND r.id > :after "
            "ON CONFLICT (project_id, record_id) DO NOTHING"
        ),
        {"project": project_id, "after": after_id, "slots": slots},
    )
    if skip_gold:
        close_gold(conn, project_id=project_id, after_id=after_id)
    return int(result.rowcount)


def close_gold(conn: Connection, *, project_id: int, after_id: int = 0) -> None:
    """Records that already have gold need no annotation: close their slots."""
    conn.execute(
        update(q)
        .where(
            q.c.project_id == project_id,
            q.c.record_id > after_id,
            q.c.record_id.in_(
                select(t.gold.c.record_id).where(
                    t.gold.c.project_id == project_id, t.gold.c.superseded_by.is_(None)
                )
            ),
        )
        .values(slots_left=0)
    )


def max_record_id(conn: Connection, *, project_id: int) -> int:
    query = select(func.max(t.records.c.id)).where(t.records.c.project_id == project_id)
    return int(conn.execute(query).scalar_one() or 0)


def catch_up(
    conn: Connection, *, project_id: int, slots: int, strategy: str, skip_gold: bool
) -> int:
    """Queue records no import queued yet (large imports leave it to the first claim).

    One statement (built once, two index lookups) when there is nothing to do.
    """
    last_queued, last_record = _run(conn, _LAST_QUEUED_AND_LAST_RECORD, project=project_id).rows[0]
    if int(last_record or 0) <= int(last_queued or 0):
        return 0
    return enqueue_new_records(
        conn,
        project_id=project_id,
        after_id=int(last_queued or 0),
        slots=slots,
        strategy=strategy,
        skip_gold=skip_gold,
    )


# --- the annotator's hot path: statements built once ---------------------------------------

_PROJECT = bindparam("project", type_=q.c.project_id.type)
_USER = bindparam("user", type_=x.c.user_id.type)
_RECORD = bindparam("record", type_=q.c.record_id.type)
_SOURCE = bindparam("source", type_=a.c.source_id.type)
_NOW = bindparam("now", type_=x.c.reserved_until.type)
_UNTIL = bindparam("until", type_=x.c.reserved_until.type)

# The newest queued record and the newest record of the project: equal unless an import is
# still to be queued (see catch_up).
_LAST_QUEUED_AND_LAST_RECORD = select(
    select(func.max(q.c.record_id)).where(q.c.project_id == _PROJECT).scalar_subquery(),
    select(func.max(r.c.id)).where(r.c.project_id == _PROJECT).scalar_subquery(),
)

_HUMAN_SOURCE = select(s.c.id).where(
    s.c.project_id == _PROJECT,
    s.c.kind == "human",
    s.c.name == bindparam("name", type_=s.c.name.type),
    s.c.version == "",
)
_HELD = (
    select(x.c.record_id, x.c.reserved_until)
    .where(x.c.project_id == _PROJECT, x.c.user_id == _USER, x.c.reserved_until > _NOW)
    .order_by(x.c.id)
    .limit(1)
)
_ANY_EXPIRED = select(x.c.id).where(x.c.project_id == _PROJECT, x.c.reserved_until <= _NOW).limit(1)
# What an annotator's next request needs to know first, in one statement.
_STATE = select(
    _HUMAN_SOURCE.scalar_subquery().label("source_id"),
    _HELD.with_only_columns(x.c.record_id).scalar_subquery().label("held"),
    _HELD.with_only_columns(x.c.reserved_until).scalar_subquery().label("held_until"),
    exists(_ANY_EXPIRED).label("expired"),
)
# What an answer needs to know first: the record's text (to check spans) and the source.
_RECORD_AND_SOURCE = select(r.c.text, _HUMAN_SOURCE.scalar_subquery().label("source_id")).where(
    r.c.project_id == _PROJECT, r.c.id == _RECORD
)
_EXPIRED = (
    select(
        x.c.id,
        x.c.record_id,
        # A reservation on a record its holder already answered came from undo: it holds no slot.
        exists()
        .where(
            a.c.record_id == x.c.record_id,
            a.c.source_id == s.c.id,
            s.c.project_id == x.c.project_id,
            s.c.kind == "human",
            s.c.name
            == select(t.users.c.username).where(t.users.c.id == x.c.user_id).scalar_subquery(),
        )
        .label("answered"),
    )
    .where(x.c.project_id == _PROJECT, x.c.reserved_until <= _NOW)
    .limit(500)
)
_DELETE_ASSIGNMENT = delete(x).where(x.c.id == bindparam("assignment_id", type_=x.c.id.type))
_candidate = q.alias("candidate")
_CANDIDATE = (
    select(_candidate.c.record_id)
    .where(
        _candidate.c.project_id == _PROJECT,
        _candidate.c.slots_left > 0,
        ~exists().where(a.c.record_id == _candidate.c.record_id, a.c.source_id == _SOURCE),
        ~exists().where(
            x.c.project_id == _PROJECT,
            x.c.record_id == _candidate.c.record_id,
            x.c.user_id == _USER,
        ),
    )
    .order_by(_candidate.c.priority)
    .limit(1)
)
_holds_one = exists().where(
    x.c.project_id == _PROJECT, x.c.user_id == _USER, x.c.reserved_until > _NOW
)
# SQLite: the whole claim is one statement inside the BEGIN IMMEDIATE transaction.
_CLAIM_ONE_STATEMENT = (
    update(q)
    .where(
        q.c.project_id == _PROJECT,
        q.c.record_id == _CANDIDATE.scalar_subquery(),
        q.c.slots_left > 0,
        ~_holds_one,
    )
    .values(slots_left=q.c.slots_left - 1)
    .returning(q.c.record_id)
)
# PostgreSQL: lock the candidate (skipping rows other claimants hold), then take its slot.
_CLAIM_CANDIDATE_LOCKED = _CANDIDATE.where(~_holds_one).with_for_update(
    skip_locked=True, of=_candidate
)
_TAKE_SLOT = (
    update(q)
    .where(q.c.project_id == _PROJECT, q.c.record_id == _RECORD, q.c.slots_left > 0)
    .values(slots_left=q.c.slots_left - 1)
)
_GIVE_BACK_SLOT = (
    update(q)
    .where(q.c.project_id == _PROJECT, q.c.record_id == _RECORD)
    .values(slots_left=q.c.slots_left + 1)
)
_RESERVE = insert(x).values(
    project_id=_PROJECT, record_id=_RECORD, user_id=_USER, reserved_until=_UNTIL
)
_EXTEND = (
    update(x)
    .where(x.c.project_id == _PROJECT, x.c.user_id == _USER, x.c.record_id == _RECORD)
    .values(reserved_until=_UNTIL)
)
_RESERVATION = select(x.c.id).where(
    x.c.project_id == _PROJECT, x.c.user_id == _USER, x.c.record_id == _RECORD
)
_DROP_RESERVATION = delete(x).where(
    x.c.project_id == _PROJECT, x.c.user_id == _USER, x.c.record_id == _RECORD
)
_IS_QUEUED = select(q.c.record_id).where(q.c.project_id == _PROJECT, q.c.record_id == _RECORD)
_OWN_CURRENT = (
    select(a.c.id, a.c.value, a.c.answer, a.c.flag_reason)
    .where(a.c.record_id == _RECORD, a.c.source_id == _SOURCE, a.c.superseded_by.is_(None))
    .order_by(a.c.id.desc())
    .limit(1)
)
ANSWER_FIELDS = ("value", "answer", "flag_reason", "duration_ms", "guidelines_version")
_INSERT_ANSWER = (
    insert(a)
    .values(
        project_id=_PROJECT,
        record_id=_RECORD,
        source_id=_SOURCE,
        **{key: bindparam(f"new_{key}", type_=a.c[key].type) for key in ANSWER_FIELDS},
    )
    .returning(a.c.id)
)
_SUPERSEDE = (
    update(a)
    .where(a.c.id == bindparam("old_id", type_=a.c.id.type))
    .values(superseded_by=bindparam("new_id", type_=a.c.id.type))
)


def _run(conn: Connection, statement: Any, **params: Any) -> Direct:
    return execute_direct(conn, statement, params)


@dataclass(frozen=True)
class AnnotatorState:
    """Where an annotator stands in a project before their next claim."""

    source_id: int | None  # their source, once they have one
    held: int | None  # the record they reserved and have not answered
    held_until: datetime | None
    expired: bool  # some reservation in the project ran out


def annotator_state(
    store: Store, *, project_id: int, user_id: int, username: str, now: datetime
) -> AnnotatorState:
    """One read, outside any transaction, so the write that may follow is short."""
    params = {"project": project_id, "user": user_id, "name": username, "now": now}
    source_id, held, held_until, expired = store.fetch(_STATE, **params)[0]
    return AnnotatorState(source_id, held, held_until, bool(expired))


def record_and_source(
    store: Store, *, project_id: int, record_id: int, username: str
) -> tuple[str, int | None] | None:
    """The record's text and the annotator's source id (``None`` if the record is not here)."""
    rows = store.fetch(_RECORD_AND_SOURCE, project=project_id, record=record_id, name=username)
    return (rows[0][0], rows[0][1]) if rows else None


def held_record(
    conn: Connection, *, project_id: int, user_id: int, now: datetime
) -> tuple[int, datetime] | None:
    """The record this user reserved and has not answered (oldest first), and until when."""
    rows = _run(conn, _HELD, project=project_id, user=user_id, now=now).rows
    return (int(rows[0][0]), rows[0][1]) if rows else None


def release_expired(conn: Connection, *, project_id: int, now: datetime) -> int:
    """Drop reservations that ran out; those that held a slot give it back to the queue."""
    expired = _run(conn, _EXPIRED, project=project_id, now=now).rows
    for assignment_id, record_id, answered in expired:
        _run(conn, _DELETE_ASSIGNMENT, assignment_id=assignment_id)
        if not answered:
            give_back_slot(conn, project_id=project_id, record_id=int(record_id))
    return len(expired)


def claim(
    conn: Connection,
    *,
    project_id: int,
    user_id: int,
    source_id: int,
    until: datetime,
    now: datetime,
) -> int | None:
    """Reserve the next open record this user has neither answered nor reserved.

    Claims nothing while the user holds a live reservation in the project (two requests of one
    annotator at once reserve one record, not two). Run it in a write transaction.
    """
    params = {"project": project_id, "user": user_id, "source": source_id, "now": now}
    if conn.dialect.name == "postgresql":
        found = _run(conn, _CLAIM_CANDIDATE_LOCKED, **params).rows
        if not found or not take_slot(conn, project_id=project_id, record_id=int(found[0][0])):
            return None
    else:
        found = _run(conn, _CLAIM_ONE_STATEMENT, **params).rows
        if not found:
            return None
    record_id = int(found[0][0])
    _run(conn, _RESERVE, project=project_id, record=record_id, user=user_id, until=until)
    return record_id


def extend(
    conn: Connection, *, project_id: int, user_id: int, record_id: int, until: datetime
) -> None:
    _run(conn, _EXTEND, project=project_id, user=user_id, record=record_id, until=until)


def reserve_again(
    conn: Connection, *, project_id: int, user_id: int, record_id: int, until: datetime
) -> None:
    """Hold a record the user already answered (undo/edit): no slot changes hands."""
    params = {"project": project_id, "user": user_id, "record": record_id, "until": until}
    if _run(conn, _RESERVATION, **params).rows:
        _run(conn, _EXTEND, **params)
    else:
        _run(conn, _RESERVE, **params)


def drop_reservation(conn: Connection, *, project_id: int, user_id: int, record_id: int) -> bool:
    params = {"project": project_id, "user": user_id, "record": record_id}
    return bool(_run(conn, _DROP_RESERVATION, **params).rowcount)


def take_slot(conn: Connection, *, project_id: int, record_id: int) -> bool:
    """Use one open slot of a record; ``False`` when it has none left (or is not queued)."""
    return bool(_run(conn, _TAKE_SLOT, project=project_id, record=record_id).rowcount)


def give_back_slot(conn: Connection, *, project_id: int, record_id: int) -> None:
    _run(conn, _GIVE_BACK_SLOT, project=project_id, record=record_id)


def is_queued(conn: Connection, *, project_id: int, record_id: int) -> bool:
    return bool(_run(conn, _IS_QUEUED, project=project_id, record=record_id).rows)


@dataclass(frozen=True)
class RecordView:
    """A record as its annotator sees it."""

    id: int
    external_id: str | None
    text: str
    meta: dict[str, Any] | None
    split: str | None


@dataclass(frozen=True)
class Suggestion:
    value: Any
    kind: str
    name: str
    version: str


@dataclass(frozen=True)
class OwnAnswer:
    id: int
    value: Any
    answer: str
    flag_reason: str | None


@lru_cache(maxsize=16)
def _record_with_suggestions(kinds: tuple[str, ...]) -> Select[Any]:
    # The suggesting sources as a subquery (a literal IN (...) list would compile on every
    # call), and annotations joined on their own: SQLite then reaches the record's annotations
    # through their record index, where an outer join over (annotations JOIN sources) makes it
    # materialise that join for the whole table first.
    suggesting = select(s.c.id).where(
        s.c.project_id == _PROJECT, or_(*(s.c.kind == kind for kind in kinds))
    )
    suggested = and_(
        a.c.record_id == r.c.id,
        a.c.superseded_by.is_(None),
        a.c.answer == "accept",
        a.c.source_id.in_(suggesting),
    )
    return (
        select(
            r.c.id, r.c.external_id, r.c.text, r.c.meta, r.c.split, a.c.value, s.c.kind, s.c.name
        )
        .add_columns(s.c.version)
        .select_from(r.outerjoin(a, suggested).outerjoin(s, s.c.id == a.c.source_id))
        .where(r.c.project_id == _PROJECT, r.c.id == _RECORD)
        .order_by(a.c.id)
    )


def record_for_annotator(
    store: Store, *, project_id: int, record_id: int, kinds: Sequence[str]
) -> tuple[RecordView, list[Suggestion]] | None:
    """The record and the current accepted values of sources of these kinds, in one read."""
    statement = _record_with_suggestions(tuple(kinds))
    rows = store.fetch(statement, project=project_id, record=record_id)
    if not rows:
        return None
    found = [Suggestion(*row[5:]) for row in rows if row[6] is not None]
    return RecordView(*rows[0][:5]), found


def own_answer_now(store: Store, *, record_id: int, source_id: int) -> OwnAnswer | None:
    """:func:`own_answer` in a read of its own."""
    rows = store.fetch(_OWN_CURRENT, record=record_id, source=source_id)
    return OwnAnswer(*rows[0]) if rows else None


def own_answer(conn: Connection, *, record_id: int, source_id: int) -> OwnAnswer | None:
    """The source's current annotation of the record."""
    rows = _run(conn, _OWN_CURRENT, record=record_id, source=source_id).rows
    return OwnAnswer(*rows[0]) if rows else None


def add_answer(
    conn: Connection,
    *,
    project_id: int,
    record_id: int,
    source_id: int,
    fields: dict[str, Any],
    supersedes: int | None,
) -> int:
    """Append an annotation (superseding ``supersedes``, the current one); returns its id."""
    values = {f"new_{key}": fields.get(key) for key in ANSWER_FIELDS}
    added = _run(
        conn, _INSERT_ANSWER, project=project_id, record=record_id, source=source_id, **values
    )
    new_id = int(added.rows[0][0])
    if supersedes is not None:
        _run(conn, _SUPERSEDE, old_id=supersedes, new_id=new_id)
    return new_id


def open_slots(conn: Connection, *, project_id: int) -> int:
    query = select(func.coalesce(func.sum(q.c.slots_left), 0)).where(
        and_(q.c.project_id == project_id, q.c.slots_left > 0)
    )
    return int(conn.execute(query).scalar_one())


def shift_slots(conn: Connection, *, project_id: int, delta: int) -> None:
    """The overlap changed by ``delta``: open (or close) that many slots on every record."""
    conn.execute(
        update(q)
        .where(q.c.project_id == project_id)
        .values(slots_left=case((q.c.slots_left + delta < 0, 0), else_=q.c.slots_left + delta))
    )


def reprioritise(conn: Connection, *, project_id: int, strategy: str) -> None:
    """Rewrite every priority in one statement when the strategy changes."""
    if strategy == "sequential":
        conn.execute(update(q).where(q.c.project_id == project_id).values(priority=q.c.record_id))
    else:
        value = (
            "random()"
            if conn.dialect.name == "postgresql"
            else ("(random() / 18446744073709551616.0 + 0.5)")
        )
        conn.execute(update(q).where(q.c.project_id == project_id).values(priority=text(value)))
