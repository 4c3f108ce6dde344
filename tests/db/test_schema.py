"""The migrations build exactly the models, and the database itself refuses broken bookings."""
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from portal.booking.models import Appointment, AppointmentStatus
from portal.extensions import db
from tests import factories
from tests.factories import local


def test_upgrade_on_an_empty_database_matches_the_models(app):
    """The test database was built by `flask db upgrade` alone; autogenerate must find nothing to do."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "compare_server_default": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_migrations_made_every_table(app):
    tables = set(inspect(db.engine).get_table_names())
    assert {t.name for t in db.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


def _raw_appointment(patient, clinician, appointment_type, start, minutes=30, status=AppointmentStatus.BOOKED):
    """A row written around the service, as a bug or a hand-edited script might."""
    return Appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=appointment_type.id,
                       start_at=start, end_at=start + timedelta(minutes=minutes), status=status)


@pytest.fixture
def parties(app):
    return (factories.make_user(), factories.make_user(), factories.make_clinician(), factories.make_type(),
            factories.future_weekday())


def test_database_refuses_two_active_appointments_starting_together_for_a_clinician(parties):
    first_patient, second_patient, clinician, appointment_type, day = parties
    db.session.add(_raw_appointment(first_patient, clinician, appointment_type, local(day, 10)))
    db.session.commit()
    db.session.add(_raw_appointment(second_patient, clinician, appointment_type, local(day, 10)))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_database_allows_a_new_booking_where_one_was_cancelled(parties):
    first_patient, second_patient, clinician, appointment_type, day = parties
    db.session.add(_raw_appointment(first_patient, clinician, appointment_type, local(day, 10),
                                    status=AppointmentStatus.CANCELLED))
    db.session.add(_raw_appointment(second_patient, clinician, appointment_type, local(day, 10)))
    db.session.commit()
    assert db.session.query(Appointment).count() == 2


def test_database_refuses_a_patient_in_two_places_at_once(parties):
    patient, _, clinician, appointment_type, day = parties
    other_clinician = factories.make_clinician()
    db.session.add(_raw_appointment(patient, clinician, appointment_type, local(day, 10)))
    db.session.commit()
    db.session.add(_raw_appointment(patient, other_clinician, appointment_type, local(day, 10)))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_postgresql_refuses_overlaps_with_different_starts(parties):
    """The exclusion constraint: 10:00-10:45 and 10:30-11:00 overlap though they start apart."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("exclusion constraints exist on PostgreSQL only; SQLite relies on BEGIN IMMEDIATE")
    first_patient, second_patient, clinician, appointment_type, day = parties
    db.session.add(_raw_appointment(first_patient, clinician, appointment_type, local(day, 10), minutes=45))
    db.session.commit()
    db.session.add(_raw_appointment(second_patient, clinician, appointment_type, local(day, 10, 30)))
    with pytest.raises(IntegrityError, match="ex_appointment_clinician_id_overlap"):
        db.session.commit()
    db.session.rollback()


def test_database_refuses_an_appointment_that_ends_before_it_starts(parties):
    patient, _, clinician, appointment_type, day = parties
    db.session.add(_raw_appointment(patient, clinician, appointment_type, local(day, 10), minutes=-30))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
