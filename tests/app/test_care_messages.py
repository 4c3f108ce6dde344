"""Patients hear what doctors decide: a message through the outbox when a doctor records that an
emergency was dealt with, changes the route, or signs a letter. Read back as the patient would
read them, and their links followed."""
from types import SimpleNamespace

from portal.auth.models import Role
from portal.database import utc_now
from portal.extensions import db
from portal.letters.content import LetterKind
from portal.letters.service import sign_letter, start_letter
from portal.notify import care_messages
from portal.notify.models import MessageKind, OutboxMessage
from tests import factories
from tests.client import browser_of, hidden_fields, submit
from tests.mailbox import links_in, messages_to
from tests.pages import location, words


def doctor_and_browser(app):
    doctor = factories.make_user(role=Role.DOCTOR, name="Dr. Samuel Okafor")
    return doctor, browser_of(app, doctor)


def only_message(email: str, kind: str) -> OutboxMessage:
    found = messages_to(email, kind)
    assert len(found) == 1, [m.kind for m in messages_to(email)]
    return found[0]


def test_an_emergency_dealt_with_tells_the_patient_they_can_book_again(app):
    factories.make_type()
    patient = factories.make_user(name="Ada Patient")
    emergency = factories.make_submission(patient, "general_consult", "emergency")
    _, doctor = doctor_and_browser(app)

    case = doctor.get(f"/queue/{emergency.id}")
    done = doctor.post(f"/queue/{emergency.id}/emergency",
                       data={**hidden_fields(case.get_data(as_text=True)), "note": "Seen in the ED: no clot",
                             "new_route": ""})
    assert done.status_code == 302

    message = only_message(patient.email, MessageKind.BOOKING_REOPENED)
    said = " ".join(message.text_body.split())
    assert message.subject.startswith("You can book with ")
    assert said.startswith("Dear Ada Patient,")
    assert "You can book again, or we will call you" in said
    assert "Seen in the ED" not in said and "clot" not in said  # the doctor's note stays with the clinic
    [book] = [link for link in links_in(message) if link.startswith("/book")]
    assert "Book your visit" in message.html_body
    patient_browser = browser_of(app, patient)
    page = patient_browser.get(book)
    assert page.status_code == 200 and "Online booking is paused" not in words(page.get_data(as_text=True))


def test_a_changed_route_says_what_changed_in_plain_words_and_links_to_the_times(app):
    factories.make_type("sleep_study_referral", 30, "Sleep assessment")
    patient = factories.make_user(name="Ben Patient")
    case = factories.make_submission(patient, "general_consult", "routine")
    _, doctor = doctor_and_browser(app)

    saved = submit(doctor, f"/queue/{case.id}", {"new_route": "sleep_study_referral",
                                                  "reason": "Snoring is the main complaint"})
    assert saved.status_code == 302

    message = only_message(patient.email, MessageKind.ROUTE_CHANGED)
    said = " ".join(message.text_body.split())
    assert message.subject == "A doctor has changed the visit we suggest for you"
    assert "Before: A general consultation Now: A visit about your sleep" in said
    assert "Snoring" not in said and "sleep_study_referral" not in said
    [times] = [link for link in links_in(message) if link.startswith("/book")]
    page = browser_of(app, patient).get(times)
    assert page.status_code == 200 and "Sleep assessment" in words(page.get_data(as_text=True))


def test_a_review_that_keeps_the_route_sends_nothing(app):
    patient = factories.make_user()
    case = factories.make_submission(patient, "general_consult", "routine")
    _, doctor = doctor_and_browser(app)

    assert submit(doctor, f"/queue/{case.id}", {"new_route": "", "reason": "Looks right"}).status_code == 302

    assert messages_to(patient.email) == []


def test_a_signed_letter_says_only_that_it_is_ready_and_links_to_it(app):
    patient = factories.make_user(name="Cleo Patient")
    case = factories.make_submission(patient, "sleep_study_referral", "routine")
    doctor, _ = doctor_and_browser(app)
    letter = start_letter(case.id, LetterKind.SLEEP_STUDY_REFERRAL, doctor=doctor)
    sign_letter(letter.id, doctor=doctor, history="Loud snoring for years; partner sees pauses.",
                question="Please assess for obstructive sleep apnea.")

    message = only_message(patient.email, MessageKind.LETTER_READY)
    said = " ".join(message.text_body.split())
    assert "has signed a letter for you" in said and "the letter is not in this email" in said
    for clinical in ("snoring", "apnea", "sleep", "Okafor", "referral"):
        assert clinical.lower() not in (said + message.subject + message.html_body).lower(), clinical
    [link] = [link for link in links_in(message) if link.startswith("/letters/")]
    anonymous = app.test_client().get(link)
    assert anonymous.status_code == 302 and location(anonymous) == "/auth/login"
    download = browser_of(app, patient).get(link)
    assert download.status_code == 200 and download.mimetype == "application/pdf"


def test_a_patient_without_an_email_or_answers_without_a_patient_are_skipped(app):
    now = utc_now()
    review = SimpleNamespace(old_route="general_consult", new_route="vascular_ultrasound")
    nobody = SimpleNamespace(patient=None, created_at=now, urgency="routine")
    no_email = SimpleNamespace(patient=SimpleNamespace(id=1, name="Desk Caller", email=None), created_at=now,
                               urgency="routine")
    with app.test_request_context():
        for submission in (nobody, no_email):
            care_messages._on_emergency_dealt_with(submission, review=review, now=now)
            care_messages._on_route_changed(submission, review=review, now=now)
        care_messages._on_letter_signed(SimpleNamespace(patient=no_email.patient, version=1, id=1), now=now)
        assert db.session.query(OutboxMessage).count() == 0
