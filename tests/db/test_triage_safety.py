"""Triage safety on every write path (the booking rule of triage safety), on both databases.

Whoever writes an appointment (the patient online, booking or moving; the front desk booking a
free slot, overbooking or moving) meets the same rules inside the write transaction: an
emergency that no doctor has dealt with closes all booking, whatever the patient answered since;
an urgent case is seen within 24 hours, later only by the desk with a stated reason; a patient
holds one upcoming visit of a kind. The races at the end run real threads, each in its own app
context (its own session and connection), as requests in separate processes would.
"""
import time as clock
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from portal.audit import AuditAction, AuditEvent
from portal.auth.models import Role, User
from portal.booking import service
from portal.booking.eligibility import Override
from portal.booking.models import ACTIVE_STATUSES, Appointment, AppointmentStatus, AppointmentType, Clinician, Route
from portal.booking.service import (
    BookingPolicy,
    PatientAlreadyBooked,
    ReasonRequired,
    SlotUnavailable,
    TriageNotBookable,
    book_appointment,
    reschedule_appointment,
)
from portal.database import utc_now
from portal.extensions import db
from portal.triage.models import ReviewAction, ReviewState, TriageSubmission
from portal.triage.rules import evaluate_safety
from portal.triage.service import ReviewError, record_emergency_dealt_with, record_review, save_answers, submit
from tests import factories
from tests.db.threads import run_at_once
from tests.factories import CHICAGO, local

ULTRASOUND, CONSULT = Route.VASCULAR_ULTRASOUND.value, Route.GENERAL_CONSULT.value
# Open around the clock, so a start three hours from now is a slot whatever the time of the run.
AROUND_THE_CLOCK = {weekday: [(time(0), time(23, 30))] for weekday in range(7)}
DESK_REASON = "Patient cannot come sooner"
ROUNDS = 5
BOOKING_THREADS = 8
# What a booking that loses a race may be told; anything else escaping is a failure.
EXPECTED_REFUSALS = (TriageNotBookable, SlotUnavailable, PatientAlreadyBooked)


@dataclass
class TriageClinic:
    desk: User
    doctor: User
    ultrasound: AppointmentType
    consult: AppointmentType
    clinicians: list[Clinician]
    day: date  # next week: well beyond an urgent case's 24 hours

    @property
    def clinician(self) -> Clinician:
        return self.clinicians[0]


@pytest.fixture
def triage_clinic(app) -> TriageClinic:
    """A desk clerk, a doctor, ultrasound and consult visits, and two clinicians working all day."""
    ultrasound = factories.make_type(Route.VASCULAR_ULTRASOUND, minutes=30)
    consult = factories.make_type(Route.GENERAL_CONSULT, minutes=30)
    return TriageClinic(desk=factories.make_user(role=Role.DESK), doctor=factories.make_user(role=Role.DOCTOR),
                        ultrasound=ultrasound, consult=consult,
                        clinicians=[factories.make_clinician(hours=AROUND_THE_CLOCK) for _ in range(2)],
                        day=factories.future_weekday())


@dataclass(frozen=True)
class WritePath:
    """One way an ultrasound appointment gets written: by whom, and whether it books or moves."""

    name: str
    by_desk: bool
    moves: bool = False
    overbooks: bool = False

    def __str__(self) -> str:
        return self.name

    def hold_visit(self, clinic: TriageClinic, patient: User, start: datetime) -> Appointment | None:
        """For a move, the ultrasound the patient already holds (booked online); else nothing."""
        if not self.moves:
            return None
        return book_appointment(patient_id=patient.id, clinician_id=clinic.clinician.id,
                                appointment_type_id=clinic.ultrasound.id, start=start)

    def write(self, clinic: TriageClinic, patient: User, start: datetime, *, held: Appointment | None = None,
              override_reason: str | None = None) -> Appointment:
        """Book an ultrasound for the patient at `start` this way, or move the held one there."""
        policy = BookingPolicy.for_front_desk() if self.by_desk else None
        if self.moves:
            return reschedule_appointment(held.id, by_user=clinic.desk if self.by_desk else patient,
                                          new_start=start, override_reason=override_reason, policy=policy)
        return book_appointment(patient_id=patient.id, clinician_id=clinic.clinician.id,
                                appointment_type_id=clinic.ultrasound.id, start=start,
                                booked_by_id=clinic.desk.id if self.by_desk else None,
                                overbook_reason="Squeezed in between two scans" if self.overbooks else None,
                                override_reason=override_reason, policy=policy)


PATIENT_BOOKS = WritePath("patient books online", by_desk=False)
PATIENT_MOVES = WritePath("patient moves online", by_desk=False, moves=True)
DESK_BOOKS = WritePath("desk books a free slot", by_desk=True)
DESK_OVERBOOKS = WritePath("desk overbooks", by_desk=True, overbooks=True)
DESK_MOVES = WritePath("desk moves", by_desk=True, moves=True)
PATIENT_PATHS = [PATIENT_BOOKS, PATIENT_MOVES]
DESK_PATHS = [DESK_BOOKS, DESK_OVERBOOKS, DESK_MOVES]
ALL_PATHS = PATIENT_PATHS + DESK_PATHS


def soon_on_the_grid() -> datetime:
    """About three hours from now (inside the urgent 24 hours, past the patient's hour of
    notice), on the half-hour grid of a clinician working all day."""
    soon = utc_now().replace(second=0, microsecond=0) + timedelta(hours=3)
    soon += timedelta(minutes=-soon.minute % 30)
    if soon.astimezone(CHICAGO).time() == time(23, 30):  # the end of the working day, not a slot
        soon += timedelta(minutes=30)
    return soon


def rows_written() -> tuple[int, int]:
    """How many appointments and audit events there are, read fresh."""
    db.session.rollback()
    return (db.session.scalar(select(func.count()).select_from(Appointment)),
            db.session.scalar(select(func.count()).select_from(AuditEvent)))


def refused_outright(write) -> TriageNotBookable:
    """Run a write the triage must refuse with no way round it (no reason opens it); check that
    nothing was written, not even an audit row; return the refusal."""
    before = rows_written()
    with pytest.raises(TriageNotBookable) as refused:
        write()
    assert not isinstance(refused.value, ReasonRequired), f"a reason would open this: {refused.value.message}"
    assert rows_written() == before
    return refused.value


def assert_still_held(held: Appointment | None) -> None:
    """The visit a refused move started from is still booked, unchanged."""
    if held is not None:
        db.session.rollback()
        assert db.session.get(Appointment, held.id).status == AppointmentStatus.BOOKED


def audit_events(action: str, **filters) -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).filter_by(action=action, **filters).order_by(AuditEvent.id)))


def patients_appointments(patient_id: int) -> list[Appointment]:
    db.session.rollback()
    return list(db.session.scalars(select(Appointment).where(Appointment.patient_id == patient_id)
                                   .order_by(Appointment.id)))


# --- an emergency no doctor has dealt with ---------------------------------------------------------


@pytest.mark.parametrize("path", ALL_PATHS, ids=str)
def test_an_emergency_no_doctor_has_dealt_with_closes_every_write_path(triage_clinic, path):
    """A patient who reported a bleeding vein gets nothing booked or moved, online or at the desk,
    whatever reason the desk gives: no appointment appears, the log records none, and a visit
    held from before stays where it was."""
    clinic, patient = triage_clinic, factories.make_user()
    factories.make_submission(patient, ULTRASOUND, "routine")
    held = path.hold_visit(clinic, patient, local(clinic.day, 9))
    emergency = factories.make_submission(patient, ULTRASOUND, "emergency")

    refusal = refused_outright(lambda: path.write(clinic, patient, local(clinic.day, 11), held=held,
                                                  override_reason="The doctor asked for it"))

    assert "emergency" in refusal.message
    if path.by_desk:
        assert f"case {emergency.id}" in refusal.message
    assert_still_held(held)


# --- an urgent case: within 24 hours, later only by the desk with a reason -------------------------


@pytest.mark.parametrize("path", PATIENT_PATHS, ids=str)
def test_an_urgent_patient_cannot_book_later_than_24_hours_online(triage_clinic, path):
    """A patient with signs of a clot is told to pick a time in the next 24 hours or phone; a
    reason typed online does not open a later time."""
    clinic, patient = triage_clinic, factories.make_user()
    factories.make_submission(patient, ULTRASOUND, "routine")
    held = path.hold_visit(clinic, patient, local(clinic.day, 9))
    factories.make_submission(patient, ULTRASOUND, "urgent")

    refusal = refused_outright(lambda: path.write(clinic, patient, local(clinic.day, 11), held=held,
                                                  override_reason="I cannot come sooner"))

    assert "within 24 hours" in refusal.message
    assert_still_held(held)


@pytest.mark.parametrize("path", DESK_PATHS, ids=str)
def test_the_desk_books_an_urgent_case_later_than_24_hours_only_with_a_reason(triage_clinic, path):
    """The desk is asked for a reason before booking an urgent case next week; with one, the
    appointment carries the override and the reason, and the audit log names both."""
    clinic, patient = triage_clinic, factories.make_user()
    factories.make_submission(patient, ULTRASOUND, "routine")
    held = path.hold_visit(clinic, patient, local(clinic.day, 9))
    urgent = factories.make_submission(patient, ULTRASOUND, "urgent")
    later = local(clinic.day, 11)

    before = rows_written()
    with pytest.raises(ReasonRequired, match="later than 24 hours") as asked:
        path.write(clinic, patient, later, held=held)
    assert asked.value.overrides == (Override.URGENT_WINDOW,)
    assert rows_written() == before
    assert_still_held(held)

    appointment = path.write(clinic, patient, later, held=held, override_reason=DESK_REASON)

    assert (appointment.start_at, appointment.status) == (later, AppointmentStatus.BOOKED)
    assert (appointment.overrides, appointment.override_reason) == ("urgent_window", DESK_REASON)
    assert appointment.triage_submission_id == urgent.id
    [override] = audit_events(AuditAction.APPOINTMENT_TRIAGE_OVERRIDE, patient_id=patient.id)
    assert (override.appointment_id, override.user_id) == (appointment.id, clinic.desk.id)
    assert DESK_REASON in override.detail and "later than 24 hours" in override.detail


@pytest.mark.parametrize("path", ALL_PATHS, ids=str)
def test_an_urgent_patient_is_booked_within_24_hours_on_every_path_without_a_reason(triage_clinic, path):
    """A time in the next few hours needs no reason from anyone, and the visit is linked to the
    urgent answers, so the doctors' queue shows the case booked."""
    clinic, patient = triage_clinic, factories.make_user()
    factories.make_submission(patient, ULTRASOUND, "routine")
    held = path.hold_visit(clinic, patient, local(clinic.day, 9))
    urgent = factories.make_submission(patient, ULTRASOUND, "urgent")
    soon = soon_on_the_grid()

    appointment = path.write(clinic, patient, soon, held=held)

    assert (appointment.start_at, appointment.status) == (soon, AppointmentStatus.BOOKED)
    assert (appointment.overrides, appointment.override_reason) == (None, None)
    assert appointment.triage_submission_id == urgent.id
    if held is not None:
        assert appointment.rescheduled_from_id == held.id
        assert db.session.get(Appointment, held.id).status == AppointmentStatus.CANCELLED
    assert audit_events(AuditAction.APPOINTMENT_TRIAGE_OVERRIDE, patient_id=patient.id) == []


# --- answering again does not reopen booking; a doctor does ----------------------------------------


@pytest.mark.parametrize("path", ALL_PATHS, ids=str)
def test_answering_again_keeps_booking_closed_until_a_doctor_deals_with_the_emergency(triage_clinic, path):
    """A patient who reported chest pain and then answered again with nothing alarming still
    cannot book, nor can the desk for them. Once a doctor records what was done, the visit the
    newest answers point to books as usual, with no reason asked."""
    clinic, patient = triage_clinic, factories.make_user()
    factories.make_submission(patient, ULTRASOUND, "routine")
    held = path.hold_visit(clinic, patient, local(clinic.day, 9))
    emergency = factories.make_submission(patient, CONSULT, "emergency")
    answered_again = factories.make_submission(patient, ULTRASOUND, "routine")

    refusal = refused_outright(lambda: path.write(clinic, patient, local(clinic.day, 11), held=held,
                                                  override_reason="Says the chest pain has gone"))
    assert "emergency" in refusal.message
    assert_still_held(held)

    record_emergency_dealt_with(emergency.id, doctor=clinic.doctor, note="Seen in the ED, scan clear")
    appointment = path.write(clinic, patient, local(clinic.day, 11), held=held)

    assert appointment.start_at == local(clinic.day, 11)
    assert appointment.triage_submission_id == answered_again.id and appointment.overrides is None


def test_every_emergency_must_be_dealt_with_before_booking_opens(triage_clinic):
    """Two emergencies answered a day apart: the doctor dealing with the newer one does not
    open booking while the older one has no record of what was done."""
    clinic, patient = triage_clinic, factories.make_user()
    older = factories.make_submission(patient, CONSULT, "emergency")
    newer = factories.make_submission(patient, ULTRASOUND, "emergency")
    record_emergency_dealt_with(newer.id, doctor=clinic.doctor, note="Bleeding stopped, dressing applied")

    refusal = refused_outright(lambda: DESK_BOOKS.write(clinic, patient, local(clinic.day, 11)))

    assert f"case {older.id}" in refusal.message
    record_emergency_dealt_with(older.id, doctor=clinic.doctor, note="Seen in the ED, scan clear")
    assert DESK_BOOKS.write(clinic, patient, local(clinic.day, 11)).triage_submission_id == newer.id


def test_a_doctor_must_say_what_was_done_about_the_emergency(triage_clinic):
    """An empty note is refused, and booking stays closed."""
    clinic, patient = triage_clinic, factories.make_user()
    emergency = factories.make_submission(patient, CONSULT, "emergency")

    for blank in ("", "   "):
        with pytest.raises(ReviewError, match="what was done"):
            record_emergency_dealt_with(emergency.id, doctor=clinic.doctor, note=blank)

    db.session.rollback()
    case = db.session.get(TriageSubmission, emergency.id)
    assert case.emergency_open and case.reviews == []
    assert audit_events(AuditAction.TRIAGE_EMERGENCY_CLEARED) == []
    refused_outright(lambda: PATIENT_BOOKS.write(clinic, patient, local(clinic.day, 11)))


def test_an_emergency_stopped_at_the_first_page_gets_its_route_when_dealt_with(triage_clinic):
    """The questions stopped at a bleeding vein, so no route was ever chosen: the doctor must
    set one when recording what was done. The case history keeps the note and the route change,
    the audit log records it, and the patient can then book that visit online."""
    clinic, patient = triage_clinic, factories.make_user()
    answers = {"pe_symptoms": "no", "bleeding_vein": "yes", "cold_pale_leg": "no"}
    emergency = TriageSubmission.from_outcome(answers, evaluate_safety(answers), patient_id=patient.id, complete=False)
    db.session.add(emergency)
    db.session.commit()
    assert emergency.route_provisional and emergency.current_route == ULTRASOUND
    note = "Bleeding stopped in the ED; wants advice on restless legs first"

    with pytest.raises(ReviewError, match="choose the route"):
        record_emergency_dealt_with(emergency.id, doctor=clinic.doctor, note=note)
    record_emergency_dealt_with(emergency.id, doctor=clinic.doctor, note=note, new_route=CONSULT)

    db.session.rollback()
    case = db.session.get(TriageSubmission, emergency.id)
    assert (case.current_route, case.route_provisional, case.emergency_open) == (CONSULT, False, False)
    assert case.review_state == ReviewState.REVIEWED and case.emergency_cleared_at is not None
    assert [(r.action, r.reason, r.old_route, r.new_route, r.reviewer_id) for r in case.reviews] == [
        (ReviewAction.EMERGENCY_CLEARED, note, ULTRASOUND, CONSULT, clinic.doctor.id)]
    [cleared] = audit_events(AuditAction.TRIAGE_EMERGENCY_CLEARED, patient_id=patient.id)
    assert cleared.user_id == clinic.doctor.id and note in cleared.detail and f"case {case.id}" in cleared.detail
    booked = book_appointment(patient_id=patient.id, clinician_id=clinic.clinician.id,
                              appointment_type_id=clinic.consult.id, start=local(clinic.day, 11))
    assert booked.triage_submission_id == case.id


def test_a_plain_review_or_route_change_cannot_close_an_open_emergency(triage_clinic):
    """Marking the case reviewed, or changing its route, is refused while the emergency is open:
    only a record of what was done about it closes it."""
    clinic, patient = triage_clinic, factories.make_user()
    emergency = factories.make_submission(patient, CONSULT, "emergency")

    with pytest.raises(ReviewError, match="emergency"):
        record_review(emergency.id, doctor=clinic.doctor)
    with pytest.raises(ReviewError, match="emergency"):
        record_review(emergency.id, doctor=clinic.doctor, new_route=ULTRASOUND, reason="Needs a scan")

    db.session.rollback()
    case = db.session.get(TriageSubmission, emergency.id)
    assert case.emergency_open and case.review_state == ReviewState.UNREVIEWED and case.reviews == []
    assert case.current_route == CONSULT
    assert audit_events(AuditAction.TRIAGE_REVIEWED) == []
    refused_outright(lambda: DESK_BOOKS.write(clinic, patient, local(clinic.day, 11)))


# --- one upcoming visit per need -------------------------------------------------------------------


def test_a_patient_holds_one_upcoming_ultrasound_and_the_desk_adds_a_second_only_with_a_reason(triage_clinic):
    """A patient with an ultrasound booked is told to move it rather than book another, and may
    move it; the desk may add a second scan when it states why."""
    clinic, patient = triage_clinic, factories.make_user()
    factories.make_submission(patient, ULTRASOUND, "routine")
    first = PATIENT_BOOKS.write(clinic, patient, local(clinic.day, 9))

    refusal = refused_outright(lambda: PATIENT_BOOKS.write(clinic, patient, local(clinic.day, 14)))
    assert "move that one" in refusal.message

    moved = reschedule_appointment(first.id, by_user=patient, new_start=local(clinic.day, 14))
    assert moved.start_at == local(clinic.day, 14) and moved.overrides is None

    second_day = local(clinic.day + timedelta(days=1), 10)
    before = rows_written()
    with pytest.raises(ReasonRequired, match="second upcoming visit") as asked:
        DESK_BOOKS.write(clinic, patient, second_day)
    assert asked.value.overrides == (Override.SECOND_VISIT,) and rows_written() == before
    second = DESK_BOOKS.write(clinic, patient, second_day, override_reason="Other leg scanned separately")

    assert (second.overrides, second.override_reason) == ("second_visit", "Other leg scanned separately")
    active = [a for a in patients_appointments(patient.id) if a.status in ACTIVE_STATUSES]
    assert sorted(a.start_at for a in active) == [local(clinic.day, 14), second_day]


# --- races: real threads, one app context each ------------------------------------------------------


@pytest.fixture
def slow_triage_check(monkeypatch):
    """Widen the gap between reading the triage and committing the booking, as a busy server
    would: without the patient's lock, a concurrent change would land inside it."""
    real = service._check_triage

    def slower(**kwargs):
        decided = real(**kwargs)
        clock.sleep(0.005)
        return decided

    monkeypatch.setattr(service, "_check_triage", slower)


def desk_bookings(clinic: TriageClinic, patient_id: int, day: date) -> list:
    """Desk bookings for one patient to run in threads: different times (none overlapping),
    alternating clinicians and visit types, each with a reason, so that once booking is open
    every one of them may be made. Ids are read here: ORM objects belong to the test's session."""
    desk_id = clinic.desk.id
    clinician_ids = [c.id for c in clinic.clinicians]
    type_ids = [clinic.consult.id, clinic.ultrasound.id]

    def booking(index):
        start = local(day, 8) + timedelta(minutes=30 * index)

        def book():
            return book_appointment(
                patient_id=patient_id, clinician_id=clinician_ids[index % 2],
                appointment_type_id=type_ids[index // 2 % 2], start=start, booked_by_id=desk_id,
                override_reason="Second visit agreed with the doctor", policy=BookingPolicy.for_front_desk()).id
        return book

    return [booking(index) for index in range(BOOKING_THREADS)]


def unexpected_failures(outcomes) -> list[str]:
    """Exceptions other than a refusal with a message, by name and first line (the page would be a 500)."""
    return [f"{type(o).__name__}: {str(o).splitlines()[0]}" for o in outcomes
            if isinstance(o, BaseException) and not isinstance(o, EXPECTED_REFUSALS)]


@pytest.mark.slow
def test_desk_bookings_racing_the_doctor_who_deals_with_the_emergency(app, triage_clinic, slow_triage_check):
    """While a doctor records an emergency dealt with, eight desk bookings for that patient
    arrive at the same moment. Each is refused or made after the doctor's record: none is made
    while the emergency is still open, and no one sees an error page."""
    clinic = triage_clinic
    doctor_id = clinic.doctor.id
    tally = {"booked": 0, "refused": 0}
    for round_number in range(ROUNDS):
        patient = factories.make_user()
        emergency = factories.make_submission(patient, CONSULT, "emergency")
        emergency_id = emergency.id

        def deal_with_emergency():
            return record_emergency_dealt_with(emergency_id, doctor=db.session.get(User, doctor_id),
                                               note="Seen in the ED, scan clear").id
        outcomes = run_at_once(app, [deal_with_emergency]
                               + desk_bookings(clinic, patient.id, clinic.day + timedelta(days=round_number)))

        cleared, bookings = outcomes[0], outcomes[1:]
        assert isinstance(cleared, int), f"round {round_number}: the doctor's record failed: {cleared!r}"
        assert unexpected_failures(bookings) == [], f"round {round_number}"
        made = patients_appointments(patient.id)
        assert sorted(a.id for a in made) == sorted(o for o in bookings if isinstance(o, int))
        cleared_at = db.session.get(TriageSubmission, emergency_id).emergency_cleared_at
        assert cleared_at is not None
        made_under_open_emergency = [(a.id, a.created_at) for a in made if a.created_at < cleared_at]
        assert made_under_open_emergency == [], f"round {round_number}: emergency cleared at {cleared_at}"
        tally["booked"] += len(made)
        tally["refused"] += len(bookings) - len(made)
    print(f"bookings racing the doctor's record: {tally}")


@pytest.mark.slow
def test_desk_bookings_racing_new_answers_that_mean_an_emergency(app, triage_clinic, slow_triage_check):
    """The patient finishes the questions online, with chest pain, while the desk books them on
    the phone. A booking stands only if it was made before the answers arrived; every later one
    is refused, and the emergency stays open."""
    clinic = triage_clinic
    emergency_answers = {**factories.SAFE_ANSWERS, "pe_symptoms": "yes"}
    tally = {"booked": 0, "refused": 0}
    for round_number in range(ROUNDS):
        patient = factories.make_user()
        factories.make_submission(patient, CONSULT, "routine")
        token, patient_id = save_answers(None, emergency_answers), patient.id

        def finish_the_questions():
            return submit(token, patient_id=patient_id).id
        outcomes = run_at_once(app, [finish_the_questions]
                               + desk_bookings(clinic, patient_id, clinic.day + timedelta(days=round_number)))

        submitted, bookings = outcomes[0], outcomes[1:]
        assert isinstance(submitted, int), f"round {round_number}: the answers were not stored: {submitted!r}"
        assert unexpected_failures(bookings) == [], f"round {round_number}"
        db.session.rollback()
        emergency = db.session.get(TriageSubmission, submitted)
        assert emergency.emergency_open and emergency.patient_id == patient_id
        made = patients_appointments(patient_id)
        assert sorted(a.id for a in made) == sorted(o for o in bookings if isinstance(o, int))
        made_after_the_answers = [(a.id, a.created_at) for a in made if a.created_at > emergency.created_at]
        assert made_after_the_answers == [], f"round {round_number}: answers stored at {emergency.created_at}"
        refusals = [o for o in bookings if isinstance(o, TriageNotBookable)]
        assert all("emergency" in r.message for r in refusals)
        tally["booked"] += len(made)
        tally["refused"] += len(refusals)
    print(f"bookings racing the emergency answers: {tally}")


@pytest.mark.slow
def test_the_doctors_form_sent_twice_while_the_desk_books_shows_no_error_page(app, triage_clinic):
    """A doctor double-clicks "dealt with" (or two doctors send it together) just after the
    emergency was recorded, while the desk books the patient: the second record is told it is
    already done, and every booking is made or refused with a message, never an error page."""
    clinic = triage_clinic
    doctor_id = clinic.doctor.id
    for round_number in range(ROUNDS):
        patient = factories.make_user()
        emergency = factories.make_submission(patient, CONSULT, "emergency")
        record_emergency_dealt_with(emergency.id, doctor=clinic.doctor, note="Seen in the ED, scan clear")
        emergency_id = emergency.id

        def deal_with_it_again():
            return record_emergency_dealt_with(emergency_id, doctor=db.session.get(User, doctor_id),
                                               note="Seen in the ED, scan clear").id
        outcomes = run_at_once(app, [deal_with_it_again]
                               + desk_bookings(clinic, patient.id, clinic.day + timedelta(days=round_number)))

        again, bookings = outcomes[0], outcomes[1:]
        assert isinstance(again, ReviewError) and "already recorded" in str(again), \
            f"round {round_number}: {again!r}"
        assert unexpected_failures(bookings) == [], f"round {round_number}"
        assert sorted(a.id for a in patients_appointments(patient.id)) == sorted(
            o for o in bookings if isinstance(o, int))
