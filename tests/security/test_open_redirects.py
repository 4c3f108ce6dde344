"""Open redirects (OWASP ASVS 5.1.5): every `next=` and `back=` the portal follows, given the
addresses an attacker would try. Wherever it lands, the browser stays on this site: a Location that
is a plain path (one "/", never "//" or "/\\"), with no control character, space or backslash, and
never a 500. Where the page does something (logging in, cancelling a visit), it either does it and
then redirects safely, to a page that does not say "Nothing was changed", or refuses the request
(4xx) and changes nothing."""
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from sqlalchemy import select

from portal.auth.models import Role, User
from portal.booking.models import Appointment, AppointmentStatus
from portal.extensions import db
from portal.notify.models import MessageKind
from tests import factories
from tests.client import current_code, hidden_fields, logged_in, submit
from tests.mailbox import password_link
from tests.pages import text
from tests.security.probes import answer, issued_reset_token, location_problem

# The values the page is given (the query strings carry them percent-encoded, the forms as they are).
PAYLOADS = [
    "//evil.example", "https://evil.example", "http://evil.example/login", "/\\evil.example", "\\\\evil.example",
    "\\/evil.example", "/%2F%2Fevil.example", "%2F%2Fevil.example", "/%5Cevil.example", "///evil.example",
    "////evil.example/", "http:/evil.example", "https:evil.example", "javascript:alert(1)",
    "JaVaScRiPt:alert(document.domain)", "data:text/html,<script>alert(1)</script>", "/\r\nSet-Cookie: x=1",
    "/\r\nX: 1", "/\nLocation: https://evil.example", "/\rX", "/\tX", "/\t/evil.example", " //evil.example",
    "/ /evil.example", "/%0d%0aSet-Cookie:x=1", "/%09/evil.example", "/\u2028evil", "/\u3000/evil.example",
    "https://localhost@evil.example/", "//evil.example@localhost/", "/\x00", "/\x0b//evil.example",
    "/" + "a" * 3000, "", "/desk/../../\\evil.example",
    # Under the desk's own pages, where its back= must stay: as the review posted it, and its kin.
    "/desk/\r\nX:1", "/desk/?date=2026-01-01\r\nSet-Cookie: x=1", "/desk/\n", "/desk/\t", "/desk/\u2028",
    "/desk/\\evil.example", "/desk/%0d%0aX:1",
]
NOTHING_CHANGED = "Nothing was changed"


def in_query(value: str) -> str:
    return quote(value, safe="")


def redirect_problem(browser, response, *, changed: bool) -> str | None:
    """Why this answer to a payload is wrong, or None: a safe redirect, to a page that shows; or,
    when nothing was changed, a refusal."""
    if isinstance(response, str):
        return response
    if response.status_code >= 500:
        return f"{response.status_code}"
    if not changed:
        return None if 400 <= response.status_code < 500 else f"{response.status_code} and did nothing"
    if response.status_code not in (302, 303):
        return f"{response.status_code} after the change, not a redirect"
    location = response.headers["Location"]
    if problem := location_problem(location):
        return problem
    landing = answer(lambda: browser.get(location))
    if isinstance(landing, str) or landing.status_code >= 500:
        return f"the page redirected to ({location!r}) failed: {landing}"
    return f"{location!r} says {NOTHING_CHANGED!r} after the change" if NOTHING_CHANGED in text(landing) else None


def check_every_payload(attempt) -> None:
    wrong = [f"{payload[:60]!r}: {problem}" for payload in PAYLOADS if (problem := attempt(payload))]
    assert wrong == [], "\n".join(wrong)


@pytest.fixture
def patient_email(app):
    email = factories.make_user(role=Role.PATIENT).email
    db.session.rollback()
    return email


def test_a_patients_login_with_any_next_logs_in_and_stays_on_the_site(app, patient_email):
    def attempt(payload):
        browser = app.test_client()
        response = answer(lambda: submit(browser, f"/auth/login?next={in_query(payload)}", {
            "email": patient_email, "password": factories.PASSWORD}, form_page="/auth/login"))
        changed = browser.get("/auth/security").status_code == 200  # logged in
        return redirect_problem(browser, response, changed=changed)

    check_every_payload(attempt)


def test_a_staff_login_with_any_next_keeps_it_to_the_second_factor_and_stays_on_the_site(app):
    email = factories.make_user(role=Role.DESK).email
    db.session.rollback()

    def attempt(payload):
        browser = app.test_client()
        first = answer(lambda: submit(browser, f"/auth/login?next={in_query(payload)}", {
            "email": email, "password": factories.PASSWORD}, form_page="/auth/login"))
        if isinstance(first, str) or first.status_code != 302:
            return redirect_problem(browser, first, changed=False)
        response = answer(lambda: submit(browser, "/auth/verify", {"code": current_code(email)}))
        return redirect_problem(browser, response, changed=browser.get("/auth/security").status_code == 200)

    check_every_payload(attempt)


def test_a_registration_with_any_next_mails_a_link_that_stays_on_the_site(client):
    counter = iter(range(1000))

    def attempt(payload):
        email = f"newcomer{next(counter)}@example.com"
        response = answer(lambda: submit(client, f"/auth/register?next={in_query(payload)}", {
            "name": "Robin Vale", "email": email, "date_of_birth": "1955-04-02", "phone": "(555) 010-2222"},
            form_page="/auth/register"))
        registered = db.session.scalar(select(User.id).where(User.email == email)) is not None
        if problem := redirect_problem(client, response, changed=registered):
            return problem
        if not registered:
            return None
        carried = parse_qs(urlsplit(password_link(email, MessageKind.INVITATION)).query).get("next", [])
        return next((f"the mailed link's next: {problem}" for value in carried if (problem := location_problem(value))),
                    None)

    check_every_payload(attempt)


def test_choosing_a_password_through_a_link_with_any_next_stays_on_the_site(app, patient_email):
    def attempt(payload):
        token = issued_reset_token(db.session.scalar(select(User).where(User.email == patient_email)))
        db.session.rollback()
        browser = app.test_client()
        link = f"/auth/password/reset/{token}?next={in_query(payload)}"
        response = answer(lambda: submit(browser, link, {"password": "rivers and mountains in spring",
                                                          "confirm": "rivers and mountains in spring"},
                                         form_page=f"/auth/password/reset/{token}"))
        if isinstance(response, str) or response.status_code != 302:
            return redirect_problem(browser, response, changed=False)
        carried = parse_qs(urlsplit(response.headers["Location"]).query).get("next", [])
        return location_problem(response.headers["Location"]) or next(
            (f"next for the login: {problem}" for value in carried if (problem := location_problem(value))), None)

    check_every_payload(attempt)


@pytest.fixture
def book_a_visit(app):
    """Books one more visit, an hour after the last, each time it is called: its id."""
    visit, clinician, patient = factories.make_type(), factories.make_clinician(), factories.make_user()
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    hours = iter(range(10_000))

    def book() -> int:
        begins = start + timedelta(hours=next(hours))
        appointment = Appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=visit.id,
                                  start_at=begins, end_at=begins + timedelta(minutes=30),
                                  status=AppointmentStatus.BOOKED)
        db.session.add(appointment)
        db.session.commit()
        return appointment.id

    return book


def test_the_desks_cancel_with_any_back_cancels_and_stays_on_the_site(app, book_a_visit):
    _, desk = logged_in(app, Role.DESK)

    def attempt(payload):
        appointment_id = book_a_visit()
        url = f"/desk/appointments/{appointment_id}/cancel"
        page = answer(lambda: desk.get(f"{url}?back={in_query(payload)}"))
        if isinstance(page, str) or page.status_code >= 500:
            return f"the question page: {page}"
        keep_it = hidden_fields(desk.get(url).get_data(as_text=True))
        response = answer(lambda: desk.post(url, data={**keep_it, "back": payload, "reason": "Patient called"}))
        db.session.rollback()
        cancelled = db.session.get(Appointment, appointment_id).status == AppointmentStatus.CANCELLED
        return redirect_problem(desk, response, changed=cancelled)

    check_every_payload(attempt)


def test_the_desks_status_buttons_and_the_admins_account_buttons_with_any_address_stay_on_the_site(app, book_a_visit):
    """Buttons that redirect whether or not their change was possible: only the Location is judged."""
    staff_id = factories.make_user(role=Role.DOCTOR).id
    _, desk = logged_in(app, Role.DESK)
    _, admin = logged_in(app, Role.ADMIN)
    appointment_id = book_a_visit()

    def attempt(payload):
        for browser, url, field in ((desk, f"/desk/appointments/{appointment_id}/status", "back"),
                                    (admin, f"/accounts/{staff_id}/unlock", "next")):
            form = hidden_fields(browser.get("/desk/" if field == "back" else "/accounts/").get_data(as_text=True))
            response = answer(lambda: browser.post(url, data={"csrf_token": form["csrf_token"], "to": "arrived",
                                                              field: payload}))
            problem = redirect_problem(browser, response, changed=True)
            if problem and not (not isinstance(response, str) and response.status_code == 400):
                return f"POST {url}: {problem}"
        return None

    check_every_payload(attempt)


def test_a_visitor_sent_to_log_in_comes_back_only_to_this_site(client):
    """The login page's own next= (from the page a visitor asked for) is a path of ours, and its
    links to register and back carry it along without leaving the site."""
    for path in ("/desk/", "/appointments/?week=x", "/desk/patients/1", "//evil.example/desk/"):
        response = answer(lambda: client.get(path))
        assert not isinstance(response, str) and response.status_code < 500, (path, response)
        if response.status_code == 302:
            assert location_problem(response.headers["Location"]) is None, (path, response.headers["Location"])
