"""Referral letters and scan requests (issue 13), through the test client with CSRF on.

A doctor opens the letter from the case page, writes the history and the question, ticks that
they read it and signs; the PDF then says what the patient answered and what the rules found, in
words that state no diagnosis and promise nothing about restless legs. A signed letter never
changes: a correction is a new version and the old one stays, byte for byte. The patient, the
front desk and the doctors read signed letters; drafts stay with the doctors; anyone else is told
there is no such letter. Every view, edit, signature, correction and download is in the audit log.
"""
import io
import re
from dataclasses import dataclass
from datetime import date

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest
from pypdf import PdfReader
from sqlalchemy import select

from portal.audit import AuditAction, AuditEvent
from portal.auth.models import Role, User
from portal.extensions import db
from portal.letters.content import LetterKind
from portal.letters.models import Letter
from portal.letters.service import sign_letter, start_letter
from portal.triage.models import TriageSubmission
from portal.triage.rules import evaluate, evaluate_safety
from tests import factories
from tests.client import browser_of, csrf_token, hidden_fields, logged_in, submit
from tests.pages import location, text, words

SLEEP, ULTRASOUND = LetterKind.SLEEP_STUDY_REFERRAL.value, LetterKind.VASCULAR_ULTRASOUND.value
SIGN_BUTTON, SAVE_BUTTON = "Sign and lock the letter", "Save the draft"
DOCTOR_NAME = "Dr. Helen Marsh"
CLINIC_NAME, CLINIC_PHONE = "Riverside Vein & Leg Clinic", "(555) 010-4477"  # the settings' defaults

NO_RED_FLAGS = {"pe_symptoms": "no", "bleeding_vein": "no", "cold_pale_leg": "no", "dvt_signs": "no",
                "svt_signs": "no"}
FOUR_RLS_YES = {"rls_urge": "yes", "rls_rest": "yes", "rls_movement_relief": "yes", "rls_evening": "yes",
                "rls_mimic": "none"}
# rlsvein-1's worked cases that route to a letter (others no / none / empty, as the table reads).
CASE_1 = {**NO_RED_FLAGS, **FOUR_RLS_YES, "sex": "female", "age": 52,
          "leg_signs": ["varicose_veins", "ankle_swelling"], "venous_symptoms": "yes"}
CASE_2 = {**NO_RED_FLAGS, **FOUR_RLS_YES, "sex": "male", "age": 58, "snoring": "yes", "observed_apnea": "yes",
          "tired_daytime": "yes", "high_blood_pressure": "yes"}
CASE_4 = {**NO_RED_FLAGS, "sex": "female", "age": 29, "pregnant": "yes", "dvt_signs": "yes"}
CASE_6 = {**NO_RED_FLAGS, "sex": "male", "age": 61, "leg_signs": ["varicose_veins"], "venous_symptoms": "yes",
          "pe_symptoms": "yes"}
CASE_3 = {**NO_RED_FLAGS, **FOUR_RLS_YES, "sex": "female", "age": 40, "rls_mimic": "cramp"}  # general consult
# The route and urgency rlsvein-1 gives each of them.
WORKED_CASES = {1: (CASE_1, ULTRASOUND, "routine"), 2: (CASE_2, SLEEP, "routine"), 4: (CASE_4, ULTRASOUND, "urgent"),
                6: (CASE_6, ULTRASOUND, "emergency")}

# What a letter from this portal never says: a diagnosis it cannot make, or a promise of relief.
NEVER_SAID = (
    r"\bdiagnos(?:is|es|e|ed|ing)\b",
    r"\bhas (?:got )?(?:restless legs|RLS|Willis-Ekbom|(?:obstructive )?sleep apn(?:o)?ea|OSA|a clot|DVT|"
    r"(?:a )?deep vein thrombosis|(?:a )?pulmonary embolism|venous (?:disease|reflux|insufficiency))",
    r"\bsuffers? from\b",
    r"\bwill (?:relieve|cure|resolve|improve|help|stop|ease)\b",
    r"\bcur(?:e|es|ed|ing)\b",
    r"\bconfirmed (?:diagnosis|RLS|restless legs|apn)",
)
# Words that would tie restless legs to what vein treatment does.
RELIEF_WORDS = r"treat|reliev|improv|\bcur|resolv|\bease|\beasing|\bhelp|better|vein|ablation|sclerotherap"


# --- the world ------------------------------------------------------------------------------------

def patient_named(name: str, born: date) -> User:
    patient = factories.make_user(name=name)
    patient.date_of_birth = born
    db.session.commit()
    return patient


def store_case(answers: dict, patient: User | None) -> TriageSubmission:
    """The answers as the portal stores them (as portal/demo.py seeds its worked cases)."""
    submission = TriageSubmission.from_outcome(answers, evaluate(answers),
                                               patient_id=patient.id if patient else None)
    db.session.add(submission)
    db.session.commit()
    return submission


def store_worked_case(number: int, patient: User) -> TriageSubmission:
    answers, route, urgency = WORKED_CASES[number]
    case = store_case(answers, patient)
    assert (case.current_route, case.urgency) == (route, urgency), f"case {number} is not as rlsvein-1 says"
    return case


def doctor_browser(app, name: str = DOCTOR_NAME):
    return logged_in(app, Role.DOCTOR, name=name)


def stored_letter(letter_id: int) -> Letter:
    db.session.rollback()  # see what the requests wrote
    return db.session.get(Letter, letter_id)


def letter_rows() -> list[Letter]:
    db.session.rollback()
    return list(db.session.scalars(select(Letter).order_by(Letter.id)))


def letter_audit() -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("letter.%"))
                                   .order_by(AuditEvent.id)))


# --- what a doctor does ---------------------------------------------------------------------------

def letters_card(case_page) -> str | None:
    """The case page's "Letters" card, as markup; None when the page has none."""
    found = re.search(r'<h2 class="small">Letters</h2>(.*?)</section>', case_page.get_data(as_text=True), re.S)
    return found.group(1) if found else None


def start_from_case_page(browser, case_id: int, kind: str):
    """Press "Write the ..." in the case page's Letters card."""
    card = letters_card(browser.get(f"/queue/{case_id}"))
    assert card, f"case {case_id} has no Letters card"
    action = f"/letters/case/{case_id}/{kind}"
    form = re.search(rf'<form method="post" action="{action}".*?</form>', card, re.S)
    assert form, f"no button to write the {kind} on case {case_id}"
    return browser.post(action, data=hidden_fields(form.group(0)))


def open_letter(browser, case_id: int, kind: str) -> int:
    started = start_from_case_page(browser, case_id, kind)
    assert started.status_code == 302, started.status_code
    return int(re.fullmatch(r"/letters/(\d+)", location(started)).group(1))


def fill_in(browser, letter_id: int, *, history: str = "", question: str = "", read_it: bool = True,
            button: str = SIGN_BUTTON, **kwargs):
    """The letter's form as the doctor sends it: the words, the tick box, and one button."""
    data = {"history": history, "question": question,
            ("sign" if button == SIGN_BUTTON else "save"): button}
    if read_it:
        data["read_it"] = "y"
    return submit(browser, f"/letters/{letter_id}", data, **kwargs)


def sign(browser, letter_id: int, *, history: str, question: str):
    signed = fill_in(browser, letter_id, history=history, question=question)
    assert signed.status_code == 302 and location(signed) == f"/letters/{letter_id}", error_messages(signed)
    return signed


def error_messages(response) -> list[str]:
    return [words(error) for error in re.findall(r'<p class="error"[^>]*>(.*?)</p>', response.get_data(as_text=True),
                                                  re.S)]


def record_emergency_dealt_with(browser, case_id: int, note: str) -> None:
    page = browser.get(f"/queue/{case_id}")
    done = browser.post(f"/queue/{case_id}/emergency",
                        data={**hidden_fields(page.get_data(as_text=True)), "note": note, "new_route": ""})
    assert done.status_code == 302, words(text(done))


def pdf_bytes(browser, letter_id: int) -> bytes:
    """Download the letter; every letter these tests download is held to the wording rules."""
    response = browser.get(f"/letters/{letter_id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf", response.status_code
    assert_says_only_what_was_reported(pdf_words(response.data))
    return response.data


def pdf_words(data: bytes) -> str:
    """The PDF's text as a reader takes it in: every page, runs of white space made one space."""
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages)


def assert_says_only_what_was_reported(letter: str) -> None:
    """The wording rules of issue 13, on the whole text of a letter."""
    for pattern in NEVER_SAID:
        said = re.search(pattern, letter, re.I)
        assert not said, f"the letter says {said.group(0)!r}"


def assert_restless_legs_left_to_others(letter: str) -> None:
    """A scan request for a patient with restless legs says they are assessed separately, and no
    statement that names restless legs speaks of treatment or relief."""
    assert "Restless legs symptoms are also reported; they are assessed separately" in letter
    for statement in re.split(r"[•.;]", letter):
        if re.search(r"restless legs|\bRLS\b", statement, re.I):
            assert not re.search(RELIEF_WORDS, statement, re.I), statement


def assert_letterhead_and_signature(letter: str, *, patient: str, born: str, title: str, priority: str,
                                    history: str, question: str) -> None:
    for fact in (CLINIC_NAME, f"Phone {CLINIC_PHONE}", title, f"Priority {priority}", f"Name {patient}",
                 f"Date of birth {born}", f"History {history}", question, f"Signed electronically by {DOCTOR_NAME}",
                 "Triage rules rlsvein-1"):
        assert fact in letter, f"{fact!r} is not in the letter"
    assert "DRAFT" not in letter


# --- the worked cases of rlsvein-1, from the case page to the PDF -----------------------------

def test_case_2_sleep_referral_says_why_with_the_stop_bang_items_and_the_restless_legs_answers(app):
    patient = patient_named("George Whitfield", date(1968, 6, 25))
    case = store_worked_case(2, patient)
    _, doctor = doctor_browser(app)

    letter_id = open_letter(doctor, case.id, SLEEP)
    history = "Snoring for years; his wife has seen pauses in his breathing. Leg restlessness at night."
    question = "Please assess for obstructive sleep apnoea and arrange a sleep study with leg recording."
    sign(doctor, letter_id, history=history, question=question)
    letter = pdf_words(pdf_bytes(doctor, letter_id))

    assert_letterhead_and_signature(letter, patient="George Whitfield", born="June 25, 1968",
                                    title="Referral for a sleep study", priority="Routine", history=history,
                                    question=question)
    assert ("STOP-Bang score 6 of 8: loud snoring, daytime tiredness, observed apnea, treated high blood "
            "pressure, age 58 (over 50) and male sex") in letter
    assert "Someone has seen the patient stop breathing, choke or gasp in sleep" in letter
    for feature in ("Urge to move the legs, usually with unpleasant sensations in them: yes",
                    "Begins or worsens at rest (sitting or lying): yes",
                    "Relieved by movement, at least while moving: yes",
                    "Worse, or only present, in the evening or at night: yes"):
        assert feature in letter
    assert "consistent with the IRLSSG 2012 essential criteria; to be confirmed clinically" in letter
    assert "Ferritin and transferrin saturation to be checked" in letter  # F3: ferritin unknown
    assert_says_only_what_was_reported(letter)


def test_case_1_ultrasound_request_gives_the_leg_signs_with_their_ceap_classes(app):
    patient = patient_named("Ruth Calloway", date(1973, 11, 2))
    case = store_worked_case(1, patient)
    _, doctor = doctor_browser(app)

    letter_id = open_letter(doctor, case.id, ULTRASOUND)
    history = "Aching, heavy legs after long shifts standing; varicose veins for ten years."
    question = "Superficial venous reflux? Deep venous reflux? Please map both legs."
    sign(doctor, letter_id, history=history, question=question)
    letter = pdf_words(pdf_bytes(doctor, letter_id))

    assert_letterhead_and_signature(letter, patient="Ruth Calloway", born="November 2, 1973",
                                    title="Request for a venous duplex ultrasound", priority="Routine",
                                    history=history, question=question)
    assert "Varicose veins (C2)" in letter and "Ankle swelling (C3)" in letter
    assert "Highest CEAP clinical class reported: C3s (as checked by the patient, not yet examined)" in letter
    assert ("Heaviness, aching, itching or cramps, worse after standing and better with the legs raised: yes"
            in letter)
    assert "Suspected thrombosis: no" in letter
    assert_says_only_what_was_reported(letter)
    assert_restless_legs_left_to_others(letter)


def test_case_4_ultrasound_request_is_urgent_for_a_possible_clot_in_pregnancy(app):
    patient = patient_named("Maya Ortega", date(1997, 8, 30))
    case = store_worked_case(4, patient)
    _, doctor = doctor_browser(app)

    letter_id = open_letter(doctor, case.id, ULTRASOUND)
    history = "Left calf swollen and tender since Tuesday; 31 weeks pregnant."
    question = "Deep vein thrombosis? Please scan the deep veins of the left leg today."
    sign(doctor, letter_id, history=history, question=question)
    letter = pdf_words(pdf_bytes(doctor, letter_id))

    assert_letterhead_and_signature(letter, patient="Maya Ortega", born="August 30, 1997",
                                    title="Request for a venous duplex ultrasound", priority="Urgent",
                                    history=history, question=question)
    assert "Possible deep vein thrombosis: in the last 4 weeks, new swelling of one leg" in letter
    assert "Possible deep vein thrombosis in pregnancy or within 6 weeks of giving birth" in letter
    assert "Pregnant or within 6 weeks of giving birth: yes" in letter
    assert "Suspected thrombosis: yes" in letter
    assert_says_only_what_was_reported(letter)


def test_case_6_emergency_request_cannot_be_signed_until_the_emergency_is_dealt_with(app):
    patient = patient_named("Frank Lindgren", date(1965, 1, 5))
    case = store_worked_case(6, patient)
    _, doctor = doctor_browser(app)
    letter_id = open_letter(doctor, case.id, ULTRASOUND)
    history = "Breathless on the stairs yesterday; sent to the emergency department, CT clear."
    question = "Superficial venous reflux? Deep venous reflux?"

    refused = fill_in(doctor, letter_id, history=history, question=question)
    assert refused.status_code == 400
    assert ("This case's emergency has not been recorded as dealt with. Record that on the case page first: "
            "a letter cannot stand in for emergency care.") in error_messages(refused)
    assert not stored_letter(letter_id).is_signed

    record_emergency_dealt_with(doctor, case.id, "Seen in the emergency department: CT pulmonary angiogram clear.")
    sign(doctor, letter_id, history=history, question=question)
    letter = pdf_words(pdf_bytes(doctor, letter_id))

    assert_letterhead_and_signature(letter, patient="Frank Lindgren", born="January 5, 1965",
                                    title="Request for a venous duplex ultrasound", priority="Emergency",
                                    history=history, question=question)
    assert ("Symptoms that can come from a pulmonary embolism were reported; the patient was told to get "
            "emergency care") in letter
    assert "Varicose veins (C2)" in letter
    assert_says_only_what_was_reported(letter)


def test_a_sleep_referral_marks_drowsy_driving_urgent_and_gives_scores_medicines_and_augmentation(app):
    patient = patient_named("Dora Kessler", date(1959, 4, 12))
    answers = {**NO_RED_FLAGS, **FOUR_RLS_YES, "sex": "female", "age": 66, "observed_apnea": "yes",
               "drowsy_driving": "yes", "epworth": 14, "ferritin": 45, "rls_frequency": "twice_weekly_or_more",
               "rls_impact": 3, "medications": ["antidepressant", "rls_dopaminergic"], "augmentation_signs": "yes"}
    case = store_case(answers, patient)
    assert (case.current_route, case.urgency) == ("sleep_study_referral", "urgent")
    _, doctor = doctor_browser(app)

    letter_id = open_letter(doctor, case.id, SLEEP)
    history = "On pramipexole for three years; symptoms now start in the afternoon."
    question = "Sleep apnoea? Periodic limb movements? Please advise on the dopaminergic treatment."
    sign(doctor, letter_id, history=history, question=question)
    letter = pdf_words(pdf_bytes(doctor, letter_id))

    assert_letterhead_and_signature(letter, patient="Dora Kessler", born="April 12, 1959",
                                    title="Referral for a sleep study", priority="Urgent", history=history,
                                    question=question)
    assert "URGENT: reports dozing or nearly dozing while driving in the last year; advised not to drive" in letter
    assert "Epworth Sleepiness Scale: 14 of 24 (above 10: excessive daytime sleepiness)" in letter
    assert "Last ferritin, as reported by the patient: 45 ng/mL" in letter
    assert "Current medicines reported: an antidepressant and a dopaminergic medicine for restless legs" in letter
    assert "Takes a medicine that may worsen restless legs; not to be stopped without the prescriber" in letter
    assert "Reports possible augmentation on dopaminergic treatment" in letter
    assert "Frequency over the last year: twice a week or more" in letter
    assert "Effect on sleep, energy, mood or work: 3 on a scale of 0 to 3" in letter
    assert_says_only_what_was_reported(letter)


def test_the_case_page_shows_the_letter_in_its_letters_card_once_started_and_once_signed(app):
    case = store_case(CASE_2, patient_named("George Whitfield", date(1968, 6, 25)))
    _, doctor = doctor_browser(app)
    assert "Write the referral for a sleep study" in words(letters_card(doctor.get(f"/queue/{case.id}")))

    letter_id = open_letter(doctor, case.id, SLEEP)
    card = letters_card(doctor.get(f"/queue/{case.id}"))
    assert f'href="/letters/{letter_id}">Referral for a sleep study</a>' in card
    assert "draft, not signed" in words(card)
    assert "Write the referral" not in words(card), "once started, the card links to the draft instead"
    # A second press (a double click, a page left open) goes on with the same draft.
    again = doctor.post(f"/letters/case/{case.id}/{SLEEP}", data={"csrf_token": csrf_token(
        doctor.get(f"/queue/{case.id}").get_data(as_text=True))})
    assert location(again) == f"/letters/{letter_id}"

    sign(doctor, letter_id, history="", question="Please assess for sleep apnoea.")
    card = letters_card(doctor.get(f"/queue/{case.id}"))
    assert f'href="/letters/{letter_id}"' in card
    assert f"version 1, signed by {DOCTOR_NAME}" in words(card)
    assert len(letter_rows()) == 1


def test_a_case_page_lists_the_patients_signed_letters_from_their_other_cases(app):
    patient = patient_named("George Whitfield", date(1968, 6, 25))
    earlier = store_case(CASE_2, patient)
    _, doctor = doctor_browser(app)
    letter_id = open_letter(doctor, earlier.id, SLEEP)
    sign(doctor, letter_id, history="", question="Please assess for sleep apnoea.")
    later = store_worked_case(1, patient)  # answered again months later: now a scan

    page = doctor.get(f"/queue/{later.id}")

    listed = signed_letters_on(page)
    assert len(listed) == 1 and listed[0].startswith("Referral for a sleep study Signed by")
    assert f'href="/letters/{letter_id}.pdf"' in page.get_data(as_text=True)
    assert "Write the request for a venous duplex ultrasound" in words(letters_card(page))
    # The letter's own case does not list it twice.
    assert signed_letters_on(doctor.get(f"/queue/{earlier.id}")) == []


# --- cases that may not have a letter ---------------------------------------------------------

def refused_start(browser, case_id: int, kind: str):
    """POST the start of a letter as a form on the case page would (its CSRF token), following
    where the portal sends the doctor."""
    token = csrf_token(browser.get(f"/queue/{case_id}").get_data(as_text=True))
    return browser.post(f"/letters/case/{case_id}/{kind}", data={"csrf_token": token}, follow_redirects=True)


def test_a_general_consult_case_has_no_letters(app):
    case = store_case(CASE_3, patient_named("Lena Vogt", date(1986, 2, 9)))
    _, doctor = doctor_browser(app)
    assert letters_card(doctor.get(f"/queue/{case.id}")) is None

    refused = refused_start(doctor, case.id, SLEEP)
    assert refused.status_code == 200 and refused.request.path == f"/queue/{case.id}"
    assert ("This case is routed to general consult now, so a referral for a sleep study cannot be written "
            "for it.") in words(text(refused))
    assert letter_rows() == []


def test_answers_not_linked_to_a_patient_have_no_letters(app):
    case = store_case(CASE_2, None)
    _, doctor = doctor_browser(app)
    assert letters_card(doctor.get(f"/queue/{case.id}")) is None

    refused = refused_start(doctor, case.id, SLEEP)
    assert refused.request.path == f"/queue/{case.id}"
    assert ("These answers are not linked to a patient yet, so there is nobody to write about."
            in words(text(refused)))
    assert letter_rows() == []


def test_a_route_still_to_be_set_has_no_letters(app):
    patient = patient_named("Early Stop", date(1970, 3, 3))
    answers = {**NO_RED_FLAGS, "sex": "female", "age": 54, "bleeding_vein": "yes"}
    case = TriageSubmission.from_outcome(answers, evaluate_safety(answers), patient_id=patient.id, complete=False)
    db.session.add(case)
    db.session.commit()
    assert case.route_provisional and case.current_route == ULTRASOUND
    _, doctor = doctor_browser(app)
    assert letters_card(doctor.get(f"/queue/{case.id}")) is None

    refused = refused_start(doctor, case.id, ULTRASOUND)
    assert "The route of this case is still to be set at review; set it first." in words(text(refused))
    assert letter_rows() == []


def test_a_draft_cannot_be_signed_once_the_doctor_routes_the_case_elsewhere(app):
    case = store_case(CASE_2, patient_named("George Whitfield", date(1968, 6, 25)))
    _, doctor = doctor_browser(app)
    letter_id = open_letter(doctor, case.id, SLEEP)

    page = doctor.get(f"/queue/{case.id}")
    rerouted = doctor.post(f"/queue/{case.id}", data={**hidden_fields(page.get_data(as_text=True)),
                                                      "new_route": "general_consult",
                                                      "reason": "Apnoea already under the sleep clinic."})
    assert rerouted.status_code == 302
    # The draft stays in reach from the case page, though no new letter of its kind would be offered.
    card = letters_card(doctor.get(f"/queue/{case.id}"))
    assert card is not None and f"/letters/{letter_id}" in card

    refused = fill_in(doctor, letter_id, history="", question="Please assess for sleep apnoea.")
    assert refused.status_code == 400
    assert ("This case is routed to general consult now, so a referral for a sleep study cannot be written "
            "for it.") in error_messages(refused)
    assert not stored_letter(letter_id).is_signed


# --- what the doctor types --------------------------------------------------------------------

@pytest.fixture
def draft(app):
    """A sleep case's letter just opened by a doctor: (letter id, the doctor's browser)."""
    case = store_case(CASE_2, patient_named("George Whitfield", date(1968, 6, 25)))
    _, doctor = doctor_browser(app)
    return open_letter(doctor, case.id, SLEEP), doctor


def assert_nothing_stored(letter_id: int) -> None:
    letter = stored_letter(letter_id)
    assert (letter.is_signed, letter.history) == (False, "")
    assert letter.question.startswith("Please assess for obstructive sleep apnea")  # the suggested one
    assert [event.action for event in letter_audit()
            if event.action in (AuditAction.LETTER_EDITED, AuditAction.LETTER_SIGNED)] == []


def test_signing_without_ticking_that_the_letter_was_read_is_refused(draft):
    letter_id, doctor = draft
    refused = fill_in(doctor, letter_id, history="Typed history", question="Sleep apnoea?", read_it=False)
    assert refused.status_code == 400
    assert "Please read the whole letter and check this box to sign it." in error_messages(refused)
    assert "Typed history" in text(refused), "what the doctor typed stays on the page"
    assert_nothing_stored(letter_id)


@pytest.mark.parametrize("button", [SAVE_BUTTON, SIGN_BUTTON])
def test_a_history_longer_than_5000_characters_is_refused(draft, button):
    letter_id, doctor = draft
    refused = fill_in(doctor, letter_id, history="x" * 5001, question="Sleep apnoea?", button=button)
    assert refused.status_code == 400
    assert "Please keep this under 5,000 characters." in error_messages(refused)
    assert_nothing_stored(letter_id)


def test_signing_with_no_question_for_the_service_is_refused(draft):
    letter_id, doctor = draft
    refused = fill_in(doctor, letter_id, history="", question="   ")
    assert refused.status_code == 400
    assert "Please write the question for the service the letter goes to." in error_messages(refused)
    assert_nothing_stored(letter_id)


def test_saving_a_draft_keeps_the_words_unsigned(draft):
    letter_id, doctor = draft
    saved = fill_in(doctor, letter_id, history="Snores.", question="Sleep apnoea?", read_it=False,
                    button=SAVE_BUTTON, follow_redirects=True)
    assert "The draft is saved. It is not signed yet." in words(text(saved))
    letter = stored_letter(letter_id)
    assert (letter.history, letter.question, letter.is_signed) == ("Snores.", "Sleep apnoea?", False)
    assert "DRAFT – NOT SIGNED" in pdf_words(pdf_bytes(doctor, letter_id))


def test_odd_requests_get_a_plain_refusal_never_a_server_error(app, draft):
    letter_id, doctor = draft
    case_id = stored_letter(letter_id).submission_id
    token = csrf_token(doctor.get(f"/queue/{case_id}").get_data(as_text=True))

    assert doctor.post(f"/letters/case/{case_id}/not_a_letter", data={"csrf_token": token}).status_code == 404
    no_token = doctor.post(f"/letters/case/{case_id}/{SLEEP}", data={})
    assert no_token.status_code == 400 and "This form has expired" in words(text(no_token))
    assert doctor.post(f"/letters/{letter_id}", data={"question": "Q?", "read_it": "y",
                                                      "sign": SIGN_BUTTON}).status_code == 400
    assert doctor.post(f"/letters/{letter_id}/correct", data={}).status_code == 400
    missing_case = doctor.post(f"/letters/case/987654/{SLEEP}", data={"csrf_token": token}, follow_redirects=True)
    assert missing_case.status_code == 404
    for url in ("/letters/987654", "/letters/987654.pdf", "/letters/987654.json"):
        assert doctor.get(url).status_code == 404, url
    assert len(letter_rows()) == 1
    assert_nothing_stored(letter_id)


# --- a signed letter never changes; a correction is its next version -------------------------

def correct(browser, letter_id: int):
    """Press "Write a correction" on a signed letter's page."""
    page = browser.get(f"/letters/{letter_id}").get_data(as_text=True)
    form = re.search(rf'<form method="post" action="/letters/{letter_id}/correct".*?</form>', page, re.S)
    assert form, "the signed letter's page offers no correction"
    return browser.post(f"/letters/{letter_id}/correct", data=hidden_fields(form.group(0)))


def signed_letters_on(page) -> list[str]:
    """The signed letters a page lists, each as its words."""
    return [words(item) for item in re.findall(r'<li class="card"><strong>(?:Referral|Request).*?</li>',
                                               page.get_data(as_text=True), re.S)]


def test_a_signed_letter_never_changes_and_a_correction_keeps_both_versions(app):
    patient = patient_named("George Whitfield", date(1968, 6, 25))
    case = store_case(CASE_2, patient)
    _, doctor = doctor_browser(app)
    first = open_letter(doctor, case.id, SLEEP)
    sign(doctor, first, history="Snoring for years.", question="Sleep apnoea?")
    signed_pdf = pdf_bytes(doctor, first)
    signed_text = stored_letter(first).signed_text

    # New words sent to a signed letter change nothing.
    page = doctor.get(f"/letters/{first}")
    changed = doctor.post(f"/letters/{first}", data={**hidden_fields(page.get_data(as_text=True)),
                                                     "history": "Rewritten.", "question": "Other question?",
                                                     "read_it": "y", "sign": SIGN_BUTTON}, follow_redirects=True)
    assert "This letter is signed and cannot change. Write a correction instead." in words(text(changed))
    assert (stored_letter(first).history, stored_letter(first).signed_text) == ("Snoring for years.", signed_text)

    # "Write a correction" opens version 2, a draft that starts from version 1's words.
    corrected = correct(doctor, first)
    second = int(re.fullmatch(r"/letters/(\d+)", location(corrected)).group(1))
    draft = stored_letter(second)
    assert (draft.version, draft.corrects_id, draft.is_signed, draft.history) == (2, first, False,
                                                                                  "Snoring for years.")
    assert pdf_bytes(doctor, first) == signed_pdf, "version 1 is the same PDF, byte for byte"
    # Version 1's page offers no second correction; one sent anyway goes on with version 2's draft.
    assert f'action="/letters/{first}/correct"' not in doctor.get(f"/letters/{first}").get_data(as_text=True)
    token = csrf_token(doctor.get(f"/letters/{first}").get_data(as_text=True))
    assert location(doctor.post(f"/letters/{first}/correct", data={"csrf_token": token})) == f"/letters/{second}"

    sign(doctor, second, history="Snoring for years; now on CPAP trial elsewhere.", question="Sleep apnoea?")
    assert pdf_bytes(doctor, first) == signed_pdf
    assert "version 2 replaces it" in words(text(doctor.get(f"/letters/{first}")))
    again = doctor.post(f"/letters/{first}/correct", data={"csrf_token": token}, follow_redirects=True)
    assert f"This is not the latest version: correct SL{case.id}-v2 instead." in words(text(again))
    assert [(row.version, row.is_signed) for row in letter_rows()] == [(1, True), (2, True)]

    # The patient keeps both, the corrected one marked as replaced.
    patient_browser = browser_of(app, patient)
    listed = signed_letters_on(patient_browser.get("/appointments/"))
    assert len(listed) == 2
    newest, replaced = listed
    assert f"reference SL{case.id}-v2" in newest and "Replaced" not in newest
    assert f"reference SL{case.id}-v1" in replaced and "Replaced by a corrected version above." in replaced
    assert pdf_bytes(patient_browser, first) == signed_pdf


def test_a_signed_letter_is_not_called_replaced_while_its_correction_is_only_a_draft(app):
    # Until version 2 is signed, version 1 is the letter that counts (the patient's list shows it as
    # current), so its page must not say it is replaced. Fails today: letters/letter.html says
    # "version 2 replaces it" for an unsigned draft too; it should say so only once version 2 is signed.
    case = store_case(CASE_2, patient_named("George Whitfield", date(1968, 6, 25)))
    _, doctor = doctor_browser(app)
    first = open_letter(doctor, case.id, SLEEP)
    sign(doctor, first, history="Snoring for years.", question="Sleep apnoea?")
    correct(doctor, first)

    notice = words(text(doctor.get(f"/letters/{first}")))
    assert "replaces it" not in notice, "version 1's page calls an unsigned draft its replacement"


# --- who may read a letter --------------------------------------------------------------------

ACTORS = ("patient A", "patient B", "desk", "doctor", "admin", "anonymous")
ROLES = {"patient A": Role.PATIENT, "patient B": Role.PATIENT, "desk": Role.DESK, "doctor": Role.DOCTOR,
         "admin": Role.ADMIN}
PAGE, PDF, FHIR = "page", "pdf", "json"
LOGIN = "the login page"
LOGIN_FIRST = {"error": "login_required", "message": "Please log in first."}  # what a script is told
OWNER = "Ada Recordholder"

# What each of them is answered, for patient A's signed letter and for her draft. Admins hold the
# desk's powers (DESK_ROLES); the doctor's page is the doctors' alone (403 for other roles).
EXPECTED = {
    "signed": {"patient A": {PAGE: 403, PDF: 200, FHIR: 200}, "patient B": {PAGE: 403, PDF: 404, FHIR: 404},
               "desk": {PAGE: 403, PDF: 200, FHIR: 200}, "admin": {PAGE: 403, PDF: 200, FHIR: 200},
               "doctor": {PAGE: 200, PDF: 200, FHIR: 200}, "anonymous": {PAGE: LOGIN, PDF: LOGIN, FHIR: 401}},
    "draft": {"patient A": {PAGE: 403, PDF: 404, FHIR: 404}, "patient B": {PAGE: 403, PDF: 404, FHIR: 404},
              "desk": {PAGE: 403, PDF: 404, FHIR: 404}, "admin": {PAGE: 403, PDF: 404, FHIR: 404},
              "doctor": {PAGE: 200, PDF: 200, FHIR: 200}, "anonymous": {PAGE: LOGIN, PDF: LOGIN, FHIR: 401}},
}


def answer(response):
    """What a person or a script is given: a status, or the login page."""
    if response.status_code == 302 and location(response) == "/auth/login":
        return LOGIN
    return response.status_code


@dataclass
class LetterWorld:
    owner: User
    signed_id: int
    draft_id: int
    browsers: dict


@pytest.fixture
def letter_world(app) -> LetterWorld:
    """Patient A with a signed sleep referral and a draft scan request; patient B, the desk, a
    doctor and an admin, each logged in; and a visitor who is not."""
    users = {actor: factories.make_user(role=role, name=OWNER if actor == "patient A" else None)
             for actor, role in ROLES.items()}
    owner, doctor = users["patient A"], users["doctor"]
    sleep_case, scan_case = store_case(CASE_2, owner), store_case(CASE_1, owner)
    signed = sign_letter(start_letter(sleep_case.id, LetterKind.SLEEP_STUDY_REFERRAL, doctor=doctor).id,
                         doctor=doctor, history="Snoring.", question="Sleep apnoea?")
    draft = start_letter(scan_case.id, LetterKind.VASCULAR_ULTRASOUND, doctor=doctor)
    signed_id, draft_id = signed.id, draft.id
    browsers = {actor: browser_of(app, user) for actor, user in users.items()}
    browsers["anonymous"] = app.test_client()
    return LetterWorld(owner=owner, signed_id=signed_id, draft_id=draft_id, browsers=browsers)


@pytest.mark.parametrize("state", ["signed", "draft"])
def test_who_may_read_a_letter(letter_world, state):
    letter_id = letter_world.signed_id if state == "signed" else letter_world.draft_id
    urls = {PAGE: f"/letters/{letter_id}", PDF: f"/letters/{letter_id}.pdf", FHIR: f"/letters/{letter_id}.json"}
    wrong = []
    for actor in ACTORS:
        for what, url in urls.items():
            response = letter_world.browsers[actor].get(url)
            expected = EXPECTED[state][actor][what]
            if answer(response) != expected:
                wrong.append(f"{actor} GET {url}: {answer(response)}, expected {expected}")
            if expected in (403, 404) and OWNER in text(response):
                wrong.append(f"{actor} GET {url}: the refusal names the patient")
            if expected == 200 and what == PDF and response.mimetype != "application/pdf":
                wrong.append(f"{actor} GET {url}: {response.mimetype}")
            if expected == 401 and response.get_json() != LOGIN_FIRST:
                wrong.append(f"{actor} GET {url}: {response.get_data(as_text=True)[:80]}")
    assert wrong == []


# --- where patients and the desk find signed letters ---------------------------------------------

def test_the_patient_and_the_desk_see_signed_letters_with_a_pdf_link_and_never_drafts(letter_world):
    signed_link = f'href="/letters/{letter_world.signed_id}.pdf"'
    draft_link = f'href="/letters/{letter_world.draft_id}.pdf"'

    own = letter_world.browsers["patient A"].get("/appointments/")
    assert "Letters from your doctors" in words(text(own))
    assert signed_link in own.get_data(as_text=True) and draft_link not in own.get_data(as_text=True)
    [listed] = signed_letters_on(own)
    assert "Referral for a sleep study" in listed and "Download the letter (PDF)" in listed

    other = letter_world.browsers["patient B"].get("/appointments/")
    assert "Letters from your doctors" not in words(text(other)) and signed_link not in text(other)

    record = letter_world.browsers["desk"].get(f"/desk/patients/{letter_world.owner.id}")
    assert record.status_code == 200
    assert signed_link in record.get_data(as_text=True) and draft_link not in record.get_data(as_text=True)
    [listed] = signed_letters_on(record)
    assert "Referral for a sleep study" in listed


# --- the FHIR ServiceRequest --------------------------------------------------------------------

@pytest.mark.parametrize("state", ["signed", "draft"])
def test_the_fhir_json_is_a_valid_service_request(letter_world, state):
    letter_id = letter_world.signed_id if state == "signed" else letter_world.draft_id
    response = letter_world.browsers["doctor"].get(f"/letters/{letter_id}.json")
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"

    request = ServiceRequest.model_validate(response.get_json())
    assert request.status == ("active" if state == "signed" else "draft")
    assert request.intent == "order" and request.subject.display == OWNER
    patient = next(resource for resource in response.get_json()["contained"] if resource["resourceType"] == "Patient")
    assert patient["birthDate"] == "1960-01-01"


# --- the audit log ------------------------------------------------------------------------------

def test_every_view_edit_signature_correction_and_download_is_in_the_audit_log(app):
    patient = patient_named("George Whitfield", date(1968, 6, 25))
    case = store_case(CASE_2, patient)
    doctor, doctor_page = doctor_browser(app)
    desk = factories.make_user(role=Role.DESK)
    patient_browser, desk_browser = browser_of(app, patient), browser_of(app, desk)

    letter_id = open_letter(doctor_page, case.id, SLEEP)                                  # drafted
    fill_in(doctor_page, letter_id, history="Snores.", question="Sleep apnoea?",           # viewed, edited
            read_it=False, button=SAVE_BUTTON)
    sign(doctor_page, letter_id, history="Snores.", question="Sleep apnoea?")              # viewed, signed
    pdf_bytes(doctor_page, letter_id)                                                      # downloaded
    pdf_bytes(patient_browser, letter_id)                                                  # downloaded
    assert desk_browser.get(f"/letters/{letter_id}.json").status_code == 200               # downloaded
    correction = location(correct(doctor_page, letter_id))                                 # viewed, drafted
    reference = f"SL{case.id}"

    logged = [(event.action, event.user_id, event.patient_id, event.detail) for event in letter_audit()]
    detail = f"letter {reference}-v1 (sleep_study_referral) for case {case.id}: "
    assert logged == [
        ("letter.drafted", doctor.id, patient.id, detail + "draft started"),
        ("letter.viewed", doctor.id, patient.id, detail + "page"),
        ("letter.edited", doctor.id, patient.id, detail + "history and question saved"),
        ("letter.viewed", doctor.id, patient.id, detail + "page"),
        ("letter.signed", doctor.id, patient.id, detail + "signed"),
        ("letter.downloaded", doctor.id, patient.id, detail + "pdf"),
        ("letter.downloaded", patient.id, patient.id, detail + "pdf"),
        ("letter.downloaded", desk.id, patient.id, detail + "fhir"),
        ("letter.viewed", doctor.id, patient.id, detail + "page"),
        ("letter.drafted", doctor.id, patient.id,
         f"letter {reference}-v2 (sleep_study_referral) for case {case.id}: correction of {reference}-v1 started"),
    ]
    first, second = letter_rows()
    assert (first.id, second.version, correction) == (letter_id, 2, f"/letters/{second.id}")
