"""SQLAlchemy Core tables for the whole data model (DESIGN.md, "Data model").

Every table that belongs to a project carries ``project_id`` and is deleted with it. Annotations
and gold are append-only: a correction is a new row and the old one's ``superseded_by`` points to
it, so ``superseded_by IS NULL`` selects the current version.

Changing a table here needs a migration in ``migrations/versions`` (a test compares the two).
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import postgresql

# Naming convention so migrations name constraints the same on every backend.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# JSON on every backend, JSONB on PostgreSQL (indexable, compact).
Json = JSON().with_variant(postgresql.JSONB(), "postgresql")
Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite rowid aliases need INTEGER


def _now() -> Column[object]:
    return Column(
        "created_at",
        DateTime(timezone=True),
        nullable=False,
        server_default=text("CURRENT_TIMESTAMP"),
    )


def _project_fk() -> Column[int]:
    return Column("project_id", Id, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)


users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False, server_default=""),
    Column("email", String(320)),
    Column("password_hash", String(255)),
    Column("is_admin", Boolean, nullable=False, server_default=text("false")),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("hourly_rate", Float),
    _now(),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(200), nullable=False, server_default=""),
    Column("prefix", String(16), nullable=False),
    Column("token_hash", String(128), nullable=False, unique=True),
    _now(),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)

projects = Table(
    "projects",
    metadata,
    Column("id", Id, primary_key=True),
    Column("slug", String(63), nullable=False, unique=True),
    Column("name", String(200), nullable=False, server_default=""),
    Column("description", Text, nullable=False, server_default=""),
    Column("task", String(20), nullable=False),
    Column("labels", Json, nullable=False),
    Column("goal", Json, nullable=False),
    Column("settings", Json, nullable=False),
    _now(),
    Column(
        "updated_at",
        DateTime(timezone=True),
        nullable=False,
        server_default=text("CURRENT_TIMESTAMP"),
    ),
    CheckConstraint("task IN ('classify', 'multilabel', 'spans')", name="task"),
)

memberships = Table(
    "memberships",
    metadata,
    _project_fk(),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("role", String(20), nullable=False),
    _now(),
    UniqueConstraint("project_id", "user_id"),
    CheckConstraint("role IN ('owner', 'reviewer', 'annotator', 'viewer')", name="role"),
)

records = Table(
    "records",
    metadata,
    Column("id", Id, primary_key=True),
    _project_fk(),
    Column("external_id", String(500)),
    Column("text", Text, nullable=False),
    Column("meta", Json),
    Column("content_hash", LargeBinary(16), nullable=False),
    Column("split", String(50)),
    # Dedup by content: the unique index does the work during import (ON CONFLICT DO NOTHING).
    UniqueConstraint("project_id", "content_hash"),
    Index(
        "ix_records_project_id_external_id",
        "project_id",
        "external_id",
        unique=True,
        sqlite_where=text("external_id IS NOT NULL"),
        postgresql_where=text("external_id IS NOT NULL"),
    ),
    # Keyset pages in import order (export, browsing); a split filter rides along.
    Index("ix_records_project_id_id", "project_id", "id"),
)

sources = Table(
    "sources",
    metadata,
    Column("id", Id, primary_key=True),
    _project_fk(),
    Column("kind", String(20), nullable=False),
    Column("name", String(200), nullable=False),
    Column("version", String(64), nullable=False, server_default=""),
    Column("user_id", Id, ForeignKey("users.id", ondelete="SET NULL")),
    Column("spec", Json),
    _now(),
    UniqueConstraint("project_id", "kind", "name", "version"),
    CheckConstraint("kind IN ('human', 'lf', 'model', 'import')", name="kind"),
)

annotations = Table(
    "annotations",
    metadata,
    Column("id", Id, primary_key=True),
    _project_fk(),
    Column("record_id", Id, ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    Column("source_id", Id, ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("value", Json),
    Column("answer", String(10), nullable=False, server_default="accept"),
    Column("flag_reason", Text),
    Column("duration_ms", Integer),
    Column("guidelines_version", Integer),
    _now(),
    Column("superseded_by", Id, ForeignKey("annotations.id", ondelete="SET NULL")),
    CheckConstraint("answer IN ('accept', 'reject', 'skip', 'flag')", name="answer"),
    Index("ix_annotations_record_id", "record_id"),  # also serves ON DELETE CASCADE
    Index("ix_annotations_project_id_record_id", "project_id", "record_id"),
    Index("ix_annotations_project_id_source_id", "project_id", "source_id"),
)

lf_votes = Table(
    "lf_votes",
    metadata,
    _project_fk(),
    Column("record_id", Id, ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    Column("source_id", Id, ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("label", SmallInteger, nullable=False),
    Column("start", Integer),
    Column("end", Integer),
    Index("ix_lf_votes_project_id_source_id", "project_id", "source_id"),
    Index("ix_lf_votes_record_id", "record_id"),
)

queue_items = Table(
    "queue_items",
    metadata,
    _project_fk(),
    Column("record_id", Id, ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    Column("priority", Float, nullable=False, server_default="0"),
    Column("slots_left", SmallInteger, nullable=False),
    UniqueConstraint("project_id", "record_id"),
    # The claim scans only open items, in priority order.
    Index(
        "ix_queue_items_open",
        "project_id",
        "priority",
        sqlite_where=text("slots_left > 0"),
        postgresql_where=text("slots_left > 0"),
    ),
)

assignments = Table(
    "assignments",
    metadata,
    Column("id", Id, primary_key=True),
    _project_fk(),
    Column("record_id", Id, ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("reserved_until", DateTime(timezone=True), nullable=False),
    _now(),
    UniqueConstraint("project_id", "record_id", "user_id"),
    Index("ix_assignments_user_id_reserved_until", "user_id", "reserved_until"),
    Index("ix_assignments_project_id_reserved_until", "project_id", "reserved_until"),
)

gold = Table(
    "gold",
    metadata,
    Column("id", Id, primary_key=True),
    _project_fk(),
    Column("record_id", Id, ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    Column("value", Json, nullable=False),
    Column("method", String(20), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="SET NULL")),
    Column("annotation_id", Id, ForeignKey("annotations.id", ondelete="SET NULL")),
    Column("note", Text),
    _now(),
    Column("superseded_by", Id, ForeignKey("gold.id", ondelete="SET NULL")),
    CheckConstraint(
        "method IN ('import', 'adjudicated', 'consensus', 'weak', 'reviewed')", name="method"
    ),
    Index("ix_gold_record_id", "record_id"),
)

models = Table(
    "models",
    metadata,
    Column("id", Id, primary_key=True),
    _project_fk(),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(50), nullable=False),
    Column("status", String(20), nullable=False, server_default="ready"),
    Column("artifact", LargeBinary),
    Column("artifact_path", Text),
    Column("metrics", Json),
    Column("params", Json),
    Column("dataset_hash", String(64)),
    _now(),
    UniqueConstraint("project_id", "name", "version"),
)

predictions = Table(
    "predictions",
    metadata,
    _project_fk(),
    Column("record_id", Id, ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    Column("model_id", Id, ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("value", Json),
    Column("probs", Json),
    Column("score", Float),
    UniqueConstraint("model_id", "record_id"),
    Index("ix_predictions_record_id", "record_id"),
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("id", Id, primary_key=True),
    _project_fk(),
    Column("version", Integer, nullable=False),
    Column("name", String(200), nullable=False, server_default=""),
    Column("description", Text, nullable=False, server_default=""),
    Column("n_records", Integer, nullable=False, server_default="0"),
    Column("content_hash", String(64)),
    Column("metrics", Json),
    Column("created_by", Id, ForeignKey("users.id", ondelete="SET NULL")),
    _now(),
    UniqueConstraint("project_id", "version"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("project_id", Id, ForeignKey("projects.id", ondelete="CASCADE")),
    Column("kind", String(50), nullable=False),
    Column("status", String(20), nullable=False, server_default="queued"),
    Column("params", Json),
    Column("result", Json),
    Column("error", Text),
    Column("progress", Float, nullable=False, server_default="0"),
    Column("total", Float),
    Column("message", Text),
    Column("lease_owner", String(100)),
    Column("lease_until", DateTime(timezone=True)),
    _now(),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    CheckConstraint(
        "status IN ('queued', 'running', 'done', 'failed', 'cancelled')", name="status"
    ),
    Index("ix_jobs_status_created_at", "status", "created_at"),
)

booklet_entries = Table(
    "booklet_entries",
    metadata,
    Column("id", Id, primary_key=True),
    _project_fk(),
    Column("key", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("title", String(500), nullable=False, server_default=""),
    Column("body", Text, nullable=False, server_default=""),
    Column("record_id", Id, ForeignKey("records.id", ondelete="SET NULL")),
    Column("version", Integer, nullable=False),
    Column("created_by", Id, ForeignKey("users.id", ondelete="SET NULL")),
    _now(),
    Column("superseded_by", Id, ForeignKey("booklet_entries.id", ondelete="SET NULL")),
    UniqueConstraint("project_id", "key", "version"),
    CheckConstraint("kind IN ('task', 'label', 'example', 'discussion')", name="kind"),
)

comments = Table(
    "comments",
    metadata,
    Column("id", Id, primary_key=True),
    _project_fk(),
    Column("record_id", Id, ForeignKey("records.id", ondelete="CASCADE")),
    Column("booklet_key", String(200)),
    Column("parent_id", Id, ForeignKey("comments.id", ondelete="CASCADE")),
    Column("user_id", Id, ForeignKey("users.id", ondelete="SET NULL")),
    Column("body", Text, nullable=False),
    _now(),
    Index("ix_comments_project_id_record_id", "project_id", "record_id"),
)

spot_checks = Table(
    "spot_checks",
    metadata,
    Column("id", Id, primary_key=True),
    _project_fk(),
    Column("annotation_id", Id, ForeignKey("annotations.id", ondelete="CASCADE"), nullable=False),
    Column("reviewer_id", Id, ForeignKey("users.id", ondelete="SET NULL")),
    Column("correct", Boolean),
    Column("note", Text),
    _now(),
    UniqueConstraint("annotation_id"),
)

__all__ = [
    "annotations",
    "api_tokens",
    "assignments",
    "booklet_entries",
    "comments",
    "dataset_versions",
    "gold",
    "jobs",
    "lf_votes",
    "memberships",
    "metadata",
    "models",
    "predictions",
    "projects",
    "queue_items",
    "records",
    "sources",
    "spot_checks",
    "users",
]
