"""slot_version and the kept weeks (migration 0012, portal/booking/slot_cache.py): every write that
changes a clinician's busy time or hours raises their version, whoever makes it, so a week's free
times kept by any app are never offered once something has changed under them; the moment (now,
notice, horizon) is applied to the kept week on every call.

Writes "behind the app's back" go through a connection of their own and commit, as psql, a script
or another process would.
"""
import re
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.types import Date, Time

from portal.auth.models import Role
from portal.booking.availability import merge_clinician_slots
from portal.booking.models import AppointmentType, SlotVersion
from portal.booking.schedule_service import add_time_off, remove_time_off, set_weekly_hours
from portal.booking.service import book_appointment, cancel_appointment, change_status, reschedule_appointment
from portal.booking.slot_cache import KeptWeeks, kept_weeks
from portal.booking.slots import free_slots_by_clinician, open_slots
from portal.database import UTCDateTime, utc_now
from portal.extensions import db
from tests import factories
from tests.conftest import make_app
from tests.factories import CHICAGO, local


def version(clinician_id: int) -> int:
    """The committed version, read on a connection of its own (the session may hold a snapshot)."""
    with db.engine.connect() as connection:
        return connection.execute(select(SlotVersion.version).where(SlotVersion.clinician_id == clinician_id)
                                  ).scalar_one()


def behind_the_apps_back(statement: str, **values) -> None:
    """Run plain SQL on a connection of its own and commit it (values it does not name are left out)."""
    with db.engine.begin() as connection:
        connection.execute(*typed(statement, values))


def typed(statement: str, values: dict):
    """The statement and the values it names, bound as the app stores them: datetimes as naive UTC
    text on SQLite and timestamptz on PostgreSQL, days and times of day as the dialect keeps them."""
    named = {name: values[name] for name in re.findall(r":(\w+)", statement)}
    return text(statement).bindparams(*(
        bindparam(name, type_=UTCDateTime) if isinstance(value, datetime) else
        bindparam(name, type_=Date) if isinstance(value, date) else
        bindparam(name, type_=Time) if isinstance(value, time) else bindparam(name)
        for name, value in named.items())), named


INSERT_APPOINTMENT = (
    "INSERT INTO appointment (patient_id, clinician_id, appointment_type_id, start_at, end_at, status, overbook, "
    "created_at, updated_at) VALUES (:patient, :clinician, :type, :start, :end, 'booked', false, :now, :now)")


def insert_appointment(clinic, clinician_id: int, start: datetime, patient=None) -> int:
    """An active appointment written around the service; returns its id."""
    patient = patient or clinic.patients[0]
    behind_the_apps_back(INSERT_APPOINTMENT, patient=patient.id, clinician=clinician_id,
                         type=clinic.appointment_type.id, start=start, end=start + timedelta(minutes=30),
                         now=utc_now())
    with db.engine.connect() as connection:
        return connection.execute(text("SELECT max(id) FROM appointment")).scalar_one()


def book(clinic, start, *, clinician=None, patient=None):
    return book_appointment(patient_id=(patient or clinic.patients[0]).id,
                            clinician_id=(clinician or clinic.clinician).id,
                            appointment_type_id=clinic.appointment_type.id, start=start)


@pytest.fixture
def desk(app):
    return factories.make_user(role=Role.DESK)


# 1. The version rises on every write that changes busy time or hours, and only then.

def test_a_new_clinician_gets_a_version_without_the_app_doing_anything(app):
    doctor = factories.make_user(role=Role.DOCTOR)
    behind_the_apps_back("INSERT INTO clinician (user_id, display_name, title, active) VALUES (:user, 'New', '', true)",
                         user=doctor.id)
    with db.engine.connect() as connection:
        clinician_id = connection.execute(text("SELECT id FROM clinician WHERE user_id = :user"),
                                          {"user": doctor.id}).scalar_one()
    assert version(clinician_id) == 0
    behind_the_apps_back("INSERT INTO working_hours (clinician_id, weekday, start_time, end_time) "
                         "VALUES (:clinician, 0, :start, :end)", clinician=clinician_id, start=time(9), end=time(17))
    assert version(clinician_id) == 1


def test_booking_raises_the_clinicians_version_and_no_one_elses(clinic):
    before, other_before = version(clinic.clinician.id), version(clinic.other_clinician.id)
    book(clinic, local(clinic.day, 10))
    assert version(clinic.clinician.id) > before
    assert version(clinic.other_clinician.id) == other_before


def test_cancelling_raises_the_version(clinic):
    appointment = book(clinic, local(clinic.day, 10))
    before = version(clinic.clinician.id)
    cancel_appointment(appointment.id, by_user=clinic.patients[0], reason="Feeling better")
    assert version(clinic.clinician.id) > before


def test_moving_to_another_clinician_raises_both_versions(clinic):
    appointment = book(clinic, local(clinic.day, 10))
    before, other_before = version(clinic.clinician.id), version(clinic.other_clinician.id)
    reschedule_appointment(appointment.id, by_user=clinic.patients[0], new_start=local(clinic.day, 14),
                           new_clinician_id=clinic.other_clinician.id)
    assert version(clinic.clinician.id) > before
    assert version(clinic.other_clinician.id) > other_before


def test_moving_with_the_same_clinician_raises_the_version(clinic):
    appointment = book(clinic, local(clinic.day, 10))
    before = version(clinic.clinician.id)
    reschedule_appointment(appointment.id, by_user=clinic.patients[0], new_start=local(clinic.day, 14))
    assert version(clinic.clinician.id) > before


@pytest.mark.parametrize("steps", [
    [("checked_in", (9, 50))],
    [("noshow", (10, 20))],
    [("checked_in", (9, 50)), ("fulfilled", (10, 30))],
])
def test_each_status_change_raises_the_version(clinic, desk, steps):
    appointment = book(clinic, local(clinic.day, 10))
    for status, (hour, minute) in steps:
        before = version(clinic.clinician.id)
        change_status(appointment.id, status, by_user=desk, now=local(clinic.day, hour, minute))
        assert version(clinic.clinician.id) > before, status


def test_time_off_added_and_removed_raises_the_version(clinic, desk):
    before = version(clinic.clinician.id)
    time_off = add_time_off(clinic.clinician.id, start=local(clinic.day, 12), end=local(clinic.day, 14),
                            reason="Dentist", by_user=desk)
    added = version(clinic.clinician.id)
    assert added > before
    remove_time_off(time_off.id, by_user=desk)
    assert version(clinic.clinician.id) > added


def test_new_weekly_hours_raise_the_version(clinic, desk):
    before = version(clinic.clinician.id)
    set_weekly_hours(clinic.clinician.id, effective_from=clinic.day, hours={0: [(time(9), time(12))]}, by_user=desk)
    replaced = version(clinic.clinician.id)
    assert replaced > before
    set_weekly_hours(clinic.clinician.id, effective_from=clinic.day, hours={}, by_user=desk)  # only deletes
    assert version(clinic.clinician.id) > replaced


@pytest.mark.parametrize("statement", [
    "UPDATE appointment SET start_at = :later, end_at = :later_end WHERE id = :id",
    "UPDATE appointment SET end_at = :later_end WHERE id = :id",
    "UPDATE appointment SET status = 'cancelled' WHERE id = :id",
    "DELETE FROM appointment WHERE id = :id",
])
def test_plain_sql_on_an_appointment_raises_the_version(clinic, statement):
    before = version(clinic.clinician.id)
    appointment_id = insert_appointment(clinic, clinic.clinician.id, local(clinic.day, 10))
    inserted = version(clinic.clinician.id)
    assert inserted > before
    values = {"id": appointment_id, "later": local(clinic.day, 11), "later_end": local(clinic.day, 11, 30)}
    behind_the_apps_back(statement, **values)
    assert version(clinic.clinician.id) > inserted


def test_plain_sql_in_the_apps_own_session_raises_the_version(clinic):
    before = version(clinic.clinician.id)
    start = local(clinic.day, 10)
    values = {"patient": clinic.patients[0].id, "clinician": clinic.clinician.id, "type": clinic.appointment_type.id,
              "start": start, "end": start + timedelta(minutes=30), "now": utc_now()}
    db.session.execute(*typed(INSERT_APPOINTMENT, values))
    db.session.commit()
    inserted = version(clinic.clinician.id)
    assert inserted > before
    db.session.execute(*typed("UPDATE appointment SET status = 'noshow' WHERE clinician_id = :clinician", values))
    db.session.commit()
    assert version(clinic.clinician.id) > inserted


def test_giving_an_appointment_to_another_clinician_raises_both_versions(clinic):
    appointment_id = insert_appointment(clinic, clinic.clinician.id, local(clinic.day, 10))
    before, other_before = version(clinic.clinician.id), version(clinic.other_clinician.id)
    behind_the_apps_back("UPDATE appointment SET clinician_id = :other WHERE id = :id",
                         other=clinic.other_clinician.id, id=appointment_id)
    assert version(clinic.clinician.id) > before
    assert version(clinic.other_clinician.id) > other_before


@pytest.mark.parametrize("statement", [
    "UPDATE time_off SET start_at = :start WHERE clinician_id = :clinician",
    "UPDATE time_off SET end_at = :end WHERE clinician_id = :clinician",
    "DELETE FROM time_off WHERE clinician_id = :clinician",
    "UPDATE working_hours SET start_time = :ten WHERE clinician_id = :clinician",
    "UPDATE working_hours SET weekday = 6 - weekday WHERE clinician_id = :clinician",
    "UPDATE working_hours SET effective_from = :day WHERE clinician_id = :clinician",
    "DELETE FROM working_hours WHERE clinician_id = :clinician",
])
def test_plain_sql_on_time_off_and_hours_raises_the_version(clinic, statement):
    factories.make_time_off(clinic.clinician, local(clinic.day, 12), local(clinic.day, 14))
    before = version(clinic.clinician.id)
    values = {"clinician": clinic.clinician.id, "start": local(clinic.day, 11), "end": local(clinic.day, 15),
              "day": clinic.day, "ten": time(10)}
    behind_the_apps_back(statement, **values)
    assert version(clinic.clinician.id) > before


@pytest.mark.parametrize("statement", [
    "UPDATE appointment SET cancellation_reason = 'a note' WHERE id = :id",
    "UPDATE appointment SET idempotency_key = 'k' WHERE id = :id",
    "UPDATE appointment SET overrides = 'route', override_reason = 'the doctor asked' WHERE id = :id",
    "UPDATE appointment SET checked_in_at = :now, updated_at = :now WHERE id = :id",
    "UPDATE time_off SET reason = 'Conference' WHERE clinician_id = :clinician",
])
def test_a_write_that_changes_no_busy_time_leaves_the_version(clinic, statement):
    factories.make_time_off(clinic.clinician, local(clinic.day, 12), local(clinic.day, 14))
    appointment_id = insert_appointment(clinic, clinic.clinician.id, local(clinic.day, 10))
    before = version(clinic.clinician.id)
    values = {"id": appointment_id, "now": utc_now(), "clinician": clinic.clinician.id}
    behind_the_apps_back(statement, **values)
    assert version(clinic.clinician.id) == before


# 2. A kept week never offers a time that has been taken since.

def offered(slots) -> set[tuple[datetime, int]]:
    """Each (start, clinician) a page would offer."""
    return {(slot.start, clinician) for slot in slots for clinician in slot.clinician_ids}


def the_week(clinic, now=None, *, appointment_type=None, **kwargs):
    """The "any clinician" week from clinic.day, as the slot page asks for it, in a transaction of its own."""
    db.session.rollback()
    return open_slots(appointment_type or clinic.appointment_type, first_day=clinic.day,
                      last_day=clinic.day + timedelta(days=6), zone=CHICAGO, now=now or utc_now(), **kwargs)


def test_a_kept_week_is_used_again_while_nothing_changes(clinic):
    first = the_week(clinic)
    assert the_week(clinic) == first
    assert len(kept_weeks()) == 1


def test_a_kept_week_does_not_offer_a_time_booked_behind_the_apps_back(clinic):
    taken = local(clinic.day, 10)
    assert (taken, clinic.clinician.id) in offered(the_week(clinic))
    insert_appointment(clinic, clinic.clinician.id, taken)
    after = offered(the_week(clinic))
    assert (taken, clinic.clinician.id) not in after
    assert (taken, clinic.other_clinician.id) in after
    assert len(kept_weeks()) == 2  # the first week was kept, and computed afresh after the write


def test_a_week_of_a_clinician_without_a_version_is_never_kept(clinic):
    """Without its row (deleted by hand) a change could not be told: the week is computed each time."""
    behind_the_apps_back("DELETE FROM slot_version WHERE clinician_id = :clinician", clinician=clinic.clinician.id)
    taken = local(clinic.day, 10)
    assert (taken, clinic.clinician.id) in offered(the_week(clinic))
    insert_appointment(clinic, clinic.clinician.id, taken)
    assert (taken, clinic.clinician.id) not in offered(the_week(clinic))
    assert len(kept_weeks()) == 0


def test_a_kept_week_does_not_offer_time_off_added_behind_the_apps_back(clinic):
    off = [local(clinic.day, 12), local(clinic.day, 12, 30)]
    assert {(start, clinic.clinician.id) for start in off} <= offered(the_week(clinic))
    behind_the_apps_back("INSERT INTO time_off (clinician_id, start_at, end_at, reason) "
                         "VALUES (:clinician, :start, :end, 'Dentist')",
                         clinician=clinic.clinician.id, start=off[0], end=off[-1] + timedelta(minutes=30))
    assert not {(start, clinic.clinician.id) for start in off} & offered(the_week(clinic))


def test_a_kept_week_follows_working_hours_changed_behind_the_apps_back(clinic):
    evening = local(clinic.day, 17, 30)
    assert (evening, clinic.clinician.id) in offered(the_week(clinic))
    behind_the_apps_back("UPDATE working_hours SET end_time = :end WHERE clinician_id = :clinician",
                         end=time(12), clinician=clinic.clinician.id)
    after = offered(the_week(clinic))
    assert (evening, clinic.clinician.id) not in after
    assert (local(clinic.day, 11, 30), clinic.clinician.id) in after


def test_a_booking_on_one_app_is_never_offered_by_another_apps_kept_week(app, clinic, database_url):
    """Two processes on one database: B keeps the week, A books through the service."""
    taken, clinician_id, type_id = local(clinic.day, 10), clinic.clinician.id, clinic.appointment_type.id
    other_app = make_app(database_url)
    try:
        with other_app.app_context():
            other_week = the_week(clinic, appointment_type=db.session.get(AppointmentType, type_id))
            assert (taken, clinician_id) in offered(other_week)
            assert len(kept_weeks()) == 1
        book(clinic, taken)
        assert len(kept_weeks()) == 0  # each app keeps its own
        with other_app.app_context():
            other_week = the_week(clinic, appointment_type=db.session.get(AppointmentType, type_id))
            assert (taken, clinician_id) not in offered(other_week)
            assert len(kept_weeks()) == 2
    finally:
        with other_app.app_context():
            db.engine.dispose()


def test_a_week_computed_from_uncommitted_writes_is_not_kept_for_others(clinic):
    """A caller that reads slots inside a write transaction sees its own uncommitted appointment and
    raised version; if it rolls back, the next writer commits that same version number."""
    rolled_back, taken_later = local(clinic.day, 10), local(clinic.day, 11)
    values = {"patient": clinic.patients[0].id, "clinician": clinic.clinician.id, "type": clinic.appointment_type.id,
              "start": rolled_back, "end": rolled_back + timedelta(minutes=30), "now": utc_now()}
    db.session.rollback()
    db.session.execute(*typed(INSERT_APPOINTMENT, values))
    open_slots(clinic.appointment_type, first_day=clinic.day, last_day=clinic.day + timedelta(days=6),
               zone=CHICAGO, now=utc_now())
    db.session.rollback()
    insert_appointment(clinic, clinic.clinician.id, taken_later)
    after = offered(the_week(clinic))
    assert (rolled_back, clinic.clinician.id) in after
    assert (taken_later, clinic.clinician.id) not in after


# 3. The moment is applied to the kept week on every call.

def computed_directly(clinic, *, now, notice, latest_start=None) -> list[tuple]:
    """The week's slots from the engine itself, with no store in between."""
    by_clinician = free_slots_by_clinician(clinic.appointment_type, [clinic.clinician.id, clinic.other_clinician.id],
                                           first_day=clinic.day, last_day=clinic.day + timedelta(days=6),
                                           zone=CHICAGO, now=now, notice=notice)
    return [(interval.start, interval.end, ids) for interval, ids in merge_clinician_slots(by_clinician)
            if latest_start is None or interval.start <= latest_start]


@pytest.mark.parametrize("now, notice, latest_start", [
    ((-3, 8), timedelta(0), None),  # before the week: all of it
    ((0, 11, 10), timedelta(minutes=60), None),  # mid-morning of its first day
    ((0, 11), timedelta(minutes=60), None),  # now + notice exactly on a slot's start: offered
    ((2, 17, 59), timedelta(0), (5, 9)),  # a later day, with the horizon cutting the end
    ((1, 9), timedelta(hours=3), (1, 12)),  # horizon exactly on a slot's start: offered
    ((7, 0), timedelta(0), None),  # after the week: nothing
])
def test_the_kept_week_is_cut_to_the_moment_of_each_call(clinic, now, notice, latest_start):
    def at(offset, hour, minute=0):
        return local(clinic.day + timedelta(days=offset), hour, minute)

    the_week(clinic)  # kept, computed for an earlier moment
    now, latest_start = at(*now), latest_start and at(*latest_start)
    slots = the_week(clinic, now=now, notice=notice, latest_start=latest_start)
    assert [tuple(slot) for slot in slots] == computed_directly(clinic, now=now, notice=notice,
                                                                latest_start=latest_start)
    assert len(kept_weeks()) == 1


def test_later_calls_on_one_kept_week_offer_only_times_from_now_plus_notice(clinic):
    notice = timedelta(minutes=60)
    earlier = the_week(clinic, now=local(clinic.day, 9), notice=notice)
    later = the_week(clinic, now=local(clinic.day, 13, 5), notice=notice)
    assert earlier[0].start == local(clinic.day, 10)
    assert later[0].start == local(clinic.day, 14, 30)
    assert later == [slot for slot in earlier if slot.start >= local(clinic.day, 14, 5)]


# 4. KeptWeeks itself.

class Computations:
    """Compute functions for KeptWeeks that note each value they compute."""

    def __init__(self):
        self.done = []

    def of(self, value):
        def compute():
            self.done.append(value)
            return value
        return compute


def test_kept_weeks_computes_once_per_key_and_returns_what_it_computed():
    computations, weeks = Computations(), KeptWeeks(size=4)
    assert weeks.get_or_compute("a", computations.of("A")) == "A"
    assert weeks.get_or_compute("a", computations.of("other")) == "A"
    assert weeks.get_or_compute("b", computations.of("B")) == "B"
    assert computations.done == ["A", "B"]
    assert len(weeks) == 2


def test_kept_weeks_keeps_at_most_its_size_and_lets_the_least_recently_used_go_first():
    computations, weeks = Computations(), KeptWeeks(size=2)

    def use(*keys):
        for key in keys:
            assert weeks.get_or_compute(key, computations.of(key)) == key

    use("a", "b", "a", "c")  # a was used after b, so b goes for c
    assert len(weeks) == 2
    use("a", "c")
    assert computations.done == ["a", "b", "c"]
    use("b", "c", "a")  # b again, for which a goes (used before c); then a again
    assert computations.done == ["a", "b", "c", "b", "a"]
    assert len(weeks) == 2
