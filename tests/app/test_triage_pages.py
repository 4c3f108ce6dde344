"""The triage questionnaire, its outcome page and the booking it allows, through the test client.

A person answers step by step (radio, checkbox and number fields named by question id, plus
action=next or action=back); the answers in progress live in a TriageDraft row and the browser
holds only its token. The outcome page says what to do next; booking follows the triage:
none without one, never after an emergency, only within 24 hours when urgent.
"""
import html
import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import func, select, update

from portal import dates
from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.booking.models import Appointment, Route
from portal.booking.service import TriageNotBookable, book_appointment
from portal.extensions import db
from portal.notify.models import MessageKind
from portal.triage.browser import DRAFT_KEY, SUBMISSIONS_KEY
from portal.triage.models import TriageDraft, TriageSubmission
from portal.triage.questions import STEPS
from portal.triage.rules import RULE_TEXT, evaluate
from tests import clinic_dates, factories
from tests.client import AuthActions, browser_of, csrf_token, hidden_fields, submit
from tests.mailbox import password_link
from tests.pages import first_free_link, location, main, parts_of_day, slot_links, text, time_buttons, words

CHICAGO = factories.CHICAGO
STEP_IDS = [step.id for step in STEPS]
STEP_OF = {qid: step.id for step in STEPS for qid in step.question_ids}
ALL_DAY = {weekday: [(time(0), time(23, 30))] for weekday in range(7)}
RULE_ID = re.compile(r"\b[EURF]\d{1,2}\b")

# --- the answers a person gives ---------------------------------------------------------------

# Everything answered "no", "none" or left empty, as rlsvein-1's worked cases read.
ALL_NO = {
    "pe_symptoms": "no", "bleeding_vein": "no", "cold_pale_leg": "no",
    "dvt_signs": "no", "svt_signs": "no", "venous_symptoms": "no",
    "rls_urge": "no", "rls_rest": "no", "rls_movement_relief": "no", "rls_evening": "no",
    "snoring": "no", "tired_daytime": "no", "observed_apnea": "no", "high_blood_pressure": "no",
    "drowsy_driving": "no", "partner_leg_jerks": "no", "augmentation_signs": "no",
}
FOUR_RLS_YES = {"rls_urge": "yes", "rls_rest": "yes", "rls_movement_relief": "yes", "rls_evening": "yes",
                "rls_mimic": "none"}

CASES = {  # rlsvein-1 worked cases: the form answers, then the route and urgency they must give
    1: ({**ALL_NO, "age": "52", "sex": "female", "pregnant": "no", **FOUR_RLS_YES,
         "leg_signs": ["varicose_veins", "ankle_swelling"], "venous_symptoms": "yes"},
        "vascular_ultrasound", "routine"),
    2: ({**ALL_NO, "age": "58", "sex": "male", **FOUR_RLS_YES, "snoring": "yes", "observed_apnea": "yes",
         "tired_daytime": "yes", "high_blood_pressure": "yes"},
        "sleep_study_referral", "routine"),
    3: ({**ALL_NO, "age": "40", "sex": "female", "pregnant": "no", **FOUR_RLS_YES, "rls_mimic": "cramp"},
        "general_consult", "routine"),
    4: ({**ALL_NO, "age": "29", "sex": "female", "pregnant": "yes", "dvt_signs": "yes"},
        "vascular_ultrasound", "urgent"),
    5: ({**ALL_NO, "age": "35", "sex": "female", "pregnant": "no", "leg_signs": ["spider_veins"]},
        "general_consult", "routine"),
    6: ({**ALL_NO, "age": "61", "sex": "male", "leg_signs": ["varicose_veins"], "venous_symptoms": "yes",
         "pe_symptoms": "yes"},
        "vascular_ultrasound", "emergency"),
}


# --- reading pages ----------------------------------------------------------------------------

def headings(response) -> list[str]:
    return [words(h) for h in re.findall(r"<h[1-6][^>]*>(.*?)</h[1-6]>", main(response), re.S)]


def question_box(response, question_id: str) -> str:
    """The fieldset of one question (the box of a number question), as markup."""
    match = re.search(rf'<(fieldset|div)[^>]*id="q-{question_id}".*?</\1>', text(response), re.S)
    assert match, f"{question_id} is not asked on this page"
    return match.group(0)


def error_next_to(response, question_id: str) -> str | None:
    match = re.search(r'<p class="error"[^>]*>(.*?)</p>', question_box(response, question_id), re.S)
    return match.group(1).strip() if match else None


def asked(response) -> list[str]:
    return re.findall(r'<(?:fieldset|div)[^>]*id="q-([a-z_]+)"', response.get_data(as_text=True))


def submission_id(response) -> int:
    match = re.fullmatch(r"/triage/(\d+)", location(response))
    assert match, f"not an outcome page: {location(response)}"
    return int(match.group(1))


def links(markup: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'href="([^"]+)"', markup)]


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


# --- answering --------------------------------------------------------------------------------

def form_data(answers: dict, step_id: str) -> dict:
    return {qid: value for qid, value in answers.items() if STEP_OF[qid] == step_id}


def answer_step(browser, step_id: str, answers: dict, action: str = "next", *, only_this_step: bool = True):
    """Open a step, then send it as the browser would: its hidden fields, the answers, the button."""
    data = form_data(answers, step_id) if only_this_step else dict(answers)
    return submit(browser, f"/triage/step/{step_id}", {**data, "action": action})


def answer_all(browser, answers: dict):
    """Answer every step in order, as the pages lead; returns the response that leaves the
    questionnaire (the redirect to the outcome page)."""
    step_id = STEP_IDS[0]
    for _ in STEPS:
        response = answer_step(browser, step_id, answers)
        assert response.status_code == 302, (step_id, response.status_code, text(response)[:2000])
        target = location(response)
        if not target.startswith("/triage/step/"):
            return response
        step_id = target.rsplit("/", 1)[1]
    raise AssertionError("the questionnaire never ended")


# --- the world --------------------------------------------------------------------------------

def fresh() -> None:
    """End the test's read transaction: rows the app wrote are then seen, and on SQLite the
    test may write again (WAL refuses a write from a snapshot older than the last commit)."""
    db.session.rollback()


def stored_submissions() -> list[TriageSubmission]:
    fresh()
    return list(db.session.scalars(select(TriageSubmission).order_by(TriageSubmission.id)))


def stored_drafts() -> list[TriageDraft]:
    fresh()
    return list(db.session.scalars(select(TriageDraft)))


def draft_answers(browser) -> dict | None:
    with browser.session_transaction() as session:
        token = session.get(DRAFT_KEY)
    fresh()
    draft = db.session.scalar(select(TriageDraft).where(TriageDraft.token == token)) if token else None
    return dict(draft.answers) if draft else None


def stored_appointments() -> list[Appointment]:
    fresh()
    return list(db.session.scalars(select(Appointment).order_by(Appointment.id)))


def logged_in(app, role: str = Role.PATIENT, triage: tuple[str, str] | None = None, **answers):
    """A new account of `role` (triaged as given), and a browser of its own, logged in."""
    user = factories.make_user(role=role)
    submission = factories.make_submission(user, *triage, **answers) if triage else None
    return user, submission, browser_of(app, user)


def clinic_types():
    """The three kinds of visit, with names a patient reads."""
    return {
        Route.VASCULAR_ULTRASOUND: factories.make_type(Route.VASCULAR_ULTRASOUND, 45, "Leg vein scan"),
        Route.SLEEP_STUDY_REFERRAL: factories.make_type(Route.SLEEP_STUDY_REFERRAL, 30, "Sleep assessment"),
        Route.GENERAL_CONSULT: factories.make_type(Route.GENERAL_CONSULT, 30, "General consultation"),
    }


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return factories.local(day, hour, minute).astimezone(UTC)


def confirm_url(route: str, start: datetime, clinician_id: int) -> str:
    return "/book/confirm?" + urlencode({"type": route, "start": start.isoformat(), "clinician": clinician_id})


# --- the start page and who may answer --------------------------------------------------------

def test_start_page_lists_the_steps_and_starts_with_safety(client):
    response = client.get("/triage/")

    assert response.status_code == 200
    page = words(main(response))
    assert "Find the right visit" in page
    for step in STEPS:
        assert step.title in page
    assert "/triage/step/safety" in links(main(response))


def test_a_patient_may_answer(app):
    _, _, browser = logged_in(app)

    assert browser.get("/triage/").status_code == 200
    assert browser.get("/triage/step/safety").status_code == 200


@pytest.mark.parametrize("role", [Role.DESK, Role.DOCTOR, Role.ADMIN])
def test_staff_cannot_answer_the_questionnaire(app, role):
    _, _, browser = logged_in(app, role=role)
    token = csrf_token(browser.get("/").get_data(as_text=True))

    assert browser.get("/triage/").status_code == 403
    for step_id in STEP_IDS:
        assert browser.get(f"/triage/step/{step_id}").status_code == 403
    response = browser.post("/triage/step/safety", data={"csrf_token": token, "action": "next",
                                                         "pe_symptoms": "no", "bleeding_vein": "no",
                                                         "cold_pale_leg": "no"})
    assert response.status_code == 403
    assert stored_drafts() == [] and stored_submissions() == []


def test_an_unknown_step_is_not_found(client):
    assert client.get("/triage/step/nonsense").status_code == 404


# --- the safety questions come first ----------------------------------------------------------

def test_the_first_step_asks_only_the_safety_questions(client):
    response = client.get("/triage/step/safety")

    assert response.status_code == 200
    assert asked(response) == ["pe_symptoms", "bleeding_vein", "cold_pale_leg"]
    assert "Step 1 of 6" in text(response)


@pytest.mark.parametrize("question_id", ["pe_symptoms", "bleeding_vein", "cold_pale_leg"])
@pytest.mark.parametrize("answer", ["yes", "not_sure"])
def test_an_emergency_answer_goes_straight_to_the_emergency_page(client, question_id, answer):
    safety = {"pe_symptoms": "no", "bleeding_vein": "no", "cold_pale_leg": "no", question_id: answer}

    response = answer_step(client, "safety", safety)

    [submission] = stored_submissions()
    assert location(response) == f"/triage/{submission.id}"
    assert submission.urgency == "emergency"
    assert submission.complete is False
    assert submission.answers == safety  # the rest was never asked
    assert submission.rules_version == "rlsvein-1"
    assert submission.patient_id is None
    assert stored_drafts() == []
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "emergency department" in headings(page)[0]


@pytest.mark.parametrize("step_id", STEP_IDS[1:])
def test_skipping_ahead_before_the_safety_questions_leads_back_to_them(client, step_id):
    assert location(client.get(f"/triage/step/{step_id}")) == "/triage/step/safety"
    token = csrf_token(client.get("/triage/step/safety").get_data(as_text=True))
    response = client.post(f"/triage/step/{step_id}", data={"csrf_token": token, "action": "next",
                                                            "age": "40", "sex": "female"})
    assert location(response) == "/triage/step/safety"
    assert stored_drafts() == [] and stored_submissions() == []


# --- worked cases, end to end -----------------------------------------------------------------

@pytest.mark.parametrize("case", [1, 2, 3, 4, 5])
def test_worked_case_answered_through_the_form(app, case):
    answers, route, urgency = CASES[case]
    patient, _, browser = logged_in(app)

    response = answer_all(browser, answers)

    [submission] = stored_submissions()
    assert location(response) == f"/triage/{submission.id}"
    assert (submission.route, submission.urgency) == (route, urgency)
    assert (submission.outcome["route"], submission.outcome["urgency"]) == (route, urgency)
    assert submission.current_route == route
    assert submission.rules_version == "rlsvein-1" == submission.outcome["version"]
    assert submission.complete is True
    assert submission.patient_id == patient.id
    assert submission.outcome == evaluate(submission.answers).to_dict()  # the real rules, as stored
    assert submission.answers["age"] == int(answers["age"])  # typed, not the form's strings
    assert submission.answers.get("leg_signs", []) == answers.get("leg_signs", [])
    assert stored_drafts() == []  # the draft is discarded once submitted
    page = browser.get(response.headers["Location"])
    assert page.status_code == 200


def test_worked_case_6_stops_at_the_first_page_as_an_emergency(app):
    answers, _, urgency = CASES[6]
    patient, _, browser = logged_in(app)

    response = answer_all(browser, answers)

    [submission] = stored_submissions()
    assert location(response) == f"/triage/{submission.id}"
    assert submission.urgency == urgency == "emergency"
    assert submission.complete is False
    assert set(submission.answers) == {"pe_symptoms", "bleeding_vein", "cold_pale_leg"}
    assert submission.outcome["reasons"][0] == "E1"
    assert submission.patient_id == patient.id
    page = browser.get(response.headers["Location"])
    assert headings(page)[0] == "Call 911 now, or go to the nearest emergency department"
    # With all of case 6's answers the rules route to a leg vein scan (rlsvein-1); the early stop
    # never asks about the legs, so what the page stored cannot know that.
    assert evaluate({k: (int(v) if k == "age" else v) for k, v in answers.items()}).route == "vascular_ultrasound"


def test_a_finished_questionnaire_submitted_again_makes_no_second_submission(client):
    answers = CASES[1][0]
    for step_id in STEP_IDS[:-1]:
        assert answer_step(client, step_id, answers).status_code == 302
    with client.session_transaction() as session:
        token = session[DRAFT_KEY]
    page = client.get("/triage/step/medicines")
    fields = {**hidden_fields(page.get_data(as_text=True)), **form_data(answers, "medicines"), "action": "next"}

    first = client.post("/triage/step/medicines", data=fields)
    with client.session_transaction() as session:  # the double click: the same cookie again
        session[DRAFT_KEY] = token
    second = client.post("/triage/step/medicines", data=fields)

    assert submission_id(first) == stored_submissions()[0].id
    assert second.status_code == 302 and location(second) == "/triage/step/safety"
    assert len(stored_submissions()) == 1


# --- going back and forth ---------------------------------------------------------------------

def test_back_and_forward_keep_the_answers_on_the_server(client):
    answers = {**CASES[1][0], "dvt_risks": ["cancer", "previous_dvt_pe"], "rls_impact": "2"}
    for step_id in ["safety", "about_you", "legs"]:
        assert answer_step(client, step_id, answers).status_code == 302

    back = answer_step(client, "rls", answers, action="back")  # answers given on the way back are kept too

    assert location(back) == "/triage/step/legs"
    legs = client.get("/triage/step/legs")
    for value in ["varicose_veins", "ankle_swelling", "cancer", "previous_dvt_pe"]:
        assert re.search(rf'value="{value}"\s+checked', legs.get_data(as_text=True)), value
    assert not re.search(r'value="spider_veins"\s+checked', legs.get_data(as_text=True))
    about_you = client.get("/triage/step/about_you")
    assert 'value="52"' in question_box(about_you, "age")
    assert re.search(r'value="female"\s+checked', question_box(about_you, "sex"))
    rls = client.get("/triage/step/rls")
    assert 'value="2"' in question_box(rls, "rls_impact")
    assert re.search(r'value="yes"\s+checked', question_box(rls, "rls_urge"))

    # The browser holds a token only; the answers are in the draft row.
    with client.session_transaction() as session:
        token = session[DRAFT_KEY]
        kept = {key: value for key, value in session.items() if not key.startswith(("csrf", "_"))}
    assert kept == {DRAFT_KEY: token}
    # A random token, not the answers.
    assert isinstance(token, str) and "female" not in token and "varicose" not in token
    stored = draft_answers(client)
    assert stored["age"] == 52 and stored["rls_impact"] == 2
    assert stored["leg_signs"] == ["varicose_veins", "ankle_swelling"]

    # Forward again to the end: one submission with every answer.
    response = answer_all(client, answers)
    [submission] = stored_submissions()
    assert location(response) == f"/triage/{submission.id}"
    assert submission.answers["dvt_risks"] == ["cancer", "previous_dvt_pe"]
    assert (submission.route, submission.urgency) == ("vascular_ultrasound", "routine")


def test_unticking_every_box_and_clearing_a_number_is_kept(client):
    answers = {**CASES[1][0], "ferritin": "40", "medications": ["iron"]}
    for step_id in STEP_IDS[:-1]:
        answer_step(client, step_id, answers)
    assert answer_step(client, "medicines", answers, action="back").status_code == 302
    assert draft_answers(client)["ferritin"] == 40.0

    response = answer_step(client, "medicines", {**answers, "ferritin": "", "medications": []})

    [submission] = stored_submissions()
    assert location(response) == f"/triage/{submission.id}"
    assert "ferritin" not in submission.answers
    assert submission.answers["medications"] == []


@pytest.mark.parametrize("token", ["forged-token", "", "x" * 500, "' OR 1=1 --"])
def test_a_tampered_or_stale_token_starts_afresh_without_an_error(app, client, token):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with client.session_transaction() as session:
        session[DRAFT_KEY] = token

    assert location(client.get("/triage/step/legs")) == "/triage/step/safety"
    assert client.get("/triage/step/safety").status_code == 200
    response = answer_step(client, "safety", ALL_NO)

    assert location(response) == "/triage/step/about_you"
    [draft] = stored_drafts()
    assert draft.token != token
    assert draft.answers == {"pe_symptoms": "no", "bleeding_vein": "no", "cold_pale_leg": "no"}


def test_a_missing_token_mid_way_leads_back_to_the_start(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    for step_id in ["safety", "about_you"]:
        answer_step(client, step_id, CASES[1][0])
    with client.session_transaction() as session:
        del session[DRAFT_KEY]

    assert location(client.get("/triage/step/rls")) == "/triage/step/safety"
    token = csrf_token(client.get("/triage/step/safety").get_data(as_text=True))
    response = client.post("/triage/step/medicines", data={"csrf_token": token, "action": "next"})
    assert location(response) == "/triage/step/safety"
    assert stored_submissions() == []


def test_a_draft_gone_from_the_server_leads_back_to_the_start(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    for step_id in ["safety", "about_you"]:
        answer_step(client, step_id, CASES[1][0])
    fresh()
    db.session.query(TriageDraft).delete()
    db.session.commit()

    assert location(client.get("/triage/step/legs")) == "/triage/step/safety"
    assert client.get("/triage/step/safety").status_code == 200


# --- every answer checked on the server -------------------------------------------------------

NUMBER_QUESTIONS = {"age", "rls_impact", "height_cm", "weight_kg", "neck_cm", "epworth", "ferritin"}
BAD_ANSWERS = [
    # (question, what the browser sent, the message shown next to it)
    ("pe_symptoms", "maybe", "Please choose Yes, No or Not sure."),
    ("pe_symptoms", None, "Please answer this question."),
    ("cold_pale_leg", None, "Please answer this question."),
    ("age", "fifty", "Age must be a whole number from 0 to 120."),
    ("age", "121", "Age must be a whole number from 0 to 120."),
    ("age", "-1", "Age must be a whole number from 0 to 120."),
    ("age", "52.5", "Age must be a whole number from 0 to 120."),
    ("age", "1e2", "Age must be a whole number from 0 to 120."),
    ("age", None, "Please answer this question."),
    ("sex", "other", "Please choose one of the answers shown."),
    ("sex", None, "Please answer this question."),
    ("pregnant", "perhaps", "Please choose Yes, No or Not sure."),
    ("dvt_signs", None, "Please answer this question."),
    ("leg_signs", ["varicose_veins", "third_leg"], "Please check only the answers shown."),
    ("venous_symptoms", "not_sure", "Please choose Yes or No."),
    ("rls_mimic", "tickles", "Please choose one of the answers shown."),
    ("rls_impact", "4", "Please choose a whole number from 0 (not at all) to 3 (very much)."),
    ("height_cm", "1,234.5", "Please enter your height in cm, from 50 to 250."),
    ("weight_kg", "19", "Please enter your weight in kg, from 20 to 350."),
    ("neck_cm", "NaN", "Please enter your neck size in cm, from 20 to 70."),
    ("epworth", "25", "The Epworth score must be a whole number from 0 to 24."),
    ("ferritin", "6000", "Please enter your ferritin result in ng/mL, from 0 to 5000."),
    ("medications", ["aspirin"], "Please check only the answers shown."),
]


@pytest.mark.parametrize("question_id, sent, message", BAD_ANSWERS,
                         ids=[f"{q}-{s if s is not None else 'missing'}" for q, s, _ in BAD_ANSWERS])
def test_a_bad_answer_is_refused_next_to_its_question_and_nothing_of_it_is_saved(client, question_id, sent, message):
    answers = {**CASES[1][0], "ferritin": "40"}
    step_id = STEP_OF[question_id]
    if step_id != "safety":
        answer_step(client, "safety", answers)
        answer_step(client, "about_you", answers)
    before = draft_answers(client)
    sending = {**form_data(answers, step_id)}
    sending.pop(question_id, None)
    if sent is not None:
        sending[question_id] = sent

    response = answer_step(client, step_id, sending)

    assert response.status_code == 400
    assert error_next_to(response, question_id) == message
    assert "Please check the answers marked below." in text(response)
    assert draft_answers(client) == before  # nothing of this step was saved
    assert stored_submissions() == []
    if question_id in NUMBER_QUESTIONS and sent is not None:  # what was typed is shown again, to be corrected
        assert f'value="{sent}"' in question_box(response, question_id)


def test_going_back_with_a_bad_answer_keeps_the_good_ones_only(client):
    answer_step(client, "safety", ALL_NO)

    response = answer_step(client, "about_you", {"age": "200", "sex": "female"}, action="back")

    assert location(response) == "/triage/step/safety"
    assert draft_answers(client) == {**dict.fromkeys(("pe_symptoms", "bleeding_vein", "cold_pale_leg"), "no"),
                                     "sex": "female"}


def test_an_answer_to_a_question_of_another_step_is_ignored(client):
    answer_step(client, "safety", ALL_NO)

    response = answer_step(client, "about_you", {"age": "40", "sex": "female", "observed_apnea": "yes",
                                                 "unknown_question": "yes"}, only_this_step=False)

    assert location(response) == "/triage/step/legs"
    assert "observed_apnea" not in draft_answers(client)
    assert "unknown_question" not in draft_answers(client)


def test_a_post_without_a_csrf_token_saves_nothing(client):
    response = client.post("/triage/step/safety", data={**form_data(ALL_NO, "safety"), "action": "next"})

    assert response.status_code == 400
    assert "This form has expired" in text(response) or "expired" in text(response)
    assert stored_drafts() == []


# --- the pregnancy question is for women only -------------------------------------------------

def test_the_pregnancy_question_is_not_asked_of_a_man_and_a_sent_answer_is_dropped(client):
    answer_step(client, "safety", ALL_NO)
    assert "pregnant" in asked(client.get("/triage/step/about_you"))  # sex not known yet

    response = answer_step(client, "about_you", {"age": "58", "sex": "male", "pregnant": "yes"})

    assert location(response) == "/triage/step/legs"
    assert "pregnant" not in draft_answers(client)
    assert asked(client.get("/triage/step/about_you")) == ["age", "sex"]
    answer_all(client, CASES[2][0])
    [submission] = stored_submissions()
    assert "pregnant" not in submission.answers
    assert "F7" not in submission.outcome["flags"]


def test_changing_to_male_drops_a_pregnancy_answer_given_before(client):
    answer_step(client, "safety", ALL_NO)
    answer_step(client, "about_you", {"age": "29", "sex": "female", "pregnant": "yes"})
    assert draft_answers(client)["pregnant"] == "yes"

    answer_step(client, "about_you", {"age": "29", "sex": "male", "pregnant": "yes"})

    assert "pregnant" not in draft_answers(client)
    response = answer_all(client, {**CASES[4][0], "sex": "male", "pregnant": "yes"})
    [submission] = stored_submissions()
    assert submission.id == submission_id(response)
    assert "pregnant" not in submission.answers
    assert "U2" not in submission.outcome["reasons"]  # no "clot in pregnancy" for a man


# --- anonymous visitors -----------------------------------------------------------------------

def test_an_anonymous_visitor_answers_then_registers_and_can_book_that_route(client):
    types = clinic_types()
    factories.make_clinician()
    fresh()

    response = answer_all(client, CASES[2][0])

    [submission] = stored_submissions()
    assert submission.patient_id is None
    outcome = client.get(response.headers["Location"])
    assert outcome.status_code == 200
    register_link = next(link for link in links(main(outcome)) if urlsplit(link).path == "/auth/register")
    assert any(urlsplit(link).path == "/auth/login" for link in links(main(outcome)))
    assert "create an account: we keep these answers with it" in words(main(outcome)).lower()

    registered = submit(client, register_link, {
        "name": "Sam Sleeper", "email": "sam@example.com", "date_of_birth": "1967-03-02",
        "phone": "(555) 010-2222"})
    assert location(registered) == "/auth/register/sent"  # the password is chosen through the mailed link
    assert stored_submissions()[0].patient_id is None  # not before the link is used
    chosen = submit(client, password_link("sam@example.com", MessageKind.INVITATION), {
        "password": "a long enough password", "confirm": "a long enough password"})

    assert location(chosen) == "/book/"  # logged in, the answers joined: no login, no "are these yours?"
    [joined] = stored_submissions()
    assert joined.patient_id is not None
    assert joined.patient.email == "sam@example.com"
    assert [(e.patient_id, e.detail) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "triage.claimed"))] == [
        (joined.patient_id, f"case {joined.id}: joined as the patient chose a password through the link mailed "
                            "when they registered from these answers")]
    book = client.get("/book/")
    assert book.status_code == 200
    page = words(main(book))
    assert types[Route.SLEEP_STUDY_REFERRAL].name in page
    assert types[Route.GENERAL_CONSULT].name not in page
    assert types[Route.VASCULAR_ULTRASOUND].name not in page
    assert slot_links(book)
    assert all(query(link)["type"] == "sleep_study_referral" for link in slot_links(book))
    assert client.get(f"/triage/{joined.id}").status_code == 200  # still theirs, now by account


def test_an_anonymous_visitor_answers_then_logs_in_and_confirms_the_answers_are_theirs(app, client):
    clinic_types()
    factories.make_clinician()
    patient = factories.make_user()
    email = patient.email
    older = factories.make_submission(patient, "general_consult", "routine")
    fresh()

    response = answer_all(client, CASES[1][0])
    new_id = submission_id(response)
    login_link = next(link for link in links(main(client.get(f"/triage/{new_id}")))
                      if urlsplit(link).path == "/auth/login")
    logged = submit(client, login_link, {"email": email, "password": factories.PASSWORD})

    assert location(logged) == "/book/"
    assert owner_of(new_id) is None  # logging in attached nothing
    for url in ["/book/", "/appointments/", f"/triage/{new_id}", "/"]:
        assert location(client.get(url)) == "/triage/claim", url  # asked first, wherever they go
    assert owner_of(new_id) is None

    confirmed = confirm(client, "yes")

    assert location(confirmed) == f"/triage/{new_id}"
    assert owner_of(new_id) == patient.id
    assert owner_of(older.id) == patient.id
    outcome = client.get(f"/triage/{new_id}")
    assert outcome.status_code == 200
    assert "Your answers are now kept with your account." in words(main(outcome))
    assert "A scan of the veins in your legs" in words(main(outcome))
    book = client.get("/book/")
    assert book.status_code == 200
    assert "Leg vein scan" in words(main(book))  # the newest triage decides
    assert "General consultation" not in words(main(book))
    assert location(client.get("/triage/claim")) == "/appointments/"  # nothing left to ask


# --- confirming that answers given before logging in are the patient's own -----------------------

def owner_of(submission_id: int) -> int | None:
    fresh()
    return db.session.get(TriageSubmission, submission_id).patient_id


def session_ids(browser) -> list[int]:
    with browser.session_transaction() as session:
        return list(session.get(SUBMISSIONS_KEY, []))


def confirm(browser, answer: str, **extra):
    """Press one of the two buttons of the confirmation page ("yes" or "no")."""
    return submit(browser, "/triage/claim", {"answer": answer, **extra})


def answered_then_logged_in(app, client, answers=None):
    """An anonymous visitor answers (routine, leg veins), then logs in to a patient's account in
    the same browser: (patient, submission id)."""
    submission = submission_id(answer_all(client, answers or CASES[1][0]))
    patient = factories.make_user()
    email = patient.email
    fresh()
    assert location(AuthActions(client).login(email)) == "/appointments/"
    return patient, submission


def test_the_confirmation_page_asks_with_the_date_and_plain_outcome(app, client):
    clinic_types()
    _, sid = answered_then_logged_in(app, client)
    fresh()
    answered_at = db.session.get(TriageSubmission, sid).created_at

    response = client.get("/triage/claim")

    assert response.status_code == 200
    when = clinic_dates.when(answered_at)
    assert headings(response)[0] == "Are these your answers?"
    page = words(main(response))
    assert f"The questions were answered on this device before you logged in, on {when}." in page
    assert f"{when} : a scan of the veins in your legs, at a time that suits you" in page
    assert "Yes, these are my answers" in page and "No, these are not mine" in page
    assert not RULE_ID.search(page)  # outcome words, no rule ids
    assert "varicose" not in page.lower() and "insufficiency" not in page.lower()  # no diagnosis


def test_an_emergency_answered_before_logging_in_is_named_plainly(app, client):
    _, sid = answered_then_logged_in(app, client, CASES[6][0])

    page = words(main(client.get("/triage/claim")))

    assert "we advised getting emergency care at once" in page
    assert "scan of the veins" not in page


def test_declining_attaches_nothing_and_is_not_asked_again(app, client):
    clinic_types()
    factories.make_clinician()
    _, sid = answered_then_logged_in(app, client)

    declined = confirm(client, "no")

    assert location(declined) == "/appointments/"
    assert owner_of(sid) is None
    assert session_ids(client) == []
    page = client.get("/appointments/")
    assert page.status_code == 200
    assert "Those answers were not added to your record." in words(main(page))
    assert location(client.get("/book/")) == "/triage/"  # no triage of their own yet
    assert location(client.get("/triage/claim")) == "/appointments/"
    assert client.get(f"/triage/{sid}").status_code == 404  # not theirs
    assert location(confirm_stale(client, "yes")) == "/appointments/"  # a stale Yes form attaches nothing
    assert owner_of(sid) is None


def confirm_stale(browser, answer: str):
    """Send the confirmation form again after the page has gone (back button, second tab)."""
    token = csrf_token(browser.get("/").get_data(as_text=True))
    return browser.post("/triage/claim", data={"csrf_token": token, "answer": answer})


def test_confirming_twice_attaches_once_and_does_no_harm(app, client):
    patient, sid = answered_then_logged_in(app, client)
    page = client.get("/triage/claim")
    form = {**hidden_fields(page.get_data(as_text=True)), "answer": "yes"}

    first = client.post("/triage/claim", data=form)
    with client.session_transaction() as session:  # a double click sends the old cookie again
        session[SUBMISSIONS_KEY] = [sid]
    second = client.post("/triage/claim", data=form)

    assert location(first) == location(second) == f"/triage/{sid}"
    assert owner_of(sid) == patient.id
    assert len(stored_submissions()) == 1
    assert client.get(f"/triage/{sid}").status_code == 200


def test_a_forged_id_in_the_form_is_not_attached(app, client):
    patient, sid = answered_then_logged_in(app, client)
    someone_elses = factories.make_submission(None, "general_consult", "emergency")
    other_id = someone_elses.id
    fresh()

    confirmed = confirm(client, "yes", submission_id=str(other_id), submission_ids=str(other_id),
                        triage_submissions=str(other_id))

    assert location(confirmed) == f"/triage/{sid}"
    assert owner_of(sid) == patient.id
    assert owner_of(other_id) is None


def test_only_answers_still_unlinked_are_attached(app, client):
    patient, sid = answered_then_logged_in(app, client)
    other_patient = factories.make_user()
    theirs = factories.make_submission(other_patient, "general_consult", "routine")
    other_patient_id, theirs_id = other_patient.id, theirs.id
    fresh()
    with client.session_transaction() as session:  # even were the list to name someone else's
        session[SUBMISSIONS_KEY] = [sid, theirs_id]

    page = words(main(client.get("/triage/claim")))
    confirm(client, "yes")

    assert page.count("at a time that suits you") == 1  # only the unlinked one is listed
    assert owner_of(sid) == patient.id
    assert owner_of(theirs_id) == other_patient_id


def test_a_confirmation_without_a_csrf_token_attaches_nothing(app, client):
    _, sid = answered_then_logged_in(app, client)

    response = client.post("/triage/claim", data={"answer": "yes"})

    assert response.status_code == 400
    assert owner_of(sid) is None
    assert session_ids(client) == [sid]


def test_a_confirmation_without_an_answer_asks_again(app, client):
    _, sid = answered_then_logged_in(app, client)

    response = confirm(client, "maybe")

    assert response.status_code == 400
    assert "Please choose one of the two buttons." in words(main(response))
    assert owner_of(sid) is None
    assert session_ids(client) == [sid]


@pytest.mark.parametrize("role", [Role.DESK, Role.DOCTOR, Role.SONOGRAPHER, Role.ADMIN])
def test_staff_logging_in_where_someone_answered_never_see_or_take_the_answers(app, client, role):
    sid = submission_id(answer_all(client, CASES[1][0]))
    staff = factories.make_user(role=role)
    staff_email = staff.email
    fresh()

    logged = AuthActions(client).login(staff_email)

    assert location(logged) == {Role.DESK: "/desk/", Role.DOCTOR: "/my-day/", Role.SONOGRAPHER: "/my-day/",
                               Role.ADMIN: "/desk/"}[role]
    assert client.get("/").status_code == 200  # not asked
    assert client.get("/triage/claim").status_code == 403
    assert owner_of(sid) is None
    assert session_ids(client) == []  # forgotten: nobody logging in here later is asked either
    token = csrf_token(client.get("/").get_data(as_text=True))
    assert client.post("/triage/claim", data={"csrf_token": token, "answer": "yes"}).status_code == 403
    AuthActions(client).logout()
    patient = factories.make_user()
    patient_email = patient.email
    fresh()
    assert location(AuthActions(client).login(patient_email)) == "/appointments/"
    assert client.get("/appointments/").status_code == 200
    assert owner_of(sid) is None


def test_answers_linked_meanwhile_are_not_asked_about(app, client):
    _, sid = answered_then_logged_in(app, client)
    other_patient = factories.make_user()
    fresh()
    db.session.execute(update(TriageSubmission).where(TriageSubmission.id == sid)
                       .values(patient_id=other_patient.id))
    db.session.commit()

    assert client.get("/appointments/").status_code == 200
    assert session_ids(client) == []


def test_the_confirmation_page_is_for_patients_logged_in(app, client):
    answer_all(client, CASES[1][0])

    assert location(client.get("/triage/claim")) == "/auth/login"


def test_an_anonymous_outcome_is_seen_only_in_the_browser_that_answered(app, client):
    response = answer_all(client, CASES[1][0])
    sid = submission_id(response)
    stranger = app.test_client()
    _, _, patient_browser = logged_in(app)
    _, _, doctor_browser = logged_in(app, role=Role.DOCTOR)

    assert client.get(f"/triage/{sid}").status_code == 200
    assert stranger.get(f"/triage/{sid}").status_code == 404
    assert patient_browser.get(f"/triage/{sid}").status_code == 404
    assert doctor_browser.get(f"/triage/{sid}").status_code == 200


# --- the outcome page -------------------------------------------------------------------------

def test_a_patient_sees_only_their_own_outcomes(app):
    owner, own, owner_browser = logged_in(app, triage=("vascular_ultrasound", "routine"))
    _, theirs, other_browser = logged_in(app, triage=("general_consult", "routine"))
    _, _, doctor_browser = logged_in(app, role=Role.DOCTOR)
    anonymous = app.test_client()

    assert owner_browser.get(f"/triage/{own.id}").status_code == 200
    assert owner_browser.get(f"/triage/{theirs.id}").status_code == 404
    assert other_browser.get(f"/triage/{own.id}").status_code == 404
    assert anonymous.get(f"/triage/{own.id}").status_code == 404
    assert doctor_browser.get(f"/triage/{own.id}").status_code == 200
    assert doctor_browser.get(f"/triage/{theirs.id}").status_code == 200
    assert owner_browser.get("/triage/999999").status_code == 404


@pytest.mark.parametrize("route, title", [
    ("vascular_ultrasound", "A scan of the veins in your legs"),
    ("sleep_study_referral", "A visit about your sleep"),
    ("general_consult", "A general consultation"),
])
def test_a_routine_outcome_leads_with_the_times_then_names_the_visit_in_plain_words(app, route, title):
    clinic_types()
    _, submission, browser = logged_in(app, triage=(route, "routine"))

    response = browser.get(f"/triage/{submission.id}")

    assert response.status_code == 200
    page = words(main(response))
    assert title in page
    assert "You can book an appointment at a time that suits you." in page
    for rule in submission.outcome["reasons"]:
        assert RULE_TEXT[rule] in page
    assert not RULE_ID.search(page), RULE_ID.findall(page)  # never a bare rule id
    markup = main(response)
    assert 'id="slot-picker"' in markup and markup.index('id="slot-picker"') < markup.index(title)
    assert "not a diagnosis" in page


@pytest.mark.parametrize("route, urgency, reason", [
    ("general_consult", "emergency", "E1"),
    ("vascular_ultrasound", "emergency", "E2"),
])
def test_the_emergency_page_says_first_to_call_and_offers_no_booking(app, route, urgency, reason):
    clinic_types()
    factories.make_clinician(hours=ALL_DAY)
    _, submission, browser = logged_in(app, triage=(route, urgency))

    response = browser.get(f"/triage/{submission.id}")

    assert response.status_code == 200
    assert headings(response)[0] == "Call 911 now, or go to the nearest emergency department"
    content = main(response)
    assert not any("/book" in link for link in links(content))
    assert "/book" not in content
    page = words(content)
    assert RULE_TEXT[reason] in page
    assert "Do not wait for an appointment" in page
    assert 'href="tel:911"' in content
    assert not RULE_ID.search(page)


def test_the_emergency_page_uses_the_configured_emergency_number(app, client):
    app.config["EMERGENCY_NUMBER"] = "112"
    response = answer_step(client, "safety", {**ALL_NO, "cold_pale_leg": "yes"})

    page = client.get(response.headers["Location"])

    assert headings(page)[0] == "Call 112 now, or go to the nearest emergency department"
    assert "/book" not in main(page)
    assert "911" not in main(page)


def test_an_anonymous_emergency_page_offers_no_booking_either(client):
    response = answer_step(client, "safety", {**ALL_NO, "bleeding_vein": "not_sure"})

    page = client.get(response.headers["Location"])

    assert "emergency department" in headings(page)[0]
    assert "/book" not in main(page)
    assert "/auth/register" not in main(page)


def test_an_urgent_outcome_offers_only_times_in_the_next_24_hours_of_its_route(app):
    clinic_types()
    factories.make_clinician(hours=ALL_DAY)
    _, submission, browser = logged_in(app, triage=("vascular_ultrasound", "urgent"))
    before = datetime.now(UTC)

    response = browser.get(f"/triage/{submission.id}")

    assert response.status_code == 200
    page = words(main(response))
    assert "Be seen within 24 hours" in page
    assert "You need to be seen within 24 hours." in page and "today." not in page.replace(
        "emergency department today.", "")
    assert RULE_TEXT["U1"] in page and not RULE_ID.search(page)
    offered = slot_links(response)
    assert offered, "a clinician working around the clock has times in the next 24 hours"
    for link in offered:
        assert urlsplit(link).path == "/book/confirm"
        assert query(link)["type"] == "vascular_ultrasound"
        start = datetime.fromisoformat(query(link)["start"])
        assert before + timedelta(minutes=59) <= start <= datetime.now(UTC) + timedelta(hours=24)
    assert not any(urlsplit(link).path == "/book/" for link in links(main(response)))


def test_an_urgent_outcome_offers_the_first_free_time_on_top_and_groups_the_rest(app):
    clinic_types()
    factories.make_clinician(hours=ALL_DAY)
    _, submission, browser = logged_in(app, triage=("vascular_ultrasound", "urgent"))

    response = browser.get(f"/triage/{submission.id}")

    offered = slot_links(response)
    assert first_free_link(response) == offered[0]
    page = response.get_data(as_text=True)
    assert page.index("sp-first-time") < page.index('<a class="slot"')
    parts = parts_of_day(response)
    assert {part for part, _ in parts} <= {"Morning", "Afternoon", "Evening"}
    assert sum(len(times) for _, times in parts) == len(offered)
    # Every button names its day as well as its time: the next 24 hours can cross midnight.
    for name, link in zip(time_buttons(response), offered, strict=True):
        start = datetime.fromisoformat(query(link)["start"]).astimezone(CHICAGO)
        assert name == f"{clinic_dates.long_day(start.date())}, {dates.time_of_day(start)}"


def test_an_urgent_outcome_with_no_free_time_gives_the_phone_number(app):
    clinic_types()
    _, submission, browser = logged_in(app, triage=("vascular_ultrasound", "urgent"))

    response = browser.get(f"/triage/{submission.id}")

    page = words(main(response))
    assert "Go to an urgent care center or an emergency department today." in page
    assert app.config["CLINIC_PHONE"] in page
    assert slot_links(response) == []
    assert not any(link.startswith("/book") for link in links(main(response)))


# --- booking follows the triage ---------------------------------------------------------------

def test_booking_without_a_triage_leads_to_the_questions(app):
    clinic_types()
    factories.make_clinician()
    _, _, browser = logged_in(app)

    response = browser.get("/book/")

    assert location(response) == "/triage/"
    assert "a few short questions" in text(browser.get("/triage/"))


def test_a_routine_triage_offers_its_route_s_visit_only(app):
    types = clinic_types()
    factories.make_clinician()
    _, _, browser = logged_in(app, triage=("vascular_ultrasound", "routine"))

    response = browser.get("/book/")

    assert response.status_code == 200
    page = words(main(response))
    assert "Your visit: Leg vein scan" in page
    assert types[Route.SLEEP_STUDY_REFERRAL].name not in page
    assert types[Route.GENERAL_CONSULT].name not in page
    assert slot_links(response)
    assert all(query(link)["type"] == "vascular_ultrasound" for link in slot_links(response))


def test_a_routine_triage_books_and_the_appointment_keeps_the_triage(app):
    clinic_types()
    factories.make_clinician()
    patient, submission, browser = logged_in(app, triage=("sleep_study_referral", "routine"))
    confirm = browser.get(slot_links(browser.get("/book/"))[0])

    response = browser.post(confirm.request.url, data=hidden_fields(confirm.get_data(as_text=True)))

    assert location(response) == "/appointments/"
    [appointment] = stored_appointments()
    assert appointment.patient_id == patient.id
    assert appointment.triage_submission_id == submission.id
    assert appointment.appointment_type.route == "sleep_study_referral"


def test_after_an_emergency_a_patient_cannot_book_by_any_url(app):
    types = clinic_types()
    clinician = factories.make_clinician(hours=ALL_DAY)
    patient = factories.make_user()
    factories.make_submission(patient, "general_consult", "routine")  # an earlier, routine triage
    emergency = factories.make_submission(patient, "vascular_ultrasound", "emergency")
    email = patient.email
    fresh()
    browser = app.test_client()
    AuthActions(browser).login(email)
    outcome = f"/triage/{emergency.id}"
    start = utc(date.today() + timedelta(days=3), 9)  # on every visit type's grid
    token = csrf_token(browser.get("/appointments/").get_data(as_text=True))

    def closed(response) -> bool:
        """The page says booking is paused and to call the clinic, with no link to book."""
        page = response.get_data(as_text=True)
        return (response.status_code == 200 and "Online booking is paused" in page
                and "(555) 010-4477" in page and 'href="/book/"' not in page)

    assert closed(browser.get("/book/")) and closed(browser.get("/appointments/"))
    assert 'href="/book/"' not in browser.get(outcome).get_data(as_text=True)
    for route in Route:
        assert closed(browser.get(confirm_url(route, start, clinician.id)))
        forged = {"csrf_token": token, "start": start.isoformat(), "clinician_id": str(clinician.id),
                  "idempotency_key": "0123456789abcdef0123456789abcdef"}
        assert closed(browser.post(f"/book/confirm?type={route}", data=forged))
    assert closed(browser.post("/book/confirm", data=forged))
    assert stored_appointments() == []

    # Nor through the booking service itself.
    for appointment_type in types.values():
        with pytest.raises(TriageNotBookable):
            book_appointment(patient_id=patient.id, clinician_id=clinician.id,
                             appointment_type_id=appointment_type.id, start=start)
    assert stored_appointments() == []


def test_an_urgent_triage_books_a_time_within_24_hours(app):
    clinic_types()
    factories.make_clinician(hours=ALL_DAY)
    patient, submission, browser = logged_in(app, triage=("vascular_ultrasound", "urgent"))
    assert location(browser.get("/book/")) == f"/triage/{submission.id}"  # the week page is not for urgent cases
    link = slot_links(browser.get(f"/triage/{submission.id}"))[0]
    confirm = browser.get(link)
    assert confirm.status_code == 200

    response = browser.post(confirm.request.url, data=hidden_fields(confirm.get_data(as_text=True)))

    assert location(response) == "/appointments/"
    [appointment] = stored_appointments()
    assert appointment.patient_id == patient.id
    assert appointment.triage_submission_id == submission.id
    assert appointment.start_at == datetime.fromisoformat(query(link)["start"])
    assert appointment.start_at <= datetime.now(UTC) + timedelta(hours=24)


def test_an_urgent_triage_cannot_book_a_time_more_than_24_hours_ahead(app):
    clinic_types()
    clinician = factories.make_clinician(hours=ALL_DAY)
    _, submission, browser = logged_in(app, triage=("vascular_ultrasound", "urgent"))
    start = utc(date.today() + timedelta(days=3), 9)  # on every visit type's grid
    confirm = browser.get(confirm_url("vascular_ultrasound", start, clinician.id))

    response = browser.post(confirm.request.url, data=hidden_fields(confirm.get_data(as_text=True)))

    assert response.status_code == 422
    assert "You need to be seen within 24 hours." in text(response)
    assert "Nothing was booked." in text(response)
    assert stored_appointments() == []
    with pytest.raises(TriageNotBookable):
        book_appointment(patient_id=submission.patient_id, clinician_id=clinician.id,
                         appointment_type_id=confirm_type_id("vascular_ultrasound"), start=start)


def test_an_urgent_refusal_offers_only_times_within_24_hours(app):
    clinic_types()
    clinician = factories.make_clinician(hours=ALL_DAY)
    _, _, browser = logged_in(app, triage=("vascular_ultrasound", "urgent"))
    confirm = browser.get(confirm_url("vascular_ultrasound", utc(date.today() + timedelta(days=3), 9),
                                      clinician.id))

    response = browser.post(confirm.request.url, data=hidden_fields(confirm.get_data(as_text=True)))

    assert response.status_code == 422
    latest = datetime.now(UTC) + timedelta(hours=24)
    offered = [datetime.fromisoformat(query(link)["start"]) for link in slot_links(response)]
    assert all(start <= latest for start in offered), [start.isoformat() for start in offered]


def confirm_type_id(route: str) -> int:
    from portal.booking.models import AppointmentType
    fresh()
    return db.session.scalar(select(AppointmentType.id).where(AppointmentType.route == route))


def test_an_urgent_triage_books_its_own_route_whatever_the_link_says(app):
    clinic_types()
    clinician = factories.make_clinician(hours=ALL_DAY)
    _, submission, browser = logged_in(app, triage=("vascular_ultrasound", "urgent"))
    link = slot_links(browser.get(f"/triage/{submission.id}"))[0]
    other = confirm_url("general_consult", datetime.fromisoformat(query(link)["start"]), clinician.id)

    confirm = browser.get(other)
    browser.post(confirm.request.url, data=hidden_fields(confirm.get_data(as_text=True)))

    assert [a.appointment_type.route for a in stored_appointments()] in ([], ["vascular_ultrasound"])


def test_submissions_count_is_one_per_finished_questionnaire(client):
    answer_all(client, CASES[3][0])
    answer_all(client, CASES[5][0])

    fresh()
    assert db.session.scalar(select(func.count()).select_from(TriageSubmission)) == 2
    assert [s.route for s in stored_submissions()] == ["general_consult", "general_consult"]
    assert "F9" in stored_submissions()[1].outcome["flags"]


def test_numbers_may_be_typed_with_a_unit_or_a_decimal_comma(client):
    answer_all(client, {**CASES[1][0], "height_cm": "172 cm", "weight_kg": "72,5", "epworth": " 12 ",
                        "ferritin": "80.5"})

    [submission] = stored_submissions()
    assert submission.answers["height_cm"] == 172.0
    assert submission.answers["weight_kg"] == 72.5
    assert submission.answers["epworth"] == 12
    assert submission.answers["ferritin"] == 80.5
    assert submission.outcome["bmi"] == pytest.approx(72.5 / 1.72 ** 2)


def test_after_an_emergency_moving_an_appointment_books_no_new_time(app):
    clinic_types()
    factories.make_clinician(hours=ALL_DAY)
    patient, routine, browser = logged_in(app, triage=("general_consult", "routine"))
    first = browser.get(slot_links(browser.get("/book/"))[0])
    confirmed = browser.post(first.request.url, data=hidden_fields(first.get_data(as_text=True)))
    assert location(confirmed) == "/appointments/"
    [booked] = stored_appointments()
    factories.make_submission(patient, "general_consult", "emergency")
    fresh()

    week = browser.get(f"/appointments/{booked.id}/reschedule")
    times = slot_links(week)
    if times:
        confirm = browser.get(times[-1])
        if confirm.status_code == 200:
            browser.post(confirm.request.url, data=hidden_fields(confirm.get_data(as_text=True)))

    assert [(a.id, a.status) for a in stored_appointments()] == [(booked.id, "booked")]
    assert week.status_code == 200 and "Online booking is paused" in week.get_data(as_text=True)
    assert f"/appointments/{booked.id}/reschedule" not in browser.get("/appointments/").get_data(as_text=True)


def test_an_urgent_outcome_offers_no_times_of_a_visit_type_switched_off(app):
    types = clinic_types()
    factories.make_clinician(hours=ALL_DAY)
    types[Route.VASCULAR_ULTRASOUND].active = False
    db.session.commit()
    _, submission, browser = logged_in(app, triage=("vascular_ultrasound", "urgent"))

    response = browser.get(f"/triage/{submission.id}")

    assert slot_links(response) == []
    assert app.config["CLINIC_PHONE"] in words(main(response))
