"""`flask --app wsgi seed-demo`: demo accounts, clinicians, hours, visit types and a few bookings.

Idempotent: every row is looked up before it is made, and demo bookings carry fixed
idempotency keys, so a second run changes nothing. The demo passwords are published in the
README, so with PORTAL_ENV=production the command refuses, and the portal will not serve while
any demo account exists (refuse_demo_accounts_in_production).
"""
import os
from datetime import date, datetime, time, timedelta

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import inspect, select
from sqlalchemy.exc import OperationalError

from portal.auth.models import Role, User
from portal.booking.models import Appointment, AppointmentType, Clinician, Route, WorkingHours
from portal.booking.service import BookingError, BookingPolicy, book_appointment
from portal.booking.slots import local_day_bounds, next_open_slots, open_slots
from portal.config import PRODUCTION
from portal.database import utc_now
from portal.extensions import db
from portal.triage.models import TriageSubmission
from portal.triage.rules import evaluate

DEMO_PASSWORD = "demo-password-1"  # nosec B105  # published on purpose; PORTAL_ENV=production refuses it
# The demo staff's authenticator secret, published so the demo can be tried (README): add it to an
# authenticator app, or compute a code with pyotp. Real staff enrol their own at first login.
DEMO_TOTP_SECRET = "DEMOSTAFFSECRETPUBLISHEDFORTESTS"  # nosec B105  # published on purpose, as DEMO_PASSWORD
# (32 base32 letters: 160 bits, which every authenticator app and pyotp itself accept)

DEMO_USERS = [
    # email, name, role, date of birth, phone
    ("patient@example.com", "Pat Example", Role.PATIENT, date(1954, 3, 14), "(555) 010-2001"),
    ("desk@example.com", "Dana Desk", Role.DESK, None, "(555) 010-2002"),
    ("doctor@example.com", "Dr. Maria Alvarez", Role.DOCTOR, None, "(555) 010-2003"),
    ("admin@example.com", "Alex Admin", Role.ADMIN, None, "(555) 010-2004"),
    ("okafor@example.com", "Dr. Samuel Okafor", Role.DOCTOR, None, "(555) 010-2005"),
    ("lee@example.com", "Jordan Lee", Role.SONOGRAPHER, None, "(555) 010-2006"),
    ("morgan@example.com", "Dr. Casey Morgan", Role.DOCTOR, None, "(555) 010-2007"),
    ("ruth.demo@example.com", "Ruth Demo", Role.PATIENT, date(1948, 11, 2), "(555) 010-3001"),
    ("george.demo@example.com", "George Demo", Role.PATIENT, date(1968, 6, 25), "(555) 010-3002"),
    ("lena.demo@example.com", "Lena Demo", Role.PATIENT, date(1986, 2, 9), "(555) 010-3003"),
    ("maya.demo@example.com", "Maya Demo", Role.PATIENT, date(1997, 8, 30), "(555) 010-3004"),
    ("susan.demo@example.com", "Susan Demo", Role.PATIENT, date(1991, 4, 17), "(555) 010-3005"),
    ("frank.demo@example.com", "Frank Demo", Role.PATIENT, date(1965, 1, 5), "(555) 010-3006"),
]

# A week of the clinic's ordinary work, booked by the front desk for these callers.
WEEK_PATIENTS = [
    ("Alice Moreno", date(1950, 5, 3)), ("Bernard Okoye", date(1944, 9, 21)), ("Carla Nguyen", date(1972, 12, 1)),
    ("Dmitri Ivanov", date(1959, 7, 14)), ("Elena Rossi", date(1981, 3, 30)), ("Farid Haddad", date(1966, 11, 8)),
    ("Grace Kim", date(1953, 2, 17)), ("Hector Silva", date(1948, 8, 5)), ("Ingrid Berg", date(1977, 6, 26)),
    ("Jamal Carter", date(1962, 4, 11)), ("Keiko Tanaka", date(1957, 10, 2)), ("Luis Romero", date(1970, 1, 19)),
    ("Marta Lopez", date(1955, 9, 9)), ("Nikolai Petrov", date(1949, 12, 12)), ("Olivia Brown", date(1975, 7, 7)),
    ("Pedro Alves", date(1963, 3, 3)), ("Quinn Murphy", date(1980, 11, 23)), ("Rosa Diaz", date(1958, 1, 28)),
    ("Stefan Novak", date(1946, 4, 4)), ("Tamara Singh", date(1969, 8, 18)), ("Umar Farouk", date(1952, 6, 6)),
    ("Vera Lindqvist", date(1978, 10, 10)), ("Walter Schmidt", date(1945, 2, 2)), ("Xenia Popescu", date(1983, 5, 15)),
    ("Yusuf Demir", date(1961, 9, 29)), ("Zoe Adams", date(1974, 12, 24)), ("Aisha Bello", date(1967, 3, 19)),
    ("Bruno Costa", date(1951, 7, 21)), ("Chloe Martin", date(1985, 1, 13)), ("Diego Herrera", date(1956, 10, 31)),
]
WEEK_BOOKINGS_PER_CLINICIAN_DAY = 4
# Every account seed_demo makes, each with DEMO_PASSWORD.
DEMO_EMAILS = (*(email for email, *_ in DEMO_USERS),
               *(f"{name.split()[0].lower()}.week@example.com" for name, _ in WEEK_PATIENTS))

FOUR_RLS_ANSWERS = {"rls_urge": "yes", "rls_rest": "yes", "rls_movement_relief": "yes", "rls_evening": "yes",
                    "rls_mimic": "none", "rls_frequency": "twice_weekly_or_more", "rls_impact": 2}
SAFE = {"pe_symptoms": "no", "bleeding_vein": "no", "cold_pale_leg": "no", "dvt_signs": "no", "svt_signs": "no"}

# The worked cases of the rule set rlsvein-1, one patient each: every route and urgency in the queue.
DEMO_TRIAGE = [
    ("patient@example.com", {**SAFE, **FOUR_RLS_ANSWERS, "age": 72, "sex": "female", "conditions": ["anaemia"],
                             "medications": ["antidepressant"], "ferritin": 45}),
    ("ruth.demo@example.com", {**SAFE, **FOUR_RLS_ANSWERS, "age": 78, "sex": "female",
                               "leg_signs": ["varicose_veins", "ankle_swelling"], "venous_symptoms": "yes"}),
    ("george.demo@example.com", {**SAFE, **FOUR_RLS_ANSWERS, "age": 58, "sex": "male", "snoring": "yes",
                                 "observed_apnea": "yes", "tired_daytime": "yes", "high_blood_pressure": "yes"}),
    ("lena.demo@example.com", {**SAFE, **FOUR_RLS_ANSWERS, "age": 40, "sex": "female", "rls_mimic": "cramp"}),
    ("maya.demo@example.com", {**SAFE, "age": 29, "sex": "female", "pregnant": "yes", "dvt_signs": "yes"}),
    ("susan.demo@example.com", {**SAFE, "age": 35, "sex": "female", "leg_signs": ["spider_veins"]}),
    ("frank.demo@example.com", {**SAFE, "age": 61, "sex": "male", "leg_signs": ["varicose_veins"],
                                "venous_symptoms": "yes", "pe_symptoms": "yes"}),
]

APPOINTMENT_TYPES = [
    (Route.GENERAL_CONSULT, "General consultation", 30,
     "A conversation and examination with a doctor about your legs, sleep and symptoms."),
    (Route.VASCULAR_ULTRASOUND, "Leg vein ultrasound", 45,
     "A painless scan of the veins in your legs (duplex ultrasound) to see how well they work."),
    (Route.SLEEP_STUDY_REFERRAL, "Sleep study referral visit", 30,
     "A visit to talk about your sleep and, if needed, arrange a sleep study."),
]

MORNING, AFTERNOON = (time(8, 30), time(12, 0)), (time(13, 0), time(17, 0))
CLINICIANS = [
    # user email, display name, title, visits given, weekly hours {weekday: [(start, end), ...]}
    ("doctor@example.com", "Dr. Maria Alvarez", "Vascular medicine",
     (Route.GENERAL_CONSULT, Route.VASCULAR_ULTRASOUND),
     {day: [MORNING, AFTERNOON] for day in range(5)}),  # two blocks a day, lunch gap
    ("okafor@example.com", "Dr. Samuel Okafor", "Sleep medicine",
     (Route.GENERAL_CONSULT, Route.SLEEP_STUDY_REFERRAL),
     {0: [(time(9, 0), time(17, 0))], 2: [(time(9, 0), time(17, 0))], 3: [(time(12, 0), time(19, 0))]}),
    # Scans on every day of the demo, weekends too, so "My day" has something whenever it is tried.
    ("lee@example.com", "Jordan Lee", "Vascular sonographer", (Route.VASCULAR_ULTRASOUND,),
     {day: [(time(8, 0), time(16, 0))] for day in range(7)}),
    # The clinician who works every day from early to late (as the browser suite's own does): today
    # always has visits to check in and visits to come, whatever the day and hour seed-demo runs.
    ("morgan@example.com", "Dr. Casey Morgan", "General practice, every day",
     (Route.GENERAL_CONSULT, Route.SLEEP_STUDY_REFERRAL),
     {day: [(time(7, 0), time(23, 0))] for day in range(7)}),
]
# Today's visits, booked by the desk whenever seed-demo runs (keyed by the day, so a second run the
# same day books nothing new): patient, visit, clinician, earlier than now (to check in) or later,
# and the reason the desk gave where the visit is not the one the patient's triage routes to.
TODAY_VISITS = [
    ("alice.week@example.com", Route.GENERAL_CONSULT, "morgan@example.com", "earlier",
     "Follow-up of a healed leg ulcer, booked by the desk on the phone"),
    ("bernard.week@example.com", Route.GENERAL_CONSULT, "morgan@example.com", "earlier",
     "Compression stockings review, booked by the desk on the phone"),
    ("lena.demo@example.com", Route.GENERAL_CONSULT, "morgan@example.com", "later", None),
    ("susan.demo@example.com", Route.GENERAL_CONSULT, "morgan@example.com", "later", None),
    ("carla.week@example.com", Route.SLEEP_STUDY_REFERRAL, "morgan@example.com", "later",
     "Referred by her family doctor for loud snoring"),
    ("maya.demo@example.com", Route.VASCULAR_ULTRASOUND, "lee@example.com", "later", None),
    ("dmitri.week@example.com", Route.VASCULAR_ULTRASOUND, "lee@example.com", "earlier",
     "Follow-up scan after vein treatment, asked for by Dr. Alvarez"),
]

DEMO_BOOKINGS = [
    # idempotency key, patient email, route, clinician email, days ahead to start looking, and the
    # reason the desk gave when the visit is not the one the patient's triage routes to (booked by the
    # desk then; the others the patients booked themselves)
    ("demo-booking-1", "patient@example.com", Route.GENERAL_CONSULT, "doctor@example.com", 3, None),
    ("demo-booking-2", "ruth.demo@example.com", Route.VASCULAR_ULTRASOUND, "lee@example.com", 2, None),
    ("demo-booking-3", "george.demo@example.com", Route.SLEEP_STUDY_REFERRAL, "okafor@example.com", 4, None),
    ("demo-booking-4", "ruth.demo@example.com", Route.GENERAL_CONSULT, "doctor@example.com", 9,
     "Follow-up after the scan, agreed with Dr. Alvarez"),
]


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def seed_demo(now: datetime | None = None) -> list[str]:
    """Make whatever demo data is missing; returns what was made, one line each. `now` is when
    "today" is for today's visits (tests give a Sunday evening; the command, the moment it runs)."""
    now = now or utc_now()
    made: list[str] = []
    for email, name, role, born, phone in DEMO_USERS:
        existing = _user(email)
        if existing is not None and existing.role == Role.DOCTOR and role == Role.SONOGRAPHER:
            existing.role = role  # loaded before sonographers had a role of their own
            made.append(f"user {email} is a {role} now")
        if existing is None:
            user = User(email=email, name=name, role=role, date_of_birth=born, phone=phone)
            user.set_password(DEMO_PASSWORD)
            if role != Role.PATIENT:  # staff log in with a second factor
                user.totp_secret, user.totp_confirmed_at = DEMO_TOTP_SECRET, utc_now()
            db.session.add(user)
            made.append(f"user {email} ({role})")
    for route, name, minutes, description in APPOINTMENT_TYPES:
        if db.session.scalar(select(AppointmentType).where(AppointmentType.route == route)) is None:
            db.session.add(AppointmentType(route=route, name=name, duration_minutes=minutes, description=description))
            made.append(f"appointment type {route}")
    db.session.flush()
    types = {t.route: t for t in db.session.scalars(select(AppointmentType))}
    for email, display_name, title, routes, hours in CLINICIANS:
        user = _user(email)
        if db.session.scalar(select(Clinician).where(Clinician.user_id == user.id)) is None:
            clinician = Clinician(user=user, display_name=display_name, title=title,
                                  appointment_types=[types[route] for route in routes])
            clinician.working_hours = [WorkingHours(weekday=day, start_time=start, end_time=end)
                                       for day, blocks in hours.items() for start, end in blocks]
            db.session.add(clinician)
            made.append(f"clinician {display_name}")
    for n, (name, born) in enumerate(WEEK_PATIENTS, start=1):
        email = f"{name.split()[0].lower()}.week@example.com"
        if _user(email) is None:
            user = User(email=email, name=name, role=Role.PATIENT, date_of_birth=born, phone=f"(555) 010-4{n:03d}")
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
            made.append(f"user {email} (patient)")
    db.session.commit()
    made.extend(_seed_triage())
    made.extend(_seed_bookings())
    made.extend(_seed_week())
    made.extend(_seed_today(now))
    return made


def _seed_week() -> list[str]:
    """A week of desk bookings across the clinicians, spread over each working day.

    Keyed by (patient, weekday offset), so a second run finds them and books nothing new."""
    if db.session.scalar(select(Appointment.id).where(Appointment.idempotency_key.like("demo-week-%")).limit(1)):
        return []
    policy = BookingPolicy(zone=BookingPolicy.from_config().zone)  # the desk books with no notice
    desk = _user("desk@example.com")
    patients = [_user(f"{name.split()[0].lower()}.week@example.com") for name, _ in WEEK_PATIENTS]
    now = utc_now()
    booked = 0
    given: set[tuple[int, int]] = set()
    clinicians = db.session.scalars(select(Clinician).order_by(Clinician.id)).all()
    for day_offset in range(1, 8):
        for clinician in clinicians:
            appointment_type = clinician.appointment_types[day_offset % len(clinician.appointment_types)]
            slots = next_open_slots(appointment_type, after=now + timedelta(days=day_offset), zone=policy.zone,
                                    now=now, notice=timedelta(0), clinician_id=clinician.id, limit=12,
                                    search_days=1)
            for slot in slots[::3][:WEEK_BOOKINGS_PER_CLINICIAN_DAY]:
                # One upcoming visit of each type per patient, as the booking rules want.
                patient = next((p for p in patients[booked % len(patients):] + patients[:booked % len(patients)]
                                if (p.id, appointment_type.id) not in given), None)
                if patient is None:
                    continue
                try:
                    book_appointment(patient_id=patient.id, clinician_id=clinician.id,
                                     appointment_type_id=appointment_type.id, start=slot.start,
                                     idempotency_key=f"demo-week-{booked}", booked_by_id=desk.id, policy=policy,
                                     now=now)
                except BookingError:
                    continue
                given.add((patient.id, appointment_type.id))
                booked += 1
    return [f"a week of desk bookings: {booked} appointments"] if booked else []


def _seed_today(now: datetime) -> list[str]:
    """TODAY_VISITS on today's free times at the clinic: the earlier ones the latest free before
    now, the later ones the first free after it (the other side when a side has none). Booked by
    the desk as of the start of the day, since the earlier ones have begun by now."""
    zone = BookingPolicy.from_config().zone
    policy = BookingPolicy(zone=zone)  # the desk books with no notice
    today = now.astimezone(zone).date()
    start_of_day = local_day_bounds(today, today, zone).start
    desk = _user("desk@example.com")
    types = {t.route: t for t in db.session.scalars(select(AppointmentType))}
    made = []
    for n, (email, route, clinician_email, when, reason) in enumerate(TODAY_VISITS, start=1):
        key = f"demo-today-{today.isoformat()}-{n}"
        if db.session.scalar(select(Appointment.id).where(Appointment.idempotency_key == key)) is not None:
            continue
        patient = _user(email)
        clinician = db.session.scalar(select(Clinician).where(Clinician.user_id == _user(clinician_email).id))
        free = open_slots(types[route], first_day=today, last_day=today, zone=zone, now=start_of_day,
                          clinician_id=clinician.id)
        earlier = [slot for slot in free if slot.start < now][::-1]  # the latest first
        later = [slot for slot in free if slot.start >= now]
        for slot in (earlier + later) if when == "earlier" else (later + earlier):
            try:
                book_appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=types[route].id,
                                 start=slot.start, idempotency_key=key, booked_by_id=desk.id, policy=policy,
                                 now=start_of_day, override_reason=reason)
            except BookingError:
                continue
            made.append(f"today's visit {key} for {email} with {clinician.display_name}")
            break
    return made


def _seed_triage() -> list[str]:
    made = []
    for email, answers in DEMO_TRIAGE:
        patient = _user(email)
        if db.session.scalar(select(TriageSubmission.id).where(TriageSubmission.patient_id == patient.id)) is None:
            outcome = evaluate(answers)
            db.session.add(TriageSubmission.from_outcome(answers, outcome, patient_id=patient.id))
            made.append(f"triage for {email}: {outcome.route}, {outcome.urgency}")
    db.session.commit()
    return made


def _seed_bookings() -> list[str]:
    policy = BookingPolicy.from_config()
    now = utc_now()
    made = []
    desk = _user("desk@example.com")
    for key, patient_email, route, clinician_email, days_ahead, reason in DEMO_BOOKINGS:
        patient = _user(patient_email)
        clinician = db.session.scalar(select(Clinician).where(Clinician.user_id == _user(clinician_email).id))
        appointment_type = db.session.scalar(select(AppointmentType).where(AppointmentType.route == route))
        if db.session.scalar(select(Appointment.id).where(Appointment.idempotency_key == key)) is not None:
            continue
        for slot in next_open_slots(appointment_type, after=now + timedelta(days=days_ahead), zone=policy.zone,
                                    now=now, notice=policy.notice, clinician_id=clinician.id, limit=3):
            try:
                book_appointment(patient_id=patient.id, clinician_id=clinician.id,
                                 appointment_type_id=appointment_type.id, start=slot.start,
                                 idempotency_key=key, policy=policy, now=now,
                                 booked_by_id=desk.id if reason else None, override_reason=reason)
            except BookingError:
                continue
            made.append(f"booking {key} for {patient_email}")
            break
    return made


@click.command("seed-demo")
@with_appcontext  # the `flask` executable pushes one itself; the test CLI runner and other callers do not
@click.option("--if-empty", is_flag=True, help="Only when the database has no accounts yet (first run).")
def seed_demo_command(if_empty: bool):
    """Load the demo accounts, clinicians and bookings (safe to run again)."""
    if current_app.config["PORTAL_ENV"] == PRODUCTION:
        raise click.ClickException(
            "seed-demo refuses to run with PORTAL_ENV=production: the demo accounts' passwords are published, "
            "and the portal will not start while they exist. Nothing was written. Load demo data only into a "
            "development database (PORTAL_ENV=development, the default).")
    if if_empty and db.session.scalar(select(User.id).limit(1)) is not None:
        click.echo("The database already has accounts; demo data not loaded.")
        return
    made = seed_demo()
    click.echo("\n".join(made) if made else "Demo data already present; nothing changed.")


def demo_accounts_in_database() -> list[str]:
    """The emails of the demo accounts in the database; none before `flask db upgrade` made the tables."""
    if not inspect(db.engine).has_table(User.__tablename__):
        return []
    return list(db.session.scalars(select(User.email).where(User.email.in_(DEMO_EMAILS)).order_by(User.email)))


def refuse_demo_accounts_in_production(app: Flask) -> None:
    """A production portal does not serve while any demo account exists (their passwords are published).

    Checked when the app is made to serve (gunicorn imports wsgi), so it does not start. Every
    `flask ...` command makes the app too, and `flask db upgrade` and `send-mail` must work on
    any database, so under the flask command (Flask sets FLASK_RUN_FROM_CLI for all of them) the
    check waits for the first request instead, which covers `flask run`. While the database
    cannot be reached the check is put off to the next request: a server started during an outage
    comes up, and its pages fail on the database as they would anyway (the clinic's error page).
    """
    checked = False

    def check() -> None:
        nonlocal checked
        if checked:
            return
        try:
            found = demo_accounts_in_database()
        except OperationalError as error:
            db.session.rollback()
            app.logger.warning("Database unreachable; demo accounts not checked yet: %s", error.orig)
            return
        if found:
            shown = ", ".join(found[:4]) + (f" and {len(found) - 4} more" if len(found) > 4 else "")
            raise RuntimeError(
                f"PORTAL_ENV=production, but the database holds demo accounts with published passwords ({shown}). "
                "Serve production from a database never loaded with `flask seed-demo`; for a demo, set "
                "PORTAL_ENV=development.")
        checked = True

    app.before_request(check)
    if os.environ.get("FLASK_RUN_FROM_CLI") != "true":
        with app.app_context():
            try:
                check()
            finally:
                db.session.remove()
                db.engine.dispose()  # no pooled connection made here is carried into forked workers
