"""Task types, label sets, goals and the validation of annotation values against a project.

Pure: no database. A :class:`ProjectSpec` is what a user writes (CLI flags, a TOML or YAML
project file, the Python API); the store keeps it as columns and JSON.

Annotation values have one shape per task type:

* ``classify``: ``{"label": "spam"}``
* ``multilabel``: ``{"labels": ["billing", "urgent"]}`` (sorted, no repeats)
* ``spans``: ``{"spans": [{"start": 0, "end": 6, "label": "PER"}, ...]}`` with Python ``str``
  code-point offsets, ``end`` exclusive, sorted by ``(start, end, label)``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from labelkitchen.errors import InvalidInput

ABSTAIN = -1
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# Colour-blind-safe palette (Okabe-Ito, then Tol's muted), cycled for labels without a colour.
PALETTE = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#332288",
    "#88CCEE",
    "#44AA99",
    "#117733",
    "#999933",
    "#DDCC77",
    "#CC6677",
    "#882255",
    "#AA4499",
)
SOURCE_KINDS = ("human", "lf", "model", "import")
ANSWERS = ("accept", "reject", "skip", "flag")
DEFAULT_HOTKEYS = "1234567890qwertyuiopasdfghjklzxcvbnm"
# The project tokenizer: words, numbers and single punctuation marks. Spans must start and end on
# these boundaries; it is deliberately fine-grained so spans made with coarser tokenizers align.
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


class TaskType(StrEnum):
    CLASSIFY = "classify"
    MULTILABEL = "multilabel"
    SPANS = "spans"


class Role(StrEnum):
    """A member's role in a project; instance admins can do everything everywhere."""

    OWNER = "owner"
    REVIEWER = "reviewer"
    ANNOTATOR = "annotator"
    VIEWER = "viewer"


ANNOTATING_ROLES = frozenset({Role.OWNER, Role.REVIEWER, Role.ANNOTATOR})
REVIEWING_ROLES = frozenset({Role.OWNER, Role.REVIEWER})


class Metric(StrEnum):
    ACCURACY = "accuracy"
    MACRO_F1 = "macro_f1"
    MICRO_F1 = "micro_f1"
    PRECISION = "precision"
    RECALL = "recall"
    F1 = "f1"


PER_LABEL_METRICS = frozenset({Metric.PRECISION, Metric.RECALL, Metric.F1})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Label(_Frozen):
    """One label of a project's label set."""

    name: str = Field(min_length=1, max_length=100)
    hotkey: str | None = Field(default=None, min_length=1, max_length=1)
    color: str | None = None
    description: str = ""

    @field_validator("name")
    @classmethod
    def _name_is_trimmed(cls, value: str) -> str:
        if value != value.strip():
            raise ValueError(f"label name {value!r} has leading or trailing spaces")
        return value

    @field_validator("color")
    @classmethod
    def _colour_is_hex(cls, value: str | None) -> str | None:
        if value is not None and not _COLOUR.match(value):
            raise ValueError(f"colour {value!r} is not of the form #rrggbb")
        return value


class Goal(_Frozen):
    """The business goal of a project: what success means, the metric that shows it, the target."""

    text: str = ""
    metric: Metric = Metric.MACRO_F1
    label: str | None = None
    target: float | None = Field(default=None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _label_when_needed(self) -> Goal:
        if self.metric in PER_LABEL_METRICS and self.label is None:
            raise ValueError(f"metric {self.metric.value!r} is per label: name the label")
        return self


class ProjectSettings(_Frozen):
    """Per-project workflow settings; later features add fields here, not tables."""

    overlap: int = Field(default=1, ge=1, le=50, description="annotations wanted per record")
    queue_strategy: Literal[
        "random", "sequential", "least_confidence", "margin", "entropy", "lf_disagreement"
    ] = Field(default="random", description="the order records reach annotators")
    retrain_every: int = Field(
        default=0, ge=0, description="retrain after this many new answers (0: only when asked)"
    )
    reservation_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="how long a served record stays reserved"
    )
    queue_skips_gold: bool = Field(
        default=True, description="records that already have gold are not served"
    )
    allow_overlapping_spans: bool = Field(
        default=False, description="spans may overlap (spans projects)"
    )
    tokenizer: Literal["words.v1"] = Field(
        default="words.v1", description="where spans snap to token boundaries"
    )
    consensus_rule: Literal["unanimous", "majority"] = Field(
        default="majority",
        description="automatic consensus: every answer the same, or a strict plurality",
    )
    consensus_threshold: float = Field(
        default=0.66,
        gt=0.0,
        le=1.0,
        description="share of the answers the majority answer needs (majority rule)",
    )
    consensus_min_answers: int = Field(
        default=2, ge=1, le=50, description="answers a record needs before consensus applies"
    )
    spot_check_share: float = Field(
        default=0.05, gt=0.0, le=1.0, description="share of each annotator's accepted answers"
    )


class ProjectSpec(_Frozen):
    """Everything that defines a project; validated as a whole."""

    slug: str = Field(pattern=SLUG_PATTERN)
    name: str = ""
    task: TaskType
    labels: tuple[Label, ...] = Field(min_length=1)
    description: str = ""
    goal: Goal = Goal()
    settings: ProjectSettings = ProjectSettings()

    @model_validator(mode="after")
    def _labels_unique(self) -> ProjectSpec:
        _check_unique([label.name for label in self.labels], "label name")
        _check_unique([lb.hotkey for lb in self.labels if lb.hotkey is not None], "hotkey")
        if self.goal.label is not None and self.goal.label not in self.label_names:
            raise ValueError(
                f"goal label {self.goal.label!r} is not in the label set {list(self.label_names)}"
            )
        return self

    @property
    def label_names(self) -> tuple[str, ...]:
        return tuple(label.name for label in self.labels)


def _check_unique(values: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} is used twice; each must be unique")
        seen.add(value)


def build_labels(labels: Iterable[str | Mapping[str, Any] | Label]) -> tuple[Label, ...]:
    """Turn names or partial dicts into labels, filling free hotkeys and palette colours."""
    parsed = [
        lb if isinstance(lb, Label) else Label(name=lb) if isinstance(lb, str) else Label(**lb)
        for lb in labels
    ]
    taken = {lb.hotkey for lb in parsed if lb.hotkey}
    free = iter(k for k in DEFAULT_HOTKEYS if k not in taken)
    filled = []
    for index, lb in enumerate(parsed):
        update: dict[str, Any] = {}
        if lb.hotkey is None:
            update["hotkey"] = next(free, None)
        if lb.color is None:
            update["color"] = PALETTE[index % len(PALETTE)]
        filled.append(lb.model_copy(update=update) if update else lb)
    return tuple(filled)


def make_spec(data: Mapping[str, Any]) -> ProjectSpec:
    """Validate a project definition (as read from a file or built by the CLI).

    ``labels`` may be names or dicts; missing hotkeys and colours are filled. Raises
    :class:`InvalidInput` naming every field that is wrong.
    """
    data = dict(data)
    raw_labels = data.get("labels")
    if isinstance(raw_labels, str):
        raw_labels = [name.strip() for name in raw_labels.split(",") if name.strip()]
    try:
        if isinstance(raw_labels, list | tuple):
            data["labels"] = build_labels(raw_labels)
        return ProjectSpec.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"invalid project definition: {_explain(exc)}") from exc


def _explain(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "project"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def tokenize(text: str) -> list[tuple[int, int]]:
    """Token ``(start, end)`` offsets of the project tokenizer (``words.v1``)."""
    return [m.span() for m in _TOKEN.finditer(text)]


def normalize_value(
    value: Any,
    *,
    task: TaskType,
    label_names: Sequence[str],
    text: str,
    allow_overlapping_spans: bool = False,
) -> dict[str, Any]:
    """Check an annotation value against the project and return its canonical form.

    Accepts the canonical dict, or the bare form (a label name, a list of names, a list of
    spans as dicts or ``[start, end, label]`` triples). Raises :class:`InvalidInput` with the
    field named and the allowed labels listed.
    """
    if task is TaskType.CLASSIFY:
        label = value.get("label") if isinstance(value, Mapping) else value
        checked: dict[str, Any] = {"label": _check_label(label, label_names, "label")}
        if isinstance(value, Mapping) and value.get("probs") is not None:
            checked["probs"] = _check_probs(value["probs"], label_names)
        return checked
    if task is TaskType.MULTILABEL:
        labels = value.get("labels") if isinstance(value, Mapping) else value
        if not isinstance(labels, list | tuple):
            raise InvalidInput(f"labels: expected a list of label names, got {labels!r}")
        names = sorted({_check_label(lb, label_names, "labels") for lb in labels})
        return {"labels": names}
    spans = value.get("spans") if isinstance(value, Mapping) else value
    return {
        "spans": check_spans(
            spans, label_names=label_names, text=text, allow_overlapping=allow_overlapping_spans
        )
    }


def _check_probs(probs: Any, label_names: Sequence[str]) -> dict[str, float]:
    """Class probabilities (from a model or label model): known labels, numbers in [0, 1]."""
    if not isinstance(probs, Mapping):
        raise InvalidInput(f"probs: expected {{label: probability}}, got {probs!r}")
    checked = {}
    for label, p in probs.items():
        name = _check_label(label, label_names, "probs")
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p <= 1.0:
            raise InvalidInput(f"probs[{name!r}]: expected a number in [0, 1], got {p!r}")
        checked[name] = float(p)
    return checked


def _check_label(label: Any, label_names: Sequence[str], field: str) -> str:
    if isinstance(label, int) and not isinstance(label, bool):
        label = str(label)
    if not isinstance(label, str) or label not in label_names:
        raise InvalidInput(
            f"{field}: unknown label {label!r}; the project's labels are {list(label_names)}"
        )
    return label


def check_spans(
    spans: Any, *, label_names: Sequence[str], text: str, allow_overlapping: bool
) -> list[dict[str, Any]]:
    """Validate spans: known labels, inside the text, on token boundaries, overlaps as allowed."""
    if not isinstance(spans, list | tuple):
        raise InvalidInput(f"spans: expected a list of spans, got {type(spans).__name__}")
    parsed: list[tuple[int, int, str]] = []
    for index, span in enumerate(spans):
        start, end, label = _span_parts(span, index)
        label = _check_label(label, label_names, f"spans[{index}].label")
        if not 0 <= start < end <= len(text):
            raise InvalidInput(
                f"spans[{index}]: span [{start}, {end}) is out of bounds for a text of "
                f"{len(text)} characters (need 0 <= start < end <= {len(text)})"
            )
        parsed.append((start, end, label))
    parsed.sort()
    if parsed:
        _check_alignment(parsed, text)
    if not allow_overlapping:
        for (s1, e1, l1), (s2, e2, l2) in itertools.pairwise(parsed):
            if s2 < e1:
                raise InvalidInput(
                    f"spans: [{s1}, {e1}) {l1!r} overlaps [{s2}, {e2}) {l2!r}, and this "
                    "project does not allow overlapping spans"
                )
    return [{"start": s, "end": e, "label": lb} for s, e, lb in parsed]


def _span_parts(span: Any, index: int) -> tuple[int, int, Any]:
    if isinstance(span, Mapping):
        start, end, label = span.get("start"), span.get("end"), span.get("label")
    elif isinstance(span, list | tuple) and len(span) == 3:
        start, end, label = span
    else:
        raise InvalidInput(
            f"spans[{index}]: expected {{'start', 'end', 'label'}} or [start, end, label], "
            f"got {span!r}"
        )
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
        raise InvalidInput(f"spans[{index}]: start and end must be integers, got {span!r}")
    return int(start), int(end), label  # type: ignore[arg-type]  # checked just above


def _check_alignment(spans: Sequence[tuple[int, int, str]], text: str) -> None:
    tokens = tokenize(text)
    starts = {s for s, _ in tokens}
    ends = {e for _, e in tokens}
    for start, end, label in spans:
        if start not in starts or end not in ends:
            raise InvalidInput(
                f"spans: [{start}, {end}) {label!r} ({text[start:end]!r}) does not fall on "
                "token boundaries; spans must start at a token's first character and end "
                "after a token's last"
            )


class Project(_Frozen):
    """A stored project: its spec plus identity and timestamps."""

    id: int
    spec: ProjectSpec
    created_at: Any = None
    updated_at: Any = None

    @property
    def slug(self) -> str:
        return self.spec.slug

    @property
    def task(self) -> TaskType:
        return self.spec.task

    @property
    def label_names(self) -> tuple[str, ...]:
        return self.spec.label_names

    def normalize_value(self, value: Any, *, text: str) -> dict[str, Any]:
        """Check an annotation value against this project (see :func:`normalize_value`)."""
        return normalize_value(
            value,
            task=self.spec.task,
            label_names=self.spec.label_names,
            text=text,
            allow_overlapping_spans=self.spec.settings.allow_overlapping_spans,
        )


__all__ = [
    "ABSTAIN",
    "ANNOTATING_ROLES",
    "ANSWERS",
    "REVIEWING_ROLES",
    "SOURCE_KINDS",
    "Goal",
    "Label",
    "Metric",
    "Project",
    "ProjectSettings",
    "ProjectSpec",
    "Role",
    "TaskType",
    "build_labels",
    "check_spans",
    "make_spec",
    "normalize_value",
    "tokenize",
]
