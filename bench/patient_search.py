"""Benchmark: the desk's patient search on 50,000 patients, loading the results' triage and next
visit included.

Seeds 50,000 patients (bulk insert; on SQLite the migration's triggers fill the search terms as
they go), 20,000 triage submissions and 10,000 upcoming appointments, then times 20 searches of
each kind, each for a different patient, after one warm-up: a name fragment (the first four
letters of a surname), a phone fragment (the last seven digits, as "010 2001"), an email
fragment (the first six characters) and a date of birth (as 03/14/1954), and, as the worst case,
the shortest search the page accepts (two letters of a surname: too short for a trigram).
Prints the median and 95th percentile of each kind; SHOW_PLANS=1 also prints query plans.
SQLite in a temporary file by default; with DATABASE_URL=postgresql+psycopg://... it makes its
own database on that server and drops it afterwards.

    .venv/bin/python -m bench.patient_search
"""
import os
import random
import statistics
import sys
import time as clock
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask_migrate import upgrade

from bench.scratch_database import scratch_database
from portal import create_app
from portal.auth.models import Role, User
from portal.booking.models import Appointment, AppointmentType, Clinician
from portal.extensions import db
from portal.patients.search import parse_query, patients_matching, search_patients
from portal.triage.models import TriageSubmission

PATIENTS = 50_000
SUBMISSIONS = 20_000
APPOINTMENTS = 10_000
RUNS = 20
BATCH = 5_000
FIRST_NAMES = ("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard "
               "Susan Joseph Jessica Thomas Sarah Charles Karen Maria Nancy Daniel Lisa Matthew Betty Anthony "
               "Sandra Mark Ashley Donald Kimberly Steven Emily Paul Donna Andrew Michelle Joshua Carol Kenneth "
               "Amanda Kevin Dorothy Brian Melissa George Deborah Timothy Stephanie Ronald Rebecca Jose Sharon "
               "Wei Aisha Olga Hiroshi Priya Kwame Ingrid Mateo Fatima Dmitri").split()
LAST_NAMES = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
              "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
              "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
              "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker "
              "Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper "
              "Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James "
              "Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster "
              "Jimenez Okafor Lindqvist Kowalski Nakamura Haddad Oyelaran Brennan Fitzgerald Schmidt").split()
DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")


def seed_patients(rng: random.Random) -> list[dict]:
    """PATIENTS patients with plausible names, emails, phones and dates of birth, bulk-inserted."""
    patients = []
    for n in range(PATIENTS):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        patients.append({
            "email": f"{first}.{last}{n}@{rng.choice(DOMAINS)}".lower(), "name": f"{first} {last}",
            "date_of_birth": date(1930, 1, 1) + timedelta(days=rng.randrange(75 * 365)),
            "phone": f"({rng.randrange(200, 1000)}) {rng.randrange(100, 1000):03d}-{rng.randrange(10_000):04d}",
            "password_hash": "x", "role": Role.PATIENT, "active": True})
    for start in range(0, PATIENTS, BATCH):
        db.session.execute(sa.insert(User), patients[start:start + BATCH])
    db.session.commit()
    return patients


def seed_triage_and_visits(rng: random.Random, patient_ids: list[int]) -> None:
    """Triage for some patients and upcoming visits for others: what the results load per line."""
    now = datetime.now(UTC)
    routes = ("general_consult", "vascular_ultrasound", "sleep_study_referral")
    rows = []
    for _ in range(SUBMISSIONS):
        route, urgency = rng.choice(routes), rng.choice(("routine", "routine", "routine", "urgent"))
        rows.append({"patient_id": rng.choice(patient_ids), "answers": {}, "rules_version": "rlsvein-1",
                     "outcome": {"route": route, "urgency": urgency, "reasons": [], "flags": []},
                     "route": route, "current_route": route, "urgency": urgency,
                     "urgency_rank": 1 if urgency == "urgent" else 0, "complete": True, "review_state": "unreviewed",
                     "created_at": now - timedelta(minutes=rng.randrange(90 * 24 * 60))})
    db.session.execute(sa.insert(TriageSubmission), rows)
    visit = AppointmentType(route="general_consult", name="Consult", duration_minutes=30)
    doctor = User(email="doctor@example.com", name="Doctor", role=Role.DOCTOR, password_hash="x")
    clinician = Clinician(user=doctor, display_name="Dr Bench", appointment_types=[visit])
    db.session.add_all([visit, clinician])
    db.session.flush()
    first = datetime.combine(date.today() + timedelta(days=1), time(0), UTC)
    db.session.execute(sa.insert(Appointment), [
        {"patient_id": patient_id, "clinician_id": clinician.id, "appointment_type_id": visit.id,
         "start_at": first + timedelta(minutes=30 * n), "end_at": first + timedelta(minutes=30 * n + 30),
         "status": "booked", "overbook": False}
        for n, patient_id in enumerate(rng.sample(patient_ids, APPOINTMENTS))])
    db.session.commit()


def searches(rng: random.Random, patients: list[dict]) -> dict[str, list[str]]:
    """RUNS + 1 queries of each kind, each taken from a different patient, as the desk types them."""
    kinds = {"name fragment": [], "phone fragment": [], "email fragment": [], "date of birth": [],
             "two letters": []}
    picked = rng.sample(patients, len(kinds) * (RUNS + 1))
    typed = {
        "name fragment": lambda patient, digits: patient["name"].split()[-1][:4],
        "phone fragment": lambda patient, digits: f"{digits[-7:-4]} {digits[-4:]}",
        "email fragment": lambda patient, digits: patient["email"][:6],
        "date of birth": lambda patient, digits: patient["date_of_birth"].strftime("%m/%d/%Y"),
        "two letters": lambda patient, digits: patient["name"].split()[-1][:2],  # the shortest search: no trigram
    }
    for n, patient in enumerate(picked):
        kind = list(kinds)[n % len(kinds)]
        kinds[kind].append(typed[kind](patient, "".join(c for c in patient["phone"] if c.isdigit())))
    return kinds


def query_plan(text: str) -> str:
    query = parse_query(text)
    dialect = db.engine.dialect.name
    statement = patients_matching(query, dialect=dialect).compile(
        dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    rows = db.session.connection().exec_driver_sql(explain + str(statement)).all()
    db.session.rollback()
    return "\n".join(f"    {row[-1]}" for row in rows)


def main() -> None:
    url, remove = scratch_database()
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
        with app.app_context():
            upgrade()
            rng = random.Random(20261125)
            began = clock.perf_counter()
            patients = seed_patients(rng)
            seed_triage_and_visits(rng, list(db.session.scalars(sa.select(User.id).where(User.role == Role.PATIENT))))
            if db.engine.dialect.name == "postgresql":
                db.session.execute(sa.text("ANALYZE"))  # as autovacuum would soon after such a load
                db.session.commit()
            print(f"{db.engine.dialect.name}: {PATIENTS} patients seeded in {clock.perf_counter() - began:.0f} s; "
                  f"{RUNS} searches of each kind, Python {sys.version.split()[0]}", flush=True)
            for kind, texts in searches(rng, patients).items():
                timings, found = [], []
                for run, text in enumerate(texts):
                    db.session.expire_all()
                    started = clock.perf_counter()
                    results = search_patients(parse_query(text))
                    if run:  # the first search warms SQLAlchemy's statement cache and is not counted
                        timings.append((clock.perf_counter() - started) * 1000)
                        found.append(len(results.patients))
                    db.session.rollback()
                timings.sort()
                p95 = timings[int(0.95 * (len(timings) - 1))]
                print(f"{kind:>15}: median {statistics.median(timings):6.1f} ms   p95 {p95:6.1f} ms   "
                      f"(results: median {statistics.median(found):.0f}, e.g. {texts[1]!r})")
            if os.environ.get("SHOW_PLANS"):
                for text in ("garc", "010 2001", "james.s", "03/14/1954", "ga"):
                    print(f"  plan for {text!r}:\n{query_plan(text)}")
            db.engine.dispose()
    finally:
        remove()


if __name__ == "__main__":
    main()
