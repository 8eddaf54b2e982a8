"""Configuration from the environment, mapped to eventsourcing's settings in one place.

``AUDIT_DATABASE_URL`` picks the store: ``sqlite:///var/audit.sqlite3`` (the default,
relative to the working directory) or ``postgresql://user[:pass]@host[:port]/dbname``.
``AUDIT_CIPHER_KEY`` (base64 of 16/24/32 bytes) turns on encryption of event state at rest.
``AUDIT_TODAY`` (``YYYY-MM-DD``, a testing aid) fixes the service's 'today' (see ``clock``).
"""
from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from .clock import Clock
from .errors import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite:///var/audit.sqlite3"


@dataclass(frozen=True)
class DatabaseConfig:
    """A parsed database URL."""

    url: str
    kind: str  # "sqlite" or "postgresql"
    path: str | None = None  # sqlite file (or ":memory:")
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""
    schema: str = ""
    options: dict = field(default_factory=dict)

    @property
    def display(self) -> str:
        """The URL without its password, safe for logs and error messages."""
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"
        auth = self.user + ("@" if self.user else "")
        return f"postgresql://{auth}{self.host}:{self.port}/{self.dbname}"

    def conninfo(self) -> str:
        """A psycopg connection string for this database."""
        from psycopg.conninfo import make_conninfo

        return make_conninfo(
            host=self.host, port=self.port, user=self.user or None,
            password=self.password or None, dbname=self.dbname,
        )


def parse_database_url(url: str) -> DatabaseConfig:
    """Parse and check a database URL; raise ConfigurationError naming the problem."""
    url = (url or "").strip()
    if not url:
        raise ConfigurationError("AUDIT_DATABASE_URL is empty", code="bad_database_url")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        # sqlite:///relative/path, sqlite:////absolute/path, sqlite:///:memory:
        if parts.netloc:
            raise ConfigurationError(
                f"AUDIT_DATABASE_URL {url!r}: sqlite URLs have no host; use sqlite:///path/to/file",
                code="bad_database_url",
            )
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if not path:
            raise ConfigurationError(
                f"AUDIT_DATABASE_URL {url!r} names no file", code="bad_database_url"
            )
        return DatabaseConfig(url=url, kind="sqlite", path=path)
    if scheme in ("postgresql", "postgres"):
        try:
            port = parts.port or 5432
        except ValueError:
            raise ConfigurationError(
                f"AUDIT_DATABASE_URL {url!r}: the port is not a number in 1-65535",
                code="bad_database_url",
            ) from None
        dbname = unquote(parts.path.lstrip("/"))
        if not parts.hostname or not dbname or "/" in dbname:
            raise ConfigurationError(
                f"AUDIT_DATABASE_URL {url!r}: expected postgresql://user[:pass]@host[:port]/dbname",
                code="bad_database_url",
            )
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return DatabaseConfig(
            url=url, kind="postgresql", host=parts.hostname, port=port,
            user=unquote(parts.username or ""), password=unquote(parts.password or ""),
            dbname=dbname, schema=query.pop("schema", ""), options=query,
        )
    raise ConfigurationError(
        f"AUDIT_DATABASE_URL {url!r}: unsupported scheme {parts.scheme or '(none)'!r};"
        " use sqlite:///path or postgresql://user@host/dbname",
        code="bad_database_url",
    )


def check_cipher_key(key: str) -> str:
    """Return the key if it is base64 of 16, 24 or 32 bytes; otherwise refuse it."""
    try:
        raw = base64.b64decode(key.encode(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(
            "AUDIT_CIPHER_KEY is not valid base64", code="bad_cipher_key"
        ) from None
    if len(raw) not in (16, 24, 32):
        raise ConfigurationError(
            f"AUDIT_CIPHER_KEY decodes to {len(raw)} bytes; it must be 16, 24 or 32"
            " (make one with: audit-service keys cipher)",
            code="bad_cipher_key",
        )
    return key


@dataclass(frozen=True)
class Settings:
    database: DatabaseConfig
    cipher_key: str | None = None
    clock: Clock = field(default_factory=Clock)

    @classmethod
    def from_env(cls, environ: dict | None = None) -> "Settings":
        environ = os.environ if environ is None else environ
        database = parse_database_url(environ.get("AUDIT_DATABASE_URL") or DEFAULT_DATABASE_URL)
        key = (environ.get("AUDIT_CIPHER_KEY") or "").strip() or None
        return cls(database=database, cipher_key=check_cipher_key(key) if key else None,
                   clock=Clock.from_env(environ))

    def eventsourcing_env(self, *, create_table: bool = False) -> dict[str, str]:
        """The eventsourcing settings for this configuration: the one place they are made."""
        env: dict[str, str] = {
            "CREATE_TABLE": "y" if create_table else "n",
            # Never use the stored-procedure insert: it drops tracking records.
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        }
        db = self.database
        if db.kind == "sqlite":
            path = db.path or ""
            if create_table and path != ":memory:" and not path.startswith("file:"):
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            env.update(PERSISTENCE_MODULE="eventsourcing.sqlite", SQLITE_DBNAME=path,
                       SQLITE_LOCK_TIMEOUT="30",
                       # Large batches (imports) are written with one executemany.
                       APPLICATION_RECORDER_TOPIC="audit_service.recorders:"
                                                  "BatchingSQLiteApplicationRecorder")
        else:
            env.update(
                PERSISTENCE_MODULE="eventsourcing.postgres",
                POSTGRES_DBNAME=db.dbname, POSTGRES_HOST=db.host, POSTGRES_PORT=str(db.port),
                POSTGRES_USER=db.user, POSTGRES_PASSWORD=db.password,
                POSTGRES_CONNECT_TIMEOUT=db.options.get("connect_timeout", "5"),
                POSTGRES_POOL_SIZE=db.options.get("pool_size", "2"),
                POSTGRES_MAX_OVERFLOW=db.options.get("max_overflow", "4"),
                # Off by default: every recorder call is retried by the library on a broken
                # connection, so a pre-ping would only add a round trip to every statement.
                POSTGRES_PRE_PING=db.options.get("pre_ping", "n"),
                POSTGRES_LOCK_TIMEOUT="10",
                # Large batches (imports) are written with COPY under the same table lock.
                APPLICATION_RECORDER_TOPIC="audit_service.recorders:CopyingApplicationRecorder",
            )
            if db.schema:
                env["POSTGRES_SCHEMA"] = db.schema
        if self.cipher_key:
            env.update(CIPHER_TOPIC="eventsourcing.cryptography:AESCipher",
                       CIPHER_KEY=self.cipher_key)
        return env


def check_reachable(db: DatabaseConfig, *, create: bool = False) -> None:
    """Open and close one connection; raise ConfigurationError with a one-line reason.

    A SQLite file is created (with its folder) only when ``create`` is set, as ``init-db``
    does; otherwise a missing file is a store that was never initialised.
    """
    if db.kind == "sqlite":
        import sqlite3

        path = db.path or ""
        if path == ":memory:" or path.startswith("file:"):
            return
        if not create and not Path(path).is_file():
            raise not_initialised(db)
        try:
            if create:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                sqlite3.connect(path).close()
            else:
                sqlite3.connect(Path(path).absolute().as_uri() + "?mode=rw", uri=True).close()
        except (OSError, sqlite3.Error) as exc:
            raise ConfigurationError(
                f"cannot open SQLite database {path!r}: {exc}", code="database_unreachable"
            ) from None
        return
    import psycopg

    try:
        psycopg.connect(db.conninfo(), connect_timeout=5).close()
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ConfigurationError(
            f"cannot connect to {db.display}: {reason}", code="database_unreachable"
        ) from None


def not_initialised(db: DatabaseConfig) -> ConfigurationError:
    """The one-line refusal of every command but ``init-db`` on a store never prepared."""
    return ConfigurationError(
        f"the store at {db.display} is not initialised; run `audit-service init-db`",
        code="store_not_initialised")
