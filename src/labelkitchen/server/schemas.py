"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_In):
    username: str = Field(max_length=100)
    password: str = Field(max_length=1000)


class SessionOut(BaseModel):
    user: dict[str, Any]
    csrf_token: str


class UserIn(_In):
    username: str = Field(max_length=100)
    password: str = Field(min_length=8, max_length=1000)
    is_admin: bool = False
    display_name: str = Field(default="", max_length=200)


class UserPatch(_In):
    password: str | None = Field(default=None, min_length=8, max_length=1000)
    is_admin: bool | None = None
    is_active: bool | None = None
    display_name: str | None = Field(default=None, max_length=200)


class TokenIn(_In):
    name: str = Field(default="", max_length=200)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(BaseModel):
    id: int
    token: str
    prefix: str
    expires_at: Any = None


class ProjectIn(_In):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    task: Literal["classify", "multilabel", "spans"]
    labels: list[str | dict[str, Any]] = Field(min_length=1, max_length=500)
    name: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=10_000)
    goal: dict[str, Any] | None = None
    settings: dict[str, Any] | None = None


class ProjectPatch(_In):
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    labels: list[str | dict[str, Any]] | None = Field(default=None, max_length=500)
    goal: dict[str, Any] | None = None
    settings: dict[str, Any] | None = None


class MemberIn(_In):
    role: Literal["owner", "reviewer", "annotator", "viewer"]


class AnswerIn(_In):
    value: dict[str, Any] | None = None
    answer: Literal["accept", "reject", "skip", "flag"] = "accept"
    duration_ms: int | None = Field(default=None, ge=0, le=86_400_000)
    flag_reason: str | None = Field(default=None, max_length=2000)
    guidelines_version: int | None = Field(default=None, ge=0)


class AnnotationOut(BaseModel):
    id: int
    record_id: int
    value: dict[str, Any] | None
    answer: str
    created: bool


class QueueRecordOut(BaseModel):
    id: int
    external_id: str | None
    text: str
    meta: dict[str, Any]
    split: str | None
    suggestions: list[dict[str, Any]]
    previous: dict[str, Any] | None
