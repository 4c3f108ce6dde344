"""From the outcome of a new patient's answers to a booked visit in four steps: the register form,
the mailed link with the password, a time, confirm. The link is opened in another browser (a
phone's mail app opens its own), which has never seen the answers: they are tied to the
registration on the server and join the account when the password is chosen, with no second
login and no "are these your answers?".

And what must never happen on the way: a link working twice or after it expired, a link of one
account joining answers to another, answers already someone's joining anyone else, answers a
browser did not give being tied by typing their number, an existing account learning anything or
getting answers added by someone typing its email.
"""
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select, update

from portal.audit import AuditAction, AuditEvent
from portal.auth.models import AccountToken, TokenPurpose, User
from portal.booking.models import Appointment
from portal.database import write_transaction
from portal.extensions import db
from portal.notify.models import MessageKind
from portal.triage import service as triage_service
from portal.triage.models import TriageSubmission
from tests import factories
from tests.app.test_triage_pages import (
    CASES,
    answer_all,
    clinic_types,
    confirm,
    headings,
    links,
    query,
    submission_id,
)
from tests.client import AuthActions, hidden_fields, submit
from tests.mailbox import messages_to, password_link
from tests.pages import location, main, slot_links, text, words

PASSWORD = "rivers and mountains in spring"
NEW_PATIENT = {"name": "Nora Whitfield", "email": "nora@example.com", "date_of_birth": "1967-05-21",
               "phone": "(555) 010-8123"}


def fresh() -> None:
    db.session.rollback()  # see what the app committed; on SQLite, let the app write


def follow(browser, response, shown: list[str]):
    """Follow redirects as a browser does, noting the path of every page shown on the way."""
    while response.status_code in (301, 302, 303):
        response = browser.get(response.headers["Location"])
    shown.append(urlsplit(response.request.url).path if hasattr(response, "request") else "?")
    return response


def post_form(browser, page, data: dict | None = None, *, url: str):
    return browser.post(url, data={**hidden_fields(page.get_data(as_text=True)), **(data or {})})


def owner(submission_id_: int) -> int | None:
    fresh()
    return db.session.get(TriageSubmission, submission_id_).patient_id


def account(email: str) -> User:
    fresh()
    return db.session.scalar(select(User).where(User.email == email))


def answered_and_registered(app, answers=None, *, email: str = NEW_PATIENT["email"]):
    """A visitor's browser answers the questions, then registers from the outcome page's own
    link: (that browser, the submission id, the mailed link)."""
    browser = app.test_client()
    sid = submission_id(answer_all(browser, answers or CASES[1][0]))
    outcome = browser.get(f"/triage/{sid}")
    register = next(link for link in links(main(outcome)) if urlsplit(link).path == "/auth/register")
    registered = submit(browser, register, {**NEW_PATIENT, "email": email})
    assert location(registered) == "/auth/register/sent"
    return browser, sid, password_link(email, MessageKind.INVITATION)


def choose_password(browser, link: str):
    return submit(browser, link, {"password": PASSWORD, "confirm": PASSWORD})


# --- the four steps -------------------------------------------------------------------------------

def test_a_new_patient_goes_from_the_outcome_to_a_booked_visit_in_four_steps_across_browsers(app):
    types = clinic_types()
    factories.make_clinician()
    fresh()
    answering = app.test_client()
    sid = submission_id(answer_all(answering, CASES[1][0]))  # a routine leg vein scan
    outcome = answering.get(f"/triage/{sid}")
    assert outcome.status_code == 200

    # 1. The register form, from the outcome page.
    register_link = next(link for link in links(main(outcome)) if urlsplit(link).path == "/auth/register")
    form = answering.get(register_link)
    assert headings(form)[0] == "Create an account"
    sent = []
    check_email = follow(answering, post_form(answering, form, NEW_PATIENT, url=register_link), sent)
    assert sent == ["/auth/register/sent"] and headings(check_email)[0] == "Check your email"

    # 2. The mailed link, opened in another browser (no cookies, no session): the password.
    [invitation] = messages_to(NEW_PATIENT["email"], MessageKind.INVITATION)
    link = password_link(NEW_PATIENT["email"], MessageKind.INVITATION)
    assert link in invitation.text_body.replace(app.config["PUBLIC_URL"], "")
    phone = app.test_client()
    shown: list[str] = []
    choose = follow(phone, phone.get(link), shown)
    assert headings(choose)[0] == "Choose a password"
    times = follow(phone, post_form(phone, choose, {"password": PASSWORD, "confirm": PASSWORD}, url=link), shown)

    # 3. A time: the page is the times for the routed visit.
    assert headings(times)[0] == "Pick a time"
    assert types["vascular_ultrasound"].name in words(main(times))
    assert "Your password is set." in words(main(times))
    [first, *_] = slot_links(times)
    confirm_page = follow(phone, phone.get(first), shown)
    assert headings(confirm_page)[0] == "Confirm your visit"

    # 4. Confirm.
    booked = follow(phone, post_form(phone, confirm_page, url=urlsplit(first).path + "?" + urlsplit(first).query),
                    shown)
    assert headings(booked)[0] == "My appointments"
    assert "Your leg vein scan is booked." in words(main(booked))

    assert shown == ["/auth/password/set/" + link.split("/auth/password/set/")[1].split("?")[0], "/book/",
                     "/book/confirm", "/appointments/"]  # no login page, no "are these your answers?"
    patient = account(NEW_PATIENT["email"])
    assert owner(sid) == patient.id
    [visit] = db.session.scalars(select(Appointment).where(Appointment.patient_id == patient.id)).all()
    assert visit.appointment_type.route == "vascular_ultrasound" and visit.status == "booked"
    assert answering.get("/appointments/").status_code == 302  # the answering browser is not logged in


def test_the_join_and_the_login_are_audited(app):
    clinic_types()
    _, sid, link = answered_and_registered(app)
    choose_password(app.test_client(), link)

    fresh()
    patient = account(NEW_PATIENT["email"])
    rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.patient_id == patient.id)
                                   .order_by(AuditEvent.id)))
    actions = [row.action for row in rows]
    assert actions.index(AuditAction.PASSWORD_CHOSEN) < actions.index(AuditAction.TRIAGE_CLAIMED) \
        < actions.index(AuditAction.LOGIN)
    [claimed] = [row for row in rows if row.action == AuditAction.TRIAGE_CLAIMED]
    assert claimed.user_id == patient.id
    assert claimed.detail == (f"case {sid}: joined as the patient chose a password through the link mailed when "
                              "they registered from these answers")
    [login] = [row for row in rows if row.action == AuditAction.LOGIN]
    assert login.detail == "a password chosen through an invitation link mailed to the account"


def test_an_urgent_case_lands_on_the_next_24_hours_only(app):
    clinic_types()
    factories.make_clinician(hours={day: [(datetime.min.time(), datetime.max.time().replace(microsecond=0))]
                                    for day in range(7)})
    _, sid, link = answered_and_registered(app, CASES[4][0])  # urgent: a possible clot in pregnancy
    phone = app.test_client()

    landed = choose_password(phone, link)

    assert location(landed) == "/book/"
    outcome = phone.get("/book/")
    assert location(outcome) == f"/triage/{sid}"  # the urgent case's times are on its outcome page
    page = phone.get(f"/triage/{sid}")
    starts = [datetime.fromisoformat(query(href)["start"]) for href in slot_links(page)]
    assert starts and all(start <= datetime.now(UTC) + timedelta(hours=24) for start in starts)


def test_an_emergency_joined_this_way_keeps_booking_closed(app):
    clinic_types()
    factories.make_clinician()
    browser = app.test_client()
    sid = submission_id(answer_all(browser, CASES[6][0]))
    # The emergency page offers no account; a visitor who registers anyway, naming those answers:
    registered = submit(browser, f"/auth/register?answers={sid}&next=/book/", NEW_PATIENT)
    assert location(registered) == "/auth/register/sent"
    phone = app.test_client()

    landed = choose_password(phone, password_link(NEW_PATIENT["email"], MessageKind.INVITATION))

    assert owner(sid) == account(NEW_PATIENT["email"]).id
    closed = phone.get(location(landed))
    assert closed.status_code == 200 and headings(closed)[0] == "Please call us to book"
    assert not slot_links(closed)


# --- the link -------------------------------------------------------------------------------------

def test_the_link_works_once(app):
    clinic_types()
    _, sid, link = answered_and_registered(app)
    choose_password(app.test_client(), link)

    again = app.test_client()
    used = again.get(link)
    assert used.status_code == 404 and headings(used)[0] == "This link no longer works"
    assert again.get("/appointments/").status_code == 302  # nobody logged in by it


def test_an_expired_link_shows_the_link_expired_page_and_joins_nothing(app):
    clinic_types()
    _, sid, link = answered_and_registered(app)
    with write_transaction() as session:
        session.execute(update(AccountToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    phone = app.test_client()

    page = phone.get(link)

    assert page.status_code == 404 and "This link no longer works" in text(page)
    assert owner(sid) is None


def test_a_patient_with_two_step_login_still_types_a_code_after_a_reset_link(app):
    patient = factories.make_user(email="pat@example.com")
    browser = app.test_client()
    AuthActions(browser).login("pat@example.com")
    with write_transaction() as session:
        from portal.auth import totp
        session.execute(update(User).where(User.id == patient.id).values(
            totp_secret=totp.new_secret(), totp_confirmed_at=datetime.now(UTC)))
    submit(app.test_client(), "/auth/password/forgot", {"email": "pat@example.com"})
    phone = app.test_client()

    chosen = choose_password(phone, password_link("pat@example.com", MessageKind.PASSWORD_RESET))

    assert location(chosen) == "/auth/verify"
    assert phone.get("/appointments/").status_code == 302  # not logged in before the code
    assert location(browser.get("/appointments/")) == "/auth/login"  # the other device was logged out


def test_a_staff_invitation_still_goes_to_the_login_for_the_authenticator(app):
    from portal.auth import staff

    staff.add_staff_member(name="Sam Doctor", email="sam@example.com", role="doctor")
    link = password_link("sam@example.com", MessageKind.INVITATION)

    chosen = choose_password(app.test_client(), link)

    assert location(chosen) == "/auth/login"


# --- whose answers join ---------------------------------------------------------------------------

def test_a_link_for_one_account_never_joins_answers_tied_to_another(app):
    clinic_types()
    _, sid, link_a = answered_and_registered(app, email="a@example.com")
    _, other_sid, link_b = answered_and_registered(app, email="b@example.com")

    choose_password(app.test_client(), link_b)
    assert owner(sid) is None and owner(other_sid) == account("b@example.com").id

    fresh()
    a_link = db.session.scalar(select(AccountToken).where(AccountToken.user_id == account("a@example.com").id))
    b = account("b@example.com")
    with write_transaction():  # the service refuses A's link for B whatever calls it
        assert triage_service.join_registration_answers(b, a_link) == []
    assert owner(sid) is None
    choose_password(app.test_client(), link_a)
    assert owner(sid) == account("a@example.com").id


def test_answers_someone_else_claimed_meanwhile_are_never_joined(app):
    clinic_types()
    browser, sid, link = answered_and_registered(app)
    someone = factories.make_user(email="someone@example.com")
    fresh()
    AuthActions(browser).login("someone@example.com")  # on the same device, before the link is opened
    assert location(confirm(browser, "yes")) == f"/triage/{sid}"
    assert owner(sid) == someone.id

    phone = app.test_client()
    landed = choose_password(phone, link)

    assert owner(sid) == someone.id
    assert location(phone.get(location(landed))) == "/triage/"  # the new patient answers for themselves
    fresh()
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.TRIAGE_CLAIMED,
                                                       AuditEvent.patient_id == account(NEW_PATIENT["email"]).id)
                              ).all() == []


def test_answers_this_browser_did_not_give_are_not_tied_by_their_number(app):
    clinic_types()
    elsewhere = app.test_client()
    sid = submission_id(answer_all(elsewhere, CASES[1][0]))
    stranger = app.test_client()

    submit(stranger, f"/auth/register?answers={sid}&next=/book/", NEW_PATIENT)
    landed = choose_password(app.test_client(), password_link(NEW_PATIENT["email"], MessageKind.INVITATION))

    assert owner(sid) is None
    fresh()
    assert db.session.get(TriageSubmission, sid).registration_link_id is None
    assert location(landed) == "/book/"


def test_answers_given_after_the_link_was_made_are_not_tied(app):
    clinic_types()
    _, sid, link = answered_and_registered(app)
    fresh()
    stored = db.session.scalar(select(AccountToken).where(AccountToken.purpose == TokenPurpose.INVITATION))
    later = factories.make_submission(None, "general_consult", "routine",
                                      created_at=stored.created_at + timedelta(seconds=1))
    with write_transaction():
        assert triage_service.tie_to_registration(later.id, stored) is False
        assert triage_service.tie_to_registration(sid, stored) is True  # the one it started from


def test_registering_an_email_in_use_says_the_same_and_ties_nothing(app):
    clinic_types()
    factories.make_user(email="pat@example.com")
    browser = app.test_client()
    sid = submission_id(answer_all(browser, CASES[1][0]))

    registered = submit(browser, f"/auth/register?answers={sid}&next=/book/",
                        {**NEW_PATIENT, "email": "pat@example.com"})

    assert location(registered) == "/auth/register/sent"
    assert "We have sent a message to pat@example.com." in text(browser.get(registered.headers["Location"]))
    assert messages_to("pat@example.com", MessageKind.INVITATION) == []
    fresh()
    assert db.session.get(TriageSubmission, sid).registration_link_id is None
    assert owner(sid) is None


def test_registering_again_from_the_same_answers_moves_the_tie_to_the_newer_link(app):
    clinic_types()
    browser, sid, first_link = answered_and_registered(app, email="typo@exampel.com")
    outcome = browser.get(f"/triage/{sid}")
    register = next(link for link in links(main(outcome)) if urlsplit(link).path == "/auth/register")
    submit(browser, register, NEW_PATIENT)  # the email typed right this time

    choose_password(app.test_client(), first_link)
    assert owner(sid) is None
    choose_password(app.test_client(), password_link(NEW_PATIENT["email"], MessageKind.INVITATION))
    assert owner(sid) == account(NEW_PATIENT["email"]).id
