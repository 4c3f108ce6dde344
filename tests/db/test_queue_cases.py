"""The doctors' queue as portal/queue/cases.py reads it, called directly (no page, no login), on
SQLite and PostgreSQL: most urgent first, then oldest, then id; each filter on both lists; the
totals in both of their forms (from the indexes with no filter but urgency, from the rows with a
route or review filter); the pages' edges; and three statements however many cases there are.

The module takes page numbers as integers: one below 1 gives the first page, one past the end the
last, and CaseList.page says which was shown. Text that is not a number never reaches it (the view
says so and asks for page 1: tests/app/test_address_notices.py)."""
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event

from portal.auth.models import Role
from portal.booking.models import Appointment, AppointmentStatus
from portal.extensions import db
from portal.queue.cases import ANONYMOUS_PAGE_SIZE, PAGE_SIZE, CaseList, QueueFilters, read_queue
from portal.triage.service import record_review
from tests import factories
from tests.factories import make_submission

NOW = datetime.now(UTC)
TODAY = date(2030, 6, 1)  # the factories' patients were born on 1 January 1960: 70 on this day


def ago(minutes: int) -> datetime:
    return NOW - timedelta(minutes=minutes)


def ids(listing: CaseList) -> list[int]:
    return [case.id for case in listing.cases]


def read(filters: QueueFilters | None = None, **pages):
    db.session.rollback()  # a fresh read transaction, as each request has
    return read_queue(filters or QueueFilters(), today=TODAY, **pages)


# --- order ------------------------------------------------------------------------------------

def test_most_urgent_first_then_oldest_then_by_id_in_both_lists(app):
    patient = factories.make_user()
    routine_old = make_submission(patient, created_at=ago(500))
    urgent_new = make_submission(patient, "vascular_ultrasound", "urgent", created_at=ago(10))
    emergency_new = make_submission(patient, "general_consult", "emergency", created_at=ago(5))
    urgent_old = make_submission(patient, "general_consult", "urgent", created_at=ago(300))
    emergency_old = make_submission(patient, "vascular_ultrasound", "emergency", created_at=ago(400))
    same_time = [make_submission(patient, "sleep_study_referral", "routine", created_at=ago(1)) for _ in range(2)]
    anonymous_routine = make_submission(None, created_at=ago(600))
    anonymous_emergency = make_submission(None, "general_consult", "emergency", created_at=ago(2))
    anonymous_urgent = make_submission(None, "vascular_ultrasound", "urgent", created_at=ago(3))

    queue = read()

    assert ids(queue.patients) == [emergency_old.id, emergency_new.id, urgent_old.id, urgent_new.id,
                                   routine_old.id, *sorted(case.id for case in same_time)]
    assert ids(queue.anonymous) == [anonymous_emergency.id, anonymous_urgent.id, anonymous_routine.id]


# --- what a row says --------------------------------------------------------------------------

def test_a_row_says_who_how_old_which_route_whether_booked_and_why(app):
    visit = factories.make_type()
    clinician = factories.make_clinician()
    booked_patient, waiting_patient = factories.make_user(name="Alma Booked"), factories.make_user(name="Ben Waiting")
    booked = make_submission(booked_patient, "vascular_ultrasound", "routine", created_at=ago(30),
                             leg_signs=["varicose_veins"], venous_symptoms="yes")
    cancelled = make_submission(waiting_patient, "general_consult", "routine", created_at=ago(20),
                                medications=["antihistamine"])
    emergency = make_submission(waiting_patient, "general_consult", "emergency", created_at=ago(10))
    anonymous = make_submission(None, created_at=ago(5), age=34)
    for case, status in [(booked, AppointmentStatus.BOOKED), (cancelled, AppointmentStatus.CANCELLED)]:
        db.session.add(Appointment(patient_id=case.patient_id, clinician_id=clinician.id, appointment_type_id=visit.id,
                                   start_at=NOW + timedelta(days=2), end_at=NOW + timedelta(days=2, minutes=30),
                                   status=status, triage_submission_id=case.id))
    db.session.commit()
    expected = {case.id: (case.outcome["reasons"], case.outcome["flags"], case.created_at)
                for case in (booked, cancelled, emergency, anonymous)}

    queue = read()

    rows = {case.id: case for case in [*queue.patients.cases, *queue.anonymous.cases]}
    assert [rows[booked.id].patient_name, rows[booked.id].age, rows[booked.id].booked] == ["Alma Booked", 70, True]
    assert (rows[booked.id].route, rows[booked.id].current_route) == ("vascular_ultrasound", "vascular_ultrasound")
    assert rows[cancelled.id].booked is False  # a cancelled visit does not count
    assert rows[emergency.id].emergency_open and rows[emergency.id].urgency == "emergency"
    assert not rows[cancelled.id].emergency_open
    assert (rows[anonymous.id].patient_name, rows[anonymous.id].age, rows[anonymous.id].booked) == (None, 34, None)
    assert {row.review_state for row in rows.values()} == {"unreviewed"}
    for case_id, (reasons, flags, created_at) in expected.items():
        assert (rows[case_id].reasons, rows[case_id].flags, rows[case_id].created_at) == (reasons, flags, created_at)


# --- filters and totals -----------------------------------------------------------------------

def make_mixed_cases(doctor) -> dict[str, int]:
    """Seven cases over routes, urgencies and review states (one a route changed at review by
    `doctor`), one not yet linked to a patient; by name, their ids. The queue's page tests use them too."""
    patient = factories.make_user()
    cases = {
        "vu-routine": make_submission(patient, "vascular_ultrasound", "routine", created_at=ago(70)),
        "vu-urgent": make_submission(patient, "vascular_ultrasound", "urgent", created_at=ago(60)),
        "vu-emergency": make_submission(patient, "vascular_ultrasound", "emergency", created_at=ago(50)),
        "ss-routine": make_submission(patient, "sleep_study_referral", "routine", created_at=ago(40)),
        "gc-routine": make_submission(patient, "general_consult", "routine", created_at=ago(30)),
        "gc-urgent": make_submission(patient, "general_consult", "urgent", created_at=ago(20)),
        "gc-emergency": make_submission(None, "general_consult", "emergency", created_at=ago(10)),
    }
    ids_by_name = {name: case.id for name, case in cases.items()}
    db.session.rollback()
    record_review(ids_by_name["vu-routine"], doctor=doctor)
    record_review(ids_by_name["gc-urgent"], doctor=doctor)
    record_review(ids_by_name["ss-routine"], doctor=doctor, new_route="general_consult", reason="Snores only")
    return ids_by_name


@pytest.fixture
def mixed(app):
    return make_mixed_cases(factories.make_user(role=Role.DOCTOR))


EVERY_CASE = ["vu-emergency", "gc-emergency", "vu-urgent", "gc-urgent", "vu-routine", "ss-routine", "gc-routine"]


@pytest.mark.parametrize("filters, expected", [
    (QueueFilters(), EVERY_CASE),
    (QueueFilters(route="vascular_ultrasound"), ["vu-emergency", "vu-urgent", "vu-routine"]),
    (QueueFilters(route="general_consult"), ["gc-emergency", "gc-urgent", "ss-routine", "gc-routine"]),  # current
    (QueueFilters(route="sleep_study_referral"), []),
    (QueueFilters(urgency="emergency"), ["vu-emergency", "gc-emergency"]),
    (QueueFilters(urgency="urgent"), ["vu-urgent", "gc-urgent"]),
    (QueueFilters(urgency="routine"), ["vu-routine", "ss-routine", "gc-routine"]),
    (QueueFilters(review_state="reviewed"), ["gc-urgent", "vu-routine", "ss-routine"]),
    (QueueFilters(review_state="unreviewed"), ["vu-emergency", "gc-emergency", "vu-urgent", "gc-routine"]),
    (QueueFilters(route="vascular_ultrasound", review_state="unreviewed"), ["vu-emergency", "vu-urgent"]),
    (QueueFilters(urgency="emergency", review_state="unreviewed"), ["vu-emergency", "gc-emergency"]),
    (QueueFilters(route="general_consult", urgency="routine", review_state="reviewed"), ["ss-routine"]),
])
def test_each_filter_chooses_from_both_lists_and_the_totals_count_what_it_chose(mixed, filters, expected):
    """With no filter, or urgency alone, the totals come from the indexes; with a route or review
    filter, from the rows: both forms count the same cases."""
    anonymous = {"gc-emergency"}

    queue = read(filters)

    assert ids(queue.patients) == [mixed[name] for name in expected if name not in anonymous]
    assert ids(queue.anonymous) == [mixed[name] for name in expected if name in anonymous]
    assert queue.patients.total == len([name for name in expected if name not in anonymous])
    assert queue.anonymous.total == len([name for name in expected if name in anonymous])
    assert (queue.patients.page, queue.patients.pages, queue.anonymous.page, queue.anonymous.pages) == (1, 1, 1, 1)


def test_the_filters_as_parameters_urgency_by_its_rank():
    assert QueueFilters().parameters() == {}
    assert QueueFilters(route="general_consult", urgency="emergency", review_state="reviewed").parameters() == {
        "route": "general_consult", "urgency_rank": 2, "review_state": "reviewed"}
    assert QueueFilters(urgency="routine").parameters() == {"urgency_rank": 0}


# --- pages ------------------------------------------------------------------------------------

def test_an_empty_queue_is_one_empty_page_whatever_page_is_asked(app):
    for page in (1, 0, 2, 99):
        queue = read(page=page, anonymous_page=page)
        for listing in (queue.patients, queue.anonymous):
            assert (listing.cases, listing.total, listing.page, listing.pages) == ([], 0, 1, 1)


@pytest.fixture
def long_queue(app):
    """PAGE_SIZE + 5 patients' cases and ANONYMOUS_PAGE_SIZE + 2 answers not yet linked, oldest first."""
    patient = factories.make_user()
    linked = [make_submission(patient, created_at=ago(1000 - n)).id for n in range(PAGE_SIZE + 5)]
    anonymous = [make_submission(None, created_at=ago(500 - n)).id for n in range(ANONYMOUS_PAGE_SIZE + 2)]
    return linked, anonymous


@pytest.mark.parametrize("asked, shown", [(1, 1), (2, 2), (0, 1), (-3, 1), (3, 2), (99, 2), (10 ** 40, 2)])
def test_a_page_not_there_gives_the_nearest_one_and_says_which(long_queue, asked, shown):
    linked, anonymous = long_queue

    queue = read(page=asked, anonymous_page=asked)

    assert (queue.patients.page, queue.patients.pages, queue.patients.total) == (shown, 2, PAGE_SIZE + 5)
    assert ids(queue.patients) == linked[(shown - 1) * PAGE_SIZE:shown * PAGE_SIZE]
    assert (queue.anonymous.page, queue.anonymous.pages, queue.anonymous.total) == (shown, 2, ANONYMOUS_PAGE_SIZE + 2)
    assert ids(queue.anonymous) == anonymous[(shown - 1) * ANONYMOUS_PAGE_SIZE:shown * ANONYMOUS_PAGE_SIZE]


def test_each_list_keeps_its_own_page(long_queue):
    linked, anonymous = long_queue

    queue = read(page=2, anonymous_page=1)

    assert ids(queue.patients) == linked[PAGE_SIZE:] and queue.patients.page == 2
    assert ids(queue.anonymous) == anonymous[:ANONYMOUS_PAGE_SIZE] and queue.anonymous.page == 1


@pytest.mark.parametrize("count, pages", [(PAGE_SIZE - 1, 1), (PAGE_SIZE, 1), (PAGE_SIZE + 1, 2), (2 * PAGE_SIZE, 2)])
def test_pages_are_counted_to_the_last_case(app, count, pages):
    patient = factories.make_user()
    for n in range(count):
        make_submission(patient, created_at=ago(n))

    last = read(page=pages).patients

    assert (last.total, last.pages, last.page) == (count, pages, pages)
    assert len(last.cases) == count - (pages - 1) * PAGE_SIZE


def test_a_filtered_list_has_the_pages_of_what_the_filter_chose(long_queue):
    linked, _ = long_queue
    make_submission(factories.make_user(), "vascular_ultrasound", "urgent", created_at=ago(1))

    routine = read(QueueFilters(urgency="routine"), page=2).patients
    urgent = read(QueueFilters(urgency="urgent"), page=2).patients

    assert (routine.total, routine.pages, ids(routine)) == (PAGE_SIZE + 5, 2, linked[PAGE_SIZE:])
    assert (urgent.total, urgent.pages, urgent.page, len(urgent.cases)) == (1, 1, 1, 1)


# --- a fixed number of statements -------------------------------------------------------------

def statements_of(call) -> list[str]:
    sent = []

    def keep(_connection, _cursor, statement, *_):
        sent.append(statement)

    db.session.rollback()
    db.session.connection()  # the transaction's own BEGIN is not the queue's
    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    return sent


@pytest.mark.parametrize("filters", [QueueFilters(), QueueFilters(urgency="routine", review_state="unreviewed")])
def test_three_statements_however_many_cases(long_queue, filters):
    few = statements_of(lambda: read_queue(filters, today=TODAY))
    patient = factories.make_user()
    for n in range(40):
        make_submission(patient if n % 3 else None, created_at=ago(2000 + n))

    many = statements_of(lambda: read_queue(filters, page=2, anonymous_page=3, today=TODAY))

    assert len(few) == len(many) == 3, many
