"""The facts of a letter, in plain clinical words, from a case's stored answers and outcome.

Wording rules (issue 13): a letter states what the patient reported and what the rules found,
each said as such; it never states a diagnosis the portal cannot make ("consistent with", "to be
confirmed", never "has"), and never says that treating veins will relieve restless legs: a scan
request that mentions restless legs says they are assessed separately. The doctor's own words go
in the history and the question, which the doctor writes and signs.

Pure: answers, a TriageOutcome and plain values in; Sections and a LetterContent out.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from portal.letters.content import Clinic, LetterContent, LetterKind, Patient, Priority, Section
from portal.triage.rules import RLS_ESSENTIAL_ANSWERS, TriageOutcome
from portal.triage.vocabulary import Urgency

RECIPIENTS = {LetterKind.SLEEP_STUDY_REFERRAL: "Sleep medicine service",
              LetterKind.VASCULAR_ULTRASOUND: "Vascular ultrasound service"}

PRIORITIES = {Urgency.ROUTINE: Priority.ROUTINE, Urgency.URGENT: Priority.URGENT, Urgency.EMERGENCY: Priority.STAT}

# The four IRLSSG 2012 essential features, as the questionnaire asks them.
RLS_FEATURES = {
    "rls_urge": "Urge to move the legs, usually with unpleasant sensations in them",
    "rls_rest": "Begins or worsens at rest (sitting or lying)",
    "rls_movement_relief": "Relieved by movement, at least while moving",
    "rls_evening": "Worse, or only present, in the evening or at night",
}
RLS_MIMICS = {"cramp": "muscle cramp eased by stretching", "positional": "discomfort only in certain positions",
              "constant_burning": "constant burning, numbness or pins and needles", "joint_pain": "joint pain"}
RLS_FREQUENCY = {"twice_weekly_or_more": "twice a week or more", "less_often": "less than twice a week",
                 "first_time": "only just started"}

# The CEAP 2020 clinical class of each sign the patient can tick (reported, not examined).
LEG_SIGNS = {
    "spider_veins": ("Spider or reticular veins", "C1"),
    "varicose_veins": ("Varicose veins", "C2"),
    "ankle_swelling": ("Ankle swelling", "C3"),
    "skin_changes": ("Skin changes near the ankle", "C4"),
    "healed_sore": ("Healed leg ulcer", "C5"),
    "open_sore": ("Open leg ulcer, not healing", "C6"),
}
DVT_RISKS = {"cancer": "cancer, now or treated in the last 6 months",
             "recent_surgery_or_bedbound": "recent surgery or confined to bed",
             "leg_cast_or_paralysis": "a leg in a cast, or a paralyzed leg",
             "previous_dvt_pe": "a previous deep vein thrombosis or pulmonary embolism"}
MEDICINES = {"antidepressant": "an antidepressant", "antipsychotic": "an antipsychotic",
             "antihistamine": "an antihistamine", "antiemetic": "an antiemetic",
             "rls_dopaminergic": "a dopaminergic medicine for restless legs", "iron": "iron"}
CONDITIONS = {"kidney_failure": "kidney failure or dialysis", "neuropathy": "peripheral neuropathy",
              "parkinsons": "Parkinson's disease", "anaemia": "anemia"}


def _said(value: object) -> str:
    return {"yes": "yes", "no": "no", "not_sure": "not sure"}.get(value, "not answered")


def _unsure(answers: Mapping[str, object], question_id: str) -> str:
    """A note where "not sure" was counted as yes (rlsvein-1 unsure_is_yes); else nothing."""
    return " (answered “not sure”, counted as yes)" if answers.get(question_id) == "not_sure" else ""


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _listed(answers: Mapping[str, object], question_id: str, words: Mapping[str, str]) -> list[str]:
    chosen = answers.get(question_id) or []
    return [words[value] for value in words if value in chosen]


def _joined(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def stop_bang_items(answers: Mapping[str, object], outcome: TriageOutcome) -> list[str]:
    """The STOP-Bang items that scored, in the questionnaire's order, in words."""
    items = [words for question_id, words in (("snoring", "loud snoring"), ("tired_daytime", "daytime tiredness"),
                                               ("observed_apnea", "observed apnea"),
                                               ("high_blood_pressure", "treated high blood pressure"))
             if answers.get(question_id) == "yes"]
    if outcome.bmi is not None and outcome.bmi > 35:
        items.append(f"BMI {outcome.bmi:.1f} (over 35)")
    age, neck = answers.get("age"), answers.get("neck_cm")
    if isinstance(age, int) and age > 50:
        items.append(f"age {age} (over 50)")
    if isinstance(neck, (int, float)) and neck > 40:
        items.append(f"neck {_number(neck)} cm (over 40)")
    if answers.get("sex") == "male":
        items.append("male sex")
    return items


def _rls_lines(answers: Mapping[str, object], outcome: TriageOutcome) -> list[str]:
    lines = [f"{words}: {_said(answers[question_id])}" for question_id, words in RLS_FEATURES.items()
             if answers.get(question_id) is not None]
    mimic = answers.get("rls_mimic")
    if mimic in RLS_MIMICS:
        lines.append(f"Better described as {RLS_MIMICS[mimic]} (a mimic: IRLSSG criterion 5 not met)")
    elif mimic == "none":
        lines.append("None of the listed mimics (cramp, positional discomfort, constant burning, joint pain) chosen")
    if answers.get("rls_frequency") in RLS_FREQUENCY:
        lines.append(f"Frequency over the last year: {RLS_FREQUENCY[answers['rls_frequency']]}")
    if isinstance(answers.get("rls_impact"), int):
        lines.append(f"Effect on sleep, energy, mood or work: {answers['rls_impact']} on a scale of 0 to 3")
    if "F1" in outcome.flags:
        lines.append("The answers are consistent with the IRLSSG 2012 essential criteria; to be confirmed "
                     "clinically")
    elif "F2" in outcome.flags:
        lines.append("All four features reported but a mimic chosen: a mimic is to be assessed")
    return lines


def _rls_reported(answers: Mapping[str, object]) -> bool:
    return any(answers.get(question_id) == "yes" for question_id in RLS_ESSENTIAL_ANSWERS)


def _medicine_lines(answers: Mapping[str, object], outcome: TriageOutcome) -> list[str]:
    lines = []
    medicines = _listed(answers, "medications", MEDICINES)
    if medicines:
        lines.append(f"Current medicines reported: {_joined(medicines)}")
    if "F4" in outcome.flags:
        lines.append("Takes a medicine that may worsen restless legs; not to be stopped without the prescriber")
    if "F5" in outcome.flags:
        lines.append("Reports possible augmentation on dopaminergic treatment (symptoms earlier, spreading to the "
                     "arms, stronger, or each dose wearing off sooner)")
    conditions = _listed(answers, "conditions", CONDITIONS)
    if conditions:
        lines.append(f"Conditions reported: {_joined(conditions)}")
    if "F6" in outcome.flags:
        lines.append("A reported condition is linked to restless legs or can mimic it")
    return lines


def _measurements(answers: Mapping[str, object], outcome: TriageOutcome) -> list[str]:
    parts = [f"{label} {_number(answers[question_id])} {unit}"
             for question_id, label, unit in (("height_cm", "height", "cm"), ("weight_kg", "weight", "kg"),
                                              ("neck_cm", "neck", "cm")) if answers.get(question_id) is not None]
    if outcome.bmi is not None:
        parts.append(f"BMI {outcome.bmi:.1f}")
    return [f"As reported: {', '.join(parts)}"] if parts else []


def _pregnancy_lines(answers: Mapping[str, object], outcome: TriageOutcome) -> list[str]:
    pregnant = answers.get("pregnant")
    if pregnant in ("yes", "not_sure"):
        lines = [f"Pregnant or within 6 weeks of giving birth: {_said(pregnant)}"]
        if "F8" in outcome.flags:
            lines.append("No venous intervention in pregnancy; compression may help")
        return lines
    return ["Not pregnant (as answered)"] if pregnant == "no" else []


def sleep_referral_sections(answers: Mapping[str, object], outcome: TriageOutcome) -> tuple[Section, ...]:
    reasons = []
    if "R2" in outcome.reasons or outcome.stop_bang >= 3:
        items = stop_bang_items(answers, outcome)
        reasons.append(f"STOP-Bang score {outcome.stop_bang} of 8"
                       + (f": {_joined(items)}" if items else "")
                       + (" (the rules' sleep-apnea screen, R2)" if "R2" in outcome.reasons else ""))
    if answers.get("observed_apnea") == "yes":
        reasons.append("Someone has seen the patient stop breathing, choke or gasp in sleep")
    if "U4" in outcome.reasons:
        reasons.append("URGENT: reports dozing or nearly dozing while driving in the last year; advised not to "
                       "drive until seen")
    if "R4" in outcome.reasons:
        reasons.append("A bed partner sees the legs jerk again and again in sleep, with daytime sleepiness, and "
                       "the restless legs answers are not all positive: a sleep study is asked to look for "
                       "periodic limb movements (AASM 2005)")
    if "F10" in outcome.flags:
        reasons.append("STOP-Bang 3 to 4: intermediate risk of obstructive sleep apnea on screening")
    if not reasons:
        reasons.append("Referred by the reviewing doctor after the triage")
    sections = [Section("Reason for referral", tuple(reasons))]
    if _rls_reported(answers) or "F1" in outcome.flags:
        sections.append(Section("Restless legs symptoms as reported", tuple(_rls_lines(answers, outcome))))
    sleepiness = []
    if isinstance(answers.get("epworth"), int):
        score = answers["epworth"]
        sleepiness.append(f"Epworth Sleepiness Scale: {score} of 24"
                          + (" (above 10: excessive daytime sleepiness)" if score > 10 else ""))
    for question_id, words in (("tired_daytime", "Often tired or sleepy in the daytime"),
                               ("drowsy_driving", "Dozed or nearly dozed while driving in the last year")):
        if answers.get(question_id) is not None:  # a question not asked is left out, not said to be "no"
            sleepiness.append(f"{words}: {_said(answers[question_id])}")
    if answers.get("partner_leg_jerks") == "yes":
        sleepiness.append("A bed partner sees the legs jerk again and again in sleep")
    if sleepiness:
        sections.append(Section("Sleepiness", tuple(sleepiness)))
    iron = []
    if answers.get("ferritin") is not None:
        iron.append(f"Last ferritin, as reported by the patient: {_number(answers['ferritin'])} ng/mL")
    if "F3" in outcome.flags:
        iron.append("Ferritin and transferrin saturation to be checked (ferritin unknown or at most 100 ng/mL; "
                    "AASM 2024)")
    if iron:
        sections.append(Section("Iron", tuple(iron)))
    medicines = _medicine_lines(answers, outcome) + (_pregnancy_lines(answers, outcome) if "F7" in outcome.flags
                                                     else [])
    if medicines:
        sections.append(Section("Medicines and conditions", tuple(medicines)))
    measured = _measurements(answers, outcome)
    if measured:
        sections.append(Section("Measurements", tuple(measured)))
    if "F11" in outcome.flags:
        sections.append(Section("Also noted", ("The venous answers also meet the rules' condition for a venous "
                                               "duplex scan, which our clinic arranges separately",)))
    return tuple(sections)


def _suspected_thrombosis(answers: Mapping[str, object], outcome: TriageOutcome) -> list[str]:
    lines = []
    if "U1" in outcome.reasons:
        lines.append("Possible deep vein thrombosis: in the last 4 weeks, new swelling of one leg, or one calf or "
                     f"thigh painful and warm or red{_unsure(answers, 'dvt_signs')} (to be seen within 24 "
                     "hours)")
    if "U2" in outcome.reasons:
        lines.append("Possible deep vein thrombosis in pregnancy or within 6 weeks of giving birth")
    if "U3" in outcome.reasons:
        lines.append("Possible superficial vein thrombosis: a hard, red, painful vein under the skin"
                     f"{_unsure(answers, 'svt_signs')}; deep vein thrombosis to be excluded")
    return lines


def ultrasound_request_sections(answers: Mapping[str, object], outcome: TriageOutcome) -> tuple[Section, ...]:
    thrombosis = _suspected_thrombosis(answers, outcome)
    reasons = list(thrombosis)
    if "E1" in outcome.reasons:
        reasons.append("Symptoms that can come from a pulmonary embolism were reported; the patient was told to get "
                       "emergency care")
    if "E2" in outcome.reasons:
        reasons.append(f"A bleeding leg vein was reported{_unsure(answers, 'bleeding_vein')}; the patient was told "
                       "to get emergency care")
    if "E3" in outcome.reasons:
        reasons.append("Sudden severe leg pain with a cold, pale or numb foot was reported; the patient was told to "
                       "get emergency care")
    if "R3" in outcome.reasons or "F11" in outcome.flags:
        reasons.append("Leg signs with venous symptoms, skin changes or a leg ulcer, as reported (the rules' venous "
                       "condition, R3)")
    if not reasons:
        reasons.append("Requested by the reviewing doctor after the triage")
    if thrombosis:
        reasons.append("Suspected thrombosis: yes")
    elif "E1" in outcome.reasons:
        reasons.append("Suspected thrombosis: a pulmonary embolism was possible; a deep vein thrombosis is to be "
                       "excluded")
    else:
        reasons.append("Suspected thrombosis: no; no signs of a clot were reported")
    sections = [Section("Reason for request", tuple(reasons))]
    chosen = answers.get("leg_signs") or []
    signs = [f"{words} ({ceap})" for value, (words, ceap) in LEG_SIGNS.items() if value in chosen]
    symptomatic = answers.get("venous_symptoms") == "yes"
    if signs:
        highest = max(ceap for value, (_, ceap) in LEG_SIGNS.items() if value in chosen)
        signs.append(f"Highest CEAP clinical class reported: {highest}{'s' if symptomatic else ''} "
                     "(as checked by the patient, not yet examined)")
    else:
        signs.append("No leg signs reported")
    sections.append(Section("Leg signs as reported (CEAP 2020 clinical classes)", tuple(signs)))
    symptoms = [f"Heaviness, aching, itching or cramps, worse after standing and better with the legs raised: "
                f"{_said(answers['venous_symptoms'])}"] if answers.get("venous_symptoms") is not None else []
    if _rls_reported(answers):
        symptoms.append("Restless legs symptoms are also reported; they are assessed separately")
    if symptoms:
        sections.append(Section("Symptoms", tuple(symptoms)))
    risks = _listed(answers, "dvt_risks", DVT_RISKS)
    if risks:
        sections.append(Section("Risk factors for a clot", tuple(risk[0].upper() + risk[1:] for risk in risks)))
    pregnancy = _pregnancy_lines(answers, outcome)
    if pregnancy:
        sections.append(Section("Pregnancy", tuple(pregnancy)))
    return tuple(sections)


def default_question(kind: LetterKind, outcome: TriageOutcome) -> str:
    """What the receiving service is asked, before the doctor changes it."""
    if kind == LetterKind.SLEEP_STUDY_REFERRAL:
        question = ("Please assess for obstructive sleep apnea and, if you agree, arrange a sleep study "
                    "(polysomnography or home testing, as you judge best).")
        if "R4" in outcome.reasons or "F1" in outcome.flags:
            question += " Periodic limb movements of sleep: please include leg movement recording."
        return question
    if {"U1", "U2"} & set(outcome.reasons):
        return "Deep vein thrombosis? Please scan the deep veins of the affected leg, and the superficial veins."
    if "E1" in outcome.reasons:
        return ("Deep vein thrombosis in either leg (the pulmonary embolism symptoms reported)? Superficial venous "
                "reflux?")
    if "U3" in outcome.reasons:
        return ("Superficial vein thrombosis: its extent and distance from the saphenofemoral or saphenopopliteal "
                "junction? Deep vein thrombosis?")
    return "Superficial venous reflux? Deep venous reflux? Please map the incompetent veins and perforators."


def sections_for(kind: LetterKind, answers: Mapping[str, object], outcome: TriageOutcome) -> tuple[Section, ...]:
    if kind == LetterKind.SLEEP_STUDY_REFERRAL:
        return sleep_referral_sections(answers, outcome)
    return ultrasound_request_sections(answers, outcome)


def measured_values(kind: LetterKind, answers: Mapping[str, object], outcome: TriageOutcome) -> dict:
    """The numbers a receiving system takes as data (letters/fhir.py): scores, ferritin, BMI."""
    values: dict = {}
    if kind == LetterKind.SLEEP_STUDY_REFERRAL:
        values["stop_bang"] = outcome.stop_bang
    for question_id in ("epworth", "ferritin"):
        if isinstance(answers.get(question_id), (int, float)):
            values[question_id] = answers[question_id]
    if outcome.bmi is not None:
        values["bmi"] = round(outcome.bmi, 1)
    return values


def compose(kind: LetterKind, *, answers: Mapping[str, object], outcome: TriageOutcome, urgency: str,
            patient: Patient, clinic: Clinic, history: str, question: str, author: str, reference: str,
            letter_date: date) -> LetterContent:
    """The whole letter as it stands: the facts from the case, the doctor's words, unsigned."""
    return LetterContent(
        kind=kind, clinic=clinic, recipient=RECIPIENTS[kind], patient=patient,
        priority=PRIORITIES[Urgency(urgency)], sections=sections_for(kind, answers, outcome),
        history=history, question=question, rules_version=outcome.version, reasons=outcome.reasons,
        letter_date=letter_date, reference=reference, author=author,
        extra=measured_values(kind, answers, outcome))


def letter_kinds(current_route: str, *, provisional: bool, flags: tuple[str, ...]) -> tuple[LetterKind, ...]:
    """The letters a case routed this way may have: its route's, and a scan request too when a
    sleep case also meets the venous condition (F11). None while the route is provisional."""
    if provisional:
        return ()
    if current_route == LetterKind.SLEEP_STUDY_REFERRAL:
        return (LetterKind.SLEEP_STUDY_REFERRAL,) + ((LetterKind.VASCULAR_ULTRASOUND,) if "F11" in flags else ())
    if current_route == LetterKind.VASCULAR_ULTRASOUND:
        return (LetterKind.VASCULAR_ULTRASOUND,)
    return ()
