"""Persistence: ``Store`` (async repository over SQLAlchemy 2, SQLite or PostgreSQL) and its schema.

Modules: ``tables`` (declarative schema), ``migrations/`` (Alembic scripts, run on open),
``migrate`` (running them from code), ``engine`` (connection options), ``convert`` (rows <-> domain),
``repository`` (the ``Store``).
"""

from mission.storage.engine import StorageError
from mission.storage.repository import Store

__all__ = ["StorageError", "Store"]
