"""The front desk's patient search: one box that finds patients by name, email, phone or date of birth.

What the box understands (`parse_query`, pure):
- a date of birth in any of 1954-03-14, 03/14/1954, 14 Mar 1954 (and 14 March 1954, Mar 14, 1954):
  patients born that day;
- a phone number or part of one (only digits, spaces and ( ) - . + /, at least 3 digits): digits
  are compared with the phone's digits alone, anywhere in it, so "010 2001" finds "(555) 010-2001";
- anything else: words, each of which must be found in the name or the email, ignoring case.
Only accounts with role patient are found, at most MAX_RESULTS of them, by name.

How each database finds them with an index (bench/patient_search.py times both on 50,000 patients):
- PostgreSQL: `lower(name) LIKE '%word%'` (and lower(email), and the phone's digits) is answered
  by pg_trgm GIN indexes on exactly those expressions (portal/auth/models.py, migration 0006):
  a Bitmap Index Scan on each, ORed. A word of two letters ("Li", "Ng") has no trigram, so the
  planner reads the whole table instead: still correct, and slower (bench/README.md has the
  figures). The box needs at least two characters.
- SQLite has no trigram index, and an FTS5 table cannot be used: its virtual and shadow tables are
  not models, so the migrated schema would no longer equal the models (tests/db/test_schema.py).
  Instead the table patient_search_term, kept by triggers on user_account (migration 0006), holds
  each patient's lower-cased name and email from every word start on ("jane smith", "smith";
  "jane.doe@example.com", "doe@example.com", "example.com", "com") and every tail of the phone's
  digits of 3 digits or more. A word is then a prefix of a term: a range scan on the primary key
  (kind, term, user_id), whose user ids are all the query reads. So on SQLite a word matches
  at the start of a word of the name or email ("smi" finds Jane Smith, "mith" does not), where
  PostgreSQL also finds it inside one; phone digits match anywhere on both. SQLite's lower()
  folds only A-Z: "Élodie Durand" is kept as "Élodie durand", so a word is looked up as typed
  (lower case) and with a capital first letter when that letter is not A-Z. A name written in
  capitals with accents inside ("JOSÉ") is found only by typing the accent in capitals.
"""
import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, and_, func, or_, select, union_all

from portal.auth.models import Role, User, phone_digits
from portal.booking.models import ACTIVE_STATUSES, Appointment
from portal.database import utc_now
from portal.extensions import db
from portal.patients.models import PatientSearchTerm
from portal.triage.models import TriageSubmission

MAX_RESULTS = 50
MIN_PHONE_DIGITS = 3
MIN_CHARACTERS = 2
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y")
PHONE_LIKE = re.compile(r"^[0-9 ().+/-]+$")
DATE_LIKE = re.compile(r"^\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}$")  # 14/03/1954 is no phone number


class UnclearSearch(ValueError):
    """A query that cannot be searched for as it is; the message says what to type instead."""


@dataclass(frozen=True)
class PatientQuery:
    """What the desk typed, understood as exactly one of: a date of birth, phone digits, or words."""

    date_of_birth: date | None = None
    phone_digits: str | None = None
    words: tuple[str, ...] = ()


def _as_date(text: str) -> date | None:
    cleaned = text.replace(",", " ")
    cleaned = " ".join(cleaned.split())
    for layout in DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, layout).date()
        except ValueError:
            continue
    return None


def parse_query(text: str | None) -> PatientQuery | None:
    """The query the desk typed, or None when the box is empty; UnclearSearch when it is too
    short, or looks like a date that is none (14/03/1954: the month comes first)."""
    text = " ".join((text or "").split())
    if not text:
        return None
    if (born := _as_date(text)) is not None:
        return PatientQuery(date_of_birth=born)
    if DATE_LIKE.match(text):
        raise UnclearSearch(f"“{text}” is not a date we can read. Type a date of birth as 1954-03-14, "
                            "03/14/1954 (month first) or 14 Mar 1954.")
    if PHONE_LIKE.match(text) and any(character.isdigit() for character in text):
        digits = re.sub(r"\D", "", text)
        if len(digits) < MIN_PHONE_DIGITS:
            raise UnclearSearch(f"Type at least {MIN_PHONE_DIGITS} digits of a phone number.")
        return PatientQuery(phone_digits=digits)
    if len(text) < MIN_CHARACTERS:
        raise UnclearSearch(f"Type at least {MIN_CHARACTERS} letters of a name or email.")
    return PatientQuery(words=tuple(text.lower().split()))


def _like_fragment(fragment: str) -> str:
    """'%fragment%' with LIKE's own characters taken literally (escaped with a backslash)."""
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _as_sqlite_stores(word: str) -> list[str]:
    """The forms in which SQLite's A-Z-only lower() may have kept a word typed in lower case: as
    it is, and, when its first letter is not A-Z, with that letter in capitals (Élodie, Ángel)."""
    first = word[0].upper()
    return [word, first + word[1:]] if not word[0].isascii() and len(first) == 1 and first != word[0] else [word]


def _prefix_of_term(kinds: tuple[str, ...], word: str):
    """Users with a search term of one of `kinds` that starts with `word`: ranges on the primary key."""
    # One SELECT per form, in a UNION ALL: SQLite reads an OR of ranges as one scan of the kind.
    return User.id.in_(union_all(*(
        select(PatientSearchTerm.user_id).where(PatientSearchTerm.kind.in_(kinds), *_starting_with(prefix))
        for prefix in _as_sqlite_stores(word))))


LAST_CHARACTER = chr(0x10FFFF)
SURROGATES = range(0xD800, 0xE000)  # not characters: no database stores them


def _starting_with(prefix: str) -> list:
    """Terms that start with `prefix`, as a range: from the prefix to the first string after every
    string that starts with it. A prefix ending in the last character Unicode has (U+10FFFF) has
    no such string once those are taken off: then only the lower bound holds."""
    conditions = [PatientSearchTerm.term >= prefix]
    stem = prefix.rstrip(LAST_CHARACTER)
    if stem:
        following = ord(stem[-1]) + 1
        following = SURROGATES.stop if following in SURROGATES else following
        conditions.append(PatientSearchTerm.term < stem[:-1] + chr(following))
    return conditions


def _conditions(query: PatientQuery, dialect: str) -> list:
    if query.date_of_birth is not None:
        return [User.date_of_birth == query.date_of_birth]
    if dialect == "postgresql":
        if query.phone_digits:
            return [phone_digits(User.phone).like(_like_fragment(query.phone_digits), escape="\\")]
        return [or_(func.lower(User.name).like(_like_fragment(word), escape="\\"),
                    func.lower(User.email).like(_like_fragment(word), escape="\\")) for word in query.words]
    if query.phone_digits:
        return [_prefix_of_term(("phone",), query.phone_digits)]
    return [_prefix_of_term(("name", "email"), word) for word in query.words]


def patients_matching(query: PatientQuery, *, dialect: str, limit: int = MAX_RESULTS) -> Select:
    """The statement: patients matching `query`, by name, at most `limit` (the plan tests EXPLAIN it)."""
    return (select(User).where(User.role == Role.PATIENT, and_(*_conditions(query, dialect)))
            .order_by(User.name, User.id).limit(limit))


@dataclass(frozen=True)
class PatientFound:
    """One line of the results: the patient, their latest triage and their next visit, if any."""

    patient: User
    latest_triage: TriageSubmission | None
    next_appointment: Appointment | None


@dataclass(frozen=True)
class SearchResults:
    patients: list[PatientFound]
    more: bool  # more than MAX_RESULTS matched: only the first are shown


def latest_triage_by_patient(patient_ids: list[int]) -> dict[int, TriageSubmission]:
    """Each patient's most recent triage submission, in one query."""
    ranked = select(TriageSubmission.id, func.row_number().over(
        partition_by=TriageSubmission.patient_id,
        order_by=(TriageSubmission.created_at.desc(), TriageSubmission.id.desc())).label("n")
    ).where(TriageSubmission.patient_id.in_(patient_ids)).subquery()
    rows = db.session.scalars(select(TriageSubmission).join(ranked, ranked.c.id == TriageSubmission.id)
                              .where(ranked.c.n == 1))
    return {submission.patient_id: submission for submission in rows}


def next_appointment_by_patient(patient_ids: list[int], now: datetime) -> dict[int, Appointment]:
    """Each patient's next active appointment (one not yet over), in one query."""
    ranked = select(Appointment.id, func.row_number().over(
        partition_by=Appointment.patient_id, order_by=(Appointment.start_at, Appointment.id)).label("n")
    ).where(Appointment.patient_id.in_(patient_ids), Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.end_at > now).subquery()
    rows = db.session.scalars(select(Appointment).join(ranked, ranked.c.id == Appointment.id)
                              .where(ranked.c.n == 1))
    return {appointment.patient_id: appointment for appointment in rows}


def search_patients(query: PatientQuery, *, now: datetime | None = None) -> SearchResults:
    """The patients matching `query` with their latest triage and next visit: three queries."""
    dialect = db.session.get_bind().dialect.name
    patients = list(db.session.scalars(patients_matching(query, dialect=dialect, limit=MAX_RESULTS + 1)))
    more = len(patients) > MAX_RESULTS
    patients = patients[:MAX_RESULTS]
    ids = [patient.id for patient in patients]
    triage = latest_triage_by_patient(ids) if ids else {}
    upcoming = next_appointment_by_patient(ids, now or utc_now()) if ids else {}
    return SearchResults([PatientFound(p, triage.get(p.id), upcoming.get(p.id)) for p in patients], more)
