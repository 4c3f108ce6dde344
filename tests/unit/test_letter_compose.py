"""letters/compose.py: the facts a referral letter or scan request states, from a case's answers
and outcome, for the worked cases of the rule set rlsvein-1 and for any answers the questionnaire
accepts (the wording rules hold for all of them)."""
import re
from datetime import date

import pytest
from hypothesis import given, settings

from portal.letters.compose import compose, default_question, letter_kinds, sections_for
from portal.letters.content import Clinic, LetterContent, LetterKind, Patient, Priority
from portal.triage.rules import evaluate
from portal.triage.vocabulary import Route
from tests.answers import complete_answers, valid_answers

SAFE = {"pe_symptoms": "no", "bleeding_vein": "no", "cold_pale_leg": "no", "dvt_signs": "no", "svt_signs": "no"}
FOUR_RLS = {"rls_urge": "yes", "rls_rest": "yes", "rls_movement_relief": "yes", "rls_evening": "yes",
            "rls_mimic": "none", "rls_frequency": "twice_weekly_or_more", "rls_impact": 2}
# The worked cases of rlsvein-1 that route to a specialist: 1 (scan), 2 (sleep), 4 (urgent scan), 6 (emergency).
CASE_1 = {**SAFE, **FOUR_RLS, "age": 52, "sex": "female", "leg_signs": ["varicose_veins", "ankle_swelling"],
          "venous_symptoms": "yes"}
CASE_2 = {**SAFE, **FOUR_RLS, "age": 58, "sex": "male", "snoring": "yes", "observed_apnea": "yes",
          "tired_daytime": "yes", "high_blood_pressure": "yes"}
CASE_4 = {**SAFE, "age": 29, "sex": "female", "pregnant": "yes", "dvt_signs": "yes"}
CASE_6 = {**SAFE, "age": 61, "sex": "male", "leg_signs": ["varicose_veins"], "venous_symptoms": "yes",
          "pe_symptoms": "yes"}

# Words a letter the portal writes never uses: it states what was reported and what the rules
# found, never a diagnosis, and never that treating veins relieves restless legs.
FORBIDDEN = re.compile(r"\bdiagnos|\bhas (restless|rls|sleep apno?ea|obstructive|a (deep|dvt|clot))|\bsuffers\b|"
                       r"\bwill (relieve|improve|cure|help)|\bcure|\brelieve[sd]? (the |his |her )?restless|"
                       r"\bconfirmed (rls|restless|apno?ea|thrombosis)", re.I)


def text_of(kind: LetterKind, answers: dict) -> str:
    outcome = evaluate(answers)
    return "\n".join(f"{section.heading}\n" + "\n".join(section.lines)
                     for section in sections_for(kind, answers, outcome)) + "\n" + default_question(kind, outcome)


def section(kind: LetterKind, answers: dict, heading: str) -> list[str]:
    found = [s for s in sections_for(kind, answers, evaluate(answers)) if s.heading.startswith(heading)]
    assert found, f"no section {heading!r}"
    return list(found[0].lines)


def test_case_2_sleep_referral_gives_the_stop_bang_score_its_items_and_the_observed_apnoea():
    reasons = section(LetterKind.SLEEP_STUDY_REFERRAL, CASE_2, "Reason for referral")
    assert reasons[0].startswith("STOP-Bang score 6 of 8: loud snoring, daytime tiredness, observed apnea, treated "
                                 "high blood pressure, age 58 (over 50) and male sex")
    assert "R2" in reasons[0]
    assert "Someone has seen the patient stop breathing, choke or gasp in sleep" in reasons
    rls = section(LetterKind.SLEEP_STUDY_REFERRAL, CASE_2, "Restless legs")
    assert "Urge to move the legs, usually with unpleasant sensations in them: yes" in rls
    assert "Frequency over the last year: twice a week or more" in rls
    assert "Effect on sleep, energy, mood or work: 2 on a scale of 0 to 3" in rls
    assert any("consistent with the IRLSSG 2012 essential criteria; to be confirmed clinically" in line
               for line in rls)


def test_case_1_scan_request_gives_the_leg_signs_with_their_ceap_classes():
    signs = section(LetterKind.VASCULAR_ULTRASOUND, CASE_1, "Leg signs")
    assert signs[:2] == ["Varicose veins (C2)", "Ankle swelling (C3)"]
    assert signs[2].startswith("Highest CEAP clinical class reported: C3s")
    reasons = section(LetterKind.VASCULAR_ULTRASOUND, CASE_1, "Reason for request")
    assert reasons[-1] == "Suspected thrombosis: no; no signs of a clot were reported"
    symptoms = section(LetterKind.VASCULAR_ULTRASOUND, CASE_1, "Symptoms")
    assert symptoms[0].endswith(": yes")
    # Restless legs are mentioned only as assessed separately, never as something a scan treats.
    assert "Restless legs symptoms are also reported; they are assessed separately" in symptoms
    assert default_question(LetterKind.VASCULAR_ULTRASOUND, evaluate(CASE_1)).startswith("Superficial venous reflux?")


def test_case_4_urgent_scan_request_in_pregnancy_asks_about_a_deep_vein_thrombosis():
    outcome = evaluate(CASE_4)
    reasons = section(LetterKind.VASCULAR_ULTRASOUND, CASE_4, "Reason for request")
    assert any(line.startswith("Possible deep vein thrombosis: in the last 4 weeks") for line in reasons)
    assert "Possible deep vein thrombosis in pregnancy or within 6 weeks of giving birth" in reasons
    assert reasons[-1] == "Suspected thrombosis: yes"
    assert section(LetterKind.VASCULAR_ULTRASOUND, CASE_4, "Pregnancy")[0] == \
        "Pregnant or within 6 weeks of giving birth: yes"
    assert default_question(LetterKind.VASCULAR_ULTRASOUND, outcome).startswith("Deep vein thrombosis?")
    letter = make(LetterKind.VASCULAR_ULTRASOUND, CASE_4)
    assert letter.priority == Priority.URGENT


def test_case_6_emergency_is_stat_and_says_the_patient_was_sent_for_emergency_care():
    reasons = section(LetterKind.VASCULAR_ULTRASOUND, CASE_6, "Reason for request")
    assert any("pulmonary embolism were reported; the patient was told to get emergency care" in line
               for line in reasons)
    # Never "no signs of a clot" beside a possible pulmonary embolism; the scan looks for its source.
    assert reasons[-1] == ("Suspected thrombosis: a pulmonary embolism was possible; a deep vein thrombosis is to be "
                           "excluded")
    assert default_question(LetterKind.VASCULAR_ULTRASOUND, evaluate(CASE_6)).startswith(
        "Deep vein thrombosis in either leg")
    assert make(LetterKind.VASCULAR_ULTRASOUND, CASE_6).priority == Priority.STAT


def test_drowsy_driving_is_marked_urgent_and_epworth_ferritin_medicines_are_stated():
    answers = {**CASE_2, "drowsy_driving": "yes", "epworth": 14, "ferritin": 45, "medications": ["antidepressant",
               "rls_dopaminergic"], "augmentation_signs": "yes", "conditions": ["neuropathy"],
               "height_cm": 180, "weight_kg": 120, "neck_cm": 44}
    letter = make(LetterKind.SLEEP_STUDY_REFERRAL, answers)
    assert letter.priority == Priority.URGENT
    reasons = section(LetterKind.SLEEP_STUDY_REFERRAL, answers, "Reason for referral")
    assert any(line.startswith("URGENT: reports dozing or nearly dozing while driving") for line in reasons)
    assert "BMI 37.0 (over 35)" in reasons[0] and "neck 44 cm (over 40)" in reasons[0]
    assert "Epworth Sleepiness Scale: 14 of 24 (above 10: excessive daytime sleepiness)" in \
        section(LetterKind.SLEEP_STUDY_REFERRAL, answers, "Sleepiness")
    assert "Last ferritin, as reported by the patient: 45 ng/mL" in \
        section(LetterKind.SLEEP_STUDY_REFERRAL, answers, "Iron")
    medicines = section(LetterKind.SLEEP_STUDY_REFERRAL, answers, "Medicines")
    assert medicines[0] == "Current medicines reported: an antidepressant and a dopaminergic medicine for restless legs"
    assert any("augmentation" in line for line in medicines)
    assert "Conditions reported: peripheral neuropathy" in medicines
    assert letter.extra == {"stop_bang": 8, "epworth": 14, "ferritin": 45, "bmi": 37.0}


def test_partner_leg_jerks_without_probable_rls_ask_for_periodic_limb_movements():
    answers = {**SAFE, "age": 45, "sex": "female", "partner_leg_jerks": "yes", "epworth": 12}
    outcome = evaluate(answers)
    assert outcome.route == Route.SLEEP_STUDY_REFERRAL and "R4" in outcome.reasons
    reasons = section(LetterKind.SLEEP_STUDY_REFERRAL, answers, "Reason for referral")
    assert any("periodic limb movements (AASM 2005)" in line for line in reasons)
    assert "leg movement recording" in default_question(LetterKind.SLEEP_STUDY_REFERRAL, outcome)


def test_a_question_not_asked_is_left_out_not_said_to_be_no():
    answers = {**SAFE, "age": 60, "sex": "male", "observed_apnea": "yes"}
    text = text_of(LetterKind.SLEEP_STUDY_REFERRAL, answers)
    assert "not answered" not in text and "driving" not in text and "Restless legs" not in text


@pytest.mark.parametrize(("route", "provisional", "flags", "kinds"), [
    (Route.SLEEP_STUDY_REFERRAL, False, (), (LetterKind.SLEEP_STUDY_REFERRAL,)),
    (Route.SLEEP_STUDY_REFERRAL, False, ("F11",), (LetterKind.SLEEP_STUDY_REFERRAL, LetterKind.VASCULAR_ULTRASOUND)),
    (Route.VASCULAR_ULTRASOUND, False, ("F11",), (LetterKind.VASCULAR_ULTRASOUND,)),
    (Route.GENERAL_CONSULT, False, (), ()),
    (Route.VASCULAR_ULTRASOUND, True, (), ()),  # the route is still to be set at review
])
def test_which_letters_a_case_may_have(route, provisional, flags, kinds):
    assert letter_kinds(route, provisional=provisional, flags=flags) == kinds


def make(kind: LetterKind, answers: dict) -> LetterContent:
    outcome = evaluate(answers)
    return compose(kind, answers=answers, outcome=outcome, urgency=outcome.urgency,
                   patient=Patient("Ada Lovelace", date(1950, 1, 2), answers.get("sex"), "ada@example.com", None),
                   clinic=Clinic("Riverside", "1 Road", "555", "America/Chicago"), history="", question="Q?",
                   author="Dr. A", reference="SL1-v1", letter_date=date(2026, 11, 30))


@settings(max_examples=300, deadline=None)
@given(answers=valid_answers | complete_answers)
def test_no_letter_states_a_diagnosis_or_promises_relief_whatever_was_answered(answers):
    for kind in LetterKind:
        text = text_of(kind, answers)
        assert not FORBIDDEN.search(text), FORBIDDEN.search(text).group(0)
        assert not re.search(r"\bNone\b(?! of the listed)|not_sure|\[\]", text)  # stored values never leak as stored
        letter = make(kind, answers)
        assert LetterContent.from_dict(letter.to_dict()) == letter


def test_the_forbidden_words_check_catches_what_it_is_for():
    for claim in ("The patient has restless legs syndrome", "A diagnosis of sleep apnoea",
                  "Vein treatment will relieve the restless legs", "Treating the reflux relieves restless legs"):
        assert FORBIDDEN.search(claim), claim
