"""Engine set-up for the store: per-dialect connection options, SQLite transaction handling, migrations."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from geo.errors import PatrolError
from mission.errors import ConfigError
from mission.storage.migrate import upgrade_to_head

__all__ = ["StorageError", "make_engine", "migrate"]

_MIGRATION_LOCK = 0x7061_7472_6F6C  # "patrol": serialises concurrent migrations on PostgreSQL
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class StorageError(PatrolError):
    """The database could not be reached or did not answer in time."""


def make_engine(url: str, *, schema: str | None, timeout_s: float, echo: bool = False) -> AsyncEngine:
    """An async engine for ``url`` (sqlite+aiosqlite or postgresql+asyncpg); ``ConfigError`` if unusable."""
    kw: dict[str, Any] = {"echo": echo}
    if schema is not None and not _SCHEMA_NAME.match(schema):
        raise ConfigError(f"schema name {schema!r}: letters, digits and _ only")
    if url.startswith("sqlite"):
        if schema:
            raise ConfigError("schema= is supported on PostgreSQL only")
        kw["connect_args"] = {"timeout": timeout_s}
        if ":memory:" in url or url.rstrip("/").endswith("sqlite+aiosqlite:"):
            kw["poolclass"] = StaticPool  # one shared connection, or every session sees an empty db
    elif url.startswith("postgresql"):
        args: dict[str, Any] = {"timeout": timeout_s, "command_timeout": timeout_s}
        if schema:
            args["server_settings"] = {"search_path": schema}
        kw["connect_args"] = args
        kw["pool_timeout"] = timeout_s
    try:
        engine = create_async_engine(url, **kw)
    except Exception as exc:  # bad URL, unknown or sync-only driver
        raise ConfigError(f"database URL {url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


async def migrate(engine: AsyncEngine, *, schema: str | None, timeout_s: float) -> bool:
    """Create the schema if asked, then upgrade to head in one transaction; True if anything ran."""
    try:
        async with asyncio.timeout(timeout_s), engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
                if schema:
                    await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            return await conn.run_sync(upgrade_to_head)
    except (TimeoutError, OSError, OperationalError) as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise StorageError(f"cannot open the database at {where}: {exc}") from exc


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Take transactions out of the sqlite3 module's hands (it would not BEGIN before a SELECT or DDL),
    # and begin them ourselves in _sqlite_begin: migrations become one transaction, and a
    # read-check-write such as record_transition cannot interleave with another writer.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")  # SQLite ignores REFERENCES without it
    cur.execute("PRAGMA journal_mode=WAL")  # readers don't block the writer
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front (waiting up to the busy timeout), so transactions on one
    # database file are serialised instead of failing with SQLITE_BUSY half-way.
    conn.exec_driver_sql("BEGIN IMMEDIATE")
