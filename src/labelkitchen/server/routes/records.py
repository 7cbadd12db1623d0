"""The data browser: filtered keyset pages and single records."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from labelkitchen.server.deps import MAX_ID, AccessDep, RecordId, StoreDep, UserDep
from labelkitchen.services import browse

router = APIRouter(prefix="/api/projects/{slug}/records", tags=["records"])


@router.get("")
def list_records(
    access: AccessDep,
    user: UserDep,
    store: StoreDep,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    split: Annotated[str | None, Query(max_length=50)] = None,
    q: Annotated[str | None, Query(max_length=500, description="Text search.")] = None,
    label: Annotated[str | None, Query(max_length=100)] = None,
    source: Annotated[str | None, Query(pattern="^(human|lf|model|import)$")] = None,
    answer: Annotated[str | None, Query(pattern="^(accept|reject|skip|flag)$")] = None,
) -> dict[str, Any]:
    """Records matching the filters, ``limit`` at a time; pass ``next_after`` as ``after``."""
    return browse.browse_records(
        store,
        access=access,
        user=user,
        after=after,
        limit=limit,
        split=split,
        search=q,
        label=label,
        source_kind=source,
        answer=answer,
    )


@router.get("/{record_id}")
def get_record(
    record_id: RecordId, access: AccessDep, user: UserDep, store: StoreDep
) -> dict[str, Any]:
    """One record with the annotations your role may see."""
    return browse.open_record(store, access=access, user=user, record_id=record_id)
