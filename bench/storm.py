"""Storm: many patients press "Book this time" at the same moment, through two app processes on one
PostgreSQL, and the booking rules hold.

Makes its own database on the server, migrates it and seeds, in bulk, four clinicians giving a
30-minute consultation 08:00-18:00 every day and enough patients, each with a routine triage that
routes them to it. Starts two gunicorn processes (2 sync workers each) on two free ports in
18101-18199 and splits the patients evenly between them. Each patient, in a thread of its own
with its own cookies, logs in through the login form and opens the confirm page of its time (argon2
makes the logins slow on purpose: they happen first, in parallel, and are timed apart); then all
wait at a barrier and post the form at once.
- Round 1, --clients patients (50), one slot: exactly 1 appointment stored, every other patient
  gets the "that time was just taken" page (409), no other answer.
- Round 2, --slots patients (200), as many different free slots: every one stored, no other answer.
Slots are the clinic's own free times from tomorrow on, within BOOKING_MIN_NOTICE_MINUTES and
BOOKING_HORIZON_DAYS as configured. Prints the counts and timings; exits 1 on any other result.
Both app processes are stopped and the database dropped at the end, also on Ctrl-C.

    .venv/bin/python -m bench.storm                            # or: make storm
    .venv/bin/python -m bench.storm --clients 20 --slots 40    # the smaller storm of .ci/run

--database-url (or DATABASE_URL) names the server; `make storm` gives it the Makefile's POSTGRES_URL
unless set.
"""
import argparse
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time as clock
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa
from flask_migrate import upgrade

from bench.login import Browser
from bench.scratch_database import scratch_database
from portal import create_app
from portal.auth.models import Role, User
from portal.booking.models import ACTIVE_STATUSES, Appointment, AppointmentType, Clinician, Route, WorkingHours
from portal.booking.service import BookingPolicy, SlotUnavailable
from portal.booking.slots import open_slots
from portal.database import utc_now
from portal.demo import SAFE
from portal.extensions import db
from portal.triage.models import TriageSubmission
from portal.triage.rules import evaluate
from portal.triage.vocabulary import Urgency

ROOT = Path(__file__).resolve().parent.parent

PASSWORD = "storm-password-1"  # nosec B105  # the scratch patients' password, dropped with the database
CLINICIANS = 4
WORKERS_PER_PROCESS = 2
PORTS = range(18101, 18200)
# Answers the rules route to a routine general consultation, which a patient may book online.
ANSWERS = {**SAFE, "age": 60, "sex": "female"}
WAIT = 300  # seconds a client waits for an answer or for the others at the barrier


def seed(patients: int) -> tuple[list[str], list[tuple[datetime, int]]]:
    """The clinic and `patients` patients, each with a routine triage for the consultation; returns
    their emails and every free (start, clinician) of the consultation from tomorrow on."""
    outcome = evaluate(ANSWERS)
    assert (outcome.route, outcome.urgency) == (Route.GENERAL_CONSULT, Urgency.ROUTINE), outcome
    model = User()
    model.set_password(PASSWORD)  # argon2 is slow on purpose: hashed once, shared by every account
    consult = AppointmentType(route=Route.GENERAL_CONSULT, name="General consultation", duration_minutes=30)
    for n in range(CLINICIANS):
        doctor = User(email=f"storm-doctor{n}@example.com", name=f"Dr. Storm {n}", role=Role.DOCTOR,
                      password_hash=model.password_hash)
        db.session.add(Clinician(user=doctor, display_name=doctor.name, appointment_types=[consult], working_hours=[
            WorkingHours(weekday=day, start_time=time(8), end_time=time(18)) for day in range(7)]))
    people = [User(email=f"storm{n}@example.com", name=f"Storm Patient {n}", role=Role.PATIENT,
                   password_hash=model.password_hash) for n in range(patients)]
    db.session.add_all(people)
    db.session.flush()
    db.session.add_all(TriageSubmission.from_outcome(ANSWERS, outcome, patient_id=person.id) for person in people)
    db.session.commit()

    policy, now = BookingPolicy.from_config(), utc_now()
    today = now.astimezone(policy.zone).date()
    slots = open_slots(consult, first_day=today + timedelta(days=1), last_day=today + policy.horizon, zone=policy.zone,
                       now=now, notice=policy.notice, latest_start=now + policy.horizon)
    return [person.email for person in people], [(slot.start, clinician_id) for slot in slots
                                                  for clinician_id in slot.clinician_ids]


def stored_appointments(emails: list[str]) -> int:
    """Active appointments of these patients: what a round wrote."""
    return db.session.scalar(sa.select(sa.func.count(Appointment.id)).join(User, User.id == Appointment.patient_id)
                             .where(User.email.in_(emails), Appointment.status.in_(ACTIVE_STATUSES)))


# --- the two app processes ------------------------------------------------------------------------

def free_ports(count: int) -> list[int]:
    """The first `count` ports of PORTS nobody listens on."""
    found = []
    for port in PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                found.append(port)
        if len(found) == count:
            return found
    raise SystemExit(f"no {count} free ports in {PORTS.start}-{PORTS.stop - 1}")


def start_app(port: int, database_url: str, secret_key: str, log: Path) -> subprocess.Popen:
    """A gunicorn process as in production (README), without rate limits: every client comes from here."""
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": secret_key, "PORTAL_ENV": "production",
           "RATELIMIT_ENABLED": "0", "LOG_LEVEL": "WARNING"}
    with log.open("wb") as output:
        return subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "--workers", str(WORKERS_PER_PROCESS),
             "--bind", f"127.0.0.1:{port}",
             "--no-control-socket",  # unused here, and every gunicorn on a host shares its default path
             "wsgi:app"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True)  # Ctrl-C reaches only this script, which stops them in order


def wait_until_answering(apps: dict[str, subprocess.Popen], logs: list[Path], seconds: float = 60) -> None:
    deadline = clock.monotonic() + seconds
    waiting = dict(apps)
    while waiting:
        for base, process in list(waiting.items()):
            if process.poll() is not None:
                raise SystemExit(f"the app at {base} exited ({process.returncode}):\n{tail(logs)}")
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        del waiting[base]
            except OSError:
                pass
        if waiting and clock.monotonic() > deadline:
            raise SystemExit(f"no answer from {', '.join(waiting)} after {seconds:.0f} s:\n{tail(logs)}")
        clock.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()  # gunicorn: graceful stop of the workers
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tail(logs: list[Path], lines: int = 15) -> str:
    return "\n".join(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
                     for log in logs)


# --- one patient at a browser ---------------------------------------------------------------------

class Forms(HTMLParser):
    """The post forms of a page: each one's action and fields (name -> value)."""

    def __init__(self, page: str):
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and attributes.get("method", "").lower() == "post":
            self.forms.append((attributes.get("action") or "", {}))
        elif tag == "input" and self.forms and attributes.get("name"):
            self.forms[-1][1][attributes["name"]] = attributes.get("value") or ""

    def having(self, name: str) -> tuple[str, dict[str, str]]:
        """The form with a field called `name` (a page also has the logout form)."""
        found = next((form for form in self.forms if name in form[1]), None)
        if found is None:
            raise RuntimeError(f"no form with a field {name!r} on the page")
        return found


class Patient:
    """A browser of its own (bench/login.py's: cookies, forms, redirects not followed), talking to
    one app process."""

    def __init__(self, base: str, email: str):
        self.browser, self.email = Browser(base, timeout=WAIT), email

    def open_confirm_page(self, start: datetime, clinician_id: int) -> tuple[str, dict[str, str]]:
        """Log in through the form, then open the confirm page of this time: its form, ready to post."""
        status, _, _ = self.browser.submit("/auth/login", {"email": self.email, "password": PASSWORD})
        if status != 302:
            raise RuntimeError(f"login answered {status}")
        status, _, page = self.browser.request("/book/confirm?" + urlencode({"start": start.isoformat(),
                                                                              "clinician": clinician_id}))
        if status != 200:
            raise RuntimeError(f"the confirm page answered {status}")
        return Forms(page).having("idempotency_key")

    def book(self, action: str, fields: dict[str, str]) -> str:
        """Post the confirm form: "booked", "taken", or what else came back."""
        status, location, page = self.browser.request(action, fields)
        if status == 302 and "booked=" in location:
            return "booked"
        if status == 409 and SlotUnavailable.message in page:
            return "taken"
        return f"{status} {location or page[:80]!r}"


@dataclass
class Round:
    name: str
    answers: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    prepared: float = 0.0  # seconds from the start to the barrier's release: logins and confirm pages
    storm: float = 0.0  # seconds from the release to the last answer
    stored: int = 0

    def count(self, answer: str) -> int:
        return self.answers.count(answer)

    @property
    def errors(self) -> list[str]:
        return [answer for answer in self.answers if answer not in ("booked", "taken")]


def storm(name: str, bases: list[str], bookings: list[tuple[str, datetime, int]]) -> Round:
    """One thread per (email, start, clinician), alternating between the app processes: each logs
    in and opens its confirm page, waits for all the others, then posts."""
    result = Round(name)
    lock = threading.Lock()
    released: list[float] = []
    barrier = threading.Barrier(len(bookings), action=lambda: released.append(clock.perf_counter()))
    finished: list[float] = []

    def client(n: int, email: str, start: datetime, clinician_id: int) -> None:
        patient = Patient(bases[n % len(bases)], email)
        form, answer = None, None
        try:
            form = patient.open_confirm_page(start, clinician_id)
        except Exception as error:  # noqa: BLE001 - any failure is an error to count and show
            answer = f"before the storm: {error!r}"
        try:
            barrier.wait(timeout=WAIT)
        except threading.BrokenBarrierError:
            form, answer = None, answer or "the barrier broke"
        if form is not None:
            began = clock.perf_counter()
            try:
                answer = patient.book(*form)
            except Exception as error:  # noqa: BLE001 - a reset or a timeout is an error to count
                answer = f"no answer: {error!r}"
            ended = clock.perf_counter()
        with lock:
            result.answers.append(answer)
            if form is not None:
                result.latencies.append(ended - began)
                finished.append(ended)

    began = clock.perf_counter()
    threads = [threading.Thread(target=client, args=(n, *booking), daemon=True) for n, booking in enumerate(bookings)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if released:
        result.prepared = released[0] - began
        result.storm = max(finished, default=released[0]) - released[0]
    result.stored = stored_appointments([email for email, _, _ in bookings])
    return result


def report(rounds: list[tuple[Round, dict[str, int]]]) -> list[str]:
    """Print the table; return what differs from the expected counts."""
    print(f"{'round':<22}{'clients':>8}{'stored':>8}{'booked':>8}{'taken':>7}{'errors':>8}"
          f"{'log in+page':>13}{'storm':>9}{'median':>9}{'p95':>9}{'max':>9}")
    failures = []
    for result, expected in rounds:
        latencies = sorted(result.latencies) or [0.0]
        p95 = latencies[int(0.95 * (len(latencies) - 1))]
        got = {"stored": result.stored, "booked": result.count("booked"), "taken": result.count("taken"),
               "errors": len(result.errors)}
        print(f"{result.name:<22}{len(result.answers):>8}{got['stored']:>8}{got['booked']:>8}{got['taken']:>7}"
              f"{got['errors']:>8}{result.prepared:>11.1f} s{result.storm:>7.2f} s"
              f"{statistics.median(latencies) * 1000:>6.0f} ms{p95 * 1000:>6.0f} ms{latencies[-1] * 1000:>6.0f} ms")
        failures += [f"{result.name}: {what} {got[what]}, expected {want}"
                     for what, want in expected.items() if got[what] != want]
        for answer in sorted(set(result.errors)):
            failures.append(f"{result.name}: {result.errors.count(answer)} x {answer}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="patients after one slot in round 1 (50)")
    parser.add_argument("--slots", type=int, default=200, help="patients and different slots in round 2 (200)")
    parser.add_argument("--database-url", help="the PostgreSQL server (else DATABASE_URL)")
    options = parser.parse_args()
    server = options.database_url or os.environ.get("DATABASE_URL")
    if not server or not server.startswith("postgresql"):
        parser.error("name a PostgreSQL server: --database-url postgresql+psycopg://... (or run `make storm`)")
    os.environ["DATABASE_URL"] = server
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a CI timeout cleans up as Ctrl-C does

    url, remove = scratch_database()
    apps: dict[str, subprocess.Popen] = {}
    logs_folder = tempfile.TemporaryDirectory()
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
        with app.app_context():
            upgrade()
            began = clock.perf_counter()
            emails, slots = seed(options.clients + options.slots)
            if len(slots) < 1 + options.slots:
                raise SystemExit(f"only {len(slots)} free slots within the booking horizon, "
                                 f"{options.slots + 1} needed")
            seeded = clock.perf_counter() - began

            secret_key = secrets.token_urlsafe(48)  # the same for both processes, as production wants
            ports = free_ports(2)
            logs = [Path(logs_folder.name) / f"app-{port}.log" for port in ports]
            for port, log in zip(ports, logs, strict=True):
                apps[f"http://127.0.0.1:{port}"] = start_app(port, url, secret_key, log)
            wait_until_answering(apps, logs)
            bases = list(apps)
            print(f"{db.engine.dialect.name}: 2 app processes x {WORKERS_PER_PROCESS} sync workers "
                  f"({', '.join(bases)}), {len(emails)} patients and {CLINICIANS} clinicians seeded in {seeded:.1f} s, "
                  f"Python {sys.version.split()[0]}", flush=True)

            first, rest = emails[:options.clients], emails[options.clients:]
            one_slot = storm("1: one slot", bases, [(email, *slots[0]) for email in first])
            many = storm(f"2: {options.slots} slots", bases,
                         [(email, *slot) for email, slot in zip(rest, slots[1:1 + options.slots], strict=False)])
            failures = report([
                (one_slot, {"stored": 1, "booked": 1, "taken": options.clients - 1, "errors": 0}),
                (many, {"stored": options.slots, "booked": options.slots, "taken": 0, "errors": 0})])
            db.engine.dispose()
        if failures:
            print("FAIL\n  " + "\n  ".join(failures) + f"\nlast lines of the app logs:\n{tail(logs)}")
            return 1
        print("OK: one booking per slot, every loser told the time was taken, no errors")
        return 0
    finally:
        for process in apps.values():
            stop(process)
        logs_folder.cleanup()
        remove()


if __name__ == "__main__":
    sys.exit(main())
