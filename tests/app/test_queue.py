"""The doctors' triage queue and case page, through the test client.

Only doctors see them. The queue lists patients' cases most urgent first, then oldest first, with
filters and pages of 25; answers not yet linked to a patient (given without logging in) have a
section and pages of their own, so they never push patients' cases off the first page; all in a
fixed number of queries however many cases there are. The case page shows
every answer, the reasons and flags, the patient's appointments, and takes a review: marked
reviewed, or the route changed with a reason, kept as history; the submission never changes.
"""
import html
import itertools
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy import text as sql

from portal.auth.models import Role
from portal.booking.models import Appointment, AppointmentStatus, Route
from portal.booking.service import book_appointment
from portal.extensions import db
from portal.triage.models import TriageReview, TriageSubmission
from portal.triage.questions import QUESTIONS, STEPS, describe_answer
from portal.triage.rules import CLINICIAN_RULE_TEXT, FLAG_TEXT, evaluate
from tests import factories
from tests.client import AuthActions, csrf_token, logged_in, submit
from tests.clinic_dates import when
from tests.db.test_queue_cases import make_mixed_cases
from tests.factories import make_submission
from tests.pages import location, text, words

CHICAGO = factories.CHICAGO
ALL_DAY = {weekday: [(time(0), time(23, 30))] for weekday in range(7)}
LABELS = {"vascular_ultrasound": "Vascular ultrasound", "sleep_study_referral": "Sleep study referral",
          "general_consult": "General consult"}
NOW = datetime.now(UTC)


# --- reading pages ----------------------------------------------------------------------------

PATIENTS, ANONYMOUS = "patient-cases", "anonymous-cases"  # the queue's two lists


def rows(response, listing: str = PATIENTS) -> list[str]:
    """Each case row of one list of the queue (patients' cases unless told), as markup."""
    found = re.search(rf'<ol class="queue" id="{listing}">(.*?)</ol>', text(response), re.S)
    assert found, f"no list {listing!r}"
    return re.findall(r'<li class="case-row.*?</li>\s*(?=<li class="case-row|$)', found.group(1), re.S)


def row_ids(response, listing: str = PATIENTS) -> list[int]:
    return [int(re.search(r'href="/queue/(\d+)"', row).group(1)) for row in rows(response, listing)]


def anonymous_ids(response) -> list[int]:
    return row_ids(response, ANONYMOUS)


def anonymous_heading(response) -> str:
    return words(re.search(r'<h2 id="anonymous-heading">(.*?)</h2>', text(response), re.S).group(1))


def section(response, heading: str) -> str:
    """The card whose heading is `heading`, as markup."""
    match = re.search(rf'<section class="card">\s*<h2 class="small">{re.escape(heading)}</h2>(.*?)</section>',
                      text(response), re.S)
    assert match, f"no section {heading!r}"
    return match.group(1)


# --- the world --------------------------------------------------------------------------------

def fresh() -> None:
    """End the test's read transaction, so rows the app wrote are seen (and SQLite lets us write)."""
    db.session.rollback()


def answers_for(route: str, urgency: str, **answers) -> dict:
    return {**factories.SAFE_ANSWERS, **factories.ANSWERS_FOR[(route, urgency)], **answers}


def ago(minutes: int) -> datetime:
    """When a case made `minutes` minutes ago was sent (for factories.make_submission's created_at)."""
    return NOW - timedelta(minutes=minutes)


def stored(submission_id: int) -> TriageSubmission:
    fresh()
    return db.session.get(TriageSubmission, submission_id)


def reviews() -> list[TriageReview]:
    fresh()
    return list(db.session.scalars(select(TriageReview).order_by(TriageReview.id)))


def age_today(born: date) -> int:
    today = datetime.now(UTC).date()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class QueryCounter:
    """Counts the SQL statements sent while it is on."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def _count(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)


def queries_for(browser, url: str) -> list[str]:
    with QueryCounter(db.engine) as counter:
        response = browser.get(url)
    assert response.status_code == 200
    return counter.statements


# --- who may see it ---------------------------------------------------------------------------

@pytest.mark.parametrize("role", [Role.PATIENT, Role.DESK, Role.ADMIN])
def test_only_doctors_see_the_queue_and_cases(app, role):
    case = make_submission(factories.make_user())
    _, browser = logged_in(app, role)
    token = csrf_token(browser.get("/").get_data(as_text=True))

    assert browser.get("/queue/").status_code == 403
    assert browser.get(f"/queue/{case.id}").status_code == 403
    response = browser.post(f"/queue/{case.id}", data={"csrf_token": token, "new_route": "", "reason": "ok"})
    assert response.status_code == 403
    assert reviews() == []
    assert stored(case.id).review_state == "unreviewed"


def test_an_anonymous_visitor_is_sent_to_log_in(app, client):
    case = make_submission(None)

    for url in ["/queue/", f"/queue/{case.id}", "/queue/?page=2"]:
        response = client.get(url)
        assert location(response) == "/auth/login"
    assert client.post(f"/queue/{case.id}", data={}).status_code in (302, 400)
    assert reviews() == []


def test_a_doctor_sees_the_queue(app):
    _, browser = logged_in(app, Role.DOCTOR)

    response = browser.get("/queue/")

    assert response.status_code == 200
    assert "Triage queue" in text(response)
    assert "No cases match." in text(response)
    assert browser.get("/queue/424242").status_code == 404


# --- order, rows, filters, pages --------------------------------------------------------------

def test_most_urgent_first_then_oldest_first(app):
    patient = factories.make_user()
    routine_old = make_submission(patient, created_at=ago(500))
    urgent_new = make_submission(patient, "vascular_ultrasound", "urgent", created_at=ago(10))
    emergency_new = make_submission(patient, "general_consult", "emergency", created_at=ago(5))
    routine_new = make_submission(patient, "sleep_study_referral", "routine", created_at=ago(1))
    urgent_old = make_submission(patient, "general_consult", "urgent", created_at=ago(300))
    emergency_old = make_submission(patient, "vascular_ultrasound", "emergency", created_at=ago(400))
    _, browser = logged_in(app, Role.DOCTOR)

    response = browser.get("/queue/")

    assert row_ids(response) == [emergency_old.id, emergency_new.id, urgent_old.id, urgent_new.id,
                                 routine_old.id, routine_new.id]
    assert "6 cases, most urgent first, then oldest first." in words(text(response))


def test_each_row_shows_patient_age_route_urgency_rules_flags_and_booking(app):
    visit = factories.make_type(Route.VASCULAR_ULTRASOUND, 45, "Leg vein scan")
    factories.make_type(Route.GENERAL_CONSULT, 30, "General consultation")
    clinician = factories.make_clinician(hours=ALL_DAY)
    booked_patient = factories.make_user(name="Alma Booked")
    waiting_patient = factories.make_user(name="Ben Waiting")
    booked = make_submission(booked_patient, "vascular_ultrasound", "routine", created_at=ago(20),
                             leg_signs=["varicose_veins"], venous_symptoms="yes",
                             rls_urge="yes", rls_rest="yes", rls_movement_relief="yes", rls_evening="yes")
    waiting = make_submission(waiting_patient, "general_consult", "routine", created_at=ago(10),
                              medications=["antihistamine"], snoring="yes", tired_daytime="yes")
    anonymous = make_submission(None, "general_consult", "routine", created_at=ago(5), age=34)
    book_appointment(patient_id=booked_patient.id, clinician_id=clinician.id, appointment_type_id=visit.id,
                     start=factories.local(date.today() + timedelta(days=3), 9))
    _, browser = logged_in(app, Role.DOCTOR)

    response = browser.get("/queue/")

    first, second = (words(row) for row in rows(response))
    [third] = (words(row) for row in rows(response, ANONYMOUS))
    assert row_ids(response) == [booked.id, waiting.id]
    assert anonymous_ids(response) == [anonymous.id]
    assert "Alma Booked" in first and f"{age_today(date(1960, 1, 1))} y" in first
    assert "Vascular ultrasound" in first and "Routine" in first
    assert "· Booked" in first and "Not booked" not in first
    assert CLINICIAN_RULE_TEXT["R3"] in first
    assert FLAG_TEXT["F1"] in first and FLAG_TEXT["F3"] in first
    assert "Ben Waiting" in second and "General consult" in second and "Not booked" in second
    assert FLAG_TEXT["F4"] in second and FLAG_TEXT["F10"] in second and CLINICIAN_RULE_TEXT["R5"] in second
    assert "Not linked to a patient" in third and "34 y" in third  # no account yet: the age answered
    assert "General consult" in third and "Booked" not in third  # no account, so no booking to show
    assert "Not reviewed" in first


def test_a_cancelled_booking_does_not_count_as_booked(app):
    visit = factories.make_type(Route.GENERAL_CONSULT)
    clinician = factories.make_clinician(hours=ALL_DAY)
    patient = factories.make_user()
    case = make_submission(patient)
    db.session.add(Appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=visit.id,
                               start_at=NOW + timedelta(days=2), end_at=NOW + timedelta(days=2, minutes=30),
                               status=AppointmentStatus.CANCELLED, triage_submission_id=case.id))
    db.session.commit()
    _, browser = logged_in(app, Role.DOCTOR)

    [row] = rows(browser.get("/queue/"))

    assert "Not booked" in words(row)


@pytest.fixture
def mixed_queue(app):
    """Seven cases over routes, urgencies and review states, and a doctor's browser."""
    doctor, browser = logged_in(app, Role.DOCTOR)
    return browser, make_mixed_cases(doctor)


@pytest.mark.parametrize("query, expected", [
    ("route=vascular_ultrasound", ["vu-emergency", "vu-urgent", "vu-routine"]),
    ("route=general_consult", ["gc-emergency", "gc-urgent", "ss-routine", "gc-routine"]),  # the current route
    ("route=sleep_study_referral", []),
    ("urgency=emergency", ["vu-emergency", "gc-emergency"]),
    ("urgency=urgent", ["vu-urgent", "gc-urgent"]),
    ("urgency=routine", ["vu-routine", "ss-routine", "gc-routine"]),
    ("review=reviewed", ["gc-urgent", "vu-routine", "ss-routine"]),
    ("review=unreviewed", ["vu-emergency", "gc-emergency", "vu-urgent", "gc-routine"]),
    ("route=vascular_ultrasound&review=unreviewed", ["vu-emergency", "vu-urgent"]),
    ("route=general_consult&urgency=routine&review=reviewed", ["ss-routine"]),
    ("route=nonsense&urgency=&review=maybe", ["vu-emergency", "gc-emergency", "vu-urgent", "gc-urgent",
                                              "vu-routine", "ss-routine", "gc-routine"]),
])
def test_filters(mixed_queue, query, expected):
    """The same filters choose from both lists; the one anonymous case shows only in its own."""
    browser, ids = mixed_queue
    anonymous = {"gc-emergency"}

    response = browser.get(f"/queue/?{query}")

    assert response.status_code == 200
    assert row_ids(response) == [ids[name] for name in expected if name not in anonymous]
    assert anonymous_ids(response) == [ids[name] for name in expected if name in anonymous]
    assert anonymous_heading(response) == (
        f"Answers not yet linked to a patient ({len([name for name in expected if name in anonymous])})")
    if not expected:
        assert "No cases match." in text(response)


def test_the_filter_form_shows_the_filters_chosen(mixed_queue):
    browser, _ = mixed_queue

    page = text(browser.get("/queue/?route=general_consult&urgency=urgent&review=reviewed"))

    assert re.search(r'<option value="general_consult"\s+selected>', page)
    assert re.search(r'<option value="urgent"\s+selected>', page)
    assert re.search(r'<option value="reviewed"\s+selected>', page)


def test_rows_show_review_state_and_a_changed_route(mixed_queue):
    browser, ids = mixed_queue

    response = browser.get("/queue/?urgency=routine")

    by_id = dict(zip(row_ids(response), (words(row) for row in rows(response)), strict=True))
    assert "General consult (changed)" in by_id[ids["ss-routine"]]
    assert "· Reviewed" in by_id[ids["vu-routine"]]
    assert "Not reviewed" in by_id[ids["gc-routine"]]


def test_the_queue_is_paginated_25_a_page(app):
    patients = [factories.make_user() for _ in range(3)]
    cases = [make_submission(patients[n % 3], "general_consult", "routine", created_at=ago(100 - n))
             for n in range(30)]
    urgent = make_submission(patients[0], "vascular_ultrasound", "urgent", created_at=ago(1))
    _, browser = logged_in(app, Role.DOCTOR)
    expected = [urgent.id] + [case.id for case in cases]

    first = browser.get("/queue/")
    second = browser.get("/queue/?page=2")

    assert row_ids(first) == expected[:25]
    assert row_ids(second) == expected[25:]
    assert "Page 1 of 2" in text(first) and "Page 2 of 2" in text(second)
    assert 'href="/queue/?page=2' in text(first)
    assert 'href="/queue/?page=1' in text(second)
    assert "31 cases" in text(first)
    assert row_ids(browser.get("/queue/?page=99")) == expected[25:]  # past the end: the last page
    assert row_ids(browser.get("/queue/?page=0")) == expected[:25]
    assert row_ids(browser.get("/queue/?page=two")) == expected[:25]


def test_the_next_page_keeps_the_filters(app):
    patient = factories.make_user()
    for n in range(27):
        make_submission(patient, "general_consult", "routine", created_at=ago(100 - n))
    make_submission(patient, "vascular_ultrasound", "routine")
    _, browser = logged_in(app, Role.DOCTOR)

    first = browser.get("/queue/?route=general_consult")
    next_link = html.unescape(
        re.search(r'<a class="button" href="([^"]+)">Next', first.get_data(as_text=True)).group(1))

    assert "route=general_consult" in next_link and "page=2" in next_link
    assert len(row_ids(browser.get(next_link))) == 2


# --- answers not yet linked to a patient ------------------------------------------------------

def test_answers_not_linked_to_a_patient_have_their_own_section(app):
    patient = factories.make_user(name="Dora Linked")
    linked = make_submission(patient, "general_consult", "routine", created_at=ago(30))
    anonymous_routine = make_submission(None, "general_consult", "routine", created_at=ago(50))
    anonymous_urgent = make_submission(None, "vascular_ultrasound", "urgent", created_at=ago(5))
    anonymous_emergency = make_submission(None, "general_consult", "emergency", created_at=ago(1))
    _, browser = logged_in(app, Role.DOCTOR)

    response = browser.get("/queue/")

    assert row_ids(response) == [linked.id]
    assert "1 case, most urgent first, then oldest first." in words(text(response))
    assert anonymous_ids(response) == [anonymous_emergency.id, anonymous_urgent.id, anonymous_routine.id]
    assert anonymous_heading(response) == "Answers not yet linked to a patient (3)"
    assert ("These answers were given without logging in; they join a patient's record only when the "
            "patient confirms they are theirs.") in words(text(response))
    page = text(response)
    assert page.index('id="patient-cases"') < page.index('id="anonymous-cases"')  # patients' cases first


def test_a_flood_of_anonymous_emergencies_does_not_push_a_patients_case_off_the_first_page(app):
    patient = factories.make_user(name="Eve Routine")
    routine = make_submission(patient, "general_consult", "routine", created_at=ago(1))
    flood = [make_submission(None, "general_consult", "emergency", created_at=ago(100 - n)) for n in range(30)]
    _, browser = logged_in(app, Role.DOCTOR)

    response = browser.get("/queue/")

    assert row_ids(response) == [routine.id]
    assert "Eve Routine" in words(rows(response)[0])
    assert "1 case, most urgent first" in words(text(response))
    assert 'aria-label="Pages"' not in text(response)  # one page of patients' cases
    assert anonymous_heading(response) == "Answers not yet linked to a patient (30)"
    assert anonymous_ids(response) == [case.id for case in flood[:10]]  # oldest first, 10 a page
    assert "Page 1 of 3" in text(response)


def test_the_anonymous_section_has_its_own_pages_and_keeps_the_filters_and_the_other_page(app):
    patient = factories.make_user()
    linked = [make_submission(patient, "general_consult", "routine", created_at=ago(200 - n)) for n in range(27)]
    anonymous = [make_submission(None, "general_consult", "routine", created_at=ago(100 - n)) for n in range(12)]
    other_route = make_submission(None, "vascular_ultrasound", "routine")
    _, browser = logged_in(app, Role.DOCTOR)

    first = browser.get("/queue/?route=general_consult&page=2")
    nav = re.search(r'<nav class="week-nav" aria-label="Pages of answers not yet linked">(.*?)</nav>',
                    first.get_data(as_text=True), re.S).group(1)
    next_link = html.unescape(re.search(r'<a class="button" href="([^"]+)">Next', nav).group(1))

    assert anonymous_ids(first) == [case.id for case in anonymous[:10]]
    assert "anon_page=2" in next_link and "route=general_consult" in next_link and "page=2" in next_link
    second = browser.get(next_link)
    assert anonymous_ids(second) == [case.id for case in anonymous[10:]]
    assert row_ids(second) == [case.id for case in linked[25:]]  # the patients' list stays on its page
    assert anonymous_heading(second) == "Answers not yet linked to a patient (12)"
    assert anonymous_ids(browser.get("/queue/?anon_page=99")) == [  # past the end: the last page
        case.id for case in anonymous[10:]] + [other_route.id]
    assert anonymous_ids(browser.get("/queue/?anon_page=zero&route=general_consult")) == [
        case.id for case in anonymous[:10]]


# --- a fixed number of queries ----------------------------------------------------------------

VARIANTS = [
    answers_for("general_consult", "routine"),
    answers_for("vascular_ultrasound", "routine", rls_urge="yes", rls_rest="yes", rls_movement_relief="yes",
                rls_evening="yes"),
    answers_for("sleep_study_referral", "routine", medications=["antidepressant"]),
    answers_for("vascular_ultrasound", "urgent", pregnant="yes"),
    answers_for("general_consult", "urgent"),
    answers_for("general_consult", "emergency"),
    answers_for("vascular_ultrasound", "emergency"),
]


def bulk_cases(count: int, patients, clinician, appointment_type, *, start_index: int = 0) -> None:
    """`count` submissions in one commit, over routes, urgencies and patients (some not yet
    registered), every tenth with a booked appointment."""
    outcomes = [(answers, evaluate(answers)) for answers in VARIANTS]
    submissions = []
    for n in range(start_index, start_index + count):
        answers, outcome = outcomes[n % len(outcomes)]
        patient = patients[n % len(patients)]
        submission = TriageSubmission.from_outcome(answers, outcome, patient_id=patient.id if patient else None)
        submission.created_at = NOW - timedelta(minutes=n)
        submissions.append(submission)
    db.session.add_all(submissions)
    db.session.flush()
    slot = itertools.count()
    for submission in submissions[::10]:
        if submission.patient_id is None:
            continue
        start = NOW.replace(microsecond=0) + timedelta(days=30, hours=next(slot) + start_index)
        db.session.add(Appointment(patient_id=submission.patient_id, clinician_id=clinician.id,
                                   appointment_type_id=appointment_type.id, start_at=start,
                                   end_at=start + timedelta(minutes=30), status=AppointmentStatus.BOOKED,
                                   triage_submission_id=submission.id))
    db.session.commit()


def test_the_queue_runs_the_same_few_queries_for_10_or_1000_cases(app):
    visit = factories.make_type(Route.GENERAL_CONSULT)
    clinician = factories.make_clinician()
    patients = [factories.make_user() for _ in range(6)] + [None]
    bulk_cases(10, patients, clinician, visit)
    _, browser = logged_in(app, Role.DOCTOR)
    browser.get("/queue/")  # warm up: the first connection may ask the server about itself

    small = queries_for(browser, "/queue/")
    small_filtered = queries_for(browser, "/queue/?urgency=routine&review=unreviewed")
    fresh()
    bulk_cases(990, patients, clinician, visit, start_index=10)
    fresh()
    assert db.session.scalar(select(func.count()).select_from(TriageSubmission)) == 1000

    large = queries_for(browser, "/queue/")
    large_page = queries_for(browser, "/queue/?page=7")
    large_anonymous_page = queries_for(browser, "/queue/?anon_page=9&page=3")
    large_filtered = queries_for(browser, "/queue/?urgency=routine&review=unreviewed")

    assert len(small) == len(large) == len(large_page) == len(large_anonymous_page), (small, large)
    assert len(small_filtered) == len(large_filtered)
    # Six for the page, besides the session's own read (a BEGIN and a SELECT on a connection of its own).
    assert sum("web_session" in q for q in large) == 1 and len(large) - 2 <= 6, large
    # Every seventh case has no patient (bulk_cases): 142 of the 1000.
    page = browser.get("/queue/?page=40&anon_page=40")
    assert "Page 35 of 35" in text(page) and "858 cases" in text(page)
    assert "Booked" in text(page)
    assert anonymous_heading(page) == "Answers not yet linked to a patient (142)"
    assert "Page 15 of 15" in text(page) and len(anonymous_ids(page)) == 2


# --- the case page ----------------------------------------------------------------------------

FLAGGED = {  # female 60, probable RLS, medicines that may worsen it, augmentation, STOP-Bang 3
    "rls_urge": "yes", "rls_rest": "yes", "rls_movement_relief": "yes", "rls_evening": "yes",
    "rls_mimic": "none", "rls_frequency": "twice_weekly_or_more", "rls_impact": 2,
    "medications": ["antidepressant", "rls_dopaminergic"], "augmentation_signs": "yes",
    "snoring": "yes", "tired_daytime": "yes", "leg_signs": ["varicose_veins", "ankle_swelling"],
    "venous_symptoms": "yes", "height_cm": 165.0, "weight_kg": 70.0, "dvt_risks": ["cancer"],
}


def test_the_case_page_shows_every_answer_by_step_reasons_flags_and_appointments(app):
    scan = factories.make_type(Route.VASCULAR_ULTRASOUND, 45, "Leg vein scan")
    clinician = factories.make_clinician(name="Dr Okafor", hours=ALL_DAY)
    patient = factories.make_user(name="Cora Case")
    case = make_submission(patient, "vascular_ultrasound", "routine", **FLAGGED)
    assert {"F1", "F3", "F4", "F5", "F10"} <= set(case.outcome["flags"])
    start = factories.local(date.today() + timedelta(days=2), 9)
    book_appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=scan.id, start=start)
    fresh()
    case = stored(case.id)
    _, browser = logged_in(app, Role.DOCTOR)

    response = browser.get(f"/queue/{case.id}")

    assert response.status_code == 200
    page = text(response)
    assert "Cora Case" in page and "Routine" in page
    assert "rlsvein-1" in page
    why = words(section(response, "Why: rules that fired"))
    for rule in case.outcome["reasons"]:
        assert CLINICIAN_RULE_TEXT[rule] in why
    for flag in case.outcome["flags"]:
        assert f"{flag} {FLAG_TEXT[flag]}" in why
    assert "check ferritin and transferrin saturation" in why  # F3
    assert "do not stop without the prescriber" in why  # F4
    assert "Possible augmentation" in why  # F5
    assert "Intermediate sleep-apnea risk" in why  # F10

    answers = section(response, "Answers")
    groups = dict(re.findall(r"<h3>(.*?)</h3>(.*?)(?=<h3>|$)", answers, re.S))
    assert list(groups) == [step.title for step in STEPS]
    for step in STEPS:
        shown = words(groups[step.title])
        for qid in step.question_ids:
            question = QUESTIONS[qid]
            assert f"{question.clinician_label} {describe_answer(qid, case.answers.get(qid))}" in shown, qid
    legs = words(groups["Your legs and veins"])
    assert "Visible leg signs Varicose veins, Ankle swelling" in legs
    assert "Clot risk factors Cancer, now or treated in the last 6 months" in legs
    assert "RLS impact (0-3) 2 out of 3 (quite a lot)" in words(groups["Restless legs"])
    assert "Height 165 cm" in words(groups["Your sleep"])

    appointments = words(section(response, "Appointments"))
    assert "Leg vein scan with Dr Okafor" in appointments and "booked" in appointments
    assert when(start, short=True) in appointments


def test_the_case_page_shows_a_likely_cosmetic_flag(app):
    case = make_submission(factories.make_user(), "general_consult", "routine", leg_signs=["spider_veins"])
    _, browser = logged_in(app, Role.DOCTOR)

    why = words(section(browser.get(f"/queue/{case.id}"), "Why: rules that fired"))

    assert f"F9 {FLAG_TEXT['F9']}" in why
    assert "Likely cosmetic" in why


def test_the_case_page_of_an_emergency_stopped_early(app, client):
    client_response = client.get("/triage/step/safety")
    token = csrf_token(client_response.get_data(as_text=True))
    response = client.post("/triage/step/safety", data={"csrf_token": token, "action": "next",
                                                         "pe_symptoms": "no", "bleeding_vein": "yes",
                                                         "cold_pale_leg": "no"})
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    _, browser = logged_in(app, Role.DOCTOR)

    page = browser.get(f"/queue/{case_id}")

    assert page.status_code == 200
    assert "Not registered yet" in text(page)
    assert "stopped at the emergency questions" in text(page)
    assert "Emergency" in text(page)
    assert CLINICIAN_RULE_TEXT["E2"] in text(page)
    assert "Bleeding leg vein Yes" in words(section(page, "Answers"))
    assert "Age Not answered" in words(section(page, "Answers"))
    queue = browser.get("/queue/")
    assert row_ids(queue) == [] and anonymous_ids(queue) == [case_id]


# --- reviewing --------------------------------------------------------------------------------

def raw_stored(submission_id: int):
    fresh()
    return db.session.execute(sql("SELECT answers, outcome, rules_version, route, urgency, urgency_rank, "
                                  "complete, created_at FROM triage_submission WHERE id = :id"),
                              {"id": submission_id}).one()


def test_a_doctor_marks_a_case_reviewed(app):
    case = make_submission(factories.make_user(), "vascular_ultrasound", "routine")
    before = raw_stored(case.id)
    doctor, browser = logged_in(app, Role.DOCTOR, name="Dr Reviewer")

    response = submit(browser, f"/queue/{case.id}", {"new_route": "", "reason": ""})

    assert location(response) == f"/queue/{case.id}"
    [review] = reviews()
    assert (review.action, review.reviewer_id, review.submission_id) == ("reviewed", doctor.id, case.id)
    assert review.old_route is None and review.new_route is None
    assert stored(case.id).review_state == "reviewed"
    assert stored(case.id).current_route == "vascular_ultrasound"
    assert raw_stored(case.id) == before
    page = browser.get(f"/queue/{case.id}")
    assert "Your review is saved." in text(page)
    history = words(section(page, "Review"))
    assert "Dr Reviewer marked it reviewed" in history
    assert when(review.created_at, short=True) in history
    assert row_ids(browser.get("/queue/?review=reviewed")) == [case.id]


def test_keeping_the_route_with_a_note_marks_it_reviewed_with_the_note(app):
    case = make_submission(factories.make_user(), "general_consult", "routine")
    _, browser = logged_in(app, Role.DOCTOR, name="Dr Noter")

    submit(browser, f"/queue/{case.id}", {"new_route": "general_consult", "reason": "Fine as it is"})

    [review] = reviews()
    assert review.action == "reviewed" and review.reason == "Fine as it is"
    assert "Dr Noter marked it reviewed: “Fine as it is”" in words(section(browser.get(f"/queue/{case.id}"),
                                                                             "Review"))


@pytest.mark.parametrize("reason", ["", "   \n  "])
def test_changing_the_route_without_a_reason_is_refused_and_changes_nothing(app, reason):
    case = make_submission(factories.make_user(), "vascular_ultrasound", "routine")
    before = raw_stored(case.id)
    _, browser = logged_in(app, Role.DOCTOR)

    response = submit(browser, f"/queue/{case.id}", {"new_route": "general_consult", "reason": reason})

    assert response.status_code == 400
    assert "Please give the reason for changing the route." in text(response)
    assert reviews() == []
    after = stored(case.id)
    assert (after.current_route, after.review_state) == ("vascular_ultrasound", "unreviewed")
    assert raw_stored(case.id) == before


@pytest.mark.parametrize("fields, status", [
    ({"new_route": "brain_surgery", "reason": "why not"}, 400),
    ({"new_route": "general_consult", "reason": "x" * 2001}, 400),
])
def test_a_bad_review_form_changes_nothing(app, fields, status):
    case = make_submission(factories.make_user(), "vascular_ultrasound", "routine")
    _, browser = logged_in(app, Role.DOCTOR)

    response = submit(browser, f"/queue/{case.id}", fields)

    assert response.status_code == status
    assert reviews() == []
    assert stored(case.id).current_route == "vascular_ultrasound"


def test_a_review_without_a_csrf_token_changes_nothing(app):
    case = make_submission(factories.make_user(), "vascular_ultrasound", "routine")
    _, browser = logged_in(app, Role.DOCTOR)

    response = browser.post(f"/queue/{case.id}", data={"new_route": "general_consult", "reason": "Because"})

    assert response.status_code == 400
    assert reviews() == []
    assert stored(case.id).current_route == "vascular_ultrasound"


def test_a_route_change_is_kept_as_history_and_the_patient_books_the_new_route(app):
    types = {route: factories.make_type(route, 30, name) for route, name in [
        (Route.VASCULAR_ULTRASOUND, "Leg vein scan"), (Route.SLEEP_STUDY_REFERRAL, "Sleep assessment"),
        (Route.GENERAL_CONSULT, "General consultation")]}
    factories.make_clinician()
    patient = factories.make_user()
    patient_email = patient.email
    case = make_submission(patient, "vascular_ultrasound", "routine")
    before = raw_stored(case.id)
    answers_before, outcome_before = dict(case.answers), dict(case.outcome)
    patient_browser = app.test_client()
    AuthActions(patient_browser).login(patient_email)
    assert "Leg vein scan" in text(patient_browser.get("/book/"))
    doctor, browser = logged_in(app, Role.DOCTOR, name="Dr Changer")

    response = submit(browser, f"/queue/{case.id}",
                      {"new_route": "sleep_study_referral", "reason": "Snoring is the main complaint"})

    assert location(response) == f"/queue/{case.id}"
    [review] = reviews()
    assert (review.action, review.old_route, review.new_route) == (
        "route_changed", "vascular_ultrasound", "sleep_study_referral")
    assert review.reason == "Snoring is the main complaint" and review.reviewer_id == doctor.id
    after = stored(case.id)
    assert (after.current_route, after.review_state) == ("sleep_study_referral", "reviewed")
    assert (after.route, after.urgency) == ("vascular_ultrasound", "routine")  # what triage gave stays
    assert after.answers == answers_before and after.outcome == outcome_before
    assert raw_stored(case.id) == before  # the stored JSON itself is untouched

    page = browser.get(f"/queue/{case.id}")
    history = words(section(page, "Review"))
    assert ("Dr Changer changed the route from Vascular ultrasound to Sleep study referral: "
            "“Snoring is the main complaint”") in history
    assert when(review.created_at, short=True) in history
    assert "Sleep study referral (triage gave Vascular ultrasound)" in words(text(page))

    # A second change goes on the history after the first.
    submit(browser, f"/queue/{case.id}", {"new_route": "general_consult", "reason": "Discussed by phone"})
    history = words(section(browser.get(f"/queue/{case.id}"), "Review"))
    assert history.index("to Sleep study referral") < history.index(
        "from Sleep study referral to General consult: “Discussed by phone”")
    assert [r.action for r in reviews()] == ["route_changed", "route_changed"]
    assert raw_stored(case.id) == before

    book = text(patient_browser.get("/book/"))
    assert "Your visit: General consultation" in book
    assert types[Route.VASCULAR_ULTRASOUND].name not in book
    assert "Sleep assessment" not in book
