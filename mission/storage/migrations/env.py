"""Alembic environment, driven from code (``mission.storage.migrate``), not from an alembic.ini.

The store opens an async connection and runs ``alembic.command.upgrade`` inside
``connection.run_sync``; that sync connection arrives in ``config.attributes["connection"]``.
Offline mode (``--sql``) renders DDL for the URL in ``sqlalchemy.url``.
"""

from __future__ import annotations

from alembic import context

from mission.storage.tables import Base

config = context.config
target_metadata = Base.metadata


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through mission.storage.migrate (it passes the connection)")
    # Batch mode lets later migrations ALTER tables on SQLite (copy-and-move), a no-op on PostgreSQL.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
