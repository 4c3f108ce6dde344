"""The doctors' room: the queue of triaged cases, most urgent first, and each case's page (case_views.py),
all the queue's addresses in this file. The queue's reading is in cases.py; here the address is
parsed, what it asked that the queue cannot show is said, and the page rendered."""
from flask import Blueprint, flash, render_template, request

from portal import clinic
from portal.auth.guards import roles_required
from portal.auth.models import Role
from portal.queue import case_views
from portal.queue.cases import CaseList, QueueFilters, read_queue
from portal.triage.models import ReviewState
from portal.triage.rules import CLINICIAN_RULE_TEXT, FLAG_TEXT
from portal.triage.vocabulary import ROUTE_LABELS, Route, Urgency

bp = Blueprint("queue", __name__, url_prefix="/queue")


def _filter_value(name: str, allowed) -> str | None:
    """One filter of the address, or None; one the queue does not know is said so, not ignored."""
    value = request.args.get(name, "")
    if value and value not in allowed:
        flash(f"The {name} filter “{value[:40]}” was not understood, so it is not applied.", "warning")
    return value if value in allowed else None


def _page_number(name: str) -> int | None:
    """The page of a list the address asks for (1 when it asks none), or None when it is not a number."""
    try:
        return int(request.args.get(name) or 1)
    except ValueError:
        return None


def _say_if_not_as_asked(name: str, asked: int | None, shown: CaseList) -> None:
    """A page the list cannot show (an old bookmark after cases were reviewed, a mistyped address)
    is said so, not silently replaced."""
    if asked is None:
        flash(f"The page “{request.args[name][:20]}” was not understood, so here is the first page.", "warning")
    elif asked != shown.page:
        flash(f"There is no page {asked} of this list now, so here is page {shown.page} of {shown.pages}.",
              "warning")


@bp.get("/")
@roles_required(Role.DOCTOR)
def queue():
    """Patients' cases, and below them answers no patient has yet confirmed as theirs, each with
    its own pages, so a flood of anonymous answers cannot push patients' cases off the first page.
    Four queries whatever the number of cases: the doctor's own account and read_queue's three."""
    filters = QueueFilters(route=_filter_value("route", set(Route)), urgency=_filter_value("urgency", set(Urgency)),
                           review_state=_filter_value("review", set(ReviewState)))
    page, anonymous_page = _page_number("page"), _page_number("anon_page")
    found = read_queue(filters, page=page or 1, anonymous_page=anonymous_page or 1, today=clinic.today())
    patients, anonymous = found.patients, found.anonymous
    _say_if_not_as_asked("page", page, patients)
    _say_if_not_as_asked("anon_page", anonymous_page, anonymous)
    shown = {"route": filters.route or "", "urgency": filters.urgency or "", "review": filters.review_state or ""}
    return render_template("queue/queue.html", cases=patients.cases, total=patients.total, page=patients.page,
                           pages=patients.pages, anonymous_cases=anonymous.cases, anonymous_total=anonymous.total,
                           anonymous_page=anonymous.page, anonymous_pages=anonymous.pages, filters=shown,
                           route_labels=ROUTE_LABELS, rule_text=CLINICIAN_RULE_TEXT, flag_text=FLAG_TEXT)


# A case's page, and the doctor's records on it.
bp.add_url_rule("/<int:submission_id>", view_func=case_views.case, methods=["GET", "POST"])
bp.add_url_rule("/<int:submission_id>/emergency", view_func=case_views.emergency_dealt_with, methods=["POST"])
