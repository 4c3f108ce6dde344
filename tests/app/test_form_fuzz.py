"""Every form of the portal, posted random and hostile values (issue 10, OWASP ASVS 5.1).

The forms are found, not listed: each role (a visitor, a patient, the desk, a doctor, an admin)
walks every page of the url_map and the links on them, and every <form> on those pages is read
for its action and fields. Each form is then sent values a browser would never send (huge
strings, control characters and NUL bytes, far dates, wrong types, missing and repeated fields,
SQL and HTML/JS, percent-encoded bytes that are not UTF-8) with the page's real CSRF token, and:
- no answer is a 5xx;
- a refused post (a 4xx, or the form shown again with its errors) and any GET form changed no
  row of any table: only an accepted post may write. What a refused post may still write, on
  purpose: the server-side session; audit rows for reading patient data and for failed logins;
  the account's failed-login counter (ASVS 2.2.1).

FUZZ_EXAMPLES sets the examples per form (default 12, enough to run in CI in about a minute);
run with FUZZ_EXAMPLES=200 for a deeper search.
"""
import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from html.parser import HTMLParser
from urllib.parse import quote_plus, urljoin, urlsplit

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from werkzeug.exceptions import HTTPException

from portal.access import who_may_use
from portal.audit.models import AuditAction, AuditEvent
from portal.auth.models import Role, User
from portal.booking.models import Appointment, AppointmentStatus, Route
from portal.booking.service import BookingPolicy, book_appointment
from portal.extensions import db
from portal.notify.feeds import set_feed
from portal.notify.models import MessageStatus, OutboxMessage
from portal.triage.questions import STEPS
from tests import factories
from tests.client import CSRF_PATTERN, AuthActions, submit
from tests.factories import local

EXAMPLES_PER_FORM = int(os.environ.get("FUZZ_EXAMPLES", "12"))
ROLES = ["anonymous", Role.PATIENT, Role.DESK, Role.DOCTOR, Role.ADMIN]

# The walk: how many pages in all, and how many of one endpoint (a week of slots has many links).
MAX_PAGES = 150
PAGES_PER_ENDPOINT = 3
NOT_WALKED = {
    "static", "pages.healthz",  # no forms
    "notify.feed", "notify.appointment_ics",  # calendar files
}
NOT_FUZZED = {
    # Logging out ends the walk (its CSRF check is tested with the login pages).
    "auth.logout",
}

# What a refused post may still write.
READING_AUDITED = {AuditAction.PATIENT_RECORD_VIEWED, AuditAction.PATIENT_BOOKING_VIEWED,
                   AuditAction.PATIENT_SEARCHED, AuditAction.AUDIT_LOG_VIEWED, AuditAction.TRIAGE_VIEWED,
                   AuditAction.LOGIN_FAILED, AuditAction.LOCKED}
NOT_COMPARED_TABLES = {"web_session", "audit_event"}  # the session; audit rows are checked by kind instead
NOT_COMPARED_COLUMNS = {"user_account": {"failed_login_count", "failed_login_since", "locked_until",
                                         "known_device_failed_count", "known_device_failed_since",
                                         "known_device_locked_until"}}


# -- finding the forms --------------------------------------------------------------------------

@dataclass
class Field:
    name: str
    kind: str  # the input type, or select, textarea, button
    value: str | None = None  # what a browser would send untouched (None: nothing)
    options: list[str] = field(default_factory=list)  # select options, radio and checkbox values, buttons


@dataclass
class Form:
    page: str  # the page it was found on
    method: str
    action: str
    fields: dict[str, Field]

    def describe(self) -> str:
        return f"{self.method.upper()} {self.action} (found on {self.page}; fields {sorted(self.fields)})"


class _PageReader(HTMLParser):
    """The forms and links of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[dict, list[Field]]] = []
        self.links: list[str] = []
        self._form: list[Field] | None = None
        self._select: Field | None = None
        self._option: dict | None = None
        self._textarea: Field | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        elif tag == "form":
            self._form = []
            self.forms.append((attributes, self._form))
        elif self._form is None or not attributes.get("name") and tag != "option":
            return
        elif tag == "input":
            kind = attributes.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                self._form.append(Field(attributes["name"], "button", None, [attributes.get("value", "")]))
            elif kind in ("radio", "checkbox"):
                checked = "checked" in attributes
                self._form.append(Field(attributes["name"], kind, attributes.get("value", "on") if checked else None,
                                        [attributes.get("value", "on")]))
            else:
                self._form.append(Field(attributes["name"], kind, attributes.get("value", "")))
        elif tag == "button":
            self._form.append(Field(attributes["name"], "button", None, [attributes.get("value", "")]))
        elif tag == "select":
            self._select = Field(attributes["name"], "select")
            self._form.append(self._select)
        elif tag == "option" and self._select is not None:
            self._option = {"value": attributes.get("value"), "selected": "selected" in attributes, "text": ""}
        elif tag == "textarea":
            self._textarea = Field(attributes["name"], "textarea", "")
            self._form.append(self._textarea)

    def handle_data(self, data):
        if self._option is not None:
            self._option["text"] += data
        elif self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "option" and self._option is not None and self._select is not None:
            value = self._option["value"] if self._option["value"] is not None else self._option["text"].strip()
            self._select.options.append(value)
            if self._option["selected"] or self._select.value is None:
                self._select.value = value
            self._option = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def read_page(url: str, html: str) -> tuple[list[Form], list[str]]:
    reader = _PageReader()
    reader.feed(html)
    forms = []
    for attributes, found in reader.forms:
        fields: dict[str, Field] = {}
        for one in found:
            if one.name not in fields:
                fields[one.name] = one
                continue
            known = fields[one.name]  # radios, checkboxes and buttons of one name: one field, many values
            known.options.extend(one.options)
            if known.value is None:
                known.value = one.value
        for one in fields.values():
            if one.kind == "radio" and one.value is None and one.options:
                one.value = one.options[-1]  # the last is the calm answer of most questions ("no")
        action = urljoin(url, attributes.get("action") or url).split("#")[0]
        forms.append(Form(page=url, method=(attributes.get("method") or "get").lower(), action=action,
                          fields=fields))
    links = [urljoin(url, href).split("#")[0] for href in reader.links]
    return forms, links


def endpoint_of(app, url: str, method: str) -> str | None:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        return None
    try:
        endpoint, _ = app.url_map.bind("localhost").match(parts.path, method=method)
    except HTTPException:  # no page there, or only a redirect to one (RequestRedirect)
        return None
    return endpoint


def first_urls(app, values: dict) -> list[str]:
    """Every GET page of the url_map, with arguments from the world (each step of the triage)."""
    from flask import url_for

    urls = []
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
            if "GET" not in rule.methods or rule.endpoint in NOT_WALKED:
                continue
            if "step_id" in rule.arguments:  # the patient's questionnaire, and the desk's on the phone
                others = {argument: values[argument] for argument in rule.arguments if argument != "step_id"}
                if all(argument in values for argument in rule.arguments if argument != "step_id"):
                    urls += [url_for(rule.endpoint, step_id=step.id, **others) for step in STEPS]
            elif all(argument in values for argument in rule.arguments):
                urls.append(url_for(rule.endpoint, **{argument: values[argument] for argument in rule.arguments}))
    return urls


def find_forms(app, browser, values: dict) -> list[Form]:
    """Walk the pages this browser may see, from the url_map and their links, and read their forms."""
    queue, seen, per_endpoint, forms = first_urls(app, values), set(), Counter(), {}
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        endpoint = endpoint_of(app, url, "GET")
        if url in seen or endpoint is None or endpoint in NOT_WALKED or per_endpoint[endpoint] >= PAGES_PER_ENDPOINT:
            continue
        seen.add(url)
        per_endpoint[endpoint] += 1
        response = browser.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        found, links = read_page(url, response.get_data(as_text=True))
        queue += [link for link in links if link not in seen]
        for form in found:
            action_endpoint = endpoint_of(app, form.action, form.method.upper())
            if action_endpoint is None or action_endpoint in NOT_FUZZED:
                continue
            forms.setdefault((form.method, action_endpoint, tuple(sorted(form.fields))), form)
    return list(forms.values())


# -- what is posted --------------------------------------------------------------------------------

HOSTILE = [
    "", " ", "0", "-1", "1.5", "1e308", "-1e308", "NaN", "inf", "-0", "0x1F", "2147483648", "-2147483649",
    "9223372036854775808", "99999999999999999999999999999999",
    "0001-01-01", "9999-12-31", "99999-01-01", "0000-00-00", "2024-02-30", "-0001-01-01", "1900-02-29",
    "9999-12-31T23:59:59", "0001-01-01T00:00:00+00:00", "9999-12-31T23:50:00-23:59", "2020-01-01T00:00:00",
    "24:00", "23:59:60", "-01:00", "99:99", "00:00", "23:50",
    "\x00", "a\x00b", "\x00" * 50, "\x01\x02\x1b[31m\x7f", "\r\n\r\n", "\t", "\u202e\u200b\ufeff", "\U0001F600" * 10,
    "Ω≈ç√", "é", "\u0130", "ﬀ",
    "' OR '1'='1", "'; DROP TABLE user_account; --", "\" OR 1=1 --", "1; SELECT pg_sleep(5)", "%' OR 1=1 --",
    "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "{{7*7}}", "${7*7}", "javascript:alert(1)",
    "../../../etc/passwd", "%00", "%s%s%s%n", "null", "None", "true", "[]", "{}", "@", "a@", "@b",
    "x@example.com", "a" * 300 + "@example.com",
]
HUGE = ["A" * 100_000, "é" * 50_000, "<b>" * 34_000, "\x00" * 100_000]
# Edge values by the kind of input, so far dates and odd times meet in one post (an overbook at
# 9999-12-31 23:50, time off ending on the last day there is).
BY_KIND = {
    "date": ["0001-01-01", "9999-12-31", "99999-01-01", "0000-00-00", "2024-02-30", "1969-12-31", "2038-01-19",
             "1900-01-01", "2100-12-31"],
    "time": ["00:00", "23:59", "23:50", "24:00", "12:60", "-1:00", "23:59:59", "1:5", "02:30"],
    "number": ["-1", "0", "1e308", "NaN", "9223372036854775808", "0.0000001", "-0"],
}
# Sent as they are, not encoded: bytes that are not UTF-8 once decoded, and broken escapes.
RAW_ODDITIES = ["%ff%fe%fd", "%C0%AF", "%ED%A0%80", "%E2%82", "%ZZ", "%", "%%41", "%u0041", "+%2B+", "%0d%0a",
                "%00"]


def field_values(one: Field) -> st.SearchStrategy[list[str]]:
    """What one field carries in a post: nothing, one value or several, each encoded."""
    known = [one.value or "", *one.options]
    single = st.one_of(
        st.sampled_from(known).map(quote_plus),
        st.sampled_from(BY_KIND.get(one.kind, HOSTILE)).map(quote_plus),
        st.sampled_from(HOSTILE).map(quote_plus),
        st.text(max_size=30).map(quote_plus),
        st.integers().map(str),
        st.dates().map(lambda day: day.isoformat()),
        st.sampled_from(RAW_ODDITIES),
        st.sampled_from(HUGE).map(quote_plus),
    )
    return st.one_of(
        st.just([quote_plus(one.value)] if one.value is not None else []),  # as the browser would send it
        single.map(lambda value: [value]),
        st.just([]),  # missing
        st.lists(single, min_size=2, max_size=3),  # repeated
    )


def post_bodies(form: Form) -> st.SearchStrategy[list[tuple[str, str]]]:
    """The fields after the CSRF token, as (name, encoded value) pairs."""
    names = [name for name in form.fields if name != "csrf_token"]
    per_field = st.fixed_dictionaries({name: field_values(form.fields[name]) for name in names})
    extra = st.lists(st.tuples(st.sampled_from(["unexpected", "id", "role", "patient_id", "csrf_token[]"]),
                               st.sampled_from(HOSTILE).map(quote_plus)), max_size=1)
    return st.tuples(per_field, extra).map(
        lambda chosen: [(name, value) for name in names for value in chosen[0][name]] + chosen[1])


def encode(token: str, pairs: list[tuple[str, str]]) -> str:
    return "&".join([f"csrf_token={quote_plus(token)}", *(f"{quote_plus(name)}={value}" for name, value in pairs)])


# -- what changed ------------------------------------------------------------------------------------

def table_digests() -> tuple[dict[str, tuple[int, str]], int]:
    """Row count and a digest of every row of every table that a refused post must not change,
    and the last audit row's id."""
    digests = {}
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            if table.name in NOT_COMPARED_TABLES:
                continue
            columns = [column for column in table.c if column.name not in NOT_COMPARED_COLUMNS.get(table.name, ())]
            rows = sorted(repr(tuple(row)) for row in connection.execute(select(*columns)))
            digests[table.name] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
        last_audit = connection.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))
    return digests, last_audit


def audit_actions_after(audit_id: int) -> set[str]:
    with db.engine.connect() as connection:
        return set(connection.scalars(select(AuditEvent.action).where(AuditEvent.id > audit_id)))


# The form shown again with its errors (_form.html's field macro, the notices of the other pages).
ERROR_MARKERS = ('aria-invalid="true"', 'class="error"', "notice-error")


def refused(response) -> bool:
    """A 4xx, or the form again with its errors. A redirect (Post/Redirect/Get) or a page of its
    own (the new recovery codes, shown once) is an accepted post."""
    if 400 <= response.status_code < 500:
        return True
    return response.status_code == 200 and any(marker in response.get_data(as_text=True) for marker in ERROR_MARKERS)


# -- the world and the walkers -----------------------------------------------------------------------

@pytest.fixture
def world(app):
    """One of everything a page can name: visits of every kind, a clinician working every day, a
    patient with a triage and a booking, an emergency not dealt with, answers not yet linked to
    anyone, time off, a dead message, a calendar feed, and a visit today for the calendar's buttons."""
    users = {role: factories.make_user(role=role) for role in (Role.PATIENT, Role.DESK, Role.DOCTOR, Role.ADMIN)}
    patient, desk = users[Role.PATIENT], users[Role.DESK]
    types = {route: factories.make_type(route) for route in Route}
    clinician = factories.make_clinician(hours={day: [(time(0), time(23, 30))] for day in range(7)})
    submission = factories.make_submission(patient)
    emergency = factories.make_submission(factories.make_user(role=Role.PATIENT), "general_consult", "emergency")
    factories.make_submission(None, "vascular_ultrasound", "urgent")
    day = factories.future_weekday()
    appointment = book_appointment(patient_id=patient.id, clinician_id=clinician.id,
                                   appointment_type_id=types[Route.GENERAL_CONSULT].id, start=local(day, 10))
    caller = factories.make_user(role=Role.PATIENT)
    now = datetime.now(UTC)
    soon = (now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    today = now.astimezone(factories.CHICAGO).date()
    if soon.astimezone(factories.CHICAGO).date() == today:  # a visit today, for the check-in and no-show buttons
        book_appointment(patient_id=caller.id, clinician_id=clinician.id,
                         appointment_type_id=types[Route.GENERAL_CONSULT].id, start=soon, booked_by_id=desk.id,
                         policy=BookingPolicy.for_front_desk(), override_reason="Doctor's follow-up")
    else:  # the clinic's day ends within the hour: today's visit is one that started at midnight (the
        # booking service books no time in the past, so it is written as the desk's record of it)
        db.session.add(Appointment(patient_id=caller.id, clinician_id=clinician.id,
                                   appointment_type_id=types[Route.GENERAL_CONSULT].id, start_at=local(today, 0),
                                   end_at=local(today, 0, 30), status=AppointmentStatus.BOOKED))
        db.session.commit()
    time_off = factories.make_time_off(clinician, local(day, 16), local(day, 17))
    db.session.execute(update(OutboxMessage).where(OutboxMessage.appointment_id == appointment.id)
                       .values(status=MessageStatus.DEAD))
    db.session.commit()
    message = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.appointment_id == appointment.id))
    values = {"appointment_id": appointment.id, "submission_id": submission.id, "clinician_id": clinician.id,
              "time_off_id": time_off.id, "patient_id": patient.id, "message_id": message,
              "filename": "portal.css", "token": set_feed(clinician.id, on=True, by_user=desk)}
    emails = {role: user.email for role, user in users.items()}
    db.session.commit()
    return emails, values, emergency.id


class Walker:
    """A browser of one role that logs in again whenever a post ended its session."""

    def __init__(self, app, who: str, email: str | None, browser=None):
        self.app, self.who, self.email = app, who, email
        self.browser = browser or app.test_client()
        self._token: str | None = None
        if email:
            self.log_in()

    def log_in(self) -> None:
        with db.engine.begin() as connection:  # a fuzzed password form may have counted failures
            connection.execute(update(User).where(User.email == self.email).values(
                failed_login_count=0, failed_login_since=None, locked_until=None, known_device_failed_count=0,
                known_device_failed_since=None, known_device_locked_until=None))
        response = AuthActions(self.browser).login(self.email)
        assert response.status_code == 302, f"{self.who} could not log in again"
        self._token = None

    def token(self, form: Form) -> str:
        """The CSRF token of this browser's session, read off a page as a person would see it; read
        again only when the session has changed (a post logged it out or made it anew)."""
        if self._token is None:
            self._token = self._read_token(form)
        return self._token

    def after(self, response) -> None:
        expired = response.status_code == 400 and "This form has expired" in response.get_data(as_text=True)
        logged_out = bool(self.email) and "/auth/login" in response.headers.get("Location", "")
        if expired or logged_out:
            self._token = None

    def _read_token(self, form: Form) -> str:
        for url in (form.page, "/", "/auth/login"):
            response = self.browser.get(url)
            if self.email and response.status_code == 302 and "/auth/login" in response.headers["Location"]:
                self.log_in()
                response = self.browser.get(url)
            match = CSRF_PATTERN.search(response.get_data(as_text=True)) if response.status_code == 200 else None
            if match:
                return match.group(1)
        raise AssertionError(f"no page with a CSRF token for {self.who}")


def answer_the_safety_questions(browser) -> None:
    """So the later steps of the triage can be walked (they wait for the safety step)."""
    safety = STEPS[0]
    submit(browser, f"/triage/step/{safety.id}", dict.fromkeys(safety.question_ids, "no"))


def fuzz(walker: Walker, form: Form) -> None:
    @settings(max_examples=EXAMPLES_PER_FORM, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate],  # each post changes the world: no replay, no shrinking
              suppress_health_check=list(HealthCheck))
    @given(pairs=post_bodies(form))
    def post_one(pairs):
        token = walker.token(form)
        body = encode(token, pairs)
        before, audit_before = table_digests()
        try:
            if form.method == "post":
                response = walker.browser.post(form.action, data=body.encode("ascii"),
                                               content_type="application/x-www-form-urlencoded")
            else:
                response = walker.browser.get(f"{form.action.split('?')[0]}?{body}")
        except Exception as error:  # the app's exceptions reach the test client (TESTING): a 500 in production
            raise AssertionError(f"{form.describe()} raised {type(error).__name__} ({str(error)[:300]}) "
                                 f"on {body[:500]!r}") from error
        walker.after(response)
        assert response.status_code < 500, f"{form.describe()} answered {response.status_code} to {body[:500]!r}"
        if form.method == "post" and not refused(response):
            return  # accepted: it may have written
        after, audit_after = table_digests()
        changed = {name for name, digest in after.items() if before[name] != digest}
        assert not changed, (f"{form.describe()} answered {response.status_code} yet changed {sorted(changed)}: "
                             f"{body[:500]!r}")
        written = (audit_actions_after(audit_before) if audit_after != audit_before else set()) - READING_AUDITED
        assert not written, f"{form.describe()} answered {response.status_code} yet audited {written}: {body[:500]!r}"

    post_one()


@pytest.mark.slow
@pytest.mark.parametrize("who", ROLES)
def test_every_form_survives_hostile_posts(app, world, who):
    emails, values, emergency_id = world
    app.config["RATELIMIT_ENABLED"] = False  # thousands of posts from one address: the limiter is tested apart
    walker = Walker(app, who, None if who == "anonymous" else emails[who])
    if who in ("anonymous", Role.PATIENT):
        answer_the_safety_questions(walker.browser)
    if who == Role.DOCTOR:
        values = {**values, "submission_id": emergency_id}  # the case page with the emergency form
    forms = find_forms(app, walker.browser, values)
    assert forms, f"{who} found no form"
    if who == Role.ADMIN:  # the desk's own forms were fuzzed as the desk: the admin's alone are left
        forms = [form for form in forms
                 if Role.DESK not in who_may_use(endpoint_of(app, form.action, form.method.upper()))]
    failures = []
    for form in forms:
        if who in ("anonymous", Role.PATIENT) and "/triage/step/" in form.action:
            answer_the_safety_questions(walker.browser)  # a finished triage forgets its answers
        try:
            fuzz(walker, form)
        except AssertionError as failure:
            failures.append(str(failure).splitlines()[0][:1500])
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_the_whose_answers_form_survives_hostile_posts(app, world):
    """A patient who answered the questions before logging in is asked first whether the answers
    are theirs (every page leads there until they say), so that form is walked on its own."""
    browser = app.test_client()
    safety = STEPS[0]
    response = submit(browser, f"/triage/step/{safety.id}",
                      {**dict.fromkeys(safety.question_ids, "no"), "pe_symptoms": "yes"})
    assert "/triage/" in response.headers["Location"]  # the emergency ends the questions at once
    walker = Walker(app, Role.PATIENT, factories.make_user(role=Role.PATIENT).email, browser=browser)
    forms = [form for form in find_forms(app, browser, world[1]) if "/triage/claim" in form.action]
    assert forms, "the whose-answers form was not found"
    for form in forms:
        fuzz(walker, form)


def test_the_walk_finds_the_forms_of_every_role(app, world):
    """The fuzzing is only as good as the walk: it finds the forms a person of each role uses."""
    emails, values, emergency_id = world
    expected = {
        "anonymous": {"auth.login", "auth.register", "auth_password.forgot", "triage.step"},
        Role.PATIENT: {"booking.confirm_booking", "booking.cancel", "booking.confirm_reschedule", "auth.security",
                       "triage.step"},
        Role.DESK: {"desk_patients.register", "desk_patients.search", "desk_patients.confirm",
                    "desk_patients.overbook", "desk.cancel", "desk.move", "desk.status", "desk_schedules.save_hours",
                    "desk_schedules.save_time_off", "desk_schedules.delete_time_off", "desk_schedules.calendar_feed"},
        Role.DOCTOR: {"queue.case", "queue.emergency_dealt_with"},
        Role.ADMIN: {"notify.resend", "audit.audit_log", "auth_accounts.add_staff", "auth_accounts.change_role",
                     "auth_accounts.deactivate"},
    }
    for who, endpoints in expected.items():
        walker = Walker(app, who, None if who == "anonymous" else emails[who])
        if who in ("anonymous", Role.PATIENT):
            answer_the_safety_questions(walker.browser)
        walk_values = {**values, "submission_id": emergency_id} if who == Role.DOCTOR else values
        found = {endpoint_of(app, form.action, form.method.upper())
                 for form in find_forms(app, walker.browser, walk_values)}
        assert endpoints <= found, f"{who}: {sorted(endpoints - found)} not found among {sorted(found)}"
