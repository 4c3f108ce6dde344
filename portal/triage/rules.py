"""Triage rule set `rlsvein-1`: answers in, route, urgency, reasons and clinician flags out.

This is the rule set rlsvein-1 as code, written so a clinician can check it line by line: each rule
is one small function whose docstring quotes the rlsvein-1 condition, listed in a table with its
id and what it gives. It is a routing aid, not a diagnosis; a clinician reviews every outcome.

Pure and deterministic: plain values in, a frozen TriageOutcome out, no Flask, no database, no
clock. The outcome carries RULES_VERSION so a stored outcome can always be traced to its rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from portal.triage.questions import (
    EMERGENCY_QUESTION_IDS,
    AnswerError,
    check_answers,
)
from portal.triage.vocabulary import Route, Urgency

__all__ = [
    "CLINICIAN_RULE_TEXT",
    "FLAG_RULES",
    "FLAG_TEXT",
    "ROUTE_RULES",
    "RULES_VERSION",
    "RULE_TEXT",
    "URGENCY_ADVICE",
    "urgency_advice",
    "URGENCY_RULES",
    "Facts",
    "TriageOutcome",
    "evaluate",
    "evaluate_safety",
]

RULES_VERSION = "rlsvein-1"

# rlsvein-1 `unsure_is_yes`: on the red-flag questions and on pregnancy a patient who is not sure
# is treated as if the answer were yes, so doubt never lowers urgency.
UNSURE_COUNTS_AS_YES = frozenset(
    {"pe_symptoms", "bleeding_vein", "cold_pale_leg", "dvt_signs", "svt_signs", "pregnant"}
)

RLS_ESSENTIAL_ANSWERS = ("rls_urge", "rls_rest", "rls_movement_relief", "rls_evening")
STOP_ITEMS = ("snoring", "tired_daytime", "observed_apnea", "high_blood_pressure")


@dataclass(frozen=True)
class TriageOutcome:
    """What the rules decided, and why. Stored with the submission as `to_dict()`."""

    route: Route
    urgency: Urgency
    reasons: tuple[str, ...]  # rule ids that fired: urgency rules (E1..U4), then the route rule
    flags: tuple[str, ...]  # F1..F12, in numeric order; they never change route or urgency
    version: str = RULES_VERSION
    bmi: float | None = None  # derived values, shown to clinicians
    stop_bang: int = 0
    # True when only the safety questions were answered (evaluate_safety): the route is a
    # placeholder until a doctor's review sets it, since the leg and sleep questions were never asked.
    route_provisional: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: strings, lists, numbers and None only."""
        return {
            "route": self.route.value,
            "urgency": self.urgency.value,
            "reasons": list(self.reasons),
            "flags": list(self.flags),
            "version": self.version,
            "bmi": self.bmi,
            "stop_bang": self.stop_bang,
            "route_provisional": self.route_provisional,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TriageOutcome:
        """The inverse of to_dict; raises ValueError or KeyError on a route or urgency it does
        not know."""
        bmi = data.get("bmi")
        return cls(
            route=Route(data["route"]),
            urgency=Urgency(data["urgency"]),
            reasons=tuple(str(reason) for reason in data.get("reasons", ())),
            flags=tuple(str(flag) for flag in data.get("flags", ())),
            version=str(data.get("version", RULES_VERSION)),
            bmi=None if bmi is None else float(bmi),
            stop_bang=int(data.get("stop_bang", 0)),
            route_provisional=bool(data.get("route_provisional", False)),
        )


# --- the answers as the rules read them -----------------------------------------------------------


def _above(number: float | None, limit: float) -> bool:
    """`number > limit`; rlsvein-1: a comparison with an unknown number is false."""
    return number is not None and number > limit


def _at_most(number: float | None, limit: float) -> bool:
    return number is not None and number <= limit


@dataclass(frozen=True)
class Facts:
    """Checked answers plus the derived values of rlsvein-1. Missing optional answers read as
    no, an empty list or an unknown number."""

    answers: Mapping[str, object]
    bmi: float | None
    stop_items: int
    stop_bang: int

    @classmethod
    def from_answers(cls, answers: Mapping[str, object]) -> Facts:
        """Derive bmi, stop_items and stop_bang from answers already passed by check_answers."""
        height = answers.get("height_cm")
        weight = answers.get("weight_kg")
        # bmi = weight_kg / (height_cm/100)^2 when both are given
        bmi = weight / (height / 100) ** 2 if height is not None and weight is not None else None
        stop_items = sum(answers.get(item) == "yes" for item in STOP_ITEMS)
        age = answers.get("age")
        # STOP-Bang: the four STOP items, then BMI > 35, age > 50, neck > 40 cm, male sex.
        stop_bang = (
            stop_items
            + _above(bmi, 35)
            + _above(age, 50)
            + _above(answers.get("neck_cm"), 40)
            + (answers.get("sex") == "male")
        )
        return cls(answers=answers, bmi=bmi, stop_items=stop_items, stop_bang=stop_bang)

    def yes(self, question_id: str) -> bool:
        """The answer is yes ("not sure" counts as yes on the questions rlsvein-1 names)."""
        value = self.answers.get(question_id)
        return value == "yes" or (value == "not_sure" and question_id in UNSURE_COUNTS_AS_YES)

    def ticked(self, question_id: str, *values: str) -> bool:
        """The list answer holds at least one of `values`."""
        chosen = self.answers.get(question_id) or ()
        return any(value in chosen for value in values)

    def number(self, question_id: str) -> float | None:
        return self.answers.get(question_id)

    @property
    def age(self) -> int | None:
        return self.answers.get("age")

    @property
    def male(self) -> bool:
        return self.answers.get("sex") == "male"

    @property
    def under_18(self) -> bool:
        return self.age is not None and self.age < 18

    @property
    def four_rls_answers_yes(self) -> bool:
        return all(self.yes(question_id) for question_id in RLS_ESSENTIAL_ANSWERS)

    @property
    def rls_mimic(self) -> str:
        # rlsvein-1's worked cases read an unanswered question as "no / none / empty": an
        # unanswered mimic question is "none" (IRLSSG criterion 5 then rests on the clinician).
        return self.answers.get("rls_mimic") or "none"

    @property
    def probable_rls(self) -> bool:
        """probable_rls: rls_urge, rls_rest, rls_movement_relief, rls_evening are all yes and
        rls_mimic is none (IRLSSG 2012 essential criteria 1-5)."""
        return self.four_rls_answers_yes and self.rls_mimic == "none"


# --- urgency rules (the highest that fires wins) --------------------------------------------------


def e1_pulmonary_embolism(f: Facts) -> bool:
    """E1 fires when: pe_symptoms."""
    # NICE NG158: suspected pulmonary embolism is an emergency.
    return f.yes("pe_symptoms")


def e2_bleeding_vein(f: Facts) -> bool:
    """E2 fires when: bleeding_vein."""
    # NICE CG168: a bleeding varicose vein needs immediate care.
    return f.yes("bleeding_vein")


def e3_blocked_artery(f: Facts) -> bool:
    """E3 fires when: cold_pale_leg."""
    # Sudden pain with a cold, pale or numb foot is acute limb ischaemia until proven otherwise.
    return f.yes("cold_pale_leg")


def u1_deep_vein_thrombosis(f: Facts) -> bool:
    """U1 fires when: dvt_signs."""
    # NICE NG158: a scan within 4 hours, or within 24 hours with interim anticoagulation started
    # by a doctor; the clinic's "within 24 hours" is that second path (elsewhere when it cannot).
    return f.yes("dvt_signs")


def u2_clot_in_pregnancy(f: Facts) -> bool:
    """U2 fires when: dvt_signs and pregnant."""
    # Pregnancy and the 6 weeks after birth raise the risk of venous thromboembolism.
    return f.yes("dvt_signs") and f.yes("pregnant")


def u3_superficial_vein_thrombosis(f: Facts) -> bool:
    """U3 fires when: svt_signs."""
    # Superficial vein thrombosis can extend to or hide a DVT; a scan rules that out.
    return f.yes("svt_signs")


def u4_drowsy_driving(f: Facts) -> bool:
    """U4 fires when: drowsy_driving."""
    return f.yes("drowsy_driving")


@dataclass(frozen=True)
class UrgencyRule:
    id: str
    urgency: Urgency
    fires: Callable[[Facts], bool]


URGENCY_RULES: tuple[UrgencyRule, ...] = (
    UrgencyRule("E1", Urgency.EMERGENCY, e1_pulmonary_embolism),
    UrgencyRule("E2", Urgency.EMERGENCY, e2_bleeding_vein),
    UrgencyRule("E3", Urgency.EMERGENCY, e3_blocked_artery),
    UrgencyRule("U1", Urgency.URGENT, u1_deep_vein_thrombosis),
    UrgencyRule("U2", Urgency.URGENT, u2_clot_in_pregnancy),
    UrgencyRule("U3", Urgency.URGENT, u3_superficial_vein_thrombosis),
    UrgencyRule("U4", Urgency.URGENT, u4_drowsy_driving),
)


# --- route rules (the first that matches wins) ----------------------------------------------------


def r1_clot_or_bleeding(f: Facts) -> bool:
    """R1 matches when: U1, U2, U3 or E2 fired."""
    return (
        u1_deep_vein_thrombosis(f)
        or u2_clot_in_pregnancy(f)
        or u3_superficial_vein_thrombosis(f)
        or e2_bleeding_vein(f)
    )


def r2_sleep_apnoea(f: Facts) -> bool:
    """R2 matches when: observed_apnea, or stop_bang >= 5, or (stop_items >= 2 and (sex male or
    bmi > 35 or neck_cm > 40))."""
    # STOP-Bang: 5 or more, or 2+ STOP items with male sex, BMI > 35 or neck > 40 cm, is high risk
    # of obstructive sleep apnoea.
    return (
        f.yes("observed_apnea")
        or f.stop_bang >= 5
        or (f.stop_items >= 2 and (f.male or _above(f.bmi, 35) or _above(f.number("neck_cm"), 40)))
    )


def venous_condition(f: Facts) -> bool:
    """R3's venous condition: any of (varicose_veins and venous_symptoms), skin_changes,
    open_sore, healed_sore, (ankle_swelling and venous_symptoms)."""
    # NICE CG168 and SVS/AVF/AVLS 2022: duplex ultrasound for symptomatic varicose veins, oedema,
    # skin changes and ulcers (CEAP 2020 C2s to C6).
    return (
        (f.ticked("leg_signs", "varicose_veins") and f.yes("venous_symptoms"))
        or f.ticked("leg_signs", "skin_changes")
        or f.ticked("leg_signs", "open_sore")
        or f.ticked("leg_signs", "healed_sore")
        or (f.ticked("leg_signs", "ankle_swelling") and f.yes("venous_symptoms"))
    )


def r3_venous_disease(f: Facts) -> bool:
    """R3 matches when: not pregnant, and any of: (varicose_veins and venous_symptoms),
    skin_changes, open_sore, healed_sore, (ankle_swelling and venous_symptoms)."""
    # No venous intervention in pregnancy, so no routine venous scan then (see flag F8).
    return not f.yes("pregnant") and venous_condition(f)


def r4_limb_movements(f: Facts) -> bool:
    """R4 matches when: not probable_rls, and partner_leg_jerks, and (epworth > 10 or
    tired_daytime)."""
    # AASM 2005: a sleep study when periodic limb movements are suspected; Epworth > 10 is
    # excessive daytime sleepiness.
    return (
        not f.probable_rls
        and f.yes("partner_leg_jerks")
        and (_above(f.number("epworth"), 10) or f.yes("tired_daytime"))
    )


def r5_otherwise(f: Facts) -> bool:
    """R5 matches when: otherwise."""
    return True


@dataclass(frozen=True)
class RouteRule:
    id: str
    route: Route
    matches: Callable[[Facts], bool]


ROUTE_RULES: tuple[RouteRule, ...] = (
    RouteRule("R1", Route.VASCULAR_ULTRASOUND, r1_clot_or_bleeding),
    RouteRule("R2", Route.SLEEP_STUDY_REFERRAL, r2_sleep_apnoea),
    RouteRule("R3", Route.VASCULAR_ULTRASOUND, r3_venous_disease),
    RouteRule("R4", Route.SLEEP_STUDY_REFERRAL, r4_limb_movements),
    RouteRule("R5", Route.GENERAL_CONSULT, r5_otherwise),
)

# rlsvein-1: "Patients under 18: R1 still applies; otherwise the route is general_consult."
ROUTE_RULES_UNDER_18 = ("R1", "R5")


def _first_route_rule(f: Facts, allowed: tuple[str, ...] | None = None) -> RouteRule:
    for rule in ROUTE_RULES:
        if (allowed is None or rule.id in allowed) and rule.matches(f):
            return rule
    raise AssertionError("R5 always matches")  # pragma: no cover


def route_rule_for(f: Facts) -> RouteRule:
    """The route rule that decides the route, with the under-18 rule applied."""
    return _first_route_rule(f, ROUTE_RULES_UNDER_18 if f.under_18 else None)


# --- flags for the clinician (never change route or urgency) --------------------------------------


def f1_probable_rls(f: Facts, route_rule: str) -> bool:
    """F1 when: probable_rls."""
    return f.probable_rls


def f2_rls_mimic(f: Facts, route_rule: str) -> bool:
    """F2 when: the four RLS answers are yes but rls_mimic is not none (criterion 5 not met)."""
    return f.four_rls_answers_yes and f.rls_mimic != "none"


def f3_check_iron(f: Facts, route_rule: str) -> bool:
    """F3 when: probable_rls and (ferritin unknown or ferritin <= 100)."""
    # AASM 2024: check ferritin and transferrin saturation in clinically significant RLS.
    ferritin = f.number("ferritin")
    return f.probable_rls and (ferritin is None or _at_most(ferritin, 100))


def f4_medicine_may_worsen_rls(f: Facts, route_rule: str) -> bool:
    """F4 when: medications include antidepressant, antipsychotic, antihistamine or antiemetic."""
    return f.ticked("medications", "antidepressant", "antipsychotic", "antihistamine", "antiemetic")


def f5_augmentation(f: Facts, route_rule: str) -> bool:
    """F5 when: rls_dopaminergic and augmentation_signs."""
    return f.ticked("medications", "rls_dopaminergic") and f.yes("augmentation_signs")


def f6_related_condition(f: Facts, route_rule: str) -> bool:
    """F6 when: conditions include kidney_failure, neuropathy or parkinsons."""
    return f.ticked("conditions", "kidney_failure", "neuropathy", "parkinsons")


def f7_pregnant(f: Facts, route_rule: str) -> bool:
    """F7 when: pregnant."""
    return f.yes("pregnant")


def f8_venous_signs_in_pregnancy(f: Facts, route_rule: str) -> bool:
    """F8 when: pregnant and R3's venous condition holds."""
    return f.yes("pregnant") and venous_condition(f)


def f9_likely_cosmetic(f: Facts, route_rule: str) -> bool:
    """F9 when: leg_signs are only spider_veins (or varicose_veins without venous_symptoms) and
    no other route rule fired."""
    signs = set(f.answers.get("leg_signs") or ())
    only_cosmetic_signs = bool(signs) and signs <= {"spider_veins", "varicose_veins"}
    symptomatic_varicose_veins = "varicose_veins" in signs and f.yes("venous_symptoms")
    return only_cosmetic_signs and not symptomatic_varicose_veins and route_rule == "R5"


def f10_intermediate_sleep_apnoea_risk(f: Facts, route_rule: str) -> bool:
    """F10 when: stop_bang is 3 or 4."""
    return f.stop_bang in (3, 4)


def f11_scan_also_indicated(f: Facts, route_rule: str) -> bool:
    """F11 when: R2 fired and R3's condition also holds."""
    return route_rule == "R2" and r3_venous_disease(f)


def f12_under_18(f: Facts, route_rule: str) -> bool:
    """F12 when: age < 18."""
    return f.under_18


@dataclass(frozen=True)
class FlagRule:
    id: str
    raised: Callable[[Facts, str], bool]


FLAG_RULES: tuple[FlagRule, ...] = (
    FlagRule("F1", f1_probable_rls),
    FlagRule("F2", f2_rls_mimic),
    FlagRule("F3", f3_check_iron),
    FlagRule("F4", f4_medicine_may_worsen_rls),
    FlagRule("F5", f5_augmentation),
    FlagRule("F6", f6_related_condition),
    FlagRule("F7", f7_pregnant),
    FlagRule("F8", f8_venous_signs_in_pregnancy),
    FlagRule("F9", f9_likely_cosmetic),
    FlagRule("F10", f10_intermediate_sleep_apnoea_risk),
    FlagRule("F11", f11_scan_also_indicated),
    FlagRule("F12", f12_under_18),
)


# --- evaluation -----------------------------------------------------------------------------------


def _highest(urgencies: list[Urgency]) -> Urgency:
    return max(urgencies, key=lambda urgency: urgency.rank, default=Urgency.ROUTINE)


def evaluate(answers: Mapping[str, object]) -> TriageOutcome:
    """Apply `rlsvein-1` to a full answer set.

    The answers are checked first (check_answers raises AnswerError before any rule runs); then
    every urgency rule is tried (the highest urgency wins, routine when none fires), the first
    matching route rule gives the route (only R1 or R5 under 18), and the flags are raised.
    """
    facts = Facts.from_answers(check_answers(answers))
    fired = [rule for rule in URGENCY_RULES if rule.fires(facts)]
    route_rule = route_rule_for(facts)
    return TriageOutcome(
        route=route_rule.route,
        urgency=_highest([rule.urgency for rule in fired]),
        reasons=tuple(rule.id for rule in fired) + (route_rule.id,),
        flags=tuple(flag.id for flag in FLAG_RULES if flag.raised(facts, route_rule.id)),
        bmi=facts.bmi,
        stop_bang=facts.stop_bang,
    )


def evaluate_safety(answers: Mapping[str, object]) -> TriageOutcome | None:
    """Check the first page (the emergency questions) on its own; other answers are ignored.

    All of EMERGENCY_QUESTION_IDS must be answered (AnswerError otherwise). When an E rule fires,
    return an emergency outcome from those answers alone: reasons are the E rules, then R1 when
    E2 fired (a bleeding vein is scanned once safe) or else R5; no flags. Otherwise None, and the
    questionnaire goes on.
    """
    if not isinstance(answers, Mapping):
        raise AnswerError("Answers must be given as question ids with their answers.", None)
    given = {
        question_id: answers[question_id]
        for question_id in EMERGENCY_QUESTION_IDS
        if question_id in answers
    }
    checked = check_answers(given, partial=True)
    for question_id in EMERGENCY_QUESTION_IDS:
        if question_id not in checked:
            raise AnswerError("Please answer this question.", question_id)
    facts = Facts.from_answers(checked)
    fired = [
        rule
        for rule in URGENCY_RULES
        if rule.urgency is Urgency.EMERGENCY and rule.fires(facts)
    ]
    if not fired:
        return None
    route_rule = _first_route_rule(facts, ("R1", "R5"))
    return TriageOutcome(
        route=route_rule.route,
        urgency=Urgency.EMERGENCY,
        reasons=tuple(rule.id for rule in fired) + (route_rule.id,),
        flags=(),
        route_provisional=True,
    )


# --- words ----------------------------------------------------------------------------------------

# For the patient: what they told us and what it can mean, never a diagnosis, and never a promise
# that vein treatment relieves restless legs (the evidence for that is weak).
RULE_TEXT: dict[str, str] = {
    "E1": "You told us about sudden breathlessness, chest pain on breathing in, coughing up "
    "blood or fainting. These can be signs of a blood clot in the lungs.",
    "E2": "You told us a vein in your leg is bleeding. Lie down, raise the leg higher than your "
    "heart and press firmly on the bleeding spot with a clean cloth while you get help.",
    "E3": "You told us about sudden, severe leg pain with a cold, pale or numb foot. This can "
    "mean the blood supply to the leg is blocked.",
    "U1": "You told us about new swelling of one leg, or a painful, warm or red calf or thigh. "
    "These can be signs of a blood clot in a deep vein of the leg, which a scan should check "
    "within 24 hours.",
    "U2": "You told us you are pregnant or have recently given birth, and about signs that can "
    "come from a blood clot in the leg. Clots are more likely at this time, so this needs "
    "checking within 24 hours.",
    "U3": "You told us about a hard, red, painful vein under the skin. This can be a clot in a "
    "vein near the surface, and a scan checks that there is none in a deeper vein.",
    "U4": "You told us you have fallen asleep, or nearly, while driving. Please do not drive "
    "until a doctor has seen you.",
    "R1": "Because of what you told us, the first step is a scan of your leg veins.",
    "R2": "You told us about signs that your breathing may be disturbed while you sleep, which "
    "a sleep study can check.",
    "R3": "You told us about signs that the leg veins may not be working well, which a scan of "
    "the leg veins can check.",
    "R4": "You told us your legs jerk again and again while you sleep and that you feel tired or "
    "sleepy in the day, which a sleep study can look into.",
    "R5": "The first step is a visit with a doctor, who will talk with you about your symptoms, "
    "examine you and plan what comes next.",
}

CLINICIAN_RULE_TEXT: dict[str, str] = {
    "E1": "E1 possible pulmonary embolism (NICE NG158)",
    "E2": "E2 bleeding varicose vein: pressure, elevation, emergency care (NICE CG168)",
    "E3": "E3 possible acute limb ischaemia (sudden pain, cold, pale or numb foot)",
    # rlsvein-1's rule texts, word for word: one time frame for every urgent case.
    "U1": "U1 possible deep vein thrombosis: seen within 24 hours",
    "U2": "U2 possible clot in pregnancy: seen within 24 hours",
    "U3": "U3 superficial vein thrombosis: seen within 24 hours to rule out DVT",
    "U4": "U4 drowsy driving: seen within 24 hours, no driving until then",
    "R1": "R1 duplex ultrasound because U1, U2, U3 or E2 fired",
    "R2": "R2 sleep study: observed apnea, STOP-Bang >= 5, or >= 2 STOP items with male sex, "
    "BMI > 35 or neck > 40 cm (STOP-Bang)",
    "R3": "R3 venous duplex: symptomatic varicose veins or ankle edema, skin changes or ulcer "
    "(CEAP C2s-C6; NICE CG168, SVS/AVF/AVLS 2022)",
    "R4": "R4 sleep study: limb jerks in sleep with sleepiness, not probable RLS; possible "
    "periodic limb movement disorder (AASM 2005)",
    "R5": "R5 general consultation (no other route rule matched)",
}

FLAG_TEXT: dict[str, str] = {
    "F1": "Probable RLS: IRLSSG 2012 essential criteria reported, no mimic chosen (see "
    "frequency and impact for course and clinical significance)",
    "F2": "All four RLS features reported but a mimic was chosen: IRLSSG criterion 5 not met, "
    "assess for a mimic (cramp, positional discomfort, neuropathy, joint pain)",
    "F3": "Probable RLS with ferritin unknown or ≤ 100 ng/mL: check ferritin and transferrin "
    "saturation (AASM 2024)",
    "F4": "Takes a medicine that may worsen RLS (antidepressant, antipsychotic, antihistamine or "
    "antiemetic): do not stop without the prescriber",
    "F5": "Possible augmentation on dopaminergic RLS treatment (earlier onset, spread, stronger "
    "or shorter-acting): review treatment (AASM 2024)",
    "F6": "Condition linked to RLS or mimicking it: kidney failure, neuropathy or Parkinson's "
    "disease",
    "F7": "Pregnant or within 6 weeks of giving birth (or unsure)",
    "F8": "Pregnant with venous signs: no venous intervention in pregnancy; compression may help",
    "F9": "Likely cosmetic: spider veins only, or varicose veins without venous symptoms",
    "F10": "Intermediate sleep-apnea risk (STOP-Bang 3-4)",
    "F11": "Routed to a sleep study, but a venous duplex scan is also indicated (R3 condition met)",
    "F12": "Under 18: general consultation unless R1 applies",
}

URGENCY_ADVICE: dict[Urgency, str] = {
    Urgency.EMERGENCY: "Get emergency help now: call {emergency_number} or go to the nearest "
    "emergency department. Do not wait for an appointment with us.",
    Urgency.URGENT: "You need to be seen within 24 hours. Book one of the times offered in the "
    "next 24 hours, or call the clinic. If the clinic is closed or has no time free, go to an "
    "urgent care center or emergency department today.",
    Urgency.ROUTINE: "You can book an appointment at a time that suits you. If a leg becomes "
    "swollen, painful or red, or you become short of breath, do not wait for it: get medical "
    "help.",
}


def urgency_advice(urgency: str, emergency_number: str) -> str:
    """What the patient is told to do for this urgency, with the clinic's emergency number (911)."""
    return URGENCY_ADVICE[Urgency(urgency)].format(emergency_number=emergency_number)
