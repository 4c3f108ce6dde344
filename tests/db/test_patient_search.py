"""The desk's patient search query (portal/patients/search.py) on SQLite and PostgreSQL:
what it finds, that its search terms follow every change to an account, and that each kind of
search is answered through an index (EXPLAIN), not by reading every patient.
"""
import random
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.auth.models import Role, User
from portal.booking.service import book_appointment
from portal.extensions import db
from portal.patients.models import PatientSearchTerm
from portal.patients.search import (
    MAX_RESULTS,
    PatientQuery,
    UnclearSearch,
    parse_query,
    patients_matching,
    search_patients,
)
from tests import factories


def make_patient(name: str, *, email: str | None = None, phone: str | None = "(555) 010-0000",
                 born: date | None = date(1960, 1, 1), role: str = Role.PATIENT) -> User:
    user = factories.make_user(name=name, email=email, role=role)
    user.phone, user.date_of_birth = phone, born
    db.session.commit()
    return user


def found(text: str) -> list[str]:
    """The names the search finds for what the desk typed, in the order shown."""
    db.session.rollback()
    return [line.patient.name for line in search_patients(parse_query(text)).patients]


@pytest.fixture
def patients(app):
    make_patient("Jane Smith", email="jane.smith@example.com", phone="(555) 010-2001", born=date(1954, 3, 14))
    make_patient("Robert O'Brien-Smythe", email="bob.obrien@mail.example.org", phone="+1 555 777 3141",
                 born=date(1988, 12, 1))
    make_patient("Amal Haddad", email="amal_h@example.net", phone="555.010.9999", born=date(1954, 3, 14))
    make_patient("Smith Desk", email="desk.smith@example.com", phone="(555) 010-2001", born=date(1954, 3, 14),
                 role=Role.DESK)


# --- what the box understands (pure) ----------------------------------------------------------------

@pytest.mark.parametrize("typed", ["1954-03-14", "03/14/1954", "14 Mar 1954", "14 March 1954", "Mar 14, 1954",
                                   "  14  mar 1954 "])
def test_a_date_of_birth_is_read_in_the_ways_people_write_it(typed):
    assert parse_query(typed) == PatientQuery(date_of_birth=date(1954, 3, 14))


@pytest.mark.parametrize("typed, digits", [("010 2001", "0102001"), ("(555) 010-2001", "5550102001"),
                                           ("+1 555.010.2001", "15550102001"), ("2001", "2001")])
def test_a_phone_number_is_compared_by_its_digits(typed, digits):
    assert parse_query(typed) == PatientQuery(phone_digits=digits)


def test_other_text_is_words_in_lower_case():
    assert parse_query("  Jane   SMITH ") == PatientQuery(words=("jane", "smith"))
    assert parse_query("jane.smith@Example") == PatientQuery(words=("jane.smith@example",))


@pytest.mark.parametrize("typed", ["", "   ", None])
def test_an_empty_box_is_no_search(typed):
    assert parse_query(typed) is None


@pytest.mark.parametrize("typed, advice", [("j", "at least 2 letters"), ("01", "at least 3 digits"),
                                           ("(5", "at least 3 digits"), ("14/03/1954", "month first"),
                                           ("1954-13-01", "not a date we can read")])
def test_a_query_too_short_or_an_impossible_date_says_what_to_type(typed, advice):
    with pytest.raises(UnclearSearch, match=advice):
        parse_query(typed)


# --- what it finds ------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, names", [
    ("smith", ["Jane Smith"]),
    ("SMI", ["Jane Smith"]),
    ("jane smi", ["Jane Smith"]),
    ("Smith Jane", ["Jane Smith"]),
    ("o'brien", ["Robert O'Brien-Smythe"]),
    ("smythe", ["Robert O'Brien-Smythe"]),
    ("jane.smith@example.com", ["Jane Smith"]),
    ("JANE.SM", ["Jane Smith"]),
    ("example.org", ["Robert O'Brien-Smythe"]),
    ("amal_h", ["Amal Haddad"]),
    ("010 2001", ["Jane Smith"]),
    ("(555) 010-2001", ["Jane Smith"]),
    ("3141", ["Robert O'Brien-Smythe"]),
    ("555 010", ["Amal Haddad", "Jane Smith"]),
    ("14 Mar 1954", ["Amal Haddad", "Jane Smith"]),
    ("03/14/1954", ["Amal Haddad", "Jane Smith"]),
    ("1954-03-14", ["Amal Haddad", "Jane Smith"]),
    ("zebedee", []),
    ("1954-03-15", []),
])
def test_finds_patients_by_part_of_any_field_in_any_case(patients, typed, names):
    assert found(typed) == names


@pytest.mark.parametrize("typed", ["élodie", "Élodie", "ÉLODIE", "durand", "ángel", "josé"])
def test_names_with_accents_are_found_in_any_case(app, typed):
    make_patient("Élodie Durand")
    make_patient("Ángel José Ruiz")
    assert len(found(typed)) == 1


def test_staff_are_never_found(patients):
    assert "Smith Desk" not in found("smith") + found("desk") + found("010 2001") + found("1954-03-14")


def test_like_wildcards_are_taken_literally(app):
    make_patient("Ann Example", email="ann@example.com")
    assert found("a%n") == found("a_n") == []


def test_at_most_fifty_patients_and_a_sign_that_there_are_more(app):
    db.session.execute(sa.insert(User), [
        {"email": f"many{n}@example.com", "name": f"Manyfold Person {n:03d}", "password_hash": "x",
         "role": Role.PATIENT, "active": True} for n in range(MAX_RESULTS + 5)])
    db.session.commit()
    results = search_patients(parse_query("manyfold"))
    assert len(results.patients) == MAX_RESULTS and results.more
    assert [line.patient.name for line in results.patients][:2] == ["Manyfold Person 000", "Manyfold Person 001"]
    assert not search_patients(parse_query("Person 054")).more


def test_each_patient_comes_with_the_latest_triage_and_the_next_visit(app):
    jane = make_patient("Jane Smith")
    appointment_type = factories.make_type()
    clinician = factories.make_clinician()
    desk = factories.make_user(role="desk")
    day = factories.future_weekday()
    later = book_appointment(patient_id=jane.id, clinician_id=clinician.id,
                             appointment_type_id=appointment_type.id,
                             start=factories.local(day + timedelta(days=7), 10))
    sooner = book_appointment(patient_id=jane.id, clinician_id=clinician.id, booked_by_id=desk.id,
                              appointment_type_id=appointment_type.id, start=factories.local(day, 10),
                              override_reason="A second consult, for the other leg")
    factories.make_submission(jane, "general_consult", "routine")
    factories.make_submission(jane, "vascular_ultrasound", "urgent")
    [line] = search_patients(parse_query("jane")).patients
    assert (line.latest_triage.current_route, line.latest_triage.urgency) == ("vascular_ultrasound", "urgent")
    assert line.next_appointment.id == sooner.id != later.id


# --- the search terms follow the accounts (SQLite's triggers) ---------------------------------------

def test_a_changed_name_email_or_phone_is_found_by_its_new_value_only(app):
    patient = make_patient("Jane Smith", email="jane@example.com", phone="(555) 010-2001")
    patient.name, patient.email, patient.phone = "Jane Whitaker", "jw@example.org", "(555) 444-1234"
    db.session.commit()
    assert found("smith") == found("jane@") == found("010 2001") == []
    assert found("whitaker") == found("jw@") == found("444 1234") == ["Jane Whitaker"]


def test_an_account_that_becomes_staff_leaves_the_search_and_its_terms_go(app):
    patient = make_patient("Jane Smith")
    patient.role = Role.DESK
    db.session.commit()
    assert found("smith") == []
    if db.engine.dialect.name == "sqlite":
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PatientSearchTerm)) == 0


def test_sqlite_keeps_one_term_for_each_word_start_and_phone_tail(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the search terms are SQLite's index; PostgreSQL uses trigram indexes")
    patient = make_patient("Ann O'Neil", email="ann.o@example.com", phone="(555) 010-2001")
    terms = {(t.kind, t.term) for t in db.session.scalars(
        sa.select(PatientSearchTerm).where(PatientSearchTerm.user_id == patient.id))}
    assert terms == {("name", "ann o'neil"), ("name", "o'neil"), ("name", "neil"),
                     ("email", "ann.o@example.com"), ("email", "o@example.com"), ("email", "example.com"),
                     ("email", "com"),
                     *(("phone", "5550102001"[n:]) for n in range(8))}
    db.session.delete(patient)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PatientSearchTerm)) == 0


# --- answered through an index ------------------------------------------------------------------------

def query_plan(text: str) -> str:
    """The database's plan for the search statement of `text`, as one string."""
    dialect = db.engine.dialect
    statement = patients_matching(parse_query(text), dialect=dialect.name).compile(
        dialect=dialect, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
    plan = "\n".join(str(row[-1]) for row in db.session.connection().exec_driver_sql(explain + str(statement)))
    db.session.rollback()
    return plan


SQLITE_TERM_SEARCH = "SEARCH patient_search_term USING PRIMARY KEY (kind=? AND term>? AND term<?)"


def test_sqlite_answers_each_kind_of_search_from_an_index(patients):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plan")
    for text in ("smith", "jane smi", "jane.smith@ex", "010 2001", "élodie"):
        plan = query_plan(text)
        assert SQLITE_TERM_SEARCH in plan, plan
        assert not any(line.startswith("SCAN") for line in plan.splitlines()), plan
    plan = query_plan("03/14/1954")
    assert "SEARCH user_account USING INDEX ix_user_account_date_of_birth (date_of_birth=?)" in plan, plan


def bulk_patients(count: int) -> None:
    """`count` patients with varied names, emails and phones, in one insert."""
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz"
    rows = []
    for n in range(count):
        first = "".join(rng.choice(letters) for _ in range(6)).capitalize()
        last = "".join(rng.choice(letters) for _ in range(8)).capitalize()
        rows.append({"email": f"{first}.{last}{n}@example.com".lower(), "name": f"{first} {last}",
                     "phone": f"(555) {rng.randrange(1000):03d}-{rng.randrange(10000):04d}",
                     "date_of_birth": date(1930, 1, 1) + timedelta(days=rng.randrange(27000)),
                     "password_hash": "x", "role": Role.PATIENT, "active": True})
    db.session.execute(sa.insert(User), rows)
    db.session.commit()


def test_postgresql_chooses_the_trigram_and_date_indexes_on_a_large_table(patients):
    """10,000 patients and fresh statistics: the planner itself picks the indexes (no
    enable_seqscan=off), so the query is one the indexes serve, as the benchmark measures."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan")
    bulk_patients(10_000)
    db.session.execute(sa.text("ANALYZE user_account"))
    db.session.commit()
    name_plan = query_plan("smith")
    assert "Bitmap Index Scan on ix_user_account_name_trigram" in name_plan, name_plan
    assert "Bitmap Index Scan on ix_user_account_email_trigram" in name_plan, name_plan
    assert "Seq Scan" not in name_plan
    phone_plan = query_plan("010 2001")
    assert "Bitmap Index Scan on ix_user_account_phone_digits_trigram" in phone_plan, phone_plan
    assert "Index" in query_plan("03/14/1954") and "ix_user_account_date_of_birth" in query_plan("03/14/1954")
    assert found("smith") == ["Jane Smith"]
