"""Review: agreement, annotator statistics, the adjudication queue, gold, consensus, spot checks.

Agreement and annotator statistics are for those who see everyone's answers (reviewers,
owners, viewers, admins); annotators work blind and are denied. Deciding anything (gold,
consensus, spot checks) needs a reviewing role.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from labelkitchen.server.deps import AccessDep, RecordId, StoreDep, UserDep
from labelkitchen.services import quality, review
from labelkitchen.services.accounts import require
from labelkitchen.services.browse import sees_everyone

router = APIRouter(prefix="/api/projects/{slug}", tags=["review"])


class GoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: Any = Field(default=None, description="The final label; omit to take annotation_id's.")
    method: Literal["adjudicated", "reviewed"] = "adjudicated"
    annotation_id: int | None = Field(default=None, description="The answer picked, if any.")
    note: str | None = Field(default=None, max_length=10_000)


class ConsensusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule: Literal["unanimous", "majority"] | None = Field(
        default=None, description="Omit to use the project's consensus_rule setting."
    )
    threshold: float | None = Field(
        default=None, gt=0.0, le=1.0, description="Omit for consensus_threshold."
    )
    min_answers: int | None = Field(
        default=None, ge=1, le=50, description="Omit for consensus_min_answers."
    )


class SampleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    share: float | None = Field(
        default=None, gt=0.0, le=1.0, description="Omit to use the project's spot_check_share."
    )


class VerdictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    check_id: int
    correct: bool
    note: str | None = Field(default=None, max_length=10_000)


@router.get("/agreement")
def get_agreement(
    access: AccessDep,
    store: StoreDep,
    resamples: Annotated[int, Query(ge=0, le=1000, description="Bootstrap resamples.")] = 100,
) -> dict[str, Any]:
    """Inter-annotator agreement: overall with 95% intervals, per label, per annotator pair."""
    require(sees_everyone(access), "see other annotators' agreement")
    return review.agreement_report(
        store, project=access.project.slug, n_resamples=resamples
    ).to_dict()


@router.get("/annotators")
def get_annotators(access: AccessDep, store: StoreDep) -> dict[str, Any]:
    """Per annotator: throughput, time, agreement with consensus and gold, accuracy, cost."""
    require(sees_everyone(access), "see annotator statistics")
    return quality.annotator_report(store, project=access.project.slug).to_dict()


@router.get("/review/queue")
def get_review_queue(
    access: AccessDep,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    include_resolved: bool = False,
) -> list[dict[str, Any]]:
    """Records whose annotators disagree, most disagreement (then model uncertainty) first."""
    items = review.review_queue(
        store, access=access, limit=limit, include_resolved=include_resolved
    )
    return [asdict(item) for item in items]


@router.get("/review/mine")
def get_my_resolutions(
    access: AccessDep,
    user: UserDep,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The caller's resolved disagreements: their answer, the final label, the method, the
    reviewer and note, and how the answers split (counts, no names). Annotators and reviewers."""
    items = review.my_resolutions(store, access=access, user=user, limit=limit)
    return [asdict(item) for item in items]


@router.post("/records/{record_id}/gold", status_code=201)
def post_gold(
    record_id: RecordId, body: GoldIn, access: AccessDep, user: UserDep, store: StoreDep
) -> dict[str, Any]:
    """Decide a record's final label: a new gold version; earlier versions are kept."""
    decision = review.set_gold(
        store,
        access=access,
        user=user,
        record_id=record_id,
        value=body.value,
        method=body.method,
        annotation_id=body.annotation_id,
        note=body.note,
    )
    return asdict(decision)


@router.post("/review/consensus")
def post_consensus(body: ConsensusIn, access: AccessDep, store: StoreDep) -> dict[str, Any]:
    """Write consensus gold for records whose answers agree by the rule."""
    require(access.can_review, "write consensus gold")
    return review.apply_consensus(
        store,
        project=access.project.slug,
        rule=body.rule,
        threshold=body.threshold,
        min_answers=body.min_answers,
    ).to_dict()


@router.post("/review/spot-checks")
def post_spot_checks(body: SampleIn, access: AccessDep, store: StoreDep) -> dict[str, Any]:
    """Sample ``share`` of each annotator's accepted answers for spot checking."""
    return asdict(quality.sample_spot_checks(store, access=access, share=body.share))


@router.get("/review/spot-checks")
def get_spot_checks(access: AccessDep, store: StoreDep) -> dict[str, Any]:
    """Every spot check, and per annotator the error rate with its 95% Wilson interval."""
    return {
        "checks": quality.list_spot_checks(store, access=access),
        "annotators": [asdict(s) for s in quality.spot_check_summary(store, access=access)],
    }


@router.post("/review/spot-checks/verdicts", status_code=204)
def post_verdict(body: VerdictIn, access: AccessDep, user: UserDep, store: StoreDep) -> None:
    """Mark a spot-checked answer correct or not, with a note."""
    quality.mark_spot_check(
        store,
        access=access,
        user=user,
        check_id=body.check_id,
        correct=body.correct,
        note=body.note,
    )
