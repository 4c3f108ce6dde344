"""Unit tests for portal.triage.rules: the rule set `rlsvein-1`.

Each test builds an answer set that says only what matters to it (everything else is "no",
unanswered or empty) and checks route, urgency, reasons and flags as rlsvein-1 states them.
No Flask, no database.
"""

from __future__ import annotations

import copy
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.triage import rules
from portal.triage.questions import EMERGENCY_QUESTION_IDS, QUESTIONS, AnswerError
from portal.triage.rules import (
    CLINICIAN_RULE_TEXT,
    FLAG_TEXT,
    RULE_TEXT,
    RULES_VERSION,
    URGENCY_ADVICE,
    TriageOutcome,
    evaluate,
    evaluate_safety,
)
from portal.triage.vocabulary import Route, Urgency
from tests.answers import complete_answers, valid_answers

ULTRASOUND = Route.VASCULAR_ULTRASOUND
SLEEP_STUDY = Route.SLEEP_STUDY_REFERRAL
CONSULT = Route.GENERAL_CONSULT
ROUTINE, URGENT, EMERGENCY = Urgency.ROUTINE, Urgency.URGENT, Urgency.EMERGENCY

RED_FLAGS = ("pe_symptoms", "bleeding_vein", "cold_pale_leg", "dvt_signs", "svt_signs")
FOUR_RLS_YES = {
    "rls_urge": "yes",
    "rls_rest": "yes",
    "rls_movement_relief": "yes",
    "rls_evening": "yes",
}
PROBABLE_RLS = {**FOUR_RLS_YES, "rls_mimic": "none"}
# Height 200 cm makes (height/100)^2 exactly 4, so these weights give BMI exactly 35.0 and 35.1.
BMI_35 = {"height_cm": 200, "weight_kg": 140}
BMI_35_1 = {"height_cm": 200, "weight_kg": 140.4}
BMI_36 = {"height_cm": 200, "weight_kg": 144}

URGENCY_RULE_IDS = ("E1", "E2", "E3", "U1", "U2", "U3", "U4")
ROUTE_RULE_IDS = ("R1", "R2", "R3", "R4", "R5")
FLAG_IDS = tuple(f"F{number}" for number in range(1, 13))


def answers(**given) -> dict[str, object]:
    """A valid answer set: a 40-year-old woman who says no to every red flag, plus `given`.

    A value of None removes the answer."""
    base: dict[str, object] = {
        "age": 40,
        "sex": "female",
        **dict.fromkeys(RED_FLAGS, "no"),
    }
    base.update(given)
    return {key: value for key, value in base.items() if value is not None}


def outcome(**given) -> TriageOutcome:
    return evaluate(answers(**given))


def ticked(*values: str) -> list[str]:
    return list(values)


# --- The six worked cases of rlsvein-1 ----------------------------------------------------------

WORKED_CASES = [
    pytest.param(
        answers(sex="female", age=52, **PROBABLE_RLS,
                leg_signs=ticked("varicose_veins", "ankle_swelling"), venous_symptoms="yes"),
        ULTRASOUND, ROUTINE, ("R3",), ("F1", "F3"), id="1-rls-with-symptomatic-varicose-veins",
    ),
    pytest.param(
        answers(sex="male", age=58, **PROBABLE_RLS, snoring="yes", observed_apnea="yes",
                tired_daytime="yes", high_blood_pressure="yes"),
        SLEEP_STUDY, ROUTINE, ("R2",), ("F1", "F3"), id="2-rls-with-sleep-apnoea-signs",
    ),
    pytest.param(
        answers(sex="female", age=40, **FOUR_RLS_YES, rls_mimic="cramp"),
        CONSULT, ROUTINE, ("R5",), ("F2",), id="3-cramps-mimic-rls",
    ),
    pytest.param(
        answers(sex="female", age=29, pregnant="yes", dvt_signs="yes"),
        ULTRASOUND, URGENT, ("U1", "U2", "R1"), ("F7",), id="4-clot-signs-in-pregnancy",
    ),
    pytest.param(
        answers(sex="female", age=35, leg_signs=ticked("spider_veins")),
        CONSULT, ROUTINE, ("R5",), ("F9",), id="5-spider-veins-only",
    ),
    pytest.param(
        answers(sex="male", age=61, leg_signs=ticked("varicose_veins"), venous_symptoms="yes",
                pe_symptoms="yes"),
        ULTRASOUND, EMERGENCY, ("E1", "R3"), (), id="6-lung-clot-signs-with-varicose-veins",
    ),
]


@pytest.mark.parametrize(("given", "route", "urgency", "reasons", "flags"), WORKED_CASES)
def test_worked_cases_of_triage_md(given, route, urgency, reasons, flags):
    result = evaluate(given)
    assert (result.route, result.urgency) == (route, urgency)
    assert result.reasons == reasons
    assert result.flags == flags
    assert result.version == RULES_VERSION == "rlsvein-1"


def test_worked_case_2_stop_bang_counts_every_item():
    # Four STOP items, age 58 > 50, male: 6 (no BMI or neck given).
    assert evaluate(WORKED_CASES[1].values[0]).stop_bang == 6


def test_worked_cases_hold_with_rls_mimic_left_unanswered():
    # rlsvein-1's cases read unanswered questions as "no / none / empty".
    case_2 = dict(WORKED_CASES[1].values[0])
    del case_2["rls_mimic"]
    result = evaluate(case_2)
    assert (result.route, result.reasons, result.flags) == (SLEEP_STUDY, ("R2",), ("F1", "F3"))


# --- Urgency rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question_id", "rule_id", "urgency"),
    [
        ("pe_symptoms", "E1", EMERGENCY),
        ("bleeding_vein", "E2", EMERGENCY),
        ("cold_pale_leg", "E3", EMERGENCY),
        ("dvt_signs", "U1", URGENT),
        ("svt_signs", "U3", URGENT),
        ("drowsy_driving", "U4", URGENT),
    ],
)
def test_each_urgency_rule_fires_on_its_answer_and_not_without_it(question_id, rule_id, urgency):
    fired = outcome(**{question_id: "yes"})
    assert fired.urgency is urgency
    assert rule_id in fired.reasons
    quiet = outcome(**{question_id: "no"})
    assert quiet.urgency is ROUTINE
    assert rule_id not in quiet.reasons


@pytest.mark.parametrize(
    ("question_id", "rule_id", "urgency"),
    [
        ("pe_symptoms", "E1", EMERGENCY),
        ("bleeding_vein", "E2", EMERGENCY),
        ("cold_pale_leg", "E3", EMERGENCY),
        ("dvt_signs", "U1", URGENT),
        ("svt_signs", "U3", URGENT),
    ],
)
def test_not_sure_counts_as_yes_on_each_red_flag(question_id, rule_id, urgency):
    result = outcome(**{question_id: "not_sure"})
    assert result.urgency is urgency
    assert result.reasons[0] == rule_id


@pytest.mark.parametrize("pregnant", ["yes", "not_sure"])
def test_u2_fires_on_clot_signs_in_pregnancy_and_not_sure_counts_as_pregnant(pregnant):
    result = outcome(pregnant=pregnant, dvt_signs="not_sure")
    assert result.reasons == ("U1", "U2", "R1")
    assert result.urgency is URGENT
    assert "F7" in result.flags


@pytest.mark.parametrize("pregnant", ["no", None])
def test_u2_needs_pregnancy(pregnant):
    assert outcome(pregnant=pregnant, dvt_signs="yes").reasons == ("U1", "R1")


def test_u2_needs_clot_signs():
    result = outcome(pregnant="yes")
    assert result.reasons == ("R5",)
    assert result.urgency is ROUTINE


def test_drowsy_driving_is_urgent_but_routes_nowhere_special():
    result = outcome(drowsy_driving="yes")
    assert result.reasons == ("U4", "R5")
    assert result.route is CONSULT


def test_emergency_beats_urgent():
    result = outcome(dvt_signs="yes", cold_pale_leg="yes")
    assert result.urgency is EMERGENCY
    assert result.reasons == ("E3", "U1", "R1")


def test_reasons_list_every_urgency_rule_in_order_then_the_route_rule():
    result = outcome(**dict.fromkeys(RED_FLAGS, "yes"),
                     pregnant="yes", drowsy_driving="yes")
    assert result.reasons == ("E1", "E2", "E3", "U1", "U2", "U3", "U4", "R1")
    assert result.urgency is EMERGENCY


def test_no_red_flag_is_routine_general_consult():
    result = outcome()
    assert result == TriageOutcome(CONSULT, ROUTINE, ("R5",), (), RULES_VERSION, None, 0)


# --- R1 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "reasons"),
    [
        ({"dvt_signs": "yes"}, ("U1", "R1")),
        ({"dvt_signs": "yes", "pregnant": "yes"}, ("U1", "U2", "R1")),
        ({"svt_signs": "yes"}, ("U3", "R1")),
        ({"bleeding_vein": "yes"}, ("E2", "R1")),
    ],
)
def test_r1_scans_after_a_clot_or_bleeding_rule(given, reasons):
    result = outcome(**given)
    assert result.route is ULTRASOUND
    assert result.reasons == reasons


@pytest.mark.parametrize("question_id", ["pe_symptoms", "cold_pale_leg", "drowsy_driving"])
def test_r1_does_not_follow_e1_e3_or_u4(question_id):
    assert outcome(**{question_id: "yes"}).reasons[-1] == "R5"


def test_r1_comes_before_every_other_route_rule():
    result = outcome(svt_signs="yes", observed_apnea="yes", leg_signs=ticked("open_sore"))
    assert result.reasons == ("U3", "R1")


# --- R2 and STOP-Bang ----------------------------------------------------------------------------


def test_r2_observed_apnoea_alone():
    result = outcome(observed_apnea="yes")
    assert result.route is SLEEP_STUDY
    assert result.reasons == ("R2",)
    assert result.stop_bang == 1


def test_r2_stop_bang_of_5_alone():
    # One STOP item only, so R2's third alternative cannot fire: 1 + BMI + age + neck + male = 5.
    result = outcome(sex="male", age=51, snoring="yes", neck_cm=41, **BMI_36)
    assert result.stop_bang == 5
    assert result.route is SLEEP_STUDY


def test_r2_stop_bang_of_4_with_one_stop_item_is_not_enough():
    result = outcome(sex="male", age=50, snoring="yes", neck_cm=41, **BMI_36)
    assert result.stop_bang == 4
    assert result.route is CONSULT
    assert result.flags == ("F10",)


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"sex": "male"}, id="male"),
        pytest.param(BMI_35_1, id="bmi-35.1"),
        pytest.param({"neck_cm": 41}, id="neck-41"),
    ],
)
def test_r2_two_stop_items_with_male_sex_bmi_or_neck(extra):
    result = outcome(snoring="yes", tired_daytime="yes", **extra)
    assert result.route is SLEEP_STUDY
    assert result.reasons == ("R2",)


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({}, id="nothing-else"),
        pytest.param(BMI_35, id="bmi-35.0"),
        pytest.param({"neck_cm": 40}, id="neck-40"),
        pytest.param({"height_cm": 200}, id="height-without-weight"),
    ],
)
def test_r2_two_stop_items_alone_or_at_the_boundary_do_not_fire(extra):
    assert outcome(snoring="yes", tired_daytime="yes", **extra).route is CONSULT


def test_r2_one_stop_item_with_male_sex_does_not_fire():
    assert outcome(sex="male", high_blood_pressure="yes").route is CONSULT


def test_bmi_boundary_values_are_exact():
    assert outcome(**BMI_35).bmi == 35.0
    assert outcome(**BMI_35_1).bmi == 35.1
    assert outcome(**BMI_35).stop_bang == 0
    assert outcome(**BMI_35_1).stop_bang == 1


def test_bmi_needs_height_and_weight():
    assert outcome(height_cm=170).bmi is None
    assert outcome(weight_kg=70).bmi is None
    assert outcome(height_cm=170, weight_kg=72.25).bmi == pytest.approx(25.0)


def test_neck_boundary():
    assert outcome(neck_cm=40).stop_bang == 0
    assert outcome(neck_cm=40.5).stop_bang == 1
    assert outcome(neck_cm=41).stop_bang == 1


def test_age_boundary():
    assert outcome(age=50).stop_bang == 0
    assert outcome(age=51).stop_bang == 1


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, 0),
        ({"sex": "male"}, 1),
        ({"snoring": "yes"}, 1),
        ({"snoring": "yes", "tired_daytime": "yes", "observed_apnea": "yes",
          "high_blood_pressure": "yes"}, 4),
        ({"snoring": "no", "tired_daytime": "no"}, 0),
        ({"age": 70, **BMI_36}, 2),
        ({"sex": "male", "age": 70, "neck_cm": 43, **BMI_36}, 4),
        ({"sex": "male", "age": 70, "neck_cm": 43, **BMI_36, "snoring": "yes",
          "tired_daytime": "yes", "observed_apnea": "yes", "high_blood_pressure": "yes"}, 8),
    ],
)
def test_stop_bang_adds_one_for_each_item(given, expected):
    assert outcome(**given).stop_bang == expected


@pytest.mark.parametrize(("age", "flags"), [(40, ()), (51, ("F10",))])
def test_f10_starts_at_stop_bang_3(age, flags):
    # Female, two STOP items: stop_bang 2, or 3 with age > 50; R2 needs more than this.
    result = outcome(age=age, snoring="yes", high_blood_pressure="yes")
    assert result.route is CONSULT
    assert result.flags == flags


def test_f10_covers_3_and_4_not_5():
    assert "F10" in outcome(sex="male", age=51, snoring="yes", neck_cm=41).flags  # 4
    assert "F10" not in outcome(sex="male", age=51, snoring="yes", neck_cm=41, **BMI_36).flags


# --- R3 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        pytest.param({"leg_signs": ["varicose_veins"], "venous_symptoms": "yes"},
                     id="symptomatic-varicose-veins"),
        pytest.param({"leg_signs": ["skin_changes"]}, id="skin-changes"),
        pytest.param({"leg_signs": ["open_sore"]}, id="open-sore"),
        pytest.param({"leg_signs": ["healed_sore"]}, id="healed-sore"),
        pytest.param({"leg_signs": ["ankle_swelling"], "venous_symptoms": "yes"},
                     id="ankle-swelling-with-symptoms"),
    ],
)
def test_r3_each_of_its_five_alternatives(given):
    result = outcome(**given)
    assert result.route is ULTRASOUND
    assert result.reasons == ("R3",)
    assert result.urgency is ROUTINE
    assert "F8" not in result.flags and "F9" not in result.flags


@pytest.mark.parametrize(
    "given",
    [
        pytest.param({"leg_signs": ["varicose_veins"]}, id="varicose-without-symptoms"),
        pytest.param({"leg_signs": ["ankle_swelling"]}, id="ankle-swelling-without-symptoms"),
        pytest.param({"venous_symptoms": "yes"}, id="symptoms-without-signs"),
        pytest.param({"leg_signs": ["spider_veins"], "venous_symptoms": "yes"},
                     id="spider-veins-with-symptoms"),
        pytest.param({"leg_signs": []}, id="nothing-seen"),
    ],
)
def test_r3_does_not_fire_without_its_condition(given):
    assert outcome(**given).reasons == ("R5",)


@pytest.mark.parametrize("pregnant", ["yes", "not_sure"])
def test_r3_not_in_pregnancy_which_is_flagged_instead(pregnant):
    result = outcome(pregnant=pregnant, leg_signs=ticked("skin_changes"))
    assert result.route is CONSULT
    assert result.reasons == ("R5",)
    assert result.flags == ("F7", "F8")


def test_r3_when_not_pregnant():
    assert outcome(pregnant="no", leg_signs=ticked("healed_sore")).reasons == ("R3",)


def test_r2_comes_before_r3_and_flags_that_a_scan_is_also_indicated():
    result = outcome(observed_apnea="yes", leg_signs=ticked("open_sore"))
    assert result.reasons == ("R2",)
    assert result.flags == ("F11",)


def test_f11_needs_r3_condition_including_not_pregnant():
    result = outcome(observed_apnea="yes", pregnant="yes", leg_signs=ticked("open_sore"))
    assert result.reasons == ("R2",)
    assert result.flags == ("F7", "F8")


def test_f11_not_without_venous_signs():
    assert outcome(observed_apnea="yes").flags == ()


# --- R4 ------------------------------------------------------------------------------------------


def test_r4_leg_jerks_with_daytime_tiredness():
    result = outcome(partner_leg_jerks="yes", tired_daytime="yes")
    assert result.route is SLEEP_STUDY
    assert result.reasons == ("R4",)


@pytest.mark.parametrize(("epworth", "reason"), [(10, "R5"), (11, "R4"), (24, "R4"), (None, "R5")])
def test_r4_epworth_boundary(epworth, reason):
    assert outcome(partner_leg_jerks="yes", epworth=epworth).reasons == (reason,)


def test_r4_not_with_probable_rls():
    result = outcome(partner_leg_jerks="yes", tired_daytime="yes", **PROBABLE_RLS)
    assert result.reasons == ("R5",)
    assert result.flags == ("F1", "F3")


def test_r4_when_rls_is_not_probable_because_of_a_mimic():
    result = outcome(partner_leg_jerks="yes", epworth=15, **FOUR_RLS_YES,
                     rls_mimic="positional")
    assert result.reasons == ("R4",)
    assert result.flags == ("F2",)


def test_r4_needs_leg_jerks():
    assert outcome(tired_daytime="yes", epworth=20).reasons == ("R5",)


def test_r3_comes_before_r4():
    result = outcome(partner_leg_jerks="yes", tired_daytime="yes", leg_signs=ticked("open_sore"))
    assert result.reasons == ("R3",)


# --- Under 18 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "route", "reasons", "flags"),
    [(17, CONSULT, ("R5",), ("F12",)), (18, ULTRASOUND, ("R3",), ())],
)
def test_under_18_is_general_consult_at_17_not_at_18(age, route, reasons, flags):
    result = outcome(age=age, leg_signs=ticked("skin_changes"))
    assert (result.route, result.reasons, result.flags) == (route, reasons, flags)


@pytest.mark.parametrize(
    "given",
    [
        {"observed_apnea": "yes"},
        {"partner_leg_jerks": "yes", "tired_daytime": "yes"},
        {"leg_signs": ["open_sore"]},
    ],
)
def test_under_18_never_routes_by_r2_r3_or_r4(given):
    result = outcome(age=12, **given)
    assert result.route is CONSULT
    assert result.reasons == ("R5",)
    assert "F12" in result.flags


def test_under_18_still_scanned_under_r1():
    result = outcome(age=16, dvt_signs="yes")
    assert result.route is ULTRASOUND
    assert result.urgency is URGENT
    assert result.reasons == ("U1", "R1")
    assert result.flags == ("F12",)


def test_under_18_emergency_rules_still_apply():
    result = outcome(age=0, pe_symptoms="yes")
    assert result.urgency is EMERGENCY
    assert result.reasons == ("E1", "R5")


# --- Flags ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("ferritin", "f3"), [(None, True), (0, True), (75, True), (100, True),
                                              (100.5, False), (101, False), (5000, False)])
def test_f3_ferritin_boundary(ferritin, f3):
    result = outcome(ferritin=ferritin, **PROBABLE_RLS)
    assert ("F3" in result.flags) is f3
    assert "F1" in result.flags


def test_f3_needs_probable_rls():
    assert outcome(ferritin=20).flags == ()
    assert outcome(ferritin=20, **FOUR_RLS_YES, rls_mimic="joint_pain").flags == ("F2",)


@pytest.mark.parametrize("missing", sorted(FOUR_RLS_YES))
def test_f1_needs_all_four_rls_answers(missing):
    given = {**PROBABLE_RLS, missing: "no"}
    assert outcome(**given).flags == ()


@pytest.mark.parametrize("mimic", ["cramp", "positional", "constant_burning", "joint_pain"])
def test_f2_any_mimic_means_criterion_5_not_met(mimic):
    result = outcome(**FOUR_RLS_YES, rls_mimic=mimic)
    assert result.flags == ("F2",)


@pytest.mark.parametrize("medicine", ["antidepressant", "antipsychotic", "antihistamine",
                                      "antiemetic"])
def test_f4_each_medicine_that_may_worsen_rls(medicine):
    assert outcome(medications=[medicine]).flags == ("F4",)


def test_f4_not_for_iron_or_rls_medicine():
    assert outcome(medications=["rls_dopaminergic", "iron"]).flags == ()


def test_f5_augmentation_needs_the_rls_medicine_and_the_signs():
    assert outcome(medications=["rls_dopaminergic"], augmentation_signs="yes").flags == ("F5",)
    assert outcome(medications=["iron"], augmentation_signs="yes").flags == ()
    assert outcome(medications=["rls_dopaminergic"], augmentation_signs="no").flags == ()


@pytest.mark.parametrize("condition", ["kidney_failure", "neuropathy", "parkinsons"])
def test_f6_each_related_condition(condition):
    assert outcome(conditions=[condition, "anaemia"]).flags == ("F6",)


def test_f6_not_for_anaemia_alone():
    assert outcome(conditions=["anaemia"]).flags == ()


@pytest.mark.parametrize(
    "given",
    [
        {"leg_signs": ["spider_veins"]},
        {"leg_signs": ["varicose_veins"]},
        {"leg_signs": ["spider_veins", "varicose_veins"], "venous_symptoms": "no"},
        {"leg_signs": ["spider_veins"], "venous_symptoms": "yes"},
    ],
)
def test_f9_likely_cosmetic(given):
    result = outcome(**given)
    assert result.route is CONSULT
    assert result.flags == ("F9",)


@pytest.mark.parametrize(
    "given",
    [
        pytest.param({"leg_signs": []}, id="nothing-seen"),
        pytest.param({"leg_signs": ["spider_veins", "ankle_swelling"]}, id="also-swelling"),
        pytest.param({"leg_signs": ["varicose_veins"], "venous_symptoms": "yes"}, id="R3"),
        pytest.param({"leg_signs": ["spider_veins"], "observed_apnea": "yes"}, id="R2"),
        pytest.param({"leg_signs": ["spider_veins"], "svt_signs": "yes"}, id="R1"),
        pytest.param({"leg_signs": ["spider_veins"], "partner_leg_jerks": "yes",
                      "tired_daytime": "yes"}, id="R4"),
    ],
)
def test_f9_not_with_other_signs_or_another_route(given):
    assert "F9" not in outcome(**given).flags


def test_flags_never_change_route_or_urgency():
    plain = outcome()
    flagged = outcome(**FOUR_RLS_YES, rls_mimic="cramp", medications=["antidepressant"],
                      conditions=["parkinsons"], leg_signs=["spider_veins"], age=16)
    assert (flagged.route, flagged.urgency, flagged.reasons) == (
        plain.route, plain.urgency, plain.reasons)
    assert flagged.flags == ("F2", "F4", "F6", "F9", "F12")


def test_flags_are_sorted_numerically():
    result = outcome(age=17, sex="female", pregnant="yes", snoring="yes", tired_daytime="yes",
                     neck_cm=45, **PROBABLE_RLS, medications=["antidepressant", "rls_dopaminergic"],
                     augmentation_signs="yes", conditions=["neuropathy"],
                     leg_signs=["skin_changes"])
    assert result.flags == ("F1", "F3", "F4", "F5", "F6", "F7", "F8", "F10", "F12")
    assert list(result.flags) == sorted(result.flags, key=lambda flag: int(flag[1:]))


# --- Missing optional answers ------------------------------------------------------------------


def test_only_the_required_answers_evaluate():
    result = evaluate({"age": 70, "sex": "male", **dict.fromkeys(RED_FLAGS, "no")})
    assert result.route is CONSULT
    assert result.urgency is ROUTINE
    assert result.reasons == ("R5",)
    assert result.flags == ()
    assert result.bmi is None
    assert result.stop_bang == 2  # age > 50 and male; unknown BMI and neck count as no


def test_unanswered_optional_numbers_never_satisfy_a_comparison():
    result = outcome(snoring="yes", tired_daytime="yes", partner_leg_jerks="yes")
    # R2 needs BMI or neck, both unknown; R4 via tired_daytime, not via the unknown Epworth.
    assert result.reasons == ("R4",)


def test_none_values_count_as_unanswered():
    assert outcome(pregnant=None, leg_signs=None, ferritin=None) == outcome()
    assert evaluate({**answers(), "ferritin": None, "snoring": None}) == outcome()


@pytest.mark.parametrize("required", ["age", "sex", *RED_FLAGS])
def test_missing_required_answer_is_an_error_naming_it(required):
    with pytest.raises(AnswerError) as error:
        evaluate(answers(**{required: None}))
    assert error.value.question_id == required


def test_invalid_answers_are_refused_before_any_rule_runs():
    with pytest.raises(AnswerError) as error:
        evaluate(answers(pe_symptoms="yes", age="fifty"))
    assert error.value.question_id == "age"


def test_pregnancy_answer_of_a_male_patient_is_ignored():
    result = outcome(sex="male", pregnant="yes", leg_signs=ticked("skin_changes"))
    assert result.reasons == ("R3",)
    assert "F7" not in result.flags


# --- evaluate_safety ---------------------------------------------------------------------------

ALL_NO = dict.fromkeys(EMERGENCY_QUESTION_IDS, "no")


def test_safety_page_without_emergency_goes_on():
    assert evaluate_safety(ALL_NO) is None


@pytest.mark.parametrize(
    ("given", "route", "reasons"),
    [
        ({"pe_symptoms": "yes"}, CONSULT, ("E1", "R5")),
        ({"bleeding_vein": "yes"}, ULTRASOUND, ("E2", "R1")),
        ({"cold_pale_leg": "not_sure"}, CONSULT, ("E3", "R5")),
        ({"pe_symptoms": "not_sure", "cold_pale_leg": "yes"}, CONSULT, ("E1", "E3", "R5")),
        ({"pe_symptoms": "yes", "bleeding_vein": "yes", "cold_pale_leg": "yes"}, ULTRASOUND,
         ("E1", "E2", "E3", "R1")),
    ],
)
def test_safety_page_emergency(given, route, reasons):
    """An early stop says its route is provisional: the leg and sleep questions were never asked."""
    result = evaluate_safety({**ALL_NO, **given})
    assert result == TriageOutcome(route, EMERGENCY, reasons, (), route_provisional=True)
    assert result.bmi is None and result.stop_bang == 0
    assert TriageOutcome.from_dict(result.to_dict()).route_provisional


def test_a_full_answer_set_is_never_provisional():
    """Worked case 6: every answer given, so the emergency keeps its real route."""
    result = outcome(age=61, sex="male", leg_signs=["varicose_veins"], venous_symptoms="yes", pe_symptoms="yes")
    assert (result.route, result.urgency, result.route_provisional) == (ULTRASOUND, EMERGENCY, False)


def test_safety_page_ignores_other_answers_even_invalid_ones():
    given = {**ALL_NO, "bleeding_vein": "yes", "age": "not a number", "zzz": object(),
             "dvt_signs": "yes"}
    assert evaluate_safety(given).reasons == ("E2", "R1")
    assert evaluate_safety({**ALL_NO, "age": -5}) is None


@pytest.mark.parametrize("missing", EMERGENCY_QUESTION_IDS)
def test_safety_page_needs_all_three_answers(missing):
    given = {**ALL_NO, "pe_symptoms": "yes"}
    del given[missing]
    with pytest.raises(AnswerError) as error:
        evaluate_safety(given)
    assert error.value.question_id == missing


def test_safety_page_refuses_a_none_answer_as_missing():
    with pytest.raises(AnswerError) as error:
        evaluate_safety({**ALL_NO, "cold_pale_leg": None})
    assert error.value.question_id == "cold_pale_leg"


@pytest.mark.parametrize("bad", ["maybe", True, 1, ["yes"], ""])
def test_safety_page_refuses_junk(bad):
    with pytest.raises(AnswerError) as error:
        evaluate_safety({**ALL_NO, "bleeding_vein": bad})
    assert error.value.question_id == "bleeding_vein"


def test_safety_page_refuses_a_non_mapping():
    with pytest.raises(AnswerError):
        evaluate_safety(["pe_symptoms", "yes"])  # type: ignore[arg-type]


def test_safety_outcome_agrees_with_the_full_evaluation_on_urgency():
    for question_id in EMERGENCY_QUESTION_IDS:
        full = outcome(**{question_id: "yes"})
        first_page = evaluate_safety({**ALL_NO, question_id: "yes"})
        assert full.urgency is first_page.urgency is EMERGENCY
        assert full.reasons[0] == first_page.reasons[0]


# --- The outcome as stored -----------------------------------------------------------------------


def test_outcome_round_trips_through_json():
    original = outcome(sex="male", age=60, snoring="yes", dvt_signs="yes", medications=["iron"],
                       **BMI_35_1)
    stored = json.loads(json.dumps(original.to_dict()))
    assert stored == {
        "route": "vascular_ultrasound",
        "urgency": "urgent",
        "reasons": ["U1", "R1"],
        "flags": ["F10"],
        "version": "rlsvein-1",
        "bmi": 35.1,
        "stop_bang": 4,
        "route_provisional": False,
    }
    assert TriageOutcome.from_dict(stored) == original


def test_from_dict_refuses_an_unknown_route():
    with pytest.raises(ValueError):
        TriageOutcome.from_dict({"route": "x-ray", "urgency": "routine"})


# --- Words ------------------------------------------------------------------------------------


def test_every_rule_has_patient_and_clinician_words():
    assert set(RULE_TEXT) == set(CLINICIAN_RULE_TEXT) == {*URGENCY_RULE_IDS, *ROUTE_RULE_IDS}
    for rule_id, text in CLINICIAN_RULE_TEXT.items():
        assert text.startswith(rule_id + " ")


def test_every_flag_has_words():
    assert set(FLAG_TEXT) == set(FLAG_IDS)
    assert "STOP-Bang 3-4" in FLAG_TEXT["F10"]
    assert "transferrin saturation" in FLAG_TEXT["F3"]
    assert "prescriber" in FLAG_TEXT["F4"]


def test_patient_words_diagnose_nothing_and_promise_nothing():
    for text in [*RULE_TEXT.values(), *URGENCY_ADVICE.values()]:
        lowered = text.lower()
        assert text.strip() and text.endswith(".")
        for word in ("diagnos", "you have a", "restless", "rls", "cure", "relieve", "will help",
                     "thrombosis", "embolism", "ischaemia", "dvt"):
            assert word not in lowered, (word, text)


def test_urgency_advice_for_every_urgency():
    assert set(URGENCY_ADVICE) == set(Urgency)
    assert "emergency" in URGENCY_ADVICE[EMERGENCY].lower()
    assert "today" in URGENCY_ADVICE[URGENT].lower()


def test_urgency_rank_orders_the_urgencies():
    assert [urgency.rank for urgency in Urgency] == [0, 1, 2]
    assert max(Urgency, key=lambda urgency: urgency.rank) is EMERGENCY
    assert Urgency("urgent") == "urgent" and Route("general_consult") == "general_consult"


# --- The rules as a clinician reads them -------------------------------------------------------


def test_rule_tables_follow_triage_md():
    assert [rule.id for rule in rules.URGENCY_RULES] == list(URGENCY_RULE_IDS)
    assert [rule.id for rule in rules.ROUTE_RULES] == list(ROUTE_RULE_IDS)
    assert [rule.id for rule in rules.FLAG_RULES] == list(FLAG_IDS)
    assert [rule.urgency for rule in rules.URGENCY_RULES] == [EMERGENCY] * 3 + [URGENT] * 4
    assert [rule.route for rule in rules.ROUTE_RULES] == [
        ULTRASOUND, SLEEP_STUDY, ULTRASOUND, SLEEP_STUDY, CONSULT]


def test_every_rule_function_quotes_its_triage_md_condition():
    for rule in rules.URGENCY_RULES:
        assert rule.fires.__doc__.startswith(f"{rule.id} fires when: "), rule.id
    for rule in rules.ROUTE_RULES:
        assert rule.matches.__doc__.startswith(f"{rule.id} matches when: "), rule.id
    for flag in rules.FLAG_RULES:
        assert flag.raised.__doc__.startswith(f"{flag.id} when: "), flag.id


# --- Properties ---------------------------------------------------------------------------------


RAISING_ANSWERS = [*RED_FLAGS, "drowsy_driving"]


def _assert_well_formed(result: TriageOutcome) -> None:
    assert isinstance(result.route, Route) and isinstance(result.urgency, Urgency)
    assert result.version == RULES_VERSION
    urgency_reasons = [reason for reason in result.reasons if reason in URGENCY_RULE_IDS]
    assert list(result.reasons[:-1]) == urgency_reasons
    assert urgency_reasons == sorted(urgency_reasons, key=URGENCY_RULE_IDS.index)
    route_rule = result.reasons[-1]
    assert route_rule in ROUTE_RULE_IDS
    assert {rule.id: rule.route for rule in rules.ROUTE_RULES}[route_rule] is result.route
    expected_urgency = max(
        [rule.urgency for rule in rules.URGENCY_RULES if rule.id in urgency_reasons],
        key=lambda urgency: urgency.rank, default=ROUTINE)
    assert result.urgency is expected_urgency
    assert list(result.flags) == sorted(set(result.flags), key=lambda flag: int(flag[1:]))
    assert set(result.flags) <= set(FLAG_IDS)
    assert result.bmi is None or math.isfinite(result.bmi)
    assert 0 <= result.stop_bang <= 8
    assert TriageOutcome.from_dict(json.loads(json.dumps(result.to_dict()))) == result


@settings(max_examples=150, deadline=None)
@given(complete_answers)
def test_every_complete_answer_set_evaluates(given_answers):
    _assert_well_formed(evaluate(given_answers))


@settings(max_examples=150, deadline=None)
@given(valid_answers)
def test_every_valid_answer_set_evaluates_the_same_way_every_time(given_answers):
    first = evaluate(given_answers)
    _assert_well_formed(first)
    assert evaluate(copy.deepcopy(given_answers)) == first
    assert evaluate(dict(reversed(list(given_answers.items())))) == first
    assert evaluate(given_answers) == first


@settings(max_examples=150, deadline=None)
@given(valid_answers, st.sampled_from(RAISING_ANSWERS), st.sampled_from(["yes", "not_sure"]))
def test_adding_a_red_flag_never_lowers_urgency(given_answers, question_id, new_value):
    if question_id == "drowsy_driving":
        new_value = "yes"  # a yes/no question
    before = evaluate({**given_answers, question_id: "no"})
    after = evaluate({**given_answers, question_id: new_value})
    assert after.urgency.rank >= before.urgency.rank
    assert after.urgency.rank >= URGENT.rank


@settings(max_examples=150, deadline=None)
@given(valid_answers, st.sampled_from(EMERGENCY_QUESTION_IDS), st.sampled_from(["yes", "not_sure"]))
def test_every_emergency_rule_gives_emergency_whatever_else_is_answered(
    given_answers, question_id, value
):
    result = evaluate({**given_answers, question_id: value})
    assert result.urgency is EMERGENCY
    rule_id = {"pe_symptoms": "E1", "bleeding_vein": "E2", "cold_pale_leg": "E3"}[question_id]
    assert rule_id in result.reasons
    assert evaluate_safety({**given_answers, question_id: value}).urgency is EMERGENCY


@settings(max_examples=100, deadline=None)
@given(valid_answers)
def test_safety_page_and_full_evaluation_agree_on_emergency(given_answers):
    first_page = evaluate_safety(given_answers)
    full = evaluate(given_answers)
    assert (first_page is not None) == (full.urgency is EMERGENCY)


json_ish = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # includes nan and infinities
    | st.text(max_size=12)
    | st.sampled_from(["yes", "no", "not_sure", "female", "male", "none", "spider_veins", "",
                       " yes", "52", "1e400"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
junk_keys = st.one_of(st.text(max_size=15), st.sampled_from(list(QUESTIONS)))


def _evaluates_or_refuses(given) -> None:
    try:
        result = evaluate(given)
    except AnswerError as error:
        assert error.question_id is None or error.question_id in QUESTIONS
        assert str(error)
    else:
        _assert_well_formed(result)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(junk_keys, json_ish, max_size=8))
def test_junk_is_refused_with_answer_error_or_evaluates(junk):
    _evaluates_or_refuses(junk)
    try:
        evaluate_safety(junk)
    except AnswerError:
        pass


@settings(max_examples=200, deadline=None)
@given(valid_answers, st.dictionaries(junk_keys, json_ish, min_size=1, max_size=3))
def test_junk_mixed_into_valid_answers_is_refused_or_evaluates(given_answers, junk):
    _evaluates_or_refuses({**given_answers, **junk})


@pytest.mark.parametrize("not_a_mapping", [None, [], ["age", 40], "age=40", 42, {"age"}])
def test_anything_that_is_not_a_mapping_is_refused(not_a_mapping):
    with pytest.raises(AnswerError) as error:
        evaluate(not_a_mapping)  # type: ignore[arg-type]
    assert error.value.question_id is None
