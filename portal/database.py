"""Database details the domain code relies on: UTC datetimes on every backend, write
transactions that serialise booking writers on SQLite as PostgreSQL's row locks do, and ids in
URLs kept to the range of the id columns."""
import sqlite3
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import DateTime, event
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.types import TypeDecorator
from werkzeug.routing import IntegerConverter

from portal.extensions import db

WRITE_OPTION = "portal_write_transaction"
SQLITE_MMAP_BYTES = 256 * 1024 * 1024

# Every primary key is an INTEGER: 32 bits on PostgreSQL (SQLite's go to 64).
LARGEST_ID = 2**31 - 1


class RecordIdConverter(IntegerConverter):
    """`<int:...>` in a URL is always a row's id: one past LARGEST_ID matches no route (404), where
    it would otherwise reach the database and fail there ("integer out of range", a 500)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 1, max: int | None = LARGEST_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class _SQLiteUTCDateTime(sqlite.DATETIME):
    """SQLite keeps naive UTC text; read it straight into an aware UTC datetime in one call."""

    def result_processor(self, dialect, coltype):
        def process(value: str | None) -> datetime | None:
            # Appending the offset is several times faster than .replace(tzinfo=...) on the parsed value.
            return None if value is None else datetime.fromisoformat(value + "+00:00")

        return process


class _AwareUTCDateTime(DateTime):
    """timestamptz elsewhere: the driver gives aware datetimes in the session zone, which
    configure_postgresql sets to UTC; any other zone is converted."""

    def result_processor(self, dialect, coltype):
        def process(value: datetime | None) -> datetime | None:
            return value if value is None or value.tzinfo is UTC else value.astimezone(UTC)

        return process


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime in Python; timestamptz on PostgreSQL, naive UTC text on SQLite.

    Results are converted by the dialect types above rather than process_result_value, which
    would add a second Python call per value: availability loads thousands of these at a time.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SQLiteUTCDateTime())
        return dialect.type_descriptor(_AwareUTCDateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        # SQLite compares timestamps as text: store one fixed format without an offset.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value


def utc_now() -> datetime:
    return datetime.now(UTC)


def configure_postgresql(engine: Engine) -> None:
    """Each connection's session zone is UTC, so timestamptz values arrive as UTC datetimes
    (psycopg gives datetime.timezone.utc then) and need no conversion: the slot engine reads
    thousands of them a page through the connection, unprocessed (portal/booking/slots.py)."""
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.execute("SET TIME ZONE 'UTC'")
        dbapi_connection.commit()


def configure_sqlite(engine: Engine, *, busy_timeout_ms: int = 30000) -> None:
    """WAL, a busy timeout and our own BEGIN, per SQLAlchemy's pysqlite recipe.

    pysqlite's own BEGIN is deferred, so two writers can both read "slot free" and then both
    write; BEGIN IMMEDIATE takes the write lock first, so writers queue behind busy_timeout.
    A BEGIN that waited past it raises the driver's own error, which SQLAlchemy does not wrap
    inside this event: it is wrapped here, so the pages answer "unavailable, try again" (503).
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            # Reads straight from the file's pages in memory instead of a copy per page through
            # read(): the big clinic's queue spent half its SQL time copying (bench/README.md).
            cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Straight to the driver: through exec_driver_sql this one statement cost as much as the
        # query that follows it, on every transaction of every request (bench/README.md).
        statement = "BEGIN IMMEDIATE" if connection.get_execution_options().get(WRITE_OPTION) else "BEGIN"
        try:
            connection.connection.driver_connection.execute(statement)
        except sqlite3.OperationalError as error:  # "database is locked" after busy_timeout
            raise OperationalError(statement, None, error) from error


@contextmanager
def write_transaction():
    """A transaction for writes that carry invariants; commits on success, rolls back on error.

    It starts fresh: a read transaction already open may hold a stale snapshot (and SQLite
    cannot upgrade one to a write lock), so it is ended first. Callers keep no unsaved changes.
    """
    session = db.session
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("write_transaction() entered with unsaved changes in the session")
    session.rollback()
    session.connection(execution_options={WRITE_OPTION: True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
