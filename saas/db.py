"""Declarative bases and engine construction for the platform and brand databases.

The platform database and every brand database have their own metadata, so no table can
hold rows of two brands and no brand table can be created in the platform database.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Connections per brand engine: small, because a process may hold many brand engines.
BRAND_POOL_SIZE = 2
BRAND_MAX_OVERFLOW = 2
# Connections of the platform engine, one per process.
PLATFORM_POOL_SIZE = 5
PLATFORM_MAX_OVERFLOW = 5


class PlatformModel(DeclarativeBase):
    """Base of the control-plane tables (brands, users, delegations)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class BrandModel(DeclarativeBase):
    """Base of the tables that live in each brand's own database."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC instant on both SQLite and PostgreSQL.

    SQLite has no timezone type, so values are stored naive in UTC and made aware on load.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def commit_without_waiting(session: Session) -> None:
    """Let the current transaction's commit return before its WAL record reaches the disk.

    PostgreSQL only (``synchronous_commit`` off for this transaction). A crash can lose
    such a commit from the last fraction of a second, but never a later synchronous one,
    because that flushes the WAL up to its own record. Use it for rows whose loss a retry
    or a statistic tolerates, never for the ledger.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def dialect_insert(session: Session):
    """Return the ``insert`` of the session's dialect, which has ``on_conflict_do_…``."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"upserts support PostgreSQL and SQLite, not {dialect}")


def normalise_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs, the driver this project ships with."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, application_name: str = "tessera", brand: bool = False) -> Engine:
    """Create an engine with the pool and pragmas this project relies on."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _make_sqlite_engine(url, parsed.database)
    if brand:
        pool_args = {"pool_size": BRAND_POOL_SIZE, "max_overflow": BRAND_MAX_OVERFLOW}
    else:
        pool_args = {"pool_size": PLATFORM_POOL_SIZE, "max_overflow": PLATFORM_MAX_OVERFLOW}
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"application_name": application_name, "connect_timeout": 5},
        **pool_args,
    )


def _make_sqlite_engine(url: str, database: str | None) -> Engine:
    in_memory = not database or database == ":memory:"
    engine = create_engine(
        url,
        connect_args={"timeout": 30, "check_same_thread": False},
        poolclass=StaticPool if in_memory else None,
    )

    @event.listens_for(engine, "connect")
    def _set_pragmas(dbapi_connection, _record):
        # Hand transaction control to SQLAlchemy so BEGIN IMMEDIATE below takes effect.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection):
        # One writer at a time: taking the write lock at BEGIN avoids the upgrade deadlock
        # two readers hit when both later try to write.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
