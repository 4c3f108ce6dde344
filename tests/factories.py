"""Test data in a line: a test names only what matters to it."""
import functools
import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from portal.auth import totp
from portal.auth.models import Role, User
from portal.booking.models import AppointmentType, Clinician, Route, TimeOff, WorkingHours
from portal.extensions import db

PASSWORD = "demo-password-1"
CHICAGO = ZoneInfo("America/Chicago")
_counter = itertools.count(1)


@functools.cache
def _default_password_hash() -> str:
    user = User()
    user.set_password(PASSWORD)
    return user.password_hash


def make_user(*, role: str = Role.PATIENT, email: str | None = None, name: str | None = None,
              password: str = PASSWORD) -> User:
    n = next(_counter)
    user = User(email=email or f"user{n}@example.com", name=name or f"Test Person {n}", role=role,
                date_of_birth=date(1960, 1, 1), phone="(555) 010-0000")
    if role != Role.PATIENT:  # staff always have a second factor (tests.client.AuthActions types its codes)
        user.totp_secret, user.totp_confirmed_at = totp.new_secret(), datetime.now(UTC)
    if password == PASSWORD:
        user.password_hash = _default_password_hash()  # argon2 is slow on purpose; hash it once per run
    else:
        user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def make_type(route: str = Route.GENERAL_CONSULT, minutes: int = 30, name: str | None = None) -> AppointmentType:
    appointment_type = AppointmentType(route=route, name=name or route.replace("_", " ").capitalize(),
                                       duration_minutes=minutes)
    db.session.add(appointment_type)
    for clinician in db.session.scalars(select(Clinician)):  # every clinician gives it, unless a test says otherwise
        clinician.appointment_types.append(appointment_type)
    db.session.commit()
    return appointment_type


def make_clinician(*, name: str | None = None, hours: dict[int, list[tuple[time, time]]] | None = None) -> Clinician:
    """A clinician working 09:00-17:00 on every day unless `hours` says otherwise, giving
    every kind of visit there is (make_type adds new kinds to every clinician too)."""
    user = make_user(role=Role.DOCTOR)
    hours = hours if hours is not None else {day: [(time(9), time(17))] for day in range(7)}
    clinician = Clinician(user=user, display_name=name or user.name, working_hours=[
        WorkingHours(weekday=day, start_time=start, end_time=end) for day, blocks in hours.items()
        for start, end in blocks], appointment_types=list(db.session.scalars(select(AppointmentType))))
    db.session.add(clinician)
    db.session.commit()
    return clinician


def make_time_off(clinician: Clinician, start: datetime, end: datetime, reason: str = "Leave") -> TimeOff:
    time_off = TimeOff(clinician_id=clinician.id, start_at=start, end_at=end, reason=reason)
    db.session.add(time_off)
    db.session.commit()
    return time_off


def local(day: date, hour: int, minute: int = 0, zone: ZoneInfo = CHICAGO) -> datetime:
    """An aware datetime at a clinic wall-clock time."""
    return datetime.combine(day, time(hour, minute), zone)


def future_weekday(weekday: int = 1, weeks_ahead: int = 1) -> date:
    """A date `weeks_ahead` weeks from now that falls on `weekday` (0 = Monday)."""
    today = date.today()
    return today + timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks_ahead)


SAFE_ANSWERS = {"pe_symptoms": "no", "bleeding_vein": "no", "cold_pale_leg": "no", "dvt_signs": "no",
                "svt_signs": "no", "age": 60, "sex": "female"}
ANSWERS_FOR = {
    # route, urgency -> answers that give them under rlsvein-1
    ("general_consult", "routine"): {},
    ("vascular_ultrasound", "routine"): {"leg_signs": ["varicose_veins"], "venous_symptoms": "yes"},
    ("sleep_study_referral", "routine"): {"observed_apnea": "yes"},
    ("vascular_ultrasound", "urgent"): {"dvt_signs": "yes"},
    ("general_consult", "urgent"): {"drowsy_driving": "yes"},
    ("general_consult", "emergency"): {"pe_symptoms": "yes"},
    ("vascular_ultrasound", "emergency"): {"bleeding_vein": "yes"},
}


def make_submission(patient: User | None, route: str = "general_consult", urgency: str = "routine", *,
                    created_at: datetime | None = None, **answers):
    """A stored triage for `patient` (None: answers not yet linked to a patient) that the real rules
    route as asked, sent at `created_at` (else now)."""
    from portal.triage.models import TriageSubmission
    from portal.triage.rules import evaluate

    given = {**SAFE_ANSWERS, **ANSWERS_FOR[(route, urgency)], **answers}
    outcome = evaluate(given)
    assert (outcome.route, outcome.urgency) == (route, urgency), outcome
    submission = TriageSubmission.from_outcome(given, outcome, patient_id=patient.id if patient else None)
    if created_at is not None:
        submission.created_at = created_at
    db.session.add(submission)
    db.session.commit()
    return submission
