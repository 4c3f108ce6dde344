"""The portal speaks American English to a US clinic's patients and staff: no British spellings
("apnoea", "centre", "cancelled") and never "the emergency number" where the configured number
(EMERGENCY_NUMBER, 911) is meant, in any page, email or letter.

Three ways of looking, so a word cannot hide in a state the walk did not reach:
- every template's own words (text, the attributes people read, quoted phrases inside its code);
- every phrase in the portal's Python code (not docstrings or comments; not ids, which stay as
  the rule set rlsvein-1 has them: the answer id `anaemia`, the status `cancelled`);
- pages, emails and letters as rendered: the questionnaire in both units, the outcomes, the
  appointments pages, every kind of appointment and account email, a letter's page and text.
"""
from __future__ import annotations

import ast
import re
from datetime import date
from pathlib import Path

import pytest
from icalendar import Calendar

import portal
from portal.auth.models import Role
from portal.booking.service import book_appointment
from portal.extensions import db
from portal.letters.compose import compose
from portal.letters.content import Clinic, LetterKind, Patient
from portal.notify.account_messages import account_message
from portal.notify.messages import appointment_message
from portal.notify.models import MessageKind
from portal.triage.questions import QUESTIONS, STEPS
from portal.triage.rules import evaluate
from portal.triage.vocabulary import Route
from tests import clinic_dates, factories
from tests.client import logged_in, submit
from tests.pages import location, text

PORTAL = Path(portal.__file__).resolve().parent

# British spellings and their American words; a word is matched whole, in any case.
BRITISH = {
    r"apnoeas?": "apnea", r"anaemi(a|c)": "anemia", r"haem\w*": "hem-", r"oedema": "edema",
    r"oesophag\w*": "esophag-", r"paediatric\w*": "pediatric", r"orthopaedic\w*": "orthopedic",
    r"centres?": "center", r"colou?rs?": None, r"colour\w*": "color", r"favour\w*": "favor",
    r"behaviour\w*": "behavior", r"honour\w*": "honor", r"neighbour\w*": "neighbor", r"labour": "labor",
    r"cancell(ed|ing)": "canceled, canceling", r"travell(ed|ing|er)": "traveled", r"labell(ed|ing)": "labeled",
    r"modell(ed|ing)": "modeled", r"organis(e|ed|es|ing|ation|ations)": "organize",
    r"recognis(e|ed|es|ing)": "recognize", r"realis(e|ed|es|ing)": "realize", r"prioritis(e|ed|es|ing)": "prioritize",
    r"authoris(e|ed|es|ing|ation)": "authorize", r"summaris(e|ed|es|ing)": "summarize",
    r"minimis(e|ed|es|ing)": "minimize", r"apologis(e|ed|es|ing)": "apologize", r"personalis(e|ed)": "personalize",
    r"emphasis(e|ed|es|ing)": "emphasize", r"analys(e|ed|es|ing)": "analyze", r"paralys(e|ed)": "paralyze",
    r"(centi|milli|kilo)?metres?": "meter", r"(milli)?litres?": "liter", r"programmes?": "program",
    r"catalogues?": "catalog", r"enrol(s|ment|ments)?": "enroll", r"fulfil(s|ment)?": "fulfill",
    r"licence": "license", r"defence": "defense", r"practis(e|ed|es|ing)": "practice", r"grey": "gray",
    r"tyres?": "tire", r"whilst": "while", r"amongst": "among", r"learnt": "learned", r"ageing": "aging",
    r"judgement": "judgment", r"fortnight": "two weeks", r"tick (all|only|this)": "check",
    r"plaster cast": "cast", r"filled in": "filled out", r"(call|phone|ring) us on": "call us at",
}
BRITISH.pop(r"colou?rs?")  # "color" is American: only the -our forms are checked
WRONG_PHRASES = [r"the emergency number", r"emergency services"]
_WRONG = re.compile(r"\b(" + "|".join([*BRITISH, *WRONG_PHRASES]) + r")\b", re.IGNORECASE)


def wrong_words(words: str) -> list[str]:
    """The British spellings and wrong phrases in `words`, as written there."""
    return [match.group(0) for match in _WRONG.finditer(words)]


# --- what a page shows ---------------------------------------------------------------------------

# Attributes people read or hear: a screen reader's label, a tooltip, an image's words, a hint, a button.
_READ_ATTRIBUTES = re.compile(r'\b(?:aria-label|title|alt|placeholder|content)="([^"]*)"')
_SUBMIT_VALUE = re.compile(r'<input[^>]*type="submit"[^>]*value="([^"]*)"')


def shown(markup: str) -> str:
    """The words of a page or an email: its text and the attributes people read, never the ids
    and values in its other attributes (an answer's value="anaemia" stays as rlsvein-1 has it)."""
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S | re.I)
    read = _READ_ATTRIBUTES.findall(markup) + _SUBMIT_VALUE.findall(markup)
    return " ".join([re.sub(r"<[^>]+>", " ", markup), *read])


def test_the_word_list_catches_what_it_should_and_leaves_ids_alone():
    assert wrong_words("Observed apnoea; call the emergency number; Cancelled") == [
        "apnoea", "the emergency number", "Cancelled"]
    assert wrong_words("apnea, anemia, center, color, canceled, organize, behavior, call 911") == []
    assert wrong_words(shown('<input type="checkbox" name="conditions" value="anaemia"> Anemia')) == []
    assert wrong_words(shown('<a aria-label="Go to the centre">Go</a>')) == ["centre"]


# --- 1. every template's own words -----------------------------------------------------------------

TEMPLATES = sorted(path for path in (PORTAL / "templates").rglob("*") if path.suffix in (".html", ".txt"))
_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
_JINJA_CODE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")


def template_words(source: str) -> str:
    """A template's words: its text and read attributes outside the code, and the phrases quoted
    in its code (a label, a help text); a quoted single word there is an id ('cancelled')."""
    source = _JINJA_COMMENT.sub(" ", source)
    phrases = [first or second for code in _JINJA_CODE.findall(source) for first, second in _QUOTED.findall(code)]
    return " ".join([shown(_JINJA_CODE.sub(" ", source)), *(p for p in phrases if " " in p.strip())])


@pytest.mark.parametrize("path", TEMPLATES, ids=[str(p.relative_to(PORTAL / "templates")) for p in TEMPLATES])
def test_every_template_is_written_in_american_english(path):
    assert wrong_words(template_words(path.read_text())) == []


# --- 2. every phrase in the Python code ----------------------------------------------------------------

MODULES = sorted(path for path in PORTAL.rglob("*.py"))


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def code_phrases(source: str) -> list[str]:
    """The string constants of a module that read as words (with a space), without docstrings; a
    quoted id inside one ("status IN ('booked', 'cancelled')") is left out."""
    tree = ast.parse(source)
    skipped = _docstrings(tree)
    phrases = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
               and isinstance(node.value, str) and id(node) not in skipped and " " in node.value.strip()]
    return [re.sub(r"'[a-z_]+'", " ", phrase) for phrase in phrases]


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PORTAL)) for p in MODULES])
def test_every_phrase_in_the_code_is_written_in_american_english(path):
    assert [wrong for phrase in code_phrases(path.read_text()) for wrong in wrong_words(phrase)] == []


# --- 3. pages, emails and letters as people get them ------------------------------------------------

EVERY_ANSWER_NO = {q.id: "no" if q.kind in ("yes_no", "yes_no_unsure") else [] if q.kind == "list"
                   else q.choices[-1].value for q in QUESTIONS.values() if q.kind not in ("int", "number")}
ALL_NO = {"pe_symptoms": "no", "bleeding_vein": "no", "cold_pale_leg": "no", "dvt_signs": "no", "svt_signs": "no"}


def _walk_questionnaire(browser, answers: dict) -> tuple[list[str], str]:
    """Every step page met on the way, and where the questionnaire led."""
    pages, step_id = [], STEPS[0].id
    for _ in STEPS:
        page = browser.get(f"/triage/step/{step_id}")
        pages.append(text(page))
        step = next(step for step in STEPS if step.id == step_id)
        response = submit(browser, f"/triage/step/{step_id}",
                          {**{key: value for key, value in answers.items() if key in step.question_ids},
                           "action": "next"})
        assert response.status_code == 302, text(response)[:500]
        target = location(response)
        if not target.startswith("/triage/step/"):
            return pages, target
        step_id = target.rsplit("/", 1)[1]
    raise AssertionError("the questionnaire never ended")


@pytest.mark.parametrize("units", ["us", "metric"])
def test_the_questionnaire_and_a_routine_outcome_read_as_american_english(app, client, units):
    for route in Route:
        factories.make_type(route)
    factories.make_clinician()
    client.get(f"/triage/step/safety?units={units}")
    answers = {**ALL_NO, "age": "52", "sex": "female", "pregnant": "no", "rls_urge": "yes", "rls_rest": "yes",
               "rls_movement_relief": "yes", "rls_evening": "yes", "rls_mimic": "none",
               "leg_signs": ["varicose_veins"], "venous_symptoms": "yes"}
    pages, outcome = _walk_questionnaire(client, answers)
    pages.append(text(client.get(outcome)))
    bad = client.post("/triage/step/about_you", data={"age": "two hundred", "action": "next"})
    pages.append(text(bad))
    assert [(n, wrong) for n, page in enumerate(pages) for wrong in wrong_words(shown(page))] == []


@pytest.mark.parametrize("route, urgency", [("vascular_ultrasound", "urgent"), ("general_consult", "emergency")])
def test_urgent_and_emergency_outcomes_name_the_number(app, route, urgency):
    for each in Route:
        factories.make_type(each)
    factories.make_clinician()
    patient, browser = logged_in(app, triage=(route, urgency))
    page = text(browser.get("/appointments/"))
    outcome = browser.get("/book/")
    assert wrong_words(shown(page)) == [] and wrong_words(shown(text(outcome))) == []
    from portal.triage.models import TriageSubmission
    submission = db.session.scalars(db.select(TriageSubmission).filter_by(patient_id=patient.id)).one()
    assert wrong_words(shown(text(browser.get(f"/triage/{submission.id}")))) == []


def calendar_words(ics: str | None) -> list[str]:
    """What a calendar program shows of a calendar file: its events' summary and description (the
    file's keywords, such as STATUS:CANCELLED, are RFC 5545's)."""
    if ics is None:
        return []
    events = Calendar.from_ical(ics).walk("VEVENT")
    return [str(event.get(name, "")) for event in events for name in ("summary", "description", "location")]


def test_every_appointment_email_and_calendar_file_reads_as_american_english(app):
    patient = factories.make_user(name="Ada Brown")
    factories.make_submission(patient, "vascular_ultrasound")
    clinician = factories.make_clinician()
    kind_of_visit = factories.make_type(Route.VASCULAR_ULTRASOUND)
    day = factories.future_weekday(1)
    first = book_appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=kind_of_visit.id,
                             start=factories.local(day, 10))
    desk = factories.make_user(role=Role.DESK)
    later = book_appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=kind_of_visit.id,
                             start=factories.local(day, 11), booked_by_id=desk.id,
                             override_reason="A second visit, for this test")
    with app.test_request_context():
        for kind in (MessageKind.CONFIRMATION, MessageKind.CHANGE, MessageKind.CANCELLATION, MessageKind.REMINDER):
            content = appointment_message(kind, later, moved_from=first if kind == MessageKind.CHANGE else None)
            for part in (content.subject, content.text, shown(content.html), *calendar_words(content.ics)):
                assert wrong_words(part) == [], (kind, part)
            assert "Central Time" in content.text and "America/Chicago" not in content.text
            assert f"call {app.config['EMERGENCY_NUMBER']}" in content.text
            if content.ics:  # the visit's time as the clinic says it, for a calendar in another zone
                assert f"{clinic_dates.when(later.start_at)} (Central Time)" in calendar_words(content.ics)[1]


@pytest.mark.parametrize("role, by_the_desk", [(Role.PATIENT, False), (Role.PATIENT, True), (Role.DESK, False)])
def test_every_account_email_reads_as_american_english(app, role, by_the_desk):
    user = factories.make_user(role=role)
    expires = factories.local(factories.future_weekday(1), 14, 30)
    with app.test_request_context():
        for kind in (MessageKind.PASSWORD_RESET, MessageKind.INVITATION, MessageKind.ACCOUNT_EXISTS):
            content = account_message(kind, user, link="https://portal.example/x", expires_at=expires,
                                      by_the_desk=by_the_desk)
            for part in (content.subject, content.text, shown(content.html)):
                assert wrong_words(part) == [], (kind, part)
            if kind != MessageKind.ACCOUNT_EXISTS:
                assert "2:30 PM (Central Time)" in content.text


@pytest.mark.parametrize("kind", list(LetterKind))
def test_a_letter_reads_as_american_english(kind):
    answers = {**EVERY_ANSWER_NO, "age": 58, "sex": "male", "snoring": "yes", "observed_apnea": "yes",
               "tired_daytime": "yes", "high_blood_pressure": "yes", "conditions": ["anaemia"],
               "dvt_risks": ["leg_cast_or_paralysis"], "leg_signs": ["varicose_veins", "skin_changes"],
               "venous_symptoms": "yes", "height_cm": 180.0, "weight_kg": 120.0, "neck_cm": 44.0}
    outcome = evaluate(answers)
    content = compose(kind, answers=answers, outcome=outcome, urgency=outcome.urgency,
                      clinic=Clinic("Clinic", "1 Main St", "(555) 010-0000", "America/Chicago"),
                      patient=Patient("Ada Brown", date(1961, 3, 4), "male", None, None), history="", question="Q?",
                      reference="L-1", author="Dr A", letter_date=date(2026, 11, 30))
    assert wrong_words(content.as_text()) == []
    assert "March 4, 1961" in content.as_text() and "November 30, 2026" in content.as_text()


def test_the_footer_says_the_site_does_not_replace_a_doctor(client):
    page = text(client.get("/"))
    assert "does not replace the advice of your doctor" in page and "does not give medical advice" not in page

