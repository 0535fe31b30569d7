"""Settings, read from the environment (and a `.env` file) through pydantic-settings."""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

DEFAULT_SECRET = "insecure-development-secret-change-me-please"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KNEETRACK_", env_file=".env", extra="ignore", populate_by_name=True
    )

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(
        default="sqlite:///./kneetrack.db",
        validation_alias=AliasChoices("DATABASE_URL", "KNEETRACK_DATABASE_URL"),
    )
    secret_key: str = DEFAULT_SECRET
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    # Argon2id cost; the defaults are argon2-cffi's RFC 9106 "low memory" profile.
    password_time_cost: int = Field(default=3, ge=1)
    password_memory_kib: int = Field(default=65536, ge=64)
    invitation_days: int = Field(default=14, ge=1, le=90)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    db_pool_size: int = Field(default=20, ge=1)
    # Requests inside one worker process at once (PostgreSQL; the others wait their turn on the
    # event loop: app/middleware.py, ConcurrencyLimitMiddleware). A worker runs Python on one
    # core; more requests inside than it needs to cover their database waits only add thread
    # switches and GIL contention (docs/BENCHMARKS.md: 25 -> 8 gave the diary PUT 12 % less CPU
    # per request at one worker). Kept under the pool size + overflow.
    request_concurrency: int = Field(default=8, ge=1, le=256)
    # Batch syncs inside one worker process at once (app/middleware.py: BatchLimitMiddleware).
    sync_concurrency: int = Field(default=2, ge=1, le=64)
    # PostgreSQL: a patient's own PUT of a diary entry or exercise session with a bearer token
    # is served in one threadpool hop and two round trips (app/care/single_hop.py); false
    # sends every PUT down the general path (same answers and rows, more CPU).
    single_hop_writes: bool = True
    # The flag state worker (app/trends/state_worker.py): how often each API process looks
    # for patients whose stored flag episodes are behind their record; 0 turns it off (then
    # run `kneetrack rebuild-state`, or another process with it on).
    state_interval_seconds: float = Field(default=1.0, ge=0, le=60)
    db_pool_timeout_seconds: float = Field(default=3.0, gt=0)
    db_connect_timeout_seconds: int = Field(default=3, ge=2)
    db_ping_timeout_seconds: float = Field(default=2.0, gt=0)
    # PostgreSQL session limits: a request waiting on a row lock gives up (503) after
    # `db_lock_timeout_seconds`; a transaction left open and idle (its client gone without the
    # server noticing, e.g. behind a network partition) is ended by the server, with its locks,
    # after `db_idle_in_transaction_seconds`.
    db_lock_timeout_seconds: float = Field(default=3.0, gt=0)
    db_idle_in_transaction_seconds: float = Field(default=30.0, gt=0)
    retry_after_seconds: int = Field(default=5, ge=1)
    # glibc malloc arenas per worker process (app/memory.py); 0 keeps glibc's default.
    malloc_arenas: int = Field(default=2, ge=0, le=64)
    # Shared store for rate limits; without it they are counted in process memory.
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "KNEETRACK_REDIS_URL")
    )
    # Rate limits in the `limits` notation ("N/second|minute|hour", several separated by ";").
    rate_limit_principal: str = "600/minute;20/second"
    rate_limit_token_ip: str = "30/minute"
    rate_limit_token_account: str = "10/minute"
    # Each sign-up runs a 64 MiB Argon2 hash: a small per-address budget (finding 3).
    rate_limit_signup_ip: str = "5/minute;30/hour"
    rate_limit_refresh_ip: str = "60/minute"
    # Password checks outside sign-in (erasure, password change): a stolen token must not
    # become a password oracle (finding 5).
    rate_limit_password_ip: str = "10/minute"
    rate_limit_password_account: str = "5/15minutes"
    # At most this many Argon2 hashes at once per process; a request waits up to
    # `password_hash_wait_seconds` for a slot, then 503 with Retry-After (finding 3).
    password_hash_concurrency: int = Field(default=2, ge=1)
    password_hash_wait_seconds: float = Field(default=5.0, gt=0)
    rate_limit_key_prefix: str = "kneetrack-rl"
    api_key_last_used_resolution_seconds: int = Field(default=60, ge=0)
    max_api_keys_per_user: int = Field(default=25, ge=1)
    # How long an Idempotency-Key and its stored answer are kept, and the share of stores that
    # also purge expired keys (`kneetrack purge-idempotency-keys` does it on demand).
    idempotency_key_days: int = Field(default=30, ge=1, le=365)
    idempotency_purge_probability: float = Field(default=0.01, ge=0, le=1)
    # Overrides of app.clinical.THRESHOLDS and of flag rule parameters, as JSON.
    thresholds: dict[str, float] = Field(default_factory=dict)
    # Dashboard sign-in cookie. `Secure` stays on by default (browsers accept it on
    # http://127.0.0.1 and http://localhost); turn it off only for plain http on another host.
    dashboard_secure_cookie: bool = True
    dashboard_session_hours: int = Field(default=12, ge=1, le=24 * 30)
    # Browser origins allowed to call the API (CORS), as a JSON list such as
    # ["https://app.example.org"]. Default: none, so no browser page on another origin may
    # read a response. Native apps and servers are not subject to CORS.
    cors_origins: list[str] = Field(default_factory=list)
    log_level: str = "INFO"
    log_json: bool = True
    host: str = "127.0.0.1"
    port: int = 8000
    # Proxies whose X-Forwarded-For is believed (IP addresses or networks, comma-separated);
    # none by default: the header is then ignored (app/client_address.py).
    trusted_proxies: str = ""
    # /metrics answers to a scraper holding this token (Authorization: Bearer …) and to
    # unforwarded requests from the host itself (loopback); anyone else gets 404.
    metrics_token: str = ""

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "KNEETRACK_SECRET_KEY must be set to a random value of at least 32 characters "
                "in production"
            )
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            ipaddress.ip_network(part, strict=False)  # ValueError names the bad entry
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()


SECRET_FILE_NAME = "kneetrack-secret.key"


def secret_key_file(settings: Settings) -> Path:
    """Where `kneetrack serve` keeps the secret it generated: beside the SQLite file, else in
    the working directory."""
    if settings.is_sqlite:
        db = make_url(settings.database_url).database
        if db and db != ":memory:":
            return Path(db).resolve().parent / SECRET_FILE_NAME
    return Path.cwd() / f".{SECRET_FILE_NAME}"


def ensure_secret_key() -> Path | None:
    """Never serve with the public development secret: when KNEETRACK_SECRET_KEY is not set,
    use the random secret kept in `secret_key_file` (created on first start, mode 0600), so
    tokens signed with the published default are refused. Returns the file used, or None when
    a secret was configured. Production refuses to start without one (`Settings`)."""
    settings = get_settings()
    if settings.secret_key != DEFAULT_SECRET:
        return None
    path = secret_key_file(settings)
    if not path.exists():
        # Written whole to a private file, then linked into place: a process starting at the
        # same moment either wins or reads the complete key of the one that did.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable secret: delete it to generate a new one")
    os.environ["KNEETRACK_SECRET_KEY"] = key  # for worker processes and reloads too
    get_settings.cache_clear()
    return path
