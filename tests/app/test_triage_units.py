"""Height, weight and neck on the questionnaire in feet and inches, pounds and inches, or in
centimeters and kilograms, stored as the rules take them; and the pregnancy question asked only
of patients female at birth aged 12 to 55, through the test client with CSRF on."""
import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.triage.browser import DRAFT_KEY
from portal.triage.models import TriageDraft, TriageSubmission
from portal.triage.questions import STEPS
from tests.client import submit
from tests.pages import location, text

SAFE = {"pe_symptoms": "no", "bleeding_vein": "no", "cold_pale_leg": "no"}
STEP_OF = {qid: step.id for step in STEPS for qid in step.question_ids}


def draft_answers(browser) -> dict:
    with browser.session_transaction() as session:
        token = session.get(DRAFT_KEY)
    db.session.rollback()
    draft = db.session.scalar(select(TriageDraft).where(TriageDraft.token == token))
    return dict(draft.answers) if draft else {}


def to_the_sleep_step(browser, about_you=None):
    assert location(submit(browser, "/triage/step/safety", {**SAFE, "action": "next"})) == "/triage/step/about_you"
    for step_id, answers in (("about_you", about_you or {"age": "52", "sex": "male"}),
                             ("legs", {"dvt_signs": "no", "svt_signs": "no"}), ("rls", {"rls_urge": "no"})):
        response = submit(browser, f"/triage/step/{step_id}", {**answers, "action": "next"})
        assert response.status_code == 302, text(response)[:1500]


def send_sleep_step(browser, measures: dict, query: str = ""):
    return submit(browser, "/triage/step/sleep", {**measures, "action": "next"},
                  form_page=f"/triage/step/sleep{query}")


def box_values(page, *names) -> list[str]:
    markup = text(page)
    return [re.search(rf'name="{name}"\s+id="{name}" value="([^"]*)"', markup).group(1) for name in names]


# --- units ------------------------------------------------------------------------------------

def test_the_sleep_step_asks_in_feet_inches_and_pounds_with_metric_a_link_away(client):
    to_the_sleep_step(client)
    page = text(client.get("/triage/step/sleep"))
    for box, unit in (("height_ft", "feet"), ("height_in", "inches"), ("weight_lb", "pounds"), ("neck_in", "inches")):
        assert f'name="{box}"' in page and f'id="{box}-unit">{unit}<' in page
    assert 'name="height_cm"' not in page
    assert "Use centimeters and kilograms instead" in page

    metric = text(client.get("/triage/step/sleep?units=metric"))
    assert 'name="height_cm"' in metric and 'name="weight_kg"' in metric and 'name="height_ft"' not in metric
    assert "Use feet, inches and pounds instead" in metric
    assert 'name="height_cm"' in text(client.get("/triage/step/sleep"))  # the choice is remembered


@pytest.mark.parametrize("sent, stored", [
    ({"height_ft": "5", "height_in": "6", "weight_lb": "150", "neck_in": "16"},
     {"height_cm": 167.6, "weight_kg": 68.0, "neck_cm": 40.6}),
    ({"height_ft": "6", "height_in": "", "weight_lb": "220.5", "neck_in": "17.5"},
     {"height_cm": 182.9, "weight_kg": 100.0, "neck_cm": 44.5}),
    ({"height_ft": "5'6\"", "weight_lb": "150 lbs", "neck_in": '16"'},
     {"height_cm": 167.6, "weight_kg": 68.0, "neck_cm": 40.6}),
    ({"height_ft": "170 cm", "weight_lb": "80 kg", "neck_in": "41 cm"},  # metric typed in the US boxes
     {"height_cm": 170.0, "weight_kg": 80.0, "neck_cm": 41.0}),
    ({"height_cm": "170", "weight_kg": "80,5", "neck_cm": "41"},  # the metric boxes
     {"height_cm": 170.0, "weight_kg": 80.5, "neck_cm": 41.0}),
])
def test_us_and_metric_answers_are_stored_in_centimeters_and_kilograms(client, sent, stored):
    to_the_sleep_step(client)
    response = send_sleep_step(client, sent, "?units=metric" if "height_cm" in sent else "")
    assert response.status_code == 302, text(response)[:2000]
    assert {key: draft_answers(client).get(key) for key in stored} == stored


def test_the_rules_get_the_converted_values(client):
    """A 16-inch collar (40.6 cm) is over the rules' 40 cm, which with a male patient who snores
    and is tired routes to a sleep study (rule R2)."""
    to_the_sleep_step(client)
    response = send_sleep_step(client, {"snoring": "yes", "tired_daytime": "yes", "height_ft": "5", "height_in": "10",
                                        "weight_lb": "250", "neck_in": "16"})
    assert response.status_code == 302
    finished = submit(client, "/triage/step/medicines", {"action": "next"})
    submission = db.session.get(TriageSubmission, int(location(finished).rsplit("/", 1)[1]))
    assert submission.answers["neck_cm"] == 40.6 and submission.answers["weight_kg"] == 113.4
    assert submission.route == "sleep_study_referral" and "R2" in submission.outcome["reasons"]


@pytest.mark.parametrize("question_id, sent, message", [
    ("height_cm", {"height_ft": "12", "height_in": "0"},
     "Please enter your height in feet and inches, from 1 foot 8 inches to 8 feet 2 inches."),
    ("height_cm", {"height_ft": "5", "height_in": "14"},
     "Please enter the inches as a number from 0 to 11, after the feet."),
    ("height_cm", {"height_ft": "five", "height_in": "6"},
     "Please enter your height in feet and inches, from 1 foot 8 inches to 8 feet 2 inches."),
    ("weight_kg", {"weight_lb": "15"}, "Please enter your weight in pounds, from 45 to 770."),
    ("weight_kg", {"weight_lb": "-150"}, "Please enter your weight in pounds, from 45 to 770."),
    ("neck_cm", {"neck_in": "41"}, "Please enter your neck size in inches, from 8 to 27."),
    ("weight_kg", {"weight_lb": "900 kg"}, "Please enter your weight in kg, from 20 to 350."),
])
def test_a_wrong_measure_is_refused_in_the_unit_typed_and_kept_in_its_boxes(client, question_id, sent, message):
    to_the_sleep_step(client)
    response = send_sleep_step(client, sent)
    assert response.status_code == 400
    box = re.search(rf'<div[^>]*id="q-{question_id}".*?</div>\s*</div>', text(response), re.S).group(0)
    assert f'class="error" id="{question_id}-error">{message}' in box
    for value in sent.values():
        assert f'value="{value}"' in box.replace("&#34;", '"').replace("&#39;", "'")
    assert question_id not in draft_answers(client)


def test_a_metric_answer_is_refused_in_metric(client):
    to_the_sleep_step(client)
    response = send_sleep_step(client, {"height_cm": "17"}, "?units=metric")
    assert response.status_code == 400
    assert "Please enter your height in cm, from 50 to 250." in text(response)


def test_going_back_shows_the_answers_in_the_units_on_the_page(client):
    to_the_sleep_step(client)
    send_sleep_step(client, {"height_ft": "5", "height_in": "7", "weight_lb": "150", "neck_in": "16.5"})
    page = client.get("/triage/step/sleep")
    assert box_values(page, "height_ft", "height_in", "weight_lb", "neck_in") == ["5", "7", "150", "16.5"]
    metric = client.get("/triage/step/sleep?units=metric")
    assert box_values(metric, "height_cm", "weight_kg", "neck_cm") == ["170.2", "68", "41.9"]


# --- the pregnancy question -----------------------------------------------------------------------

def about_you(client, answers):
    submit(client, "/triage/step/safety", {**SAFE, "action": "next"})
    return submit(client, "/triage/step/about_you", {**answers, "action": "next"})


@pytest.mark.parametrize("sex, age, asked", [
    ("male", "40", False), ("female", "70", False), ("female", "11", False), ("female", "30", True),
    ("female", "12", True), ("female", "55", True), ("female", "56", False)])
def test_the_pregnancy_answer_counts_only_for_women_aged_12_to_55(client, sex, age, asked):
    response = about_you(client, {"age": age, "sex": sex, "pregnant": "yes"})
    assert response.status_code == 302
    assert ("pregnant" in draft_answers(client)) is asked
    page = text(client.get("/triage/step/about_you"))
    assert ('name="pregnant"' in page) is asked  # asked again only where it applies


def test_a_woman_of_30_must_not_be_left_unasked_and_her_answer_reaches_the_rules(client):
    response = about_you(client, {"age": "30", "sex": "female", "pregnant": "yes"})
    assert response.status_code == 302
    for step_id, answers in (("legs", {"dvt_signs": "yes", "svt_signs": "no"}), ("rls", {"rls_urge": "no"}),
                             ("sleep", {}), ("medicines", {})):
        response = submit(client, f"/triage/step/{step_id}", {**answers, "action": "next"})
    submission = db.session.get(TriageSubmission, int(location(response).rsplit("/", 1)[1]))
    assert submission.answers["pregnant"] == "yes"
    assert "U2" in submission.outcome["reasons"] and "F7" in submission.outcome["flags"]


def test_a_man_who_answers_pregnant_is_not_routed_as_pregnant(client):
    response = about_you(client, {"age": "30", "sex": "male", "pregnant": "yes"})
    assert response.status_code == 302
    for step_id, answers in (("legs", {"dvt_signs": "yes", "svt_signs": "no"}), ("rls", {"rls_urge": "no"}),
                             ("sleep", {}), ("medicines", {})):
        response = submit(client, f"/triage/step/{step_id}", {**answers, "action": "next"})
    submission = db.session.get(TriageSubmission, int(location(response).rsplit("/", 1)[1]))
    assert "pregnant" not in submission.answers
    assert "U2" not in submission.outcome["reasons"] and "F7" not in submission.outcome["flags"]


def test_the_question_says_whom_it_is_for(client):
    submit(client, "/triage/step/safety", {**SAFE, "action": "next"})
    page = text(client.get("/triage/step/about_you"))
    assert "(only if you are female, aged 12 to 55)" in page
