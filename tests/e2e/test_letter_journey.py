"""A referral letter in a real browser: a doctor opens a sleep-study case from the queue, writes
and signs its referral letter and downloads the PDF; then the patient finds the signed letter on
his appointments page and downloads it too (so that journey needs the doctor's before it, on the
same portal).

The patient is rlsvein-1's worked case 2 (male 58, the four restless legs answers yes, loud
snoring, observed apnoea, daytime tiredness, high blood pressure: a STOP-Bang score of 6), stored
with real answers as `flask seed-demo` stores the demo cases; each portal gets its own copy.
"""
import io
import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from portal.auth.models import Role, User
from portal.demo import FOUR_RLS_ANSWERS, SAFE
from portal.extensions import db
from portal.triage.models import TriageSubmission
from portal.triage.rules import evaluate
from portal.triage.vocabulary import ROUTE_LABELS, Route
from tests.e2e.journey import Journey
from tests.e2e.live_portal import DOCTOR, LivePortal, Person

SLEEP_PATIENT = Person("walter.sleeper@example.com", "Walter Sleeper", password="deep slow breaths at night")
# rlsvein-1 worked case 2: routes to a sleep-study referral, routine.
SLEEP_CASE_ANSWERS = {**SAFE, **FOUR_RLS_ANSWERS, "age": 58, "sex": "male", "snoring": "yes",
                      "observed_apnea": "yes", "tired_daytime": "yes", "high_blood_pressure": "yes"}
LETTER_TITLE = "Referral for a sleep study"
HISTORY = ("Loud snoring for ten years; his wife has seen him stop breathing in sleep. "
           "Restless legs in the evenings, twice a week or more.")
SIGNED_BY = f"Signed electronically by {DOCTOR.name}"
PDF_LINK = re.compile(r"^Download the (PDF|letter \(PDF\))$")


def add_sleep_patient(portal: LivePortal) -> None:
    """The patient and his stored answers, once per portal; born on 1 January, so 58 all this year in
    the clinic's zone, as he answered."""
    born = date(datetime.now(ZoneInfo(portal.zone)).year - 58, 1, 1)
    with portal.app.app_context():
        if db.session.scalar(select(User.id).where(User.email == SLEEP_PATIENT.email)) is None:
            patient = User(email=SLEEP_PATIENT.email, name=SLEEP_PATIENT.name, role=Role.PATIENT,
                           date_of_birth=born, phone="(555) 010-7210")
            patient.set_password(SLEEP_PATIENT.password)
            db.session.add(patient)
            db.session.flush()
            outcome = evaluate(SLEEP_CASE_ANSWERS)
            assert (outcome.route, outcome.urgency, outcome.stop_bang) == ("sleep_study_referral", "routine", 6)
            db.session.add(TriageSubmission.from_outcome(SLEEP_CASE_ANSWERS, outcome, patient_id=patient.id))
            db.session.commit()
        db.session.remove()


def pdf_text(path: Path) -> str:
    """The PDF's text with runs of whitespace made one space: pypdf may break lines anywhere."""
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(path.read_bytes())).pages)


def download_the_pdf(j: Journey, link, saved_as: str) -> str:
    """Click the link, keep the file among the journey's artifacts; its text, once checked to be a PDF."""
    with j.page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf"), download.suggested_filename
    path = j.folder / saved_as
    download.save_as(path)
    assert path.read_bytes().startswith(b"%PDF"), f"{download.suggested_filename} is not a PDF"
    return pdf_text(path)


def test_the_doctor_writes_signs_and_downloads_a_sleep_study_referral(journey, portal):
    add_sleep_patient(portal)
    with journey("doctor signs a sleep study referral") as j:
        j.log_in(DOCTOR)
        with j.step("the triage queue") as page:
            j.nav("Triage queue")
            expect(page.get_by_role("heading", level=1)).to_have_text("Triage queue")
        with j.step("only the sleep study cases") as page:
            page.get_by_label("Route").select_option(label=ROUTE_LABELS[Route.SLEEP_STUDY_REFERRAL])
            page.get_by_role("button", name="Filter").click()
            expect(page.get_by_role("link", name=SLEEP_PATIENT.name)).to_have_count(1)
        with j.step("the case") as page:
            page.get_by_role("link", name=SLEEP_PATIENT.name).click()
            expect(page.get_by_role("heading", level=1)).to_contain_text(SLEEP_PATIENT.name)
            expect(page.get_by_role("heading", name="Letters", exact=True)).to_be_visible()
        with j.step("the draft letter") as page:
            page.get_by_role("button", name=f"Write the {LETTER_TITLE.lower()}").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text(LETTER_TITLE)
            expect(page.get_by_text("Draft, version 1: not signed.")).to_be_visible()
            letter = page.get_by_role("article", name=LETTER_TITLE)
            expect(letter).to_contain_text(SLEEP_PATIENT.name)
            expect(letter).to_contain_text("STOP-Bang score 6 of 8")
            expect(letter).to_contain_text("Someone has seen the patient stop breathing")
            question = page.get_by_label("Question for the service").input_value()
            assert "sleep study" in question, f"the question the case suggests is missing: {question!r}"
        with j.step("sign without saying it was read") as page:
            page.get_by_label("History", exact=True).fill(HISTORY)
            page.get_by_role("button", name="Sign and lock the letter").click()
            expect(page.locator("#read_it-error")).to_have_text(
                "Please read the whole letter and check this box to sign it.")
            expect(page.get_by_label("History", exact=True)).to_have_value(HISTORY)
            expect(page.get_by_text("Draft, version 1: not signed.")).to_be_visible()
        with j.step("signed") as page:
            page.get_by_label("I have read the whole letter and it is correct").check()
            page.get_by_role("button", name="Sign and lock the letter").click()
            assert "Signed." in j.flash(), j.flash()
            expect(page.get_by_text(f"Signed by {DOCTOR.name} on")).to_be_visible()
            letter = page.get_by_role("article", name=LETTER_TITLE)
            expect(letter).to_contain_text(HISTORY)
            expect(letter).to_contain_text(question)
            expect(letter).to_contain_text(SIGNED_BY)
            expect(page.get_by_role("button", name="Sign and lock the letter")).to_have_count(0)
        with j.step("download the PDF") as page:
            text = download_the_pdf(j, page.get_by_role("link", name=PDF_LINK), "doctor-letter.pdf")
            for fact in (SLEEP_PATIENT.name, LETTER_TITLE, "STOP-Bang score 6 of 8", SIGNED_BY):
                assert fact in text, f"{fact!r} is not in the PDF's text:\n{text}"
        with j.step("back to the case") as page:
            page.get_by_role("link", name="Back to the case").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text(SLEEP_PATIENT.name)
            expect(page.get_by_role("link", name=LETTER_TITLE)).to_be_visible()
            expect(page.locator(".card", has=page.get_by_role("heading", name="Letters", exact=True))
                   ).to_contain_text(f"version 1, signed by {DOCTOR.name}")
    portal.journeys_done.add("letter signed")


def test_the_patient_downloads_his_signed_letter(journey, portal):
    if "letter signed" not in portal.journeys_done:
        pytest.skip("the patient reads the letter the doctor's journey signs, and it did not pass on this portal")
    with journey("patient downloads a signed letter") as j:
        j.log_in(SLEEP_PATIENT)
        with j.step("my appointments") as page:
            j.nav("My appointments")
            expect(page.get_by_role("heading", level=1)).to_have_text("My appointments")
            expect(page.get_by_role("heading", name="Letters from your doctors")).to_be_visible()
            letter = page.locator("li", has_text=LETTER_TITLE)
            expect(letter).to_contain_text(f"Signed by {DOCTOR.name}")
        with j.step("download the letter") as page:
            text = download_the_pdf(j, letter.get_by_role("link", name=PDF_LINK), "patient-letter.pdf")
            for fact in (SLEEP_PATIENT.name, SIGNED_BY):
                assert fact in text, f"{fact!r} is not in the PDF's text:\n{text}"
