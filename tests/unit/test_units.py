"""Height, weight and neck between US and metric units (portal/triage/units.py)."""
import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from portal.triage import units
from portal.triage.questions import QUESTIONS, AnswerError, check_answers, read_answer


@pytest.mark.parametrize("feet, inches, cm", [(5, 6, 167.6), (5, 0, 152.4), (6, 2, 188.0), (4, 11.5, 151.1)])
def test_feet_and_inches_to_centimeters(feet, inches, cm):
    assert units.feet_and_inches_to_cm(feet, inches) == cm


def test_pounds_to_kilograms_and_inches_to_centimeters():
    assert units.pounds_to_kg(150) == 68.0
    assert units.pounds_to_kg(220.5) == 100.0
    assert units.inches_to_cm(16) == 40.6  # a 16-inch collar is over the rules' 40 cm
    assert units.inches_to_cm(15.5) == 39.4


def test_centimeters_and_kilograms_shown_back_in_us_units():
    assert units.cm_to_feet_and_inches(170.2) == (5, 7)
    assert units.cm_to_feet_and_inches(182.6) == (6, 0)  # 71.9 inches: 6 feet, not 5 feet 12
    assert units.feet_and_inches(167.6) == "5 ft 6 in"
    assert units.kg_to_pounds(68.0) == 150
    assert units.cm_to_inches(40.6) == 16.0
    assert units.number(16.0) == "16" and units.number(16.5) == "16.5"


@given(st.integers(20, 98))
def test_a_height_in_inches_survives_the_round_trip(inches):
    assert units.cm_to_feet_and_inches(units.inches_to_cm(inches)) == divmod(inches, 12)


@given(st.integers(45, 770))
def test_a_weight_in_pounds_survives_the_round_trip(pounds):
    assert units.kg_to_pounds(units.pounds_to_kg(pounds)) == pounds


@given(st.integers(16, 54).map(lambda half_inches: half_inches / 2))
def test_a_neck_in_half_inches_survives_the_round_trip(inches):
    assert units.cm_to_inches(units.inches_to_cm(inches)) == inches


# --- reading the boxes (portal/triage/questions.py read_answer) -----------------------------------

@pytest.mark.parametrize("form, question_id, answer", [
    ({"height_ft": "5", "height_in": "6"}, "height_cm", 167.6),
    ({"height_ft": "5 ft 6 in"}, "height_cm", 167.6),
    ({"height_ft": "5'"}, "height_cm", 152.4),
    ({"height_ft": "", "height_in": "66"}, "height_cm", 167.6),
    ({"height_ft": "168 cm"}, "height_cm", 168.0),
    ({"height_cm": "168"}, "height_cm", 168.0),
    ({}, "height_cm", None),
    ({"weight_lb": "150"}, "weight_kg", 68.0),
    ({"weight_lb": "68 kg"}, "weight_kg", 68.0),
    ({"neck_in": "16"}, "neck_cm", 40.6),
    ({"age": "70"}, "age", 70),
    ({"leg_signs": ["spider_veins"]}, "leg_signs", ["spider_veins"]),
])
def test_read_answer_takes_us_or_metric_boxes(form, question_id, answer):
    assert read_answer(QUESTIONS[question_id], MultiDict(form)) == answer


@pytest.mark.parametrize("form, question_id", [
    ({"height_ft": "9"}, "height_cm"), ({"height_ft": "1", "height_in": "2"}, "height_cm"),
    ({"height_ft": "5", "height_in": "12"}, "height_cm"), ({"height_ft": "170 cm", "height_in": "3"}, "height_cm"),
    ({"weight_lb": "1e3"}, "weight_kg"), ({"weight_lb": "nan"}, "weight_kg"), ({"neck_in": "30"}, "neck_cm")])
def test_read_answer_refuses_what_no_one_measures(form, question_id):
    with pytest.raises(AnswerError) as refused:
        read_answer(QUESTIONS[question_id], MultiDict(form))
    assert refused.value.question_id == question_id


def test_the_pregnancy_question_applies_to_women_aged_12_to_55_only():
    pregnant = QUESTIONS["pregnant"]
    assert pregnant.applies({"sex": "female", "age": 30})
    assert pregnant.applies({"sex": "female", "age": 12}) and pregnant.applies({"sex": "female", "age": 55})
    assert not pregnant.applies({"sex": "female", "age": 70}) and not pregnant.applies({"sex": "female", "age": 11})
    assert not pregnant.applies({"sex": "male", "age": 30})
    assert pregnant.applies({"sex": "female"}) and not pregnant.applies({"sex": "female"}, when_unknown=False)
    assert check_answers({"age": 70, "sex": "female", "pregnant": "yes"}, partial=True) == {"age": 70, "sex": "female"}
    assert pregnant.asked_of == "female, aged 12 to 55"
