"""Unit tests for portal.triage.questions: the questionnaire as data, form parsing, checking and
showing answers. No Flask, no database.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.triage import questions as questions_module
from portal.triage import units, vocabulary
from portal.triage.questions import (
    EMERGENCY_QUESTION_IDS,
    QUESTIONS,
    STEPS,
    AnswerError,
    check_answers,
    describe_answer,
    parse_answer,
)

# The Answers table of the rule set rlsvein-1: id -> (kind, answer values for choice kinds).
TRIAGE_MD_ANSWERS = {
    "age": ("int", ()),
    "sex": ("one_of", ("female", "male")),
    "pregnant": ("yes_no_unsure", ("yes", "no", "not_sure")),
    "pe_symptoms": ("yes_no_unsure", ("yes", "no", "not_sure")),
    "bleeding_vein": ("yes_no_unsure", ("yes", "no", "not_sure")),
    "cold_pale_leg": ("yes_no_unsure", ("yes", "no", "not_sure")),
    "dvt_signs": ("yes_no_unsure", ("yes", "no", "not_sure")),
    "dvt_risks": ("list", ("cancer", "recent_surgery_or_bedbound", "leg_cast_or_paralysis",
                           "previous_dvt_pe")),
    "svt_signs": ("yes_no_unsure", ("yes", "no", "not_sure")),
    "rls_urge": ("yes_no", ("yes", "no")),
    "rls_rest": ("yes_no", ("yes", "no")),
    "rls_movement_relief": ("yes_no", ("yes", "no")),
    "rls_evening": ("yes_no", ("yes", "no")),
    "rls_mimic": ("one_of", ("none", "cramp", "positional", "constant_burning", "joint_pain")),
    "rls_frequency": ("one_of", ("twice_weekly_or_more", "less_often", "first_time")),
    "rls_impact": ("int", ()),
    "leg_signs": ("list", ("varicose_veins", "spider_veins", "ankle_swelling", "skin_changes",
                           "open_sore", "healed_sore")),
    "venous_symptoms": ("yes_no", ("yes", "no")),
    "snoring": ("yes_no", ("yes", "no")),
    "tired_daytime": ("yes_no", ("yes", "no")),
    "observed_apnea": ("yes_no", ("yes", "no")),
    "high_blood_pressure": ("yes_no", ("yes", "no")),
    "height_cm": ("number", ()),
    "weight_kg": ("number", ()),
    "neck_cm": ("number", ()),
    "drowsy_driving": ("yes_no", ("yes", "no")),
    "epworth": ("int", ()),
    "partner_leg_jerks": ("yes_no", ("yes", "no")),
    "medications": ("list", ("antidepressant", "antipsychotic", "antihistamine", "antiemetic",
                             "rls_dopaminergic", "iron")),
    "augmentation_signs": ("yes_no", ("yes", "no")),
    "conditions": ("list", ("kidney_failure", "neuropathy", "parkinsons", "anaemia")),
    "ferritin": ("number", ()),
}
REQUIRED = {"age", "sex", "pe_symptoms", "bleeding_vein", "cold_pale_leg", "dvt_signs",
            "svt_signs"}
RANGES = {
    "age": (0, 120, "years"),
    "rls_impact": (0, 3, ""),
    "height_cm": (50, 250, "cm"),
    "weight_kg": (20, 350, "kg"),
    "neck_cm": (20, 70, "cm"),
    "epworth": (0, 24, ""),
    "ferritin": (0, 5000, "ng/mL"),
}
STEP_QUESTIONS = {
    "safety": ("pe_symptoms", "bleeding_vein", "cold_pale_leg"),
    "about_you": ("age", "sex", "pregnant"),
    "legs": ("dvt_signs", "dvt_risks", "svt_signs", "leg_signs", "venous_symptoms"),
    "rls": ("rls_urge", "rls_rest", "rls_movement_relief", "rls_evening", "rls_mimic",
            "rls_frequency", "rls_impact"),
    "sleep": ("snoring", "tired_daytime", "observed_apnea", "high_blood_pressure", "height_cm",
              "weight_kg", "neck_cm", "drowsy_driving", "epworth", "partner_leg_jerks"),
    "medicines": ("medications", "augmentation_signs", "conditions", "ferritin"),
}


def valid(**given) -> dict[str, object]:
    base: dict[str, object] = {
        "age": 40, "sex": "female", "pe_symptoms": "no", "bleeding_vein": "no",
        "cold_pale_leg": "no", "dvt_signs": "no", "svt_signs": "no",
    }
    base.update(given)
    return {key: value for key, value in base.items() if value is not None}


def parse(question_id: str, raw):
    return parse_answer(QUESTIONS[question_id], raw)


def refused(call, *args, **kwargs) -> AnswerError:
    with pytest.raises(AnswerError) as error:
        call(*args, **kwargs)
    return error.value


# --- The catalogue ---------------------------------------------------------------------------


def test_every_triage_md_answer_is_a_question_with_its_kind_and_values():
    assert set(QUESTIONS) == set(TRIAGE_MD_ANSWERS)
    for question_id, (kind, values) in TRIAGE_MD_ANSWERS.items():
        question = QUESTIONS[question_id]
        assert question.id == question_id
        assert question.kind == kind, question_id
        assert {choice.value for choice in question.choices} == set(values), question_id
        assert len(question.choices) == len(values), question_id


def test_yes_no_choices_are_exactly_as_documented():
    for question in QUESTIONS.values():
        if question.kind == "yes_no":
            assert [(c.value, c.label) for c in question.choices] == [("yes", "Yes"), ("no", "No")]
        if question.kind == "yes_no_unsure":
            assert [(c.value, c.label) for c in question.choices] == [
                ("yes", "Yes"), ("no", "No"), ("not_sure", "Not sure")]


def test_required_questions_are_exactly_those_triage_md_marks():
    assert {question.id for question in QUESTIONS.values() if question.required} == REQUIRED


def test_number_questions_have_their_ranges_and_units():
    numbers = {q.id for q in QUESTIONS.values() if q.kind in ("int", "number")}
    assert numbers == set(RANGES)
    for question_id, (minimum, maximum, unit) in RANGES.items():
        question = QUESTIONS[question_id]
        assert (question.minimum, question.maximum, question.unit) == (minimum, maximum, unit)
    for question in QUESTIONS.values():
        if question.kind not in ("int", "number"):
            assert question.minimum is None and question.maximum is None


def test_every_question_has_plain_words_and_a_clinician_label():
    for question in QUESTIONS.values():
        assert question.text.strip().endswith("?"), question.id
        assert question.clinician_label.strip(), question.id
        assert all(choice.label.strip() for choice in question.choices), question.id
        assert "_" not in question.text + "".join(c.label for c in question.choices), question.id


def test_only_if_points_back_to_an_earlier_question_and_a_real_value():
    order = list(QUESTIONS)
    assert QUESTIONS["pregnant"].only_if == ("sex", "female")
    for question in QUESTIONS.values():
        if question.only_if is None:
            continue
        deciding_id, value = question.only_if
        assert order.index(deciding_id) < order.index(question.id)
        assert value in {choice.value for choice in QUESTIONS[deciding_id].choices}
        assert not question.required


def test_emergency_questions_are_the_three_red_flags():
    assert EMERGENCY_QUESTION_IDS == ("pe_symptoms", "bleeding_vein", "cold_pale_leg")
    assert QUESTIONS["bleeding_vein"].text == "Is a vein in your leg bleeding right now?"


# --- Steps ----------------------------------------------------------------------------------


def test_steps_in_order_with_safety_first():
    assert [step.id for step in STEPS] == list(STEP_QUESTIONS)
    assert STEPS[0].question_ids == EMERGENCY_QUESTION_IDS
    for step in STEPS:
        assert step.question_ids == STEP_QUESTIONS[step.id]
        assert step.title.strip() and step.intro.strip()


def test_steps_cover_every_question_exactly_once_in_questionnaire_order():
    in_steps = [question_id for step in STEPS for question_id in step.question_ids]
    assert in_steps == list(QUESTIONS)
    assert len(in_steps) == len(set(in_steps))
    for step in STEPS:
        for question_id in step.question_ids:
            assert QUESTIONS[question_id].step == step.id


# --- parse_answer: form strings ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("question_id", "raw", "expected"),
    [
        ("snoring", "yes", "yes"),
        ("snoring", " no ", "no"),
        ("snoring", "Yes", "yes"),
        ("pe_symptoms", "not_sure", "not_sure"),
        ("sex", "female", "female"),
        ("rls_mimic", "constant_burning", "constant_burning"),
        ("snoring", ["yes"], "yes"),
        ("age", "52", 52),
        ("age", " 52 ", 52),
        ("age", "+52", 52),
        ("age", "52 years", 52),
        ("age", "52.0", 52),
        ("age", "0", 0),
        ("age", "120", 120),
        ("rls_impact", "3", 3),
        ("epworth", "11", 11),
        ("height_cm", "172", 172.0),
        ("height_cm", "172,5", 172.5),
        ("height_cm", "172.5", 172.5),
        ("height_cm", " 172 cm ", 172.0),
        ("height_cm", "172CM", 172.0),
        ("height_cm", "50", 50.0),
        ("height_cm", "250", 250.0),
        ("weight_kg", "72,", 72.0),
        ("neck_cm", "40,5", 40.5),
        ("weight_kg", "+68.25", 68.25),
        ("ferritin", "0", 0.0),
        ("ferritin", "5000", 5000.0),
        ("ferritin", "45 ng/mL", 45.0),
    ],
)
def test_parse_good_form_strings(question_id, raw, expected):
    result = parse(question_id, raw)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize("raw", [None, "", "   ", [], [""], ["  "]])
@pytest.mark.parametrize("question_id", ["snoring", "pe_symptoms", "sex", "age", "height_cm"])
def test_parse_empty_means_not_answered(question_id, raw):
    assert parse(question_id, raw) is None


@pytest.mark.parametrize(
    ("question_id", "raw"),
    [
        ("snoring", "maybe"),
        ("snoring", "not_sure"),  # not a choice of a yes/no question
        ("snoring", "y"),
        ("snoring", ["yes", "no"]),
        ("sex", "other"),
        ("rls_mimic", "None of these"),  # labels are not values
        ("pe_symptoms", 1),
    ],
)
def test_parse_refuses_answers_that_are_not_choices(question_id, raw):
    error = refused(parse_answer, QUESTIONS[question_id], raw)
    assert error.question_id == question_id
    assert str(error).startswith("Please choose")


AGE_MESSAGE = "Age must be a whole number from 0 to 120."
HEIGHT_MESSAGE = "Please enter your height in cm, from 50 to 250."


@pytest.mark.parametrize(
    "raw",
    ["abc", "fifty", "5 2", "52.5", "52,5", "-1", "121", "1e2", "0x20", "5_2", "٥٢", "nan",
     "inf", "52 kg", "1,234", "99999999999999999999999999999"],
)
def test_parse_refuses_an_age_that_is_not_a_whole_number_in_range(raw):
    error = refused(parse, "age", raw)
    assert error.question_id == "age"
    assert str(error) == AGE_MESSAGE


@pytest.mark.parametrize(
    "raw", ["tall", "49.9", "250.1", "0", "-172", "1,234.5", "1.234,5", "172.5.1", "1e2",
            "Infinity", "NaN", "172 kg", "5'6\"", "1" * 400],
)
def test_parse_refuses_a_height_that_is_not_a_number_in_range(raw):
    error = refused(parse, "height_cm", raw)
    assert error.question_id == "height_cm"
    assert str(error) == HEIGHT_MESSAGE


@pytest.mark.parametrize(
    ("question_id", "raw", "message"),
    [
        ("weight_kg", "19", "Please enter your weight in kg, from 20 to 350."),
        ("neck_cm", "71", "Please enter your neck size in cm, from 20 to 70."),
        ("epworth", "25", "The Epworth score must be a whole number from 0 to 24."),
        ("ferritin", "5001", "Please enter your ferritin result in ng/mL, from 0 to 5000."),
        ("rls_impact", "4", "Please choose a whole number from 0 (not at all) to 3 (very much)."),
    ],
)
def test_parse_out_of_range_messages_say_what_is_accepted(question_id, raw, message):
    assert str(refused(parse, question_id, raw)) == message


def test_parse_list_returns_values_in_declared_order():
    assert parse("leg_signs", ["ankle_swelling", " varicose_veins "]) == [
        "varicose_veins", "ankle_swelling"]
    assert parse("leg_signs", "open_sore") == ["open_sore"]
    assert parse("leg_signs", ["open_sore", "open_sore", ""]) == ["open_sore"]
    assert parse("medications", []) == []
    assert parse("medications", None) is None


@pytest.mark.parametrize("raw", [["bogus"], ["varicose_veins", "Varicose veins"], [3], 3])
def test_parse_list_refuses_unknown_values(raw):
    error = refused(parse, "leg_signs", raw)
    assert error.question_id == "leg_signs"
    assert str(error) == "Please check only the answers shown."


# --- check_answers: typed answers ---------------------------------------------------------------


def test_check_answers_normalises():
    checked = check_answers(valid(
        leg_signs=("healed_sore", "varicose_veins"), height_cm=172, weight_kg=70.5,
        epworth=None, ferritin=0,
    ))
    assert checked["leg_signs"] == ["varicose_veins", "healed_sore"]
    assert checked["height_cm"] == 172.0 and type(checked["height_cm"]) is float
    assert checked["ferritin"] == 0.0 and type(checked["ferritin"]) is float
    assert "epworth" not in checked
    assert checked["age"] == 40 and type(checked["age"]) is int
    assert list(checked) == [question_id for question_id in QUESTIONS if question_id in checked]


def test_check_answers_keeps_only_what_was_given():
    assert check_answers(valid()) == valid()
    assert check_answers({}, partial=True) == {}
    assert check_answers({"snoring": None}, partial=True) == {}


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_check_answers_names_a_missing_required_answer(missing):
    error = refused(check_answers, valid(**{missing: None}))
    assert error.question_id == missing
    assert str(error) == "Please answer this question."
    assert missing not in check_answers(valid(**{missing: None}), partial=True)


@pytest.mark.parametrize(
    ("question_id", "value"),
    [
        ("age", True),
        ("age", False),
        ("age", 40.0),
        ("age", "40"),
        ("age", -1),
        ("age", 121),
        ("age", 10**400),
        ("rls_impact", 4),
        ("epworth", 25),
        ("epworth", 10.5),
        ("height_cm", float("nan")),
        ("height_cm", float("inf")),
        ("height_cm", float("-inf")),
        ("height_cm", 10**400),
        ("height_cm", 49.99),
        ("height_cm", "172"),
        ("height_cm", True),
        ("ferritin", -0.1),
        ("neck_cm", [40]),
        ("snoring", True),
        ("snoring", "Yes"),
        ("snoring", "not_sure"),
        ("snoring", ["yes"]),
        ("pe_symptoms", " yes"),
        ("pe_symptoms", 1),
        ("sex", "unknown"),
        ("rls_mimic", {"none": True}),
        ("leg_signs", "varicose_veins"),
        ("leg_signs", ["varicose_veins", "varicose_veins"]),
        ("leg_signs", ["bogus"]),
        ("leg_signs", [["varicose_veins"]]),
        ("leg_signs", [None]),
        ("leg_signs", {"varicose_veins": True}),
        ("medications", [1]),
    ],
)
def test_check_answers_errors_name_the_question(question_id, value):
    error = refused(check_answers, valid(**{question_id: value}))
    assert error.question_id == question_id
    assert str(error)


def test_check_answers_duplicates_have_their_own_message():
    error = refused(check_answers, valid(conditions=["anaemia", "anaemia"]))
    assert str(error) == "Each answer can be checked only once."


@pytest.mark.parametrize("key", ["bogus", "Age", " age", "", 1, None, ("age",)])
def test_check_answers_refuses_unknown_ids(key):
    error = refused(check_answers, {**valid(), key: "yes"})
    assert error.question_id is None
    assert "no question called" in str(error)


@pytest.mark.parametrize("not_a_mapping", [None, [], [("age", 40)], "age", 40, {"age"}])
def test_check_answers_refuses_anything_but_a_mapping(not_a_mapping):
    assert refused(check_answers, not_a_mapping).question_id is None


def test_pregnancy_is_asked_of_women_only():
    assert check_answers(valid(pregnant="yes"))["pregnant"] == "yes"
    assert "pregnant" not in check_answers(valid(sex="male", pregnant="yes"))
    # Before sex is answered, a partial check keeps the answer.
    assert check_answers({"pregnant": "not_sure"}, partial=True) == {"pregnant": "not_sure"}
    # A bad value is still refused, even when the answer would be dropped.
    assert refused(check_answers, valid(sex="male", pregnant="perhaps")).question_id == "pregnant"


def test_only_pregnancy_depends_on_another_answer():
    assert [q.id for q in QUESTIONS.values() if q.only_if] == ["pregnant"]


# --- describe_answer ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question_id", "value", "expected"),
    [
        ("pe_symptoms", "not_sure", "Not sure"),
        ("snoring", "yes", "Yes"),
        ("snoring", "no", "No"),
        ("sex", "female", "Female"),
        ("rls_mimic", "none", "None of these"),
        ("leg_signs", ["varicose_veins", "ankle_swelling"], "Varicose veins, Ankle swelling"),
        ("leg_signs", ["ankle_swelling", "varicose_veins"], "Varicose veins, Ankle swelling"),
        ("leg_signs", [], "None"),
        ("medications", None, "Not answered"),
        ("age", None, "Not answered"),
        ("height_cm", 172.0, "172 cm (5 ft 8 in)"),
        ("height_cm", 172, "172 cm (5 ft 8 in)"),
        ("weight_kg", 72.5, "72.5 kg (160 lb)"),
        ("neck_cm", 40.6, "40.6 cm (16 in)"),
        ("age", 52, "52 years"),
        ("ferritin", 45.0, "45 ng/mL"),
        ("epworth", 14, "14 out of 24"),
        ("rls_impact", 2, "2 out of 3 (quite a lot)"),
        ("rls_impact", 0, "0 out of 3 (not at all)"),
        ("snoring", "maybe", "maybe"),  # an unknown stored value is shown, not hidden
    ],
)
def test_describe_answer_in_plain_words(question_id, value, expected):
    assert describe_answer(question_id, value) == expected


def test_describe_answer_has_words_for_every_choice():
    for question in QUESTIONS.values():
        for choice in question.choices:
            value = [choice.value] if question.kind == "list" else choice.value
            assert describe_answer(question.id, value) == choice.label


def test_describe_answer_refuses_an_unknown_question():
    assert refused(describe_answer, "bogus", "yes").question_id is None


# --- Properties ---------------------------------------------------------------------------------


def _form_value(question) -> st.SearchStrategy:
    values = [choice.value for choice in question.choices]
    if question.kind == "list":
        return st.lists(st.sampled_from(values), unique=True)
    if question.kind == "int":
        return st.integers(int(question.minimum), int(question.maximum)).map(str)
    if question.kind == "number":
        return st.decimals(question.minimum, question.maximum, places=1).map(
            lambda number: str(number).replace(".", ","))
    return st.sampled_from(values)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_what_the_form_parses_the_checker_accepts(data):
    question = data.draw(st.sampled_from(list(QUESTIONS.values())))
    raw = data.draw(_form_value(question))
    value = parse_answer(question, raw)
    checked = check_answers({question.id: value}, partial=True)
    assert checked == {question.id: value}
    assert describe_answer(question.id, value)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(list(QUESTIONS.values())),
       st.one_of(st.none(), st.text(max_size=20), st.lists(st.text(max_size=8), max_size=3)))
def test_parse_answer_never_raises_anything_but_answer_error(question, raw):
    try:
        parse_answer(question, raw)
    except AnswerError as error:
        assert error.question_id == question.id
        assert str(error).endswith(".")


junk_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=4), children, max_size=2),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.one_of(st.sampled_from(list(QUESTIONS)), st.text(max_size=8),
                                 st.integers()), junk_values, max_size=6),
       st.booleans())
def test_check_answers_never_raises_anything_but_answer_error(junk, partial):
    try:
        checked = check_answers(junk, partial=partial)
    except AnswerError as error:
        assert error.question_id is None or error.question_id in QUESTIONS
    else:
        assert set(checked) <= set(QUESTIONS)
        for question_id, value in checked.items():
            assert describe_answer(question_id, value) != "Not answered"


# --- Purity ------------------------------------------------------------------------------------


@pytest.mark.parametrize("module", [questions_module, vocabulary, units])
def test_module_imports_only_the_standard_library(module):
    tree = ast.parse(Path(module.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names}
    # portal.triage.units is the pure conversions between US and metric units (tests/unit/test_units.py)
    assert imported <= {"__future__", "collections.abc", "dataclasses", "enum", "math", "re", "portal.triage"}


def test_a_question_asked_only_after_another_answer_applies_as_that_answer_says():
    pregnant = QUESTIONS["pregnant"]
    assert pregnant.applies({"sex": "female"}) and not pregnant.applies({"sex": "male"})
    assert pregnant.applies({}) and not pregnant.applies({}, when_unknown=False)  # a page asks until it knows
    assert QUESTIONS["age"].applies({"sex": "male"}, when_unknown=False)  # asked of everyone
