"""Backups that restore: `flask backup DIR` writes one, `flask restore FILE` puts it back.

A backup is the whole database at one moment, taken while the portal keeps writing:
- SQLite: Python's sqlite3 online backup API (Connection.backup) copies the database page by page
  in one step, inside one read transaction. In WAL mode that reader sees the pages as they were
  when it began while writers go on appending to the WAL, so each committed transaction is wholly
  in the copy or not at all (had it copied in several steps, a write in between would restart it).
- PostgreSQL: pg_dump reads every table inside one REPEATABLE READ transaction, that is one
  snapshot; bookings go on meanwhile, only a migration's ALTER TABLE waits for it.
Each file is written under a temporary name and renamed when whole, with a `sha256sum` checksum
beside it; restore checks that checksum and writes only into an empty database.
"""
import hashlib
import os
import re
import shutil
import sqlite3
import subprocess  # nosec B404  # pg_dump and pg_restore only, from an argument list, no shell
import tempfile
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

SQLITE, POSTGRESQL = "sqlite", "postgresql"
NAMES = {SQLITE: "SQLite", POSTGRESQL: "PostgreSQL"}
SUFFIXES = {SQLITE: ".sqlite3", POSTGRESQL: ".pgdump"}
# How each kind of file begins: SQLite's header string, pg_dump's custom-format magic.
MAGIC = {SQLITE: b"SQLite format 3\x00", POSTGRESQL: b"PGDMP"}
CHECKSUM_SUFFIX = ".sha256"
CHECKSUM_LINE = re.compile(r"([0-9a-fA-F]{64}) [ *](.+)")  # what `sha256sum` writes and `sha256sum -c` reads
CLIENT_PACKAGE = "the PostgreSQL client of the server's major version (Debian: apt-get install postgresql-client)"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, and nothing was changed."""


def backend_of(url: str | URL) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in SUFFIXES:
        raise BackupError(f"Backups are made of SQLite and PostgreSQL databases, not {backend}.")
    return backend


def backup_name(backend: str, moment: datetime) -> str:
    """portal-20261207T113000Z.sqlite3: the UTC time the backup was started."""
    return f"portal-{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}{SUFFIXES[backend]}"


def checksum_path(backup: Path) -> Path:
    return backup.with_name(backup.name + CHECKSUM_SUFFIX)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def write_backup(url: str, directory: Path, now: datetime | None = None) -> Path:
    """Back up the database at `url` into `directory`; return the backup's path (its checksum is beside it)."""
    backend = backend_of(url)
    _check_directory(directory)
    final = directory / backup_name(backend, now or datetime.now(UTC))
    if final.exists() or checksum_path(final).exists():
        raise BackupError(f"{final} already exists; a backup is never overwritten. Try again in a second.")
    partial = checksum_partial = None
    try:
        partial = _temporary_file(directory, final.name)
        (_copy_sqlite if backend == SQLITE else _dump_postgresql)(make_url(url), partial)
        _flush_to_disk(partial)
        checksum_partial = _temporary_file(directory, checksum_path(final).name)
        # Two spaces: text mode, as `sha256sum FILE` prints it; the bare name, so `sha256sum -c` runs in DIR.
        checksum_partial.write_text(f"{sha256_of(partial)}  {final.name}\n")
        _flush_to_disk(checksum_partial)
        os.replace(partial, final)
        os.replace(checksum_partial, checksum_path(final))
    except BaseException:
        for leftover in (partial, checksum_partial):
            if leftover is not None:
                leftover.unlink(missing_ok=True)
        raise
    return final


def _check_directory(directory: Path) -> None:
    if not directory.exists():
        raise BackupError(f"{directory} does not exist: make it first (mkdir -m 700), then back up into it.")
    if not directory.is_dir():
        raise BackupError(f"{directory} is not a directory.")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise BackupError(f"{directory} is not writable by this user.")


def _temporary_file(directory: Path, name: str) -> Path:
    """An empty file beside the final one (so the rename stays on one file system), readable by its owner only."""
    try:
        handle, path = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".partial")
    except OSError as error:
        raise BackupError(f"Cannot write in {directory}: {error.strerror}.") from None
    os.close(handle)
    return Path(path)


def _flush_to_disk(path: Path) -> None:
    with path.open("rb") as stream:
        os.fsync(stream.fileno())


def _sqlite_path(url: URL) -> Path:
    if url.database in (None, "", ":memory:"):
        raise BackupError("The database is SQLite in memory: there is no file to back up or restore into.")
    return Path(url.database)


def _copy_sqlite(url: URL, target: Path) -> None:
    source_path = _sqlite_path(url)
    if not source_path.is_file():
        raise BackupError(f"There is no SQLite database at {source_path}.")
    with _sqlite_pair(str(source_path), target, what="backup") as (source, copy):
        source.backup(copy)  # pages=-1: the whole database in one step, from one read transaction
        # The copy inherits WAL mode; a rollback journal makes it one self-contained file.
        copy.execute("PRAGMA journal_mode=DELETE")
        if (verdict := copy.execute("PRAGMA quick_check").fetchone()[0]) != "ok":
            raise BackupError(f"The copy failed SQLite's quick_check: {verdict}")


@contextmanager
def _sqlite_pair(source: str, target: Path, *, what: str):
    """Both ends of a SQLite copy, open (the source may be a read-only file: URI); closed after,
    and the driver's error said as the command's own."""
    source_connection = sqlite3.connect(source, timeout=30, uri=source.startswith("file:"))
    try:
        target_connection = sqlite3.connect(target, timeout=30)
        try:
            yield source_connection, target_connection
        finally:
            target_connection.close()
    except sqlite3.Error as error:
        raise BackupError(f"The SQLite {what} failed: {error}") from None
    finally:
        source_connection.close()


def _dump_postgresql(url: URL, target: Path) -> None:
    _run_client("pg_dump", ["--format=custom", f"--file={target}", *_connection_arguments(url)], url)


def _connection_arguments(url: URL) -> list[str]:
    """libpq options from the URL; the password goes in the environment (_run_client), never here."""
    if not url.database:
        raise BackupError("The PostgreSQL URL names no database.")
    arguments = ["--no-password"]  # fail at once rather than wait for a prompt under cron
    if host := url.host or url.query.get("host"):
        arguments.append(f"--host={host}")
    if url.port:
        arguments.append(f"--port={url.port}")
    if url.username:
        arguments.append(f"--username={url.username}")
    return [*arguments, f"--dbname={url.database}"]


def _run_client(program: str, arguments: list[str], url: URL) -> None:
    executable = shutil.which(program)
    if executable is None:
        raise BackupError(f"{program} was not found on PATH: install {CLIENT_PACKAGE}.")
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = url.password
    if sslmode := url.query.get("sslmode"):
        environment["PGSSLMODE"] = str(sslmode)
    try:
        finished = subprocess.run(  # nosec B603  # no shell; the program's full path and a list of arguments
            [executable, *arguments], env=environment, capture_output=True, text=True, check=False)
    except OSError as error:
        raise BackupError(f"{program} could not be started: {error.strerror}.") from None
    if finished.returncode != 0:
        said = " ".join(" ".join(finished.stderr.strip().splitlines()[-4:]).split()) or "no message"
        raise BackupError(f"{program} failed (exit status {finished.returncode}): {said}")


def verify_checksum(backup: Path) -> None:
    """Refuse a backup whose `.sha256` is missing, unreadable, names another file or does not match."""
    if not backup.is_file():
        raise BackupError(f"{backup} is not a file.")
    sums = checksum_path(backup)
    if not sums.is_file():
        raise BackupError(f"There is no checksum beside the backup ({sums.name}): a backup that cannot be "
                          "verified is not restored.")
    lines = sums.read_text(errors="replace").splitlines()
    match = CHECKSUM_LINE.fullmatch(lines[0].strip()) if lines else None
    if match is None:
        raise BackupError(f"{sums.name} is not in sha256sum format.")
    if Path(match.group(2)).name != backup.name:
        raise BackupError(f"{sums.name} is the checksum of {match.group(2)}, not of {backup.name}.")
    if match.group(1).lower() != sha256_of(backup):
        raise BackupError(f"{backup.name} does not match its checksum ({sums.name}): the file was damaged or "
                          "changed after the backup. Nothing was restored.")


def kind_of(backup: Path) -> str:
    with backup.open("rb") as stream:
        start = stream.read(16)
    for backend, magic in MAGIC.items():
        if start.startswith(magic):
            return backend
    raise BackupError(f"{backup.name} is neither a SQLite backup nor a pg_dump custom-format file.")


def restore_backup(url: str, backup: Path) -> None:
    """Restore `backup` into the database at `url`, which must be empty: checked first, then written."""
    backend = backend_of(url)
    verify_checksum(backup)
    kind = kind_of(backup)
    if kind != backend:
        raise BackupError(f"{backup.name} is a {NAMES[kind]} backup and the configured database is "
                          f"{NAMES[backend]}: restore it into a {NAMES[kind]} database.")
    (_restore_sqlite if backend == SQLITE else _restore_postgresql)(make_url(url), backup)


def _refuse_tables(tables: list[str], url: URL) -> None:
    if tables:
        shown = ", ".join(sorted(tables)[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
        raise BackupError(f"The database {url.database} is not empty (it has {shown}): a backup is restored only "
                          "into an empty database. Nothing was changed.")


def _restore_sqlite(url: URL, backup: Path) -> None:
    target_path = _sqlite_path(url)
    if not target_path.parent.is_dir():
        raise BackupError(f"{target_path.parent} does not exist.")
    with _sqlite_pair(f"{backup.resolve().as_uri()}?mode=ro", target_path, what="restore") as (source, target):
        _refuse_tables([name for (name,) in target.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'")], url)
        source.backup(target)


def _restore_postgresql(url: URL, backup: Path) -> None:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            tables = list(connection.scalars(sa.text(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")))
    except sa.exc.OperationalError as error:
        raise BackupError(f"Cannot connect to the database {url.database}: {error.orig}") from None
    finally:
        engine.dispose()
    _refuse_tables(tables, url)
    # --no-owner/--no-acl: the restoring role owns what it makes; grants are given again afterwards
    # (deploy/postgres-grants.sql), as the roles of the backed-up server may not exist here.
    _run_client("pg_restore", ["--no-owner", "--no-acl", "--exit-on-error", "--single-transaction",
                               *_connection_arguments(url), str(backup.resolve())], url)


def _configured_url() -> str:
    return current_app.config["SQLALCHEMY_DATABASE_URI"]


@click.command("backup")
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
@with_appcontext
def backup_command(directory: Path):
    """Write a backup of the database into DIR, with its .sha256 checksum beside it."""
    try:
        written = write_backup(_configured_url(), directory)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(str(written))


@click.command("restore")
@click.argument("backup", metavar="FILE", type=click.Path(path_type=Path))
@with_appcontext
def restore_command(backup: Path):
    """Restore a backup (checked against its .sha256) into the configured database, which must be empty."""
    url = _configured_url()
    try:
        restore_backup(url, backup)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Restored {backup.name} into {make_url(url).render_as_string(hide_password=True)}.")
