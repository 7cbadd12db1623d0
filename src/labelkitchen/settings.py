"""One Settings object, read from ``LABELKITCHEN_*`` variables only when a shell asks for it.

Nothing in the library reads the environment at import time: the CLI and the server build a
``Settings`` and pass it down. Tests build one on ``tmp_path``.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///labelkitchen.db"


class Settings(BaseSettings):
    """Every setting of labelkitchen. Each field is documented in ``docs/settings.md``."""

    model_config = SettingsConfigDict(env_prefix="LABELKITCHEN_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL of the store: sqlite:///PATH (default ./labelkitchen.db) "
        "or postgresql+psycopg://USER@HOST/DB.",
    )
    max_record_chars: int = Field(
        default=1_000_000,
        gt=0,
        description="Longest record text accepted by import, in characters.",
    )
    import_batch_size: int = Field(
        default=5_000,
        gt=0,
        le=30_000,
        description="Records written per database batch during import.",
    )
    import_process_min_bytes: int = Field(
        default=4_000_000,
        ge=0,
        description="Files at least this large are parsed in a separate process during import.",
    )
    export_batch_size: int = Field(
        default=5_000, gt=0, description="Records read per database round trip during export."
    )
    sqlite_busy_timeout_ms: int = Field(
        default=10_000,
        ge=0,
        description="How long a SQLite writer waits for a lock before giving up, in ms.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Key that signs session cookies. Unset: a random key per server start "
        "(everyone logs in again after a restart).",
    )
    secure_cookies: bool = Field(
        default=False,
        description="Send session cookies over HTTPS only (set true behind TLS).",
    )
    session_days: int = Field(default=14, ge=1, description="How long a login lasts, in days.")
    login_attempts: int = Field(
        default=5, ge=1, description="Failed logins per user and address before a pause."
    )
    login_lockout_seconds: int = Field(
        default=300, ge=1, description="How long logins pause after too many failures."
    )
    run_jobs: bool = Field(
        default=True,
        description="Run background jobs (retraining) in the server process.",
    )
    auto_migrate: bool = Field(
        default=True,
        description="Bring the database schema to the newest migration when the store opens.",
    )


__all__ = ["DEFAULT_DATABASE_URL", "Settings"]
