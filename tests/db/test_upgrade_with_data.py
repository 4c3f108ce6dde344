"""Upgrading a database that already holds bookings keeps every row (SQLite rebuilds tables
in batch migrations, which once failed on the foreign keys that point at them)."""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask_migrate import upgrade

from portal.extensions import db
from tests.conftest import make_app


def test_upgrade_from_the_first_revision_keeps_bookings(empty_database_url):
    app = make_app(empty_database_url)
    start = datetime(2030, 1, 7, 15, tzinfo=UTC)
    with app.app_context():
        upgrade(revision="0001")
        rows = [
            "INSERT INTO user_account (id, email, name, password_hash, role, active, created_at) VALUES "
            "(1, 'p@example.com', 'P', 'x', 'patient', true, :now), "
            "(2, 'd@example.com', 'D', 'x', 'doctor', true, :now)",
            "INSERT INTO appointment_type (id, name, route, duration_minutes, description, active) VALUES "
            "(1, 'Consult', 'general_consult', 30, '', true)",
            "INSERT INTO clinician (id, user_id, display_name, title, active) VALUES (1, 2, 'D', '', true)",
            "INSERT INTO appointment (id, patient_id, clinician_id, appointment_type_id, start_at, end_at, status, "
            "created_at, updated_at) VALUES (1, 1, 1, 1, :start, :end, 'cancelled', :now, :now)",
            "INSERT INTO appointment (id, patient_id, clinician_id, appointment_type_id, start_at, end_at, status, "
            "rescheduled_from_id, created_at, updated_at) "
            "VALUES (2, 1, 1, 1, :later, :later_end, 'booked', 1, :now, :now)",
        ]
        values = {"now": datetime.now(UTC), "start": start, "end": start + timedelta(minutes=30),
                  "later": start + timedelta(hours=2), "later_end": start + timedelta(hours=2, minutes=30)}
        if db.engine.dialect.name == "sqlite":  # naive UTC text, as the app stores it there
            values = {k: v.replace(tzinfo=None) for k, v in values.items()}
        with db.engine.begin() as connection:
            for statement in rows:
                connection.execute(sa.text(statement), values)

        upgrade()

        with db.engine.connect() as connection:
            appointments = connection.execute(sa.text(
                "SELECT id, status, rescheduled_from_id, triage_submission_id FROM appointment ORDER BY id")).all()
            offered = connection.execute(sa.text(
                "SELECT clinician_id, appointment_type_id FROM clinician_appointment_type")).all()
            if db.engine.dialect.name == "sqlite":
                assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        db.engine.dispose()
    assert [tuple(row) for row in appointments] == [(1, "cancelled", None, None), (2, "booked", 1, None)]
    assert [tuple(row) for row in offered] == [(1, 1)]  # existing clinicians keep every visit type


def test_upgrade_to_triage_safety_keeps_reviewed_emergencies_dealt_with_and_early_stops_provisional(
        empty_database_url):
    """0007: an emergency a doctor had already reviewed counts as dealt with (at that review);
    one nobody reviewed stays open; an early stop nobody reviewed gets its route to be set."""
    app = make_app(empty_database_url)
    now = datetime(2030, 1, 7, 15, tzinfo=UTC)
    reviewed_at = now + timedelta(hours=1)
    with app.app_context():
        upgrade(revision="0006")
        submission = ("INSERT INTO triage_submission (id, patient_id, answers, outcome, rules_version, route, urgency, "
                      "urgency_rank, complete, created_at, review_state, current_route) VALUES "
                      "(:id, 1, '{}', '{}', 'rlsvein-1', 'general_consult', :urgency, :rank, :complete, :now, :state, "
                      "'general_consult')")
        values = {"now": now, "reviewed_at": reviewed_at}
        if db.engine.dialect.name == "sqlite":  # naive UTC text, as the app stores it there
            values = {k: v.replace(tzinfo=None) for k, v in values.items()}
        with db.engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO user_account (id, email, name, password_hash, role, active, created_at) VALUES "
                "(1, 'p@example.com', 'P', 'x', 'patient', true, :now), "
                "(2, 'd@example.com', 'D', 'x', 'doctor', true, :now)"), values)
            for row in ({"id": 1, "urgency": "emergency", "rank": 2, "complete": False, "state": "reviewed"},
                        {"id": 2, "urgency": "emergency", "rank": 2, "complete": False, "state": "unreviewed"},
                        {"id": 3, "urgency": "routine", "rank": 0, "complete": True, "state": "reviewed"}):
                connection.execute(sa.text(submission), {**values, **row})
            connection.execute(sa.text(
                "INSERT INTO triage_review (submission_id, reviewer_id, action, reason, created_at) VALUES "
                "(1, 2, 'reviewed', 'Seen in the ED', :reviewed_at), (3, 2, 'reviewed', '', :reviewed_at)"), values)

        upgrade()

        with db.engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT id, route_provisional, emergency_cleared_at IS NOT NULL FROM triage_submission "
                "ORDER BY id")).all()
            cleared_at = connection.execute(sa.text(
                "SELECT emergency_cleared_at FROM triage_submission WHERE id = 1")).scalar_one()
        db.engine.dispose()
    assert [tuple(row) for row in rows] == [(1, False, True), (2, True, False), (3, False, False)]
    if isinstance(cleared_at, datetime):  # PostgreSQL gives an aware datetime in the session's zone
        cleared_at = cleared_at.astimezone(UTC).replace(tzinfo=None)
    assert str(cleared_at).startswith("2030-01-07 16:00")  # the time of the doctor's review
