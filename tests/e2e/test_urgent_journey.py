"""The urgent page in a real browser, at both sizes: a patient whose answers mean a possible clot
and drowsy driving sees first a button that calls the clinic, its phone hours, "do not drive",
and either times in the next 24 hours or (the clinic closed, or nothing free) where to be seen
today; then, anonymous, an emergency answer says to call 911 and promises nobody will follow up."""
import re
from datetime import date

from playwright.sync_api import expect
from sqlalchemy import select

from portal.auth.models import Role, User
from portal.extensions import db
from portal.triage.models import TriageSubmission
from portal.triage.rules import evaluate
from tests.e2e.live_portal import LivePortal, Person
from tests.factories import ANSWERS_FOR, SAFE_ANSWERS

URGENT_PATIENT = Person("ursula.quick@example.com", "Ursula Quick", password="seen within a day please")
ANSWERS = {**SAFE_ANSWERS, **ANSWERS_FOR[("vascular_ultrasound", "urgent")], "drowsy_driving": "yes"}
ELSEWHERE = "Go to an urgent care center or an emergency department today."


def add_urgent_patient(portal: LivePortal) -> int:
    """The patient and her urgent answers, once per portal; the answers' id."""
    with portal.app.app_context():
        patient = db.session.scalar(select(User).where(User.email == URGENT_PATIENT.email))
        if patient is None:
            patient = User(email=URGENT_PATIENT.email, name=URGENT_PATIENT.name, role=Role.PATIENT,
                           date_of_birth=date(1970, 3, 3), phone="(555) 010-7310")
            patient.set_password(URGENT_PATIENT.password)
            db.session.add(patient)
            db.session.flush()
            outcome = evaluate(ANSWERS)
            assert outcome.urgency == "urgent" and "U4" in outcome.reasons
            db.session.add(TriageSubmission.from_outcome(ANSWERS, outcome, patient_id=patient.id))
            db.session.commit()
        submission_id = db.session.scalar(select(TriageSubmission.id).where(
            TriageSubmission.patient_id == patient.id))
        db.session.remove()
    return submission_id


def test_an_urgent_patient_is_shown_the_call_button_first(journey, portal):
    submission_id = add_urgent_patient(portal)
    with journey("urgent patient calls or books within 24 hours") as j:
        j.log_in(URGENT_PATIENT)
        with j.step("the urgent page") as page:
            j.go(f"/triage/{submission_id}")
            expect(page.get_by_role("heading", level=1)).to_have_text("Be seen within 24 hours")
            main = page.get_by_role("main")
            call = main.get_by_role("link").first
            expect(call).to_have_attribute("href", re.compile(r"^tel:"))
            expect(call).to_contain_text("Call the clinic")
            expect(main).to_contain_text("Monday to Friday")
            expect(main).to_contain_text("Do not drive until a doctor has seen you.")
            expect(main).to_contain_text("Call 911 at once")
            closed = "Closed now." in main.inner_text()
            times = page.locator("a.slot, a.sp-first-time").count()
            if closed or not times:
                expect(main).to_contain_text(ELSEWHERE)
            else:
                assert ELSEWHERE not in main.inner_text()


def test_an_anonymous_emergency_says_call_911_and_promises_no_follow_up(journey, portal):
    with journey("anonymous emergency answer") as j:
        with j.step("the questions") as page:
            j.go("/triage/")
        with j.step("start the questions") as page:
            page.get_by_role("link", name="Start the questions").click()
        with j.step("yes to a bleeding vein") as page:
            for question, value in (("pe_symptoms", "no"), ("bleeding_vein", "yes"), ("cold_pale_leg", "no")):
                page.locator(f"input[name='{question}'][value='{value}']").check()
            page.get_by_role("button", name=re.compile("^Continue")).click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("Call 911 now")
            said = page.get_by_role("main").inner_text().lower()
            for phrase in ("doctor", "follow up", "passed your answers", "contact you", "call you"):
                assert phrase not in said, phrase
