"""Build a big clinic to measure against: 50 clinicians, 50,000 patients, a year of appointments
(about 190,000: half a year back, half a year ahead), 20,000 triage submissions and their reviews,
plus three desk accounts and an administrator.

The database is the SQLite file given with --out, or else DATABASE_URL (SQLite or PostgreSQL),
or else instance/bigclinic.db. The migrations run first. A database that already holds data is
refused unless --replace, which drops it (or deletes the SQLite file) and makes it anew; a
PostgreSQL database that does not exist yet is created. --scale 0.1 makes a tenth of everything
but the staff (at least one clinician of each kind); tests call build_clinic() the same way.

The clinic looks like a real one. Clinicians of four kinds (vascular medicine, sleep medicine,
sonographers, internal medicine) give the demo's visit types (portal/demo.py) in weekly hours of
their own: Mon-Fri from 07:30-08:30 to 17:30-18:30, some with a half-hour lunch or a short day,
half of them Saturday mornings (a year of about 200,000 visits needs nine and a half hours a day
from 50 clinicians), with two weeks' holiday and two training days as time off. Visits are laid
end to end inside those hours and nine in ten taken, never overlapping for a clinician or a
patient (one visit a day per patient): past ones attended, missed or cancelled, started ones
checked in, future ones booked, a few cancelled. Triage answers are drawn question by question
and evaluated by the real rules (portal/triage/rules.py), so every stored route and urgency is
what the rules say; an emergency answer stops at the safety questions, as the questionnaire
does. Doctors have reviewed most cases after a while, rerouted a few with a reason, and recorded
every emergency older than two days as dealt with; most patients then booked the visit their
triage routes to (an urgent one within 24 hours). The booking rules (booking/eligibility.py) hold
for every future visit: nobody with an open emergency or an urgent case is booked beyond its
window, nobody has two upcoming visits of one type, and a triaged patient is booked ahead only
for the visit the latest triage routes to; patients without triage are booked by the desk.

Rows go in as bulk inserts, never one ORM object at a time: SQLAlchemy Core's executemany, or
COPY on PostgreSQL. Every account has the demo password (portal/demo.py DEMO_PASSWORD, published
in the README): it is hashed ONCE with the portal's own hasher and that one hash is stored for
every account (argon2 is slow on purpose: 50,000 hashes would take hours). Staff are enrolled
with the demo's published authenticator secret, as seed-demo enrols them. A database made here is
for benchmarks only. The accounts to log in with are printed at the end: patient1@bigclinic.example
(a routine triage routed to a general consultation, past visits, nothing upcoming: free to book),
doctor1@bigclinic.example (vascular medicine: consultations and scans), desk1@..., admin1@...

    .venv/bin/python -m bench.make_clinic                            # instance/bigclinic.db
    .venv/bin/python -m bench.make_clinic --out /tmp/clinic.db --scale 0.1
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bigclinic .venv/bin/python -m bench.make_clinic
"""
import argparse
import bisect
import math
import os
import random
import string
import sys
import time as clock
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_migrate import upgrade
from psycopg.types.json import Json
from sqlalchemy.engine import make_url

from bench.patient_search import FIRST_NAMES, LAST_NAMES
from portal import create_app
from portal.auth.models import Role, User
from portal.booking.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    Clinician,
    TimeOff,
    WorkingHours,
    clinician_appointment_type,
)
from portal.database import utc_now
from portal.demo import APPOINTMENT_TYPES, DEMO_PASSWORD, DEMO_TOTP_SECRET, DEMO_TRIAGE
from portal.extensions import db
from portal.triage.models import ReviewAction, ReviewState, TriageReview, TriageSubmission
from portal.triage.rules import TriageOutcome, evaluate, evaluate_safety
from portal.triage.vocabulary import Route, Urgency

CLINICIANS = 50
PATIENTS = 50_000
APPOINTMENTS = 200_000  # the aim; the clinicians' hours hold a little more, so about nine in ten slots are taken
SUBMISSIONS = 20_000
DESK_ACCOUNTS = 3  # staff are not scaled: a clinic of any size has a front desk and an administrator
ADMIN_ACCOUNTS = 1
DAYS_BACK = DAYS_AHEAD = 182
DOMAIN = "bigclinic.example"
SEED = 20261201
BATCH = 5_000
DEFAULT_DATABASE = Path(__file__).resolve().parent.parent / "instance" / "bigclinic.db"

# What each kind of clinician is called and which visits they give; the first four clinicians are
# one of each, so even a small clinic offers every visit, and the rest are drawn by share.
CLINICIAN_KINDS = [
    # title, visits given, share, called Dr.
    ("Vascular medicine", (Route.GENERAL_CONSULT, Route.VASCULAR_ULTRASOUND), 0.40, True),
    ("Sleep medicine", (Route.GENERAL_CONSULT, Route.SLEEP_STUDY_REFERRAL), 0.20, True),
    ("Vascular sonographer", (Route.VASCULAR_ULTRASOUND,), 0.25, False),
    ("Internal medicine", (Route.GENERAL_CONSULT,), 0.15, True),
]
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")
CANCELLATION_REASONS = ("Feeling unwell", "Clash with work", "No longer needed", "Transport fell through",
                        "Family emergency", "Booked elsewhere", "No reason given")
ROUTE_CHANGE_REASONS = {
    Route.VASCULAR_ULTRASOUND: "Varicose veins on the photos sent in: scan first",
    Route.SLEEP_STUDY_REFERRAL: "Partner reports pauses in breathing: sleep assessment first",
    Route.GENERAL_CONSULT: "Symptoms fit RLS better than venous disease: see a doctor first",
}
EMERGENCY_NOTES = ("Seen in the emergency department the same day; scan clear.",
                   "Phoned the patient: went to A&E, treated and discharged.",
                   "Admitted and treated; follow-up here as routed.")


class ClinicExists(Exception):
    """The database already holds data; build_clinic(replace=True) (--replace) starts it anew."""


@dataclass(frozen=True)
class BuiltClinic:
    """What was made, and the accounts a benchmark logs in with."""

    url: str
    rows: dict[str, int]  # rows written per table
    seconds: float
    patient_id: int  # patient1: a routine triage routed to a general consultation, nothing booked ahead
    doctor_clinician_id: int  # doctor1's Clinician row
    password: str = DEMO_PASSWORD
    totp_secret: str = DEMO_TOTP_SECRET
    patient_email: str = f"patient1@{DOMAIN}"
    doctor_email: str = f"doctor1@{DOMAIN}"
    desk_email: str = f"desk1@{DOMAIN}"
    admin_email: str = f"admin1@{DOMAIN}"

    def describe(self) -> str:
        counts = ", ".join(f"{count:,} {table}" for table, count in self.rows.items())
        return "\n".join([
            f"{make_url(self.url).render_as_string()}: built in {self.seconds:.0f} s: {counts}",
            f"Every account's password: {self.password}; staff's authenticator secret: {self.totp_secret}",
            f"  {self.patient_email}  routine triage routed to a general consultation, past visits, free to book",
            f"  {self.doctor_email}   vascular medicine (consultations and scans): the doctors' queue",
            f"  {self.desk_email}     front desk",
            f"  {self.admin_email}    administrator",
        ])


class Progress:
    """A one-line progress bar on standard error: rows written of all there are, and which table."""

    WIDTH = 30

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.total = self.done = 0
        self.label = ""

    def show(self, label: str, done: int = 0) -> None:
        self.label, self.done = label, self.done + done
        if self.enabled:
            share = self.done / self.total if self.total else 0.0
            bar = "#" * round(share * self.WIDTH)
            counts = f" {share:4.0%} {self.done:>9,}/{self.total:,} rows" if self.total else ""
            sys.stderr.write(f"\r{self.label:<28} [{bar:<{self.WIDTH}}]{counts}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


@dataclass(slots=True)
class Slot:
    """One place for a visit in a clinician's day (times in UTC; `day` is the clinic's local date)."""

    start: datetime
    end: datetime
    clinician_id: int
    type_id: int
    day: date
    taken: bool = False


@dataclass
class Patient:
    id: int
    born: date
    submissions: list[dict] = field(default_factory=list)  # their triage rows, oldest first


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, zone).astimezone(UTC)


def _age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class ClinicPlan:
    """Every row of the clinic, made in memory with one seeded random generator, in the order the
    foreign keys need them written. Ids are given here: the database is empty (build_clinic checks)."""

    def __init__(self, scale: float, zone: ZoneInfo, now: datetime, password_hash: str):
        self.rng = random.Random(SEED)
        self.zone, self.now, self.password_hash = zone, now, password_hash
        self.today = now.astimezone(zone).date()
        self.sizes = {"clinicians": max(4, round(CLINICIANS * scale)), "patients": max(20, round(PATIENTS * scale)),
                      "appointments": round(APPOINTMENTS * scale), "submissions": max(10, round(SUBMISSIONS * scale))}
        self.rows: dict[sa.Table, list[dict]] = {table: [] for table in (
            User.__table__, AppointmentType.__table__, Clinician.__table__, clinician_appointment_type,
            WorkingHours.__table__, TimeOff.__table__, TriageSubmission.__table__, TriageReview.__table__,
            Appointment.__table__)}
        self.emails: set[str] = set()
        self.type_ids = {route: n for n, (route, *_rest) in enumerate(APPOINTMENT_TYPES, start=1)}
        self.minutes = {self.type_ids[route]: minutes for route, _name, minutes, _text in APPOINTMENT_TYPES}
        self.busy_days: set[tuple[int, date]] = set()  # (patient, local day): one visit a day each
        self.reviewed_at: dict[int, datetime] = {}  # submission id: when a doctor reviewed it
        self.upcoming: set[tuple[int, int]] = set()  # (patient, type) with an active visit not yet over

    # --- accounts --------------------------------------------------------------------------------

    def _account(self, email: str, name: str, role: str, *, born: date | None = None, phone: str | None = None,
                 joined: datetime) -> int:
        users = self.rows[User.__table__]
        staff = role != Role.PATIENT
        users.append({"id": len(users) + 1, "email": email, "name": name, "role": role, "date_of_birth": born,
                      "phone": phone, "password_hash": self.password_hash, "active": True, "created_at": joined,
                      "session_epoch": 0, "failed_login_count": 0,
                      "totp_secret": DEMO_TOTP_SECRET if staff else None,
                      "totp_confirmed_at": joined if staff else None})
        self.emails.add(email)
        return len(users)

    def _patient_email(self, first: str, last: str, born: date) -> str:
        """An address as people choose them; a number is added when that one is taken."""
        first, last = first.lower(), last.lower()
        local = self.rng.choice((f"{first}.{last}", f"{first}{last}", f"{first[0]}{last}", f"{first}_{last}",
                                 f"{first}.{last}{born.year % 100:02d}", f"{last}.{first}"))
        domain = self.rng.choice(EMAIL_DOMAINS)
        email, extra = f"{local}@{domain}", 1
        while email in self.emails:
            extra += 1
            email = f"{local}{extra}@{domain}"
        return email

    def make_staff(self) -> None:
        joined = self.now - timedelta(days=3 * 365)
        for n in range(1, DESK_ACCOUNTS + 1):
            self._account(f"desk{n}@{DOMAIN}", f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}",
                          Role.DESK, phone=f"(555) 010-{7000 + n}", joined=joined)
        for n in range(1, ADMIN_ACCOUNTS + 1):
            self._account(f"admin{n}@{DOMAIN}", f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}",
                          Role.ADMIN, phone=f"(555) 010-{7500 + n}", joined=joined)
        self.desk_ids = [row["id"] for row in self.rows[User.__table__] if row["role"] == Role.DESK]

    def make_patients(self) -> None:
        """Plausible people: names, middle initials for some, ages weighted to the clinic's (older)
        patients, their own emails and phones (a few without one), registered before this year."""
        self.patients: list[Patient] = []
        for n in range(1, self.sizes["patients"] + 1):
            first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
            middle = f" {self.rng.choice(string.ascii_uppercase)}." if self.rng.random() < 0.3 else ""
            age = min(96, max(18, round(self.rng.gauss(56, 17))))
            born = self.today - timedelta(days=round(age * 365.25) + self.rng.randrange(365))
            phone = None if n > 1 and self.rng.random() < 0.03 else (
                f"({self.rng.randint(201, 989)}) {self.rng.randint(200, 999)}-{self.rng.randrange(10_000):04d}")
            email = f"patient1@{DOMAIN}" if n == 1 else self._patient_email(first, last, born)
            joined = self.now - timedelta(days=DAYS_BACK + 1 + self.rng.uniform(0, 6 * 365))
            patient_id = self._account(email, f"{first}{middle} {last}", Role.PATIENT, born=born, phone=phone,
                                       joined=joined)
            self.patients.append(Patient(patient_id, born))
        self.patient_one = self.patients[0]

    # --- clinicians ------------------------------------------------------------------------------

    def make_types(self) -> None:
        self.rows[AppointmentType.__table__] = [
            {"id": self.type_ids[route], "name": name, "route": route, "duration_minutes": minutes,
             "description": text, "active": True} for route, name, minutes, text in APPOINTMENT_TYPES]

    def _weekly_hours(self) -> list[tuple[int, time, time]]:
        """Mon-Fri from 07:30-08:30 to 17:30-18:30; for half a half-hour lunch, for some a short day,
        for half Saturday mornings."""
        start = self.rng.choice((time(7, 30), time(8), time(8), time(8, 30)))
        end = self.rng.choice((time(17, 30), time(18), time(18), time(18, 30)))
        lunch = self.rng.random() < 0.5
        short_day = self.rng.randrange(5) if self.rng.random() < 0.15 else None
        blocks = []
        for weekday in range(5):
            day_end = time(12, 30) if weekday == short_day else end
            if lunch and weekday != short_day:
                blocks += [(weekday, start, time(12)), (weekday, time(12, 30), day_end)]
            else:
                blocks.append((weekday, start, day_end))
        if self.rng.random() < 0.5:
            blocks.append((5, time(8), time(13)))
        return blocks

    def _days_off(self, clinician_id: int) -> set[date]:
        """Two weeks' holiday and two single days somewhere in the year, stored as time off."""
        first = self.today - timedelta(days=DAYS_BACK)
        monday = first + timedelta(days=self.rng.randrange(DAYS_BACK + DAYS_AHEAD - 14))
        monday -= timedelta(days=monday.weekday())
        training = [first + timedelta(days=self.rng.randrange(DAYS_BACK + DAYS_AHEAD)) for _ in range(2)]
        periods = [(monday, 14, "Annual leave")] + [
            (day - timedelta(days=max(0, day.weekday() - 4)), 1, "Training day") for day in training]  # a weekday
        off: set[date] = set()
        for start, days, reason in periods:
            rows = self.rows[TimeOff.__table__]
            rows.append({"id": len(rows) + 1, "clinician_id": clinician_id, "reason": reason,
                         "start_at": _local(start, time(0), self.zone),
                         "end_at": _local(start + timedelta(days=days), time(0), self.zone)})
            off.update(start + timedelta(days=n) for n in range(days))
        return off

    def make_clinicians(self) -> None:
        """Clinicians with their accounts, visits, hours and time off, and every slot of their year."""
        self.slots: list[Slot] = []
        joined = self.now - timedelta(days=4 * 365)
        for n in range(1, self.sizes["clinicians"] + 1):
            kind = CLINICIAN_KINDS[n - 1] if n <= len(CLINICIAN_KINDS) else self.rng.choices(
                CLINICIAN_KINDS, weights=[share for _, _, share, _ in CLINICIAN_KINDS])[0]
            title, routes, _share, doctor = kind
            name = f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"
            name = f"Dr. {name}" if doctor else name
            user_id = self._account(f"doctor{n}@{DOMAIN}", name, Role.DOCTOR, phone=f"(555) 010-{6000 + n}",
                                    joined=joined)
            self.rows[Clinician.__table__].append({"id": n, "user_id": user_id, "display_name": name, "title": title,
                                                   "active": True})
            type_ids = [self.type_ids[route] for route in routes]
            self.rows[clinician_appointment_type] += [{"clinician_id": n, "appointment_type_id": t} for t in type_ids]
            blocks = self._weekly_hours()
            hours = self.rows[WorkingHours.__table__]
            hours += [{"id": len(hours) + k, "clinician_id": n, "weekday": weekday, "effective_from": None,
                       "start_time": start, "end_time": end} for k, (weekday, start, end) in enumerate(blocks, 1)]
            self._lay_out_slots(n, type_ids, blocks, self._days_off(n))
        self.doctor_one = 1
        self.slots.sort(key=lambda slot: slot.start)

    def _lay_out_slots(self, clinician_id: int, type_ids: list[int], blocks: list[tuple[int, time, time]],
                       off: set[date]) -> None:
        """Visits end to end through each block of each working day, each of a type the clinician gives."""
        shortest = min(type_ids, key=self.minutes.__getitem__)
        by_weekday: dict[int, list[tuple[int, int]]] = {}
        for weekday, start, end in blocks:
            by_weekday.setdefault(weekday, []).append((start.hour * 60 + start.minute, end.hour * 60 + end.minute))
        for offset in range(-DAYS_BACK, DAYS_AHEAD + 1):
            day = self.today + timedelta(days=offset)
            if day in off or day.weekday() not in by_weekday:
                continue
            # Clocks change at 02:00, before any clinic opens: the offset at noon holds for every visit.
            midnight = _local(day, time(12), self.zone) - timedelta(hours=12)
            for start, end in by_weekday[day.weekday()]:
                at = start
                while True:
                    type_id = self.rng.choice(type_ids)
                    if at + self.minutes[type_id] > end:
                        type_id = shortest
                    finish = at + self.minutes[type_id]
                    if finish > end:
                        break
                    self.slots.append(Slot(midnight + timedelta(minutes=at), midnight + timedelta(minutes=finish),
                                           clinician_id, type_id, day))
                    at = finish

    # --- triage ----------------------------------------------------------------------------------

    def _answers(self, age: int) -> tuple[dict, bool]:
        """One patient's answers, question by question, in the proportions of a vein and RLS clinic;
        and whether they stopped at the safety questions (an emergency answer ends the questions)."""
        rng = self.rng

        def yes(p: float) -> str:
            return "yes" if rng.random() < p else "no"

        def ticked(choices: dict[str, float]) -> list[str]:
            return [value for value, p in choices.items() if rng.random() < p]

        safety = {"pe_symptoms": "no", "bleeding_vein": "no", "cold_pale_leg": "no"}
        if rng.random() < 0.012:
            safety[rng.choice(list(safety))] = rng.choice(("yes", "yes", "not_sure"))
            return safety, True
        sex = "female" if rng.random() < 0.62 else "male"
        answers: dict = {**safety, "age": age, "sex": sex}
        if sex == "female" and age <= 45:
            answers["pregnant"] = rng.choices(("no", "yes", "not_sure"), (0.94, 0.05, 0.01))[0]
        answers["dvt_signs"] = rng.choices(("no", "yes", "not_sure"), (0.965, 0.025, 0.01))[0]
        answers["dvt_risks"] = ticked({"cancer": 0.03, "recent_surgery_or_bedbound": 0.03,
                                       "leg_cast_or_paralysis": 0.01, "previous_dvt_pe": 0.05})
        answers["svt_signs"] = rng.choices(("no", "yes", "not_sure"), (0.975, 0.02, 0.005))[0]
        answers["leg_signs"] = ticked({"varicose_veins": 0.35, "spider_veins": 0.3, "ankle_swelling": 0.2,
                                       "skin_changes": 0.06, "open_sore": 0.015, "healed_sore": 0.02})
        answers["venous_symptoms"] = yes(0.4)
        urge = rng.random() < 0.7
        answers["rls_urge"] = "yes" if urge else "no"
        for question in ("rls_rest", "rls_movement_relief", "rls_evening"):
            answers[question] = yes(0.88 if urge else 0.2)
        if urge:
            answers["rls_mimic"] = rng.choices(("none", "cramp", "positional", "constant_burning", "joint_pain"),
                                               (0.72, 0.1, 0.06, 0.07, 0.05))[0]
            answers["rls_frequency"] = rng.choices(("twice_weekly_or_more", "less_often", "first_time"),
                                                   (0.5, 0.35, 0.15))[0]
            answers["rls_impact"] = rng.choices((0, 1, 2, 3), (0.1, 0.35, 0.35, 0.2))[0]
        answers.update({"snoring": yes(0.4), "tired_daytime": yes(0.45), "observed_apnea": yes(0.08),
                        "high_blood_pressure": yes(0.15 + age / 250)})
        if rng.random() < 0.8:
            height = rng.gauss(163 if sex == "female" else 177, 7)
            answers["height_cm"] = round(height)
            answers["weight_kg"] = round(max(18.0, rng.gauss(28, 5.5)) * (height / 100) ** 2, 1)
        if rng.random() < 0.5:
            answers["neck_cm"] = round(rng.gauss(35 if sex == "female" else 40, 3), 1)
        answers["drowsy_driving"] = yes(0.02)
        if rng.random() < 0.7:
            answers["epworth"] = min(24, max(0, round(rng.gauss(8, 4.5))))
        answers["partner_leg_jerks"] = yes(0.2)
        answers["medications"] = ticked({"antidepressant": 0.15, "antipsychotic": 0.02, "antihistamine": 0.08,
                                         "antiemetic": 0.02, "rls_dopaminergic": 0.06, "iron": 0.08})
        if "rls_dopaminergic" in answers["medications"]:
            answers["augmentation_signs"] = yes(0.25)
        answers["conditions"] = ticked({"kidney_failure": 0.02, "neuropathy": 0.06, "parkinsons": 0.01,
                                        "anaemia": 0.07})
        if rng.random() < 0.3:
            answers["ferritin"] = round(math.exp(rng.gauss(4.1, 0.7)))
        return answers, False

    def _submission(self, patient: Patient | None, answered: datetime, answers: dict | None = None) -> dict:
        """One stored submission, as triage/service.py submit() stores it."""
        stopped = False
        if answers is None:
            age = _age_on(patient.born, answered.date()) if patient else min(90, max(18, round(self.rng.gauss(50, 16))))
            answers, stopped = self._answers(age)
        outcome: TriageOutcome = evaluate_safety(answers) if stopped else evaluate(answers)
        rows = self.rows[TriageSubmission.__table__]
        row = {"id": len(rows) + 1, "patient_id": patient.id if patient else None, "answers": answers,
               "outcome": outcome.to_dict(), "rules_version": outcome.version, "route": outcome.route,
               "urgency": outcome.urgency, "urgency_rank": Urgency(outcome.urgency).rank, "complete": not stopped,
               "created_at": answered, "review_state": ReviewState.UNREVIEWED, "current_route": outcome.route,
               "route_provisional": outcome.route_provisional, "emergency_cleared_at": None}
        rows.append(row)
        if patient:
            patient.submissions.append(row)
        return row

    def make_triage(self) -> None:
        """Submissions over the past half year: one in twelve anonymous, some patients twice; patient1
        a week ago, answered as the demo's patient (a routine general consultation)."""
        one = self.patient_one
        demo_answers = {**DEMO_TRIAGE[0][1], "age": _age_on(one.born, self.today)}
        first = self._submission(one, self.now - timedelta(days=7), demo_answers)
        assert (first["route"], first["urgency"]) == (Route.GENERAL_CONSULT, Urgency.ROUTINE), first["outcome"]
        count = self.sizes["submissions"] - 1
        others = self.patients[1:]
        answered = sorted(self.now - timedelta(seconds=self.rng.uniform(0, DAYS_BACK * 86_400)) for _ in range(count))
        for moment in answered:
            self._submission(None if self.rng.random() < 1 / 12 else self.rng.choice(others), moment)
        self.doctor_user_ids = [row["user_id"] for row in self.rows[Clinician.__table__]]
        for row in self.rows[TriageSubmission.__table__][1:]:
            self._review(row)

    def _review(self, submission: dict) -> None:
        """What the doctors have done with a case by now: emergencies older than two days dealt with,
        most cases reviewed after a while, a few rerouted with a reason."""
        waited = self.now - submission["created_at"]
        emergency = submission["urgency"] == Urgency.EMERGENCY
        if emergency:
            if waited < timedelta(days=2):
                return
            done = submission["created_at"] + timedelta(hours=self.rng.uniform(1, 12))
            new_route = None
            if submission["route_provisional"]:
                new_route = self.rng.choice([route.value for route in Route])
            self._add_review(submission, ReviewAction.EMERGENCY_CLEARED, done, self.rng.choice(EMERGENCY_NOTES),
                             new_route)
            submission["emergency_cleared_at"] = done
            submission["route_provisional"] = False
            return
        chance = 0.9 if waited > timedelta(days=14) else 0.35 if waited > timedelta(days=1) else 0.05
        if self.rng.random() >= chance:
            return
        done = submission["created_at"] + min(waited, timedelta(hours=self.rng.uniform(1, 240)))
        if submission["urgency"] == Urgency.ROUTINE and self.rng.random() < 0.06:
            new_route = self.rng.choice([route.value for route in Route if route != submission["current_route"]])
            self._add_review(submission, ReviewAction.ROUTE_CHANGED, done, ROUTE_CHANGE_REASONS[new_route], new_route)
        else:
            self._add_review(submission, ReviewAction.REVIEWED, done, "")

    def _add_review(self, submission: dict, action: str, done: datetime, reason: str,
                    new_route: str | None = None) -> None:
        changed = new_route is not None and (
            new_route != submission["current_route"] or submission["route_provisional"])
        rows = self.rows[TriageReview.__table__]
        rows.append({"id": len(rows) + 1, "submission_id": submission["id"],
                     "reviewer_id": self.rng.choice(self.doctor_user_ids), "action": action,
                     "old_route": submission["current_route"] if changed else None,
                     "new_route": new_route if changed else None, "reason": reason, "created_at": done})
        if changed:
            submission["current_route"] = new_route
        submission["review_state"] = ReviewState.REVIEWED
        self.reviewed_at[submission["id"]] = done

    # --- appointments ----------------------------------------------------------------------------

    def make_appointments(self) -> None:
        """Take about APPOINTMENTS of the slots: first the visits triage led to, then patient1's
        history, then the rest: in the past anyone's, ahead only a patient the booking rules allow."""
        fill = min(0.95, self.sizes["appointments"] / max(1, len(self.slots)))
        self.open = [slot for slot in self.slots if self.rng.random() < fill]
        self.by_type: dict[int, list[Slot]] = {}
        for slot in self.open:
            self.by_type.setdefault(slot.type_id, []).append(slot)
        self.starts = {type_id: [slot.start for slot in slots] for type_id, slots in self.by_type.items()}
        self._visits_from_triage()
        self._patient_one_history()
        everyone = [patient.id for patient in self.patients[1:]]
        pools, links = self._bookable_ahead()
        for slot in self.open:
            if slot.taken:
                continue
            ahead = slot.end > self.now
            pool = pools[slot.type_id] if ahead else everyone
            status = self._status(slot)
            for _ in range(8):  # a few tries for a patient free that day; else the slot stays free
                if not pool:
                    break
                pick = self.rng.randrange(len(pool))
                patient_id = pool[pick]
                if not self._can_take(patient_id, slot, status):
                    continue
                link = links.get(patient_id) if ahead else None
                booked = min(slot.start - timedelta(days=self.rng.uniform(0.5, 45)),
                             self.now - timedelta(minutes=self.rng.uniform(1, 600)))
                online = link is not None and self.rng.random() < 0.5
                self._book(slot, patient_id, status, booked_at=booked, submission_id=link,
                           booked_by=patient_id if online else self.rng.choice(self.desk_ids))
                if ahead and (patient_id, slot.type_id) in self.upcoming:
                    pool[pick] = pool[-1]  # one upcoming visit of a type: out of this type's pool
                    pool.pop()
                break

    def _bookable_ahead(self) -> tuple[dict[int, list[int]], dict[int, int]]:
        """Who may be booked ahead for each type without a reason (booking/eligibility.py): patients
        without triage, anything; patients whose latest triage is routine or a dealt-with emergency,
        the visit it routes to (and the booking is linked to it, as the service links it). Not
        patient1, nor anyone with an open emergency or an urgent latest triage (24 hours only)."""
        pools: dict[int, list[int]] = {type_id: [] for type_id in self.minutes}
        links: dict[int, int] = {}
        for patient in self.patients[1:]:
            latest = patient.submissions[-1] if patient.submissions else None
            if latest is None:
                type_ids = list(self.minutes)
            elif (latest["urgency"] == Urgency.URGENT or latest["route_provisional"] or any(
                    s["urgency"] == Urgency.EMERGENCY and s["emergency_cleared_at"] is None
                    for s in patient.submissions)):
                continue
            else:
                type_ids = [self.type_ids[latest["current_route"]]]
                links[patient.id] = latest["id"]
            for type_id in type_ids:
                if (patient.id, type_id) not in self.upcoming:
                    pools[type_id].append(patient.id)
        return pools, links

    def _visits_from_triage(self) -> None:
        """Most patients book the visit their triage routes to, soon after (an urgent case within
        24 hours, the rule's window), once a doctor has dealt with any emergency; never patient1
        (left free to book) nor anyone with an emergency still open."""
        for patient in self.patients[1:]:
            if any(s["urgency"] == Urgency.EMERGENCY and s["emergency_cleared_at"] is None
                   for s in patient.submissions):
                continue
            for index, submission in enumerate(patient.submissions):
                if self.rng.random() >= 0.8:
                    continue
                urgent = submission["urgency"] == Urgency.URGENT
                ready = submission["emergency_cleared_at"] or (
                    self.reviewed_at[submission["id"]] if submission["current_route"] != submission["route"]
                    else submission["created_at"])
                earliest = ready + (timedelta(hours=self.rng.uniform(1, 20)) if urgent
                                    else timedelta(days=self.rng.uniform(1, 21)))
                latest = submission["created_at"] + timedelta(hours=24) if urgent else earliest + timedelta(days=30)
                if index + 1 < len(patient.submissions):  # seen before answering again: the latest triage rules ahead
                    latest = min(latest, patient.submissions[index + 1]["created_at"])
                slot = self._first_free(self.type_ids[submission["current_route"]], patient.id, earliest, latest)
                if slot is not None:
                    by_desk = self.rng.random() < 0.15
                    self._book(slot, patient.id, self._status(slot), submission_id=submission["id"],
                               booked_at=min(ready + timedelta(minutes=self.rng.uniform(5, 60)), slot.start, self.now),
                               booked_by=self.rng.choice(self.desk_ids) if by_desk else patient.id)

    def _first_free(self, type_id: int, patient_id: int, earliest: datetime, latest: datetime) -> Slot | None:
        """The first open slot of this type starting between `earliest` and `latest` that the patient may take."""
        slots = self.by_type.get(type_id, [])
        for index in range(bisect.bisect_left(self.starts.get(type_id, []), earliest), len(slots)):
            slot = slots[index]
            if slot.start > latest:
                return None
            status = self._status(slot, draw=False)
            if self._can_take(patient_id, slot, status):
                return slot
        return None

    def _patient_one_history(self) -> None:
        """patient1: three past visits (attended, attended, missed) and one cancelled ahead, so their
        page lists visits yet booking a general consultation stays open."""
        consult = self.type_ids[Route.GENERAL_CONSULT]
        plan = [(self.type_ids[Route.VASCULAR_ULTRASOUND], -150, AppointmentStatus.FULFILLED),
                (consult, -90, AppointmentStatus.FULFILLED), (consult, -30, AppointmentStatus.NOSHOW),
                (consult, 10, AppointmentStatus.CANCELLED)]
        one = self.patient_one.id
        for type_id, days, status in plan:
            earliest = self.now + timedelta(days=days)
            slot = self._first_free(type_id, one, earliest, earliest + timedelta(days=30))
            if slot is not None:
                self._book(slot, one, status, booked_at=min(slot.start, self.now) - timedelta(days=20),
                           booked_by=self.rng.choice(self.desk_ids))

    def _status(self, slot: Slot, draw: bool = True) -> str:
        """Past visits mostly attended, some missed or cancelled; started ones checked in; future ones
        booked, a few cancelled. Without `draw`, the status a visit there would have if kept."""
        if slot.end <= self.now:
            if not draw:
                return AppointmentStatus.FULFILLED
            return self.rng.choices((AppointmentStatus.FULFILLED, AppointmentStatus.NOSHOW,
                                     AppointmentStatus.CANCELLED), (0.86, 0.05, 0.09))[0]
        if slot.start <= self.now:
            return AppointmentStatus.CHECKED_IN
        if not draw:
            return AppointmentStatus.BOOKED
        return AppointmentStatus.BOOKED if self.rng.random() < 0.94 else AppointmentStatus.CANCELLED

    def _can_take(self, patient_id: int, slot: Slot, status: str) -> bool:
        """Free that day, and no second upcoming active visit of one type (eligibility's rule)."""
        if slot.taken or (patient_id, slot.day) in self.busy_days:
            return False
        active_ahead = status in (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN) and slot.end > self.now
        return not (active_ahead and (patient_id, slot.type_id) in self.upcoming)

    def _book(self, slot: Slot, patient_id: int, status: str, *, booked_at: datetime, booked_by: int,
              submission_id: int | None = None) -> None:
        slot.taken = True
        self.busy_days.add((patient_id, slot.day))
        if status in (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN) and slot.end > self.now:
            self.upcoming.add((patient_id, slot.type_id))
        checked_in = None
        if status in (AppointmentStatus.FULFILLED, AppointmentStatus.CHECKED_IN):
            checked_in = slot.start - timedelta(minutes=self.rng.uniform(0, 15))
        cancelled = cancelled_by = reason = None
        if status == AppointmentStatus.CANCELLED:
            cancelled = booked_at + (min(slot.start, self.now) - booked_at) * self.rng.random()
            cancelled_by = patient_id if self.rng.random() < 0.6 else self.rng.choice(self.desk_ids)
            reason = self.rng.choice(CANCELLATION_REASONS)
        rows = self.rows[Appointment.__table__]
        rows.append({"id": len(rows) + 1, "patient_id": patient_id, "clinician_id": slot.clinician_id,
                     "appointment_type_id": slot.type_id, "start_at": slot.start, "end_at": slot.end,
                     "status": status, "overbook": False, "triage_submission_id": submission_id,
                     "booked_by_id": booked_by, "created_at": booked_at,
                     "updated_at": cancelled or (slot.end if status == AppointmentStatus.FULFILLED else booked_at),
                     "checked_in_at": checked_in, "cancelled_at": cancelled, "cancelled_by_id": cancelled_by,
                     "cancellation_reason": reason})

    def make_everything(self) -> None:
        self.make_staff()
        self.make_types()
        self.make_clinicians()
        self.make_patients()
        self.make_triage()
        self.make_appointments()
        # Ids and the table's order follow the booking time, as in a clinic that has run for a year
        # (rather than the start time, which would make every range on start_at unrealistically close).
        self.rows[Appointment.__table__].sort(key=lambda row: row["created_at"])
        for n, row in enumerate(self.rows[Appointment.__table__], start=1):
            row["id"] = n


# --- the database ---------------------------------------------------------------------------------

def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _make_database(url: str, *, replace: bool) -> None:
    """Make sure the database exists, and with `replace` that it is new and empty."""
    parts = make_url(url)
    if parts.get_backend_name() == "sqlite":
        path = Path(parts.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        if replace:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    server = sa.create_engine(parts.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            if replace:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {_quoted(parts.database)} WITH (FORCE)")
            exists = connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                       {"name": parts.database})
            if not exists:
                connection.exec_driver_sql(f"CREATE DATABASE {_quoted(parts.database)}")
    finally:
        server.dispose()


def _refuse_a_clinic(connection: sa.Connection, url: str) -> None:
    """Only an empty database: the ids are given here from 1, and no clinic is mixed into other data."""
    for table in (User.__table__, AppointmentType.__table__, TriageSubmission.__table__):
        found = connection.scalar(sa.select(sa.func.count()).select_from(table))
        if found:
            raise ClinicExists(f"{make_url(url).render_as_string()} already holds data ({found:,} rows in "
                               f"{table.name}); nothing was written. Use --replace to drop it and build anew.")


def _copy_value(value):
    """A value as COPY takes it: enums as their strings, JSON columns' dicts and lists as JSON."""
    if isinstance(value, Enum):
        return value.value
    return Json(value) if isinstance(value, (dict, list)) else value


def _insert(connection: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """COPY on PostgreSQL (two to three times faster than INSERT's executemany there), else executemany."""
    if connection.dialect.name != "postgresql":
        connection.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(
            f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_copy_value(row[column]) for column in columns])


@contextmanager
def _indexes_built_afterwards(connection: sa.Connection, tables: list[sa.Table]):
    """On PostgreSQL, the manual's advice for a bulk load ("Populating a Database"): drop the
    tables' indexes first and build each once at the end, which is far quicker than growing it row
    by row (the patients' trigram indexes: 5 s instead of 39 on the busy 2-core machine). Only indexes
    no constraint owns (primary keys, unique and exclusion constraints stay and check every row);
    each is made again from its own definition (pg_get_indexdef), so the schema ends as migrated."""
    if connection.dialect.name != "postgresql":
        yield
        return
    indexes = connection.execute(sa.text(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(CAST(:tables AS regclass[])) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"),
        {"tables": [table.name for table in tables]}).all()
    for name, _definition in indexes:
        connection.exec_driver_sql(f"DROP INDEX {name}")
    yield
    for _name, definition in indexes:
        connection.exec_driver_sql(definition)


@contextmanager
def _slot_versions_left_alone(connection: sa.Connection):
    """On PostgreSQL, the triggers that raise a clinician's slot_version (migration 0012) are off
    while the clinic is loaded: a version per row written took the build from 37 s to 135 s, and a new
    clinic has no computed weeks to tell of changes. SQLite cannot switch a trigger off; there they
    cost a few seconds."""
    tables = ("appointment", "time_off", "working_hours")
    if connection.dialect.name == "postgresql":
        for table in tables:
            connection.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER {table}_slot_version")
    yield
    if connection.dialect.name == "postgresql":
        for table in tables:
            connection.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER {table}_slot_version")


def _write(connection: sa.Connection, plan: ClinicPlan, progress: Progress) -> dict[str, int]:
    """Insert every row, BATCH at a time; on PostgreSQL move each id sequence past the ids given,
    so the portal's own inserts go on from there."""
    progress.total = sum(len(rows) for rows in plan.rows.values())
    written = {}
    with _indexes_built_afterwards(connection, list(plan.rows)), _slot_versions_left_alone(connection):
        for table, rows in plan.rows.items():
            for start in range(0, len(rows), BATCH):
                _insert(connection, table, rows[start:start + BATCH])
                progress.show(f"writing {table.name}", len(rows[start:start + BATCH]))
            written[table.name] = len(rows)
            if connection.dialect.name == "postgresql" and "id" in table.c and rows:
                connection.execute(sa.text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :last)"),
                                   {"table": table.name, "last": len(rows)})
        if connection.dialect.name == "postgresql":
            progress.show("building indexes")
    return written


def build_clinic(url: str, scale: float = 1.0, progress: bool = True, *, replace: bool = False) -> BuiltClinic:
    """Migrate the database at `url` and fill it with a clinic of `scale` times the full size
    (ClinicExists when it already holds one, unless `replace`); then ANALYZE, so the planner knows
    the tables' sizes as it would in a clinic that has run for a year."""
    began = clock.perf_counter()
    _make_database(url, replace=replace)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "make-clinic"})
    bar = Progress(progress)
    with app.app_context():
        try:
            upgrade()
            with db.engine.connect() as connection:
                _refuse_a_clinic(connection, url)
            bar.show("planning the clinic's year")
            hashed = User()
            hashed.set_password(DEMO_PASSWORD)  # once: argon2 is slow on purpose (see the docstring)
            plan = ClinicPlan(scale, ZoneInfo(app.config["CLINIC_TIMEZONE"]), utc_now(), hashed.password_hash)
            plan.make_everything()
            with db.engine.begin() as connection:
                written = _write(connection, plan, bar)
            bar.show("ANALYZE")
            with db.engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")
            bar.close()
        finally:
            db.session.remove()
            db.engine.dispose()
    return BuiltClinic(url=url, rows=written, seconds=clock.perf_counter() - began,
                       patient_id=plan.patient_one.id, doctor_clinician_id=plan.doctor_one)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="an SQLite file to build (else DATABASE_URL, else instance/bigclinic.db)")
    parser.add_argument("--scale", type=float, default=1.0, help="a share of the full size: 0.1 is a tenth")
    parser.add_argument("--replace", action="store_true", help="drop a database that already holds data and build anew")
    arguments = parser.parse_args()
    if arguments.out:
        url = f"sqlite:///{Path(arguments.out).resolve()}"
    else:
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{DEFAULT_DATABASE}"
    try:
        built = build_clinic(url, scale=arguments.scale, progress=sys.stderr.isatty(), replace=arguments.replace)
    except ClinicExists as refusal:
        sys.exit(str(refusal))
    print(built.describe())


if __name__ == "__main__":
    main()
