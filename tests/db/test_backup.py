"""Backups that restore (portal/backup.py), on whichever database the suite runs with.

A backup taken through `flask backup` while threads go on booking restores with `flask restore`
into a new empty database as one moment of the clinic: nothing committed before it is missing,
nothing begun after it is there, and no booking is there in part. A plain round trip gives back
every row of every table. Restore refuses a database that is not empty, a file that does not
match its checksum and a backup of the other kind of database; backup says plainly what is wrong
with the directory or with pg_dump.
"""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import threading
import time
from contextlib import closing
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from portal import backup
from portal.booking.models import Route
from portal.booking.service import SlotUnavailable, book_appointment
from portal.extensions import db
from tests import factories
from tests.conftest import TEST_DATABASE_URL, make_app
from tests.db.threads import run_at_once
from tests.factories import local

WRITERS = 3
SLOTS_EACH = 60  # more than the writers get through before the backup's job stops them
ALL_DAY = {day: [(clock_time(7), clock_time(19))] for day in range(7)}
UNREACHABLE_POSTGRESQL = "postgresql+psycopg://postgres:not-on-the-command-line@127.0.0.1:1/nowhere"
BACKUP_NAME = re.compile(r"portal-\d{8}T\d{6}Z\.(sqlite3|pgdump)")


@pytest.fixture
def backups(tmp_path) -> Path:
    """The directory backups are written into (the test's SQLite database lives beside it, not in it)."""
    directory = tmp_path / "backups"
    directory.mkdir(mode=0o700)
    return directory


def run_backup(app, directory: Path) -> Path:
    result = app.test_cli_runner().invoke(args=["backup", str(directory)])
    assert result.exit_code == 0, result.output
    written = Path(result.output.strip().splitlines()[-1])
    assert written.parent == directory and written.is_file()
    return written


def run_restore(url: str, file: Path):
    """`flask restore FILE` in a portal configured for `url`, as an operator would run it."""
    app = make_app(url)
    with app.app_context():  # the command runs in the current app's context: this one, not the test's
        result = app.test_cli_runner().invoke(args=["restore", str(file)])
        db.engine.dispose()
    return result


def canonical(value):
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value


def every_table(url: str) -> dict[str, dict[tuple, dict]]:
    """Every table of the models and alembic_version: {table: {primary key: {column: value}}}."""
    engine = sa.create_engine(url, poolclass=NullPool)
    version = sa.Table("alembic_version", sa.MetaData(), sa.Column("version_num", sa.String(32), primary_key=True))
    found = {}
    with engine.connect() as connection:
        for table in [*db.metadata.sorted_tables, version]:
            key = list(table.primary_key.columns)
            rows = connection.execute(sa.select(table).order_by(*key)).mappings()
            found[table.name] = {tuple(row[c.name] for c in key): {k: canonical(v) for k, v in row.items()}
                                 for row in rows}
    engine.dispose()
    return found


def schema_objects(url: str) -> list[tuple]:
    """The tables, indexes, constraints, triggers and extensions a database has (on SQLite with their
    definitions; PostgreSQL words the expressions of indexes and checks anew when it restores them)."""
    engine = sa.create_engine(url, poolclass=NullPool)
    if engine.dialect.name == "sqlite":
        queries = ["SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"]
    else:
        queries = ["SELECT 'index', indexname, tablename FROM pg_indexes WHERE schemaname = 'public'",
                   "SELECT 'constraint', conname, contype::text FROM pg_constraint c "
                   "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'",
                   "SELECT 'trigger', tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal",
                   "SELECT 'extension', extname, extversion FROM pg_extension"]
    with engine.connect() as connection:
        found = sorted(tuple(row) for query in queries for row in connection.exec_driver_sql(query))
    engine.dispose()
    return found


def has_no_tables(url: str) -> bool:
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        names = sa.inspect(connection).get_table_names()
    engine.dispose()
    return names == []


def small_clinic():
    """Clinicians for the writers, two kinds of visit, a triaged patient with a booking and some time off."""
    consult = factories.make_type(minutes=30)
    factories.make_type(route=Route.VASCULAR_ULTRASOUND, minutes=45)
    clinicians = [factories.make_clinician(hours=ALL_DAY) for _ in range(WRITERS)]
    day = factories.future_weekday(weekday=1)
    patient = factories.make_user()
    factories.make_submission(patient)
    book_appointment(patient_id=patient.id, clinician_id=clinicians[0].id, appointment_type_id=consult.id,
                     start=local(day + timedelta(days=30), 9))
    factories.make_time_off(clinicians[0], local(day + timedelta(days=40), 7), local(day + timedelta(days=40), 19))
    return consult, clinicians, day


def writer_job(clinician_id, type_id, day, done: list, stop: threading.Event):
    """Book one new patient after another into this clinician's slots until told to stop; note
    when each booking began and ended (time.monotonic) and what it made."""
    patient_ids = [factories.make_user().id for _ in range(SLOTS_EACH)]
    starts = [local(day + timedelta(days=i // 24), 7) + timedelta(minutes=30 * (i % 24)) for i in range(SLOTS_EACH)]

    def job():
        for patient_id, start in zip(patient_ids, starts, strict=False):
            if stop.is_set():
                return
            began = time.monotonic()
            appointment = book_appointment(patient_id=patient_id, clinician_id=clinician_id,
                                           appointment_type_id=type_id, start=start)
            done.append((began, time.monotonic(), appointment.id))
            time.sleep(0.02)
    return job


def wait_for(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds}s for {what}"
        time.sleep(0.01)


def backup_job(app, directory: Path, done: list, stop: threading.Event, moment: dict):
    """Once the writers have booked a few, back up through the CLI; stop them once a booking has begun after it."""
    def job():
        try:
            wait_for(lambda: len(done) >= 2 * WRITERS, "the first bookings")
            moment["began"] = time.monotonic()
            moment["file"] = run_backup(app, directory)
            moment["ended"] = time.monotonic()
            wait_for(lambda: any(began > moment["ended"] for began, _, _ in list(done)), "a booking after the backup")
        finally:
            stop.set()
    return job


def rows_not_in(rows: dict, other: dict) -> list[tuple]:
    """The keys of the rows that `other` lacks or holds with different values."""
    return [key for key, row in rows.items() if other.get(key) != row]


def version_of(rows: dict, clinician_id: int) -> int:
    return rows["slot_version"][(clinician_id,)]["version"]


def appointment_ids(rows: dict) -> set[int]:
    return {key[0] for key in rows["appointment"]}


def rows_of_appointment(rows: dict, table: str, appointment_id: int) -> list[dict]:
    return [row for row in rows[table].values() if row["appointment_id"] == appointment_id]


@pytest.mark.slow
def test_backup_while_booking_restores_one_consistent_moment(app, backups, new_database):
    consult, clinicians, day = small_clinic()
    before = every_table(app.config["SQLALCHEMY_DATABASE_URI"])
    done, stop, moment = [], threading.Event(), {}
    writers = [writer_job(c.id, consult.id, day, done, stop) for c in clinicians]
    outcomes = run_at_once(app, [*writers, backup_job(app, backups, done, stop, moment)])
    assert [o for o in outcomes if isinstance(o, Exception)] == []

    final = every_table(app.config["SQLALCHEMY_DATABASE_URI"])
    restored_url = new_database()
    result = run_restore(restored_url, moment["file"])
    assert result.exit_code == 0, result.output
    restored = every_table(restored_url)

    # It is a moment between the backup's start and end: all committed before it, nothing begun after it.
    committed_before = {i for _, ended, i in done if ended < moment["began"]}
    begun_after = {i for began, _, i in done if began > moment["ended"]}
    assert committed_before and begun_after
    assert committed_before <= appointment_ids(restored)
    assert not begun_after & appointment_ids(restored)
    assert len(appointment_ids(restored)) < len(appointment_ids(final))

    for table in set(restored) - {"slot_version"}:  # the one table a booking updates in place (checked below)
        assert rows_not_in(before[table], restored[table]) == [], f"{table}: rows from before the writers"
        assert rows_not_in(restored[table], final[table]) == [], f"{table}: rows the source never held"
    # No booking is there in part: each one's audit entry and messages came with it, exactly.
    for appointment_id in appointment_ids(restored) - appointment_ids(before):
        for table in ("audit_event", "outbox_message"):
            copied = rows_of_appointment(restored, table, appointment_id)
            assert copied and copied == rows_of_appointment(final, table, appointment_id), (table, appointment_id)
    # And the counters the triggers raise with each booking agree with the bookings copied.
    for clinician in clinicians:
        booked = sum(row["clinician_id"] == clinician.id for key, row in restored["appointment"].items()
                     if key not in before["appointment"])
        assert version_of(restored, clinician.id) == version_of(before, clinician.id) + booked


def test_plain_round_trip_gives_back_every_row_of_every_table(app, backups, new_database):
    seeded = app.test_cli_runner().invoke(args=["seed-demo"])
    assert seeded.exit_code == 0, seeded.output
    clinician = factories.make_clinician(hours=ALL_DAY)
    factories.make_submission(factories.make_user(), route="vascular_ultrasound", urgency="urgent")
    factories.make_time_off(clinician, local(factories.future_weekday(), 7), local(factories.future_weekday(), 12))
    source_url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()

    restored_url = new_database()
    result = run_restore(restored_url, run_backup(app, backups))

    assert result.exit_code == 0, result.output
    assert "Restored portal-" in result.output
    source, restored = every_table(source_url), every_table(restored_url)
    assert set(restored) == {t.name for t in db.metadata.sorted_tables} | {"alembic_version"}
    assert all(source[name] for name in ("user_account", "appointment", "triage_submission", "audit_event"))
    for table in source:
        assert restored[table] == source[table], f"{table} differs after the round trip"
    assert schema_objects(restored_url) == schema_objects(source_url)


def test_the_restored_database_takes_bookings_under_the_same_rules(app, backups, new_database):
    consult, clinicians, day = small_clinic()
    clinician_id, type_id = clinicians[1].id, consult.id  # read here: these objects belong to the test's session
    source_url, restored_url = app.config["SQLALCHEMY_DATABASE_URI"], new_database()
    db.session.remove()
    assert run_restore(restored_url, run_backup(app, backups)).exit_code == 0
    source = every_table(source_url)

    restored_app = make_app(restored_url)
    with restored_app.app_context():
        upgraded = restored_app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert upgraded.exit_code == 0, upgraded.output
        assert every_table(restored_url)["alembic_version"] == source["alembic_version"]  # already the newest
        patient_ids = [factories.make_user().id, factories.make_user().id]
        start = local(day + timedelta(days=2), 10)
        booked = book_appointment(patient_id=patient_ids[0], clinician_id=clinician_id, appointment_type_id=type_id,
                                  start=start)
        with pytest.raises(SlotUnavailable):  # the exclusion constraint or the lock came back with the tables
            book_appointment(patient_id=patient_ids[1], clinician_id=clinician_id, appointment_type_id=type_id,
                             start=start)
        assert booked.id > max(appointment_ids(source))  # the id sequences were restored too
        assert min(patient_ids) > max(key[0] for key in source["user_account"])
        assert version_of(every_table(restored_url), clinician_id) == version_of(source, clinician_id) + 1  # triggers
        assert restored_app.test_client().get("/healthz").status_code == 200
        db.session.remove()
        db.engine.dispose()


def test_restore_refuses_a_database_that_is_not_empty_and_changes_nothing(app, backups):
    small_clinic()
    written = run_backup(app, backups)
    factories.make_user(email="after.the.backup@example.com")  # a restore over it would lose this
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    before = every_table(url)

    result = run_restore(url, written)

    assert result.exit_code == 1
    assert "is not empty" in result.output and "Nothing was changed" in result.output
    assert "Traceback" not in result.output
    assert every_table(url) == before


@pytest.mark.parametrize("damage", ["a changed byte", "no checksum file"])
def test_restore_refuses_a_backup_that_does_not_match_its_checksum(app, backups, new_database, damage):
    small_clinic()
    written = run_backup(app, backups)
    if damage == "a changed byte":
        content = bytearray(written.read_bytes())
        content[len(content) // 2] ^= 0xFF
        written.write_bytes(bytes(content))
        expected = "does not match its checksum"
    else:
        backup.checksum_path(written).unlink()
        expected = "There is no checksum beside the backup"
    target = new_database()

    result = run_restore(target, written)

    assert result.exit_code == 1 and expected in result.output, result.output
    if TEST_DATABASE_URL:
        assert has_no_tables(target)
    else:
        assert not Path(sa.engine.make_url(target).database).exists()


def test_the_backup_is_named_by_its_utc_time_private_and_checked_by_sha256sum(app, backups):
    small_clinic()
    written = run_backup(app, backups)

    assert BACKUP_NAME.fullmatch(written.name)
    assert written.suffix == (".pgdump" if TEST_DATABASE_URL else ".sqlite3")
    sums = backup.checksum_path(written)
    assert sums.read_text() == f"{backup.sha256_of(written)}  {written.name}\n"
    assert sorted(p.name for p in backups.iterdir()) == [written.name, sums.name]  # no temporary file left
    assert {oct(p.stat().st_mode & 0o777) for p in (written, sums)} == {"0o600"}  # it holds patient data
    if shutil.which("sha256sum"):
        checked = subprocess.run(["sha256sum", "-c", sums.name], cwd=backups, capture_output=True, text=True)
        assert checked.returncode == 0 and checked.stdout == f"{written.name}: OK\n"


@pytest.mark.parametrize("where", [
    "missing", "a file",
    pytest.param("read-only", marks=pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere"))])
def test_backup_into_a_directory_it_cannot_use_says_so(app, tmp_path, where):
    directory = tmp_path / "backups"
    expected = {"missing": "does not exist", "a file": "is not a directory", "read-only": "is not writable"}[where]
    if where == "a file":
        directory.write_text("")
    elif where == "read-only":
        directory.mkdir(mode=0o500)

    result = app.test_cli_runner().invoke(args=["backup", str(directory)])

    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and expected in result.output, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert not directory.is_dir() or list(directory.iterdir()) == []


def test_pg_dump_missing_or_failing_says_so_and_leaves_no_file(tmp_path, monkeypatch):
    app = make_app(UNREACHABLE_POSTGRESQL)
    if shutil.which("pg_dump"):
        failed = app.test_cli_runner().invoke(args=["backup", str(tmp_path)])
        assert failed.exit_code == 1 and "pg_dump failed" in failed.output, failed.output
        assert "not-on-the-command-line" not in failed.output
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))

    missing = app.test_cli_runner().invoke(args=["backup", str(tmp_path)])

    assert missing.exit_code == 1
    assert "pg_dump was not found" in missing.output and "postgresql-client" in missing.output
    assert list(tmp_path.iterdir()) == []


def test_pg_dump_gets_the_password_in_its_environment_not_its_arguments(tmp_path, monkeypatch):
    calls = []

    def fake_run(command, env, **_):
        calls.append((command, env))
        Path(next(a for a in command if a.startswith("--file=")).removeprefix("--file=")).write_bytes(b"PGDMP fake")
        return subprocess.CompletedProcess(command, 0, "", "")
    monkeypatch.setattr(backup.subprocess, "run", fake_run)
    monkeypatch.setattr(backup.shutil, "which", lambda name: f"/usr/bin/{name}")

    written = backup.write_backup(UNREACHABLE_POSTGRESQL.replace("nowhere", "clinic"), tmp_path)

    [(command, env)] = calls
    assert command[0] == "/usr/bin/pg_dump" and "--format=custom" in command
    assert {"--host=127.0.0.1", "--port=1", "--username=postgres", "--dbname=clinic"} <= set(command)
    assert not any("not-on-the-command-line" in argument for argument in command)
    assert env["PGPASSWORD"] == "not-on-the-command-line"
    assert written.suffix == ".pgdump" and written.read_bytes() == b"PGDMP fake"


def test_restore_refuses_a_backup_of_the_other_kind_of_database(tmp_path):
    sqlite_file, dump_file = tmp_path / "portal-20261207T113000Z.sqlite3", tmp_path / "portal-20261207T113000Z.pgdump"
    with closing(sqlite3.connect(sqlite_file)) as connection:
        connection.execute("CREATE TABLE user_account (id INTEGER PRIMARY KEY)")
    dump_file.write_bytes(b"PGDMP\x01\x0e\x00 not a real dump")
    for file in (sqlite_file, dump_file):
        backup.checksum_path(file).write_text(f"{backup.sha256_of(file)}  {file.name}\n")
    sqlite_target = tmp_path / "target.db"

    into_postgresql = run_restore(UNREACHABLE_POSTGRESQL, sqlite_file)
    into_sqlite = run_restore(f"sqlite:///{sqlite_target}", dump_file)

    assert into_postgresql.exit_code == 1
    assert "is a SQLite backup and the configured database is PostgreSQL" in into_postgresql.output
    assert into_sqlite.exit_code == 1
    assert "is a PostgreSQL backup and the configured database is SQLite" in into_sqlite.output
    assert not sqlite_target.exists()

