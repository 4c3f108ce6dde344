"""What the doctors' queue reads: one page of patients' cases and one of answers no patient has yet
confirmed as theirs, each most urgent first, then oldest, with how many of each match the filters.

Apart from the view so that it takes plain values (the filters, the page numbers, the day) and gives
plain values back (QueueCase rows in a CaseList), and is tested without a page
(tests/db/test_queue_cases.py). Three statements whatever the number of cases: the totals, then a
page of each list."""
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from sqlalchemy import Select, bindparam, exists, func, null, select

from portal.auth.models import User
from portal.booking.models import ACTIVE_STATUSES, Appointment
from portal.extensions import db
from portal.triage.models import AnswerChannel, TriageSubmission, case_age, emergency_open
from portal.triage.vocabulary import Urgency

PAGE_SIZE = 25
ANONYMOUS_PAGE_SIZE = 10  # a short list: these are seen, but never crowd out patients' cases
# Most urgent first, then oldest, then id: the order of the queue's index (migration 0011).
MOST_URGENT_THEN_OLDEST = (TriageSubmission.urgency_rank.desc(), TriageSubmission.created_at, TriageSubmission.id)
# The filters, each on its column: urgency by its rank, the queue index's first column, so a
# filtered page goes straight to that urgency's cases.
FILTER_COLUMNS = {"route": TriageSubmission.current_route, "urgency_rank": TriageSubmission.urgency_rank,
                  "review_state": TriageSubmission.review_state}


@dataclass(frozen=True)
class QueueFilters:
    """The cases to list; None is every case. Values are the vocabulary's strings (Route, Urgency,
    ReviewState); the view has already refused any other."""

    route: str | None = None  # the current route, as a review may have changed it
    urgency: str | None = None
    review_state: str | None = None

    def parameters(self) -> dict[str, str | int]:
        """The filters given, under their names in FILTER_COLUMNS."""
        given = {"route": self.route, "urgency_rank": Urgency(self.urgency).rank if self.urgency else None,
                 "review_state": self.review_state}
        return {name: value for name, value in given.items() if value is not None}


@dataclass(frozen=True, slots=True)
class QueueCase:
    """What one row of the queue shows, read as columns: not a TriageSubmission with all its
    answers, its patient's whole account and a TriageOutcome rebuilt for it."""

    id: int
    urgency: str
    patient_name: str | None  # None: no patient has confirmed these answers as theirs yet
    age: int | None
    route: str
    current_route: str
    route_provisional: bool
    booked: bool | None  # None where there can be no appointment (no account yet)
    emergency_open: bool
    review_state: str
    created_at: datetime
    reasons: list[str]
    flags: list[str]
    by_phone: bool = False  # answered by the desk by phone with the caller, not online


@dataclass(frozen=True)
class CaseList:
    """One page of one of the queue's lists, and where it stands among that list's pages."""

    cases: list[QueueCase]
    total: int  # how many cases match the filters, on every page
    page: int  # the page shown: the one asked for, or the nearest there is (1 when asked below 1)
    pages: int  # at least 1, even for no case


@dataclass(frozen=True)
class TriageQueue:
    patients: CaseList  # patients' cases
    anonymous: CaseList  # answers not yet linked to a patient, with pages of their own


def read_queue(filters: QueueFilters, *, page: int = 1, anonymous_page: int = 1, today: date) -> TriageQueue:
    """Both lists of the queue for `filters`, at the pages asked, ages counted on `today` (the
    clinic's day). A page that is not there now (below 1, past the last) gives the nearest one;
    CaseList.page says which, so the page can say so."""
    parameters = filters.parameters()
    total, anonymous_total = _totals([FILTER_COLUMNS[name] == value for name, value in parameters.items()],
                                     filters_need_rows=bool(filters.route or filters.review_state))
    cases_statement, anonymous_statement = _page_statements(frozenset(parameters))
    return TriageQueue(
        patients=_case_list(cases_statement, parameters, total, page, PAGE_SIZE, today),
        anonymous=_case_list(anonymous_statement, parameters, anonymous_total, anonymous_page,
                             ANONYMOUS_PAGE_SIZE, today))


def _case_list(statement: Select, parameters: dict, total: int, asked: int, page_size: int,
               today: date) -> CaseList:
    pages = max(1, -(-total // page_size))
    page = min(max(asked, 1), pages)
    return CaseList(cases=_cases(statement, parameters, page=page, page_size=page_size, today=today),
                    total=total, page=page, pages=pages)


def _totals(conditions: list, *, filters_need_rows: bool) -> tuple[int, int]:
    """How many patients' cases and how many answers not yet linked to a patient match the filters.

    With no filter but urgency, every case is counted in the queue's index and those without a
    patient in the index on patient_id, so no whole table need be read (measured in
    bench/README.md). A filter on route or review (`filters_need_rows`) is answered from the rows,
    read once for both numbers."""
    if not filters_need_rows:
        everything = select(func.count()).select_from(TriageSubmission).where(*conditions).scalar_subquery()
        anonymous = (select(func.count()).select_from(TriageSubmission)
                     .where(TriageSubmission.patient_id.is_(None), *conditions).scalar_subquery())
        everything, anonymous = db.session.execute(select(everything, anonymous)).one()
        return everything - anonymous, anonymous
    # count(patient_id) counts only the linked ones.
    everything, linked = db.session.execute(
        select(func.count(TriageSubmission.id), func.count(TriageSubmission.patient_id)).where(*conditions)).one()
    return linked, everything - linked


@cache
def _page_statements(filters: frozenset[str]) -> tuple[Select, Select]:
    """A page of patients' cases and a page of answers not yet linked, for one set of filters
    (keys of FILTER_COLUMNS), with the filters' values, LIMIT and OFFSET as parameters: built once
    for each of the eight sets, as building them and their cache keys anew cost each request
    (measured in bench/README.md)."""
    conditions = [column == bindparam(name) for name, column in FILTER_COLUMNS.items() if name in filters]
    booked = exists().where(Appointment.triage_submission_id == TriageSubmission.id,
                            Appointment.status.in_(ACTIVE_STATUSES))
    # No account, so no appointment to look for.
    return (_page_of_cases([TriageSubmission.patient_id.is_not(None), *conditions], booked),
            _page_of_cases([TriageSubmission.patient_id.is_(None), *conditions], null()))


def _page_of_cases(conditions: list, booked) -> Select:
    """One page of cases in the queue's order (LIMIT and OFFSET as parameters), with `booked` for
    each. The page's ids are found first and only their rows read, as the columns a row shows:
    asked of every case before the LIMIT, PostgreSQL hashed every active appointment to say
    whether each is booked, and SQLite sorted the whole rows, answers and all, of every case
    without a patient (measured in bench/README.md)."""
    page_ids = (select(TriageSubmission.id).where(*conditions).order_by(*MOST_URGENT_THEN_OLDEST)
                .limit(bindparam("limit")).offset(bindparam("offset")).subquery())
    return (select(TriageSubmission.id, TriageSubmission.urgency, TriageSubmission.route,
                   TriageSubmission.current_route, TriageSubmission.route_provisional,
                   TriageSubmission.emergency_cleared_at, TriageSubmission.review_state, TriageSubmission.created_at,
                   TriageSubmission.outcome, TriageSubmission.answers["age"].label("answered_age"), User.name,
                   User.date_of_birth, TriageSubmission.channel, booked.label("booked"))
            .join(page_ids, page_ids.c.id == TriageSubmission.id)
            .outerjoin(User, User.id == TriageSubmission.patient_id)
            .order_by(*MOST_URGENT_THEN_OLDEST))


def _cases(statement: Select, parameters: dict, *, page: int, page_size: int, today: date) -> list[QueueCase]:
    """One page of `statement`'s cases, as the rows show them."""
    rows = db.session.execute(statement, {**parameters, "limit": page_size, "offset": (page - 1) * page_size})
    return [QueueCase(id=row.id, urgency=row.urgency, patient_name=row.name,
                      age=case_age(row.date_of_birth, row.answered_age, today),
                      route=row.route, current_route=row.current_route, route_provisional=row.route_provisional,
                      booked=row.booked, review_state=row.review_state, created_at=row.created_at,
                      emergency_open=emergency_open(row.urgency, row.emergency_cleared_at),
                      reasons=row.outcome.get("reasons", []), flags=row.outcome.get("flags", []),
                      by_phone=row.channel == AnswerChannel.DESK_PHONE)
            for row in rows]
