"""The annotation queue: open slots per record, reservations, and the atomic claim.

``queue_items`` holds one row per record with ``slots_left``: how many more independent
annotations the record wants (the project's overlap k, less answers and live reservations).
``assignments`` holds who reserved which record until when. A claim runs in one write
transaction: on SQLite ``BEGIN IMMEDIATE`` serialises claims; on PostgreSQL the candidate row is
taken ``FOR UPDATE SKIP LOCKED`` so concurrent claimants pass each other. The scan walks the
partial index of open items in priority order and never the whole project.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Connection,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    select,
    text,
    update,
)

from labelkitchen.store import tables as t

q, x, a = t.queue_items, t.assignments, t.annotations


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


def held_record(conn: Connection, *, project_id: int, user_id: int, now: datetime) -> int | None:
    """The record this user already reserved and has not answered (oldest first)."""
    query = (
        select(x.c.record_id)
        .where(x.c.project_id == project_id, x.c.user_id == user_id, x.c.reserved_until > now)
        .order_by(x.c.id)
        .limit(1)
    )
    found = conn.execute(query).scalar_one_or_none()
    return None if found is None else int(found)


def release_expired(conn: Connection, *, project_id: int, now: datetime) -> int:
    """Return the slots of reservations that ran out (abandoned work goes back to the queue)."""
    expired = conn.execute(
        select(x.c.id, x.c.record_id)
        .where(x.c.project_id == project_id, x.c.reserved_until <= now)
        .limit(500)
    ).all()
    for row in expired:
        conn.execute(delete(x).where(x.c.id == row.id))
        give_back_slot(conn, project_id=project_id, record_id=int(row.record_id))
    return len(expired)


def claim(
    conn: Connection, *, project_id: int, user_id: int, source_id: int, until: datetime
) -> int | None:
    """Reserve the next open record this user has neither answered nor reserved."""
    answered = exists().where(a.c.record_id == q.c.record_id, a.c.source_id == source_id)
    reserved = exists().where(
        x.c.project_id == project_id, x.c.record_id == q.c.record_id, x.c.user_id == user_id
    )
    query = (
        select(q.c.record_id)
        .where(q.c.project_id == project_id, q.c.slots_left > 0, ~answered, ~reserved)
        .order_by(q.c.priority)
        .limit(1)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=q)
    record_id = conn.execute(query).scalar_one_or_none()
    if record_id is None:
        return None
    taken = conn.execute(
        update(q)
        .where(q.c.project_id == project_id, q.c.record_id == record_id, q.c.slots_left > 0)
        .values(slots_left=q.c.slots_left - 1)
    )
    if taken.rowcount != 1:  # pragma: no cover - guarded by the lock / the write transaction
        return None
    conn.execute(
        insert(x).values(
            project_id=project_id, record_id=record_id, user_id=user_id, reserved_until=until
        )
    )
    return int(record_id)


def extend(
    conn: Connection, *, project_id: int, user_id: int, record_id: int, until: datetime
) -> None:
    conn.execute(
        update(x)
        .where(x.c.project_id == project_id, x.c.user_id == user_id, x.c.record_id == record_id)
        .values(reserved_until=until)
    )


def reserve_again(
    conn: Connection, *, project_id: int, user_id: int, record_id: int, until: datetime
) -> None:
    """Hold a record the user already answered (undo/edit): no slot changes hands."""
    if conn.execute(
        select(x.c.id).where(
            x.c.project_id == project_id, x.c.user_id == user_id, x.c.record_id == record_id
        )
    ).first():
        extend(conn, project_id=project_id, user_id=user_id, record_id=record_id, until=until)
        return
    conn.execute(
        insert(x).values(
            project_id=project_id, record_id=record_id, user_id=user_id, reserved_until=until
        )
    )


def drop_reservation(conn: Connection, *, project_id: int, user_id: int, record_id: int) -> bool:
    result = conn.execute(
        delete(x).where(
            x.c.project_id == project_id, x.c.user_id == user_id, x.c.record_id == record_id
        )
    )
    return bool(result.rowcount)


def take_slot(conn: Connection, *, project_id: int, record_id: int) -> bool:
    """Use one open slot of a record; ``False`` when it has none left (or is not queued)."""
    result = conn.execute(
        update(q)
        .where(q.c.project_id == project_id, q.c.record_id == record_id, q.c.slots_left > 0)
        .values(slots_left=q.c.slots_left - 1)
    )
    return bool(result.rowcount)


def give_back_slot(conn: Connection, *, project_id: int, record_id: int) -> None:
    conn.execute(
        update(q)
        .where(q.c.project_id == project_id, q.c.record_id == record_id)
        .values(slots_left=q.c.slots_left + 1)
    )


def is_queued(conn: Connection, *, project_id: int, record_id: int) -> bool:
    query = select(q.c.record_id).where(q.c.project_id == project_id, q.c.record_id == record_id)
    return conn.execute(query).first() is not None


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
