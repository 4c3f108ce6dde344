"""The triage questionnaire as data: every question once, with its wording, answers and checks.

The web form, the validation of stored answers and the doctor's case view all read these
definitions, so a question is worded, limited and labelled in one place. The ids, kinds and
answer values are those of the rule set `rlsvein-1`. Pure: no Flask, no database.

Number ranges rlsvein-1 fixes: age 0-120 (whole years), rls_impact 0-3, epworth 0-24 (the
Epworth Sleepiness Scale total). Ranges chosen here, wide enough for any real adult or child yet
catching typing slips and wrong units: height 50-250 cm, weight 20-350 kg, neck 20-70 cm,
ferritin 0-5000 ng/mL (values above that occur only in rare iron-overload states and are
better discussed with the clinic than typed into a form).

Height, weight and neck are asked in feet and inches, pounds and inches (US_UNITS), or in
centimeters and kilograms (METRIC_UNITS) for whoever prefers them; `read_answer` turns either
into the centimeters and kilograms stored (units.py converts). The US ranges, 1 ft 8 in to
8 ft 2 in, 45 to 770 lb and 8 to 27 inches, all fall inside the metric ones.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from portal.triage import units

__all__ = [
    "EMERGENCY_QUESTION_IDS",
    "MEASURE_IDS",
    "METRIC_UNITS",
    "QUESTIONS",
    "US_HELP",
    "US_UNITS",
    "STEPS",
    "AnswerError",
    "Choice",
    "Question",
    "Step",
    "answer_boxes",
    "check_answers",
    "describe_answer",
    "parse_answer",
    "read_answer",
]

KINDS = ("yes_no", "yes_no_unsure", "one_of", "list", "int", "number")


class AnswerError(ValueError):
    """An answer the questionnaire cannot accept, with a message to show next to the question.

    `question_id` is the id of the question at fault, or None when the id itself is unknown
    (or the answers are not a mapping at all).
    """

    def __init__(self, message: str, question_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.question_id = question_id


@dataclass(frozen=True)
class Choice:
    """One answer a patient can pick: the stored value and its label in plain words."""

    value: str
    label: str


@dataclass(frozen=True)
class Question:
    """One question of the questionnaire (see the module docstring for the ranges)."""

    id: str
    kind: str  # one of KINDS
    text: str
    help: str = ""
    choices: tuple[Choice, ...] = ()
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    step: str = ""
    only_if: tuple[str, str] | None = None
    only_for_ages: tuple[int, int] | None = None  # asked only when the age answer is in this range
    clinician_label: str = ""

    def applies(self, answers: Mapping[str, object], *, when_unknown: bool = True) -> bool:
        """Whether this question is asked given `answers`: always, unless it is asked only after
        another answer (`only_if`) or only at some ages (`only_for_ages`) and the answers rule it
        out; `when_unknown` when a deciding answer is missing (a page asks until it is known; a
        complete questionnaire does not)."""
        if self.only_if is not None:
            deciding_id, wanted = self.only_if
            given = answers.get(deciding_id)
            if (given is None and not when_unknown) or (given is not None and given != wanted):
                return False
        if self.only_for_ages is not None:
            age = answers.get("age")
            if isinstance(age, bool) or not isinstance(age, (int, float)):
                return when_unknown
            youngest, oldest = self.only_for_ages
            return youngest <= age <= oldest
        return True

    @property
    def asked_of(self) -> str:
        """Whom a conditional question is for, in words: "female, aged 12 to 55"."""
        parts = [self.only_if[1]] if self.only_if else []
        if self.only_for_ages:
            parts.append(f"aged {self.only_for_ages[0]} to {self.only_for_ages[1]}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Step:
    """One page of the questionnaire."""

    id: str
    title: str
    intro: str
    question_ids: tuple[str, ...]


YES_NO = (Choice("yes", "Yes"), Choice("no", "No"))
YES_NO_UNSURE = YES_NO + (Choice("not_sure", "Not sure"),)


def _yes_no(id: str, text: str, step: str, clinician_label: str, help: str = "") -> Question:
    return Question(id=id, kind="yes_no", text=text, help=help, choices=YES_NO, step=step,
                    clinician_label=clinician_label)


def _red_flag(id: str, text: str, step: str, clinician_label: str, help: str = "") -> Question:
    """A required yes / no / not sure question; rlsvein-1 counts "not sure" as yes on these."""
    return Question(id=id, kind="yes_no_unsure", text=text, help=help, choices=YES_NO_UNSURE,
                    required=True, step=step, clinician_label=clinician_label)


# Questionnaire order: the emergency questions come first, so a patient who needs emergency care
# is told so before answering anything else.
_QUESTION_LIST: tuple[Question, ...] = (
    # --- safety ---------------------------------------------------------------------------------
    _red_flag(
        "pe_symptoms",
        "Right now, or in the last 24 hours, have you had sudden shortness of breath, chest pain "
        "when you breathe in, coughed up blood, or fainted?",
        "safety",
        "Possible PE symptoms",
        help="Answer Yes if any one of these happened.",
    ),
    _red_flag(
        "bleeding_vein",
        "Is a vein in your leg bleeding right now?",
        "safety",
        "Bleeding leg vein",
    ),
    _red_flag(
        "cold_pale_leg",
        "Do you have sudden, severe pain in a leg, with a foot that is cold, pale or numb?",
        "safety",
        "Sudden painful cold, pale or numb leg",
    ),
    # --- about you ------------------------------------------------------------------------------
    Question(
        id="age",
        kind="int",
        text="How old are you?",
        help="In years.",
        required=True,
        minimum=0,
        maximum=120,
        unit="years",
        step="about_you",
        clinician_label="Age",
    ),
    Question(
        id="sex",
        kind="one_of",
        text="What was your sex at birth?",
        help="Some health risks differ between women and men.",
        choices=(Choice("female", "Female"), Choice("male", "Male")),
        required=True,
        step="about_you",
        clinician_label="Sex at birth",
    ),
    Question(
        id="pregnant",
        kind="yes_no_unsure",
        text="Are you pregnant, or have you given birth in the last 6 weeks?",
        choices=YES_NO_UNSURE,
        step="about_you",
        only_if=("sex", "female"),
        # rlsvein-1: asked only of patients female at birth aged 12 to 55; otherwise it counts as no.
        only_for_ages=(12, 55),
        clinician_label="Pregnant or up to 6 weeks after birth",
    ),
    # --- legs -----------------------------------------------------------------------------------
    _red_flag(
        "dvt_signs",
        "In the last 4 weeks, has ONE of your legs become newly swollen, or has one calf or "
        "thigh become painful and warm or red?",
        "legs",
        "Possible DVT signs",
        help="Think of one leg only, not both legs.",
    ),
    Question(
        id="dvt_risks",
        kind="list",
        text="Do any of these apply to you?",
        help="Check all that apply. Leave all empty if none do.",
        choices=(
            Choice("cancer", "Cancer, now or treated in the last 6 months"),
            # Windows follow the Wells score items (NICE NG158): surgery within 12 weeks,
            # bedridden 3 days or more.
            Choice("recent_surgery_or_bedbound",
                   "An operation, or 3 days or more in bed, in the last 3 months"),
            Choice("leg_cast_or_paralysis", "A cast on a leg, or a paralyzed leg"),
            Choice("previous_dvt_pe", "A blood clot in a leg or lung in the past"),
        ),
        step="legs",
        clinician_label="Clot risk factors",
    ),
    _red_flag(
        "svt_signs",
        "Do you have a vein under the skin of your leg that is hard, red and painful?",
        "legs",
        "Possible superficial vein thrombosis",
    ),
    Question(
        id="leg_signs",
        kind="list",
        text="What can you see on your legs?",
        help="Check all that apply. Spider veins are small red, blue or purple lines. "
        "Skin changes means darker, hardened or itchy, scaly skin near the ankle.",
        choices=(
            Choice("varicose_veins", "Varicose veins"),
            Choice("spider_veins", "Spider veins"),
            Choice("ankle_swelling", "Ankle swelling"),
            Choice("skin_changes", "Skin changes near the ankle"),
            Choice("open_sore", "An open sore that is not healing"),
            Choice("healed_sore", "A healed leg sore"),
        ),
        step="legs",
        clinician_label="Visible leg signs",
    ),
    _yes_no(
        "venous_symptoms",
        "Do your legs feel heavy, aching, itchy or crampy, worse after standing and better "
        "when you put your feet up?",
        "legs",
        "Venous symptoms",
    ),
    # --- restless legs (IRLSSG 2012 essential criteria, then course and significance) -----------
    _yes_no(
        "rls_urge",
        "Do you get an urge to move your legs, usually with uncomfortable feelings in them, "
        "such as tingling, crawling or throbbing?",
        "rls",
        "Urge to move the legs",
    ),
    _yes_no(
        "rls_rest",
        "Does it start or get worse when you rest, sit or lie down?",
        "rls",
        "Worse at rest",
    ),
    _yes_no(
        "rls_movement_relief",
        "Does moving or walking ease it, at least while you keep moving?",
        "rls",
        "Eased by movement",
    ),
    _yes_no(
        "rls_evening",
        "Is it worse in the evening or at night, or does it only happen then?",
        "rls",
        "Worse in the evening or night",
    ),
    Question(
        id="rls_mimic",
        kind="one_of",
        text="Does one of these describe it better?",
        choices=(
            Choice("cramp", "A cramp or knot in the muscle that eases when I stretch"),
            Choice("positional", "It only happens when I sit or lie in certain positions"),
            Choice("constant_burning", "A constant burning, numbness or pins and needles"),
            Choice("joint_pain", "Pain in my joints"),
            Choice("none", "None of these"),
        ),
        step="rls",
        clinician_label="RLS mimic described",
    ),
    Question(
        id="rls_frequency",
        kind="one_of",
        text="Over the last year, how often has it happened?",
        choices=(
            Choice("twice_weekly_or_more", "Twice a week or more"),
            Choice("less_often", "Less than twice a week"),
            Choice("first_time", "It has only just started"),
        ),
        step="rls",
        clinician_label="RLS frequency",
    ),
    Question(
        id="rls_impact",
        kind="int",
        text="How much does it affect your sleep, energy, mood or work?",
        help="0 = not at all, 1 = a little, 2 = quite a lot, 3 = very much.",
        minimum=0,
        maximum=3,
        step="rls",
        clinician_label="RLS impact (0-3)",
    ),
    # --- sleep (STOP-Bang items, Epworth, periodic limb movements) -------------------------------
    _yes_no(
        "snoring",
        "Do you snore loudly, loud enough to be heard through a closed door?",
        "sleep",
        "Loud snoring",
    ),
    _yes_no(
        "tired_daytime",
        "Do you often feel tired, worn out or sleepy during the day?",
        "sleep",
        "Daytime tiredness",
    ),
    _yes_no(
        "observed_apnea",
        "Has anyone seen you stop breathing, choke or gasp while you sleep?",
        "sleep",
        "Observed apnea",
    ),
    _yes_no(
        "high_blood_pressure",
        "Are you being treated for high blood pressure?",
        "sleep",
        "Treated high blood pressure",
    ),
    Question(
        id="height_cm",
        kind="number",
        text="How tall are you?",
        help="In centimeters. 5 feet 6 inches is about 168 cm. Leave empty if you do not know.",
        minimum=50,
        maximum=250,
        unit="cm",
        step="sleep",
        clinician_label="Height",
    ),
    Question(
        id="weight_kg",
        kind="number",
        text="How much do you weigh?",
        help="In kilograms. 150 pounds is about 68 kg. Leave empty if you do not know.",
        minimum=20,
        maximum=350,
        unit="kg",
        step="sleep",
        clinician_label="Weight",
    ),
    Question(
        id="neck_cm",
        kind="number",
        text="What is your neck or shirt collar size?",
        help="In centimeters, around the neck. A 16-inch collar is about 41 cm. "
        "Leave empty if you do not know.",
        minimum=20,
        maximum=70,
        unit="cm",
        step="sleep",
        clinician_label="Neck circumference",
    ),
    _yes_no(
        "drowsy_driving",
        "In the last year, have you fallen asleep, or nearly fallen asleep, while driving?",
        "sleep",
        "Drowsy driving",
    ),
    Question(
        id="epworth",
        kind="int",
        text="If you have filled out the Epworth Sleepiness Scale, what was your total score?",
        help="A number from 0 to 24. Leave empty if you have not filled it out.",
        minimum=0,
        maximum=24,
        step="sleep",
        clinician_label="Epworth score",
    ),
    _yes_no(
        "partner_leg_jerks",
        "Has a bed partner seen your legs jerk or kick again and again while you sleep?",
        "sleep",
        "Repeated leg jerks in sleep",
    ),
    # --- medicines and conditions ----------------------------------------------------------------
    Question(
        id="medications",
        kind="list",
        text="Do you take any of these medicines?",
        help="Check all that apply. Please keep taking your medicines as prescribed.",
        choices=(
            Choice("antidepressant", "Medicine for depression or anxiety"),
            Choice("antipsychotic", "Antipsychotic medicine"),
            Choice("antihistamine", "Allergy or sleep medicine (an antihistamine)"),
            Choice("antiemetic", "Medicine for nausea or vomiting"),
            Choice("rls_dopaminergic",
                   "Medicine for restless legs, such as pramipexole, ropinirole or rotigotine"),
            Choice("iron", "Iron tablets or iron infusions"),
        ),
        step="medicines",
        clinician_label="Current medicines",
    ),
    _yes_no(
        "augmentation_signs",
        "If you take a medicine for restless legs: do the symptoms now start earlier in the day, "
        "spread to your arms, feel stronger, or does each dose wear off sooner than before?",
        "medicines",
        "Possible augmentation",
        help="Answer No if you do not take a medicine for restless legs.",
    ),
    Question(
        id="conditions",
        kind="list",
        text="Has a doctor told you that you have any of these?",
        help="Check all that apply.",
        choices=(
            Choice("kidney_failure", "Kidney failure or dialysis"),
            Choice("neuropathy", "Nerve damage in the feet or legs (neuropathy)"),
            Choice("parkinsons", "Parkinson's disease"),
            Choice("anaemia", "Anemia (low blood count)"),
        ),
        step="medicines",
        clinician_label="Known conditions",
    ),
    Question(
        id="ferritin",
        kind="number",
        text="If you know it, what was your last ferritin (iron store) blood test result?",
        help="In ng/mL (the same number in micrograms per liter). Leave empty if you do not know.",
        minimum=0,
        maximum=5000,
        unit="ng/mL",
        step="medicines",
        clinician_label="Last ferritin",
    ),
)

QUESTIONS: dict[str, Question] = {question.id: question for question in _QUESTION_LIST}

EMERGENCY_QUESTION_IDS = ("pe_symptoms", "bleeding_vein", "cold_pale_leg")


def _ids_of_step(step_id: str) -> tuple[str, ...]:
    return tuple(question.id for question in _QUESTION_LIST if question.step == step_id)


STEPS: tuple[Step, ...] = (
    Step(
        "safety",
        "First, your safety",
        "These questions check whether you need help straight away. Please answer them first.",
        _ids_of_step("safety"),
    ),
    Step(
        "about_you",
        "About you",
        "A few facts about you.",
        _ids_of_step("about_you"),
    ),
    Step(
        "legs",
        "Your legs and veins",
        "Questions about swelling, pain and what you can see on your legs.",
        _ids_of_step("legs"),
    ),
    Step(
        "rls",
        "Restless legs",
        "Questions about an urge to move your legs. If you never have one, answer No to the "
        "first question and leave the others empty.",
        _ids_of_step("rls"),
    ),
    Step(
        "sleep",
        "Your sleep",
        "Questions about snoring, breathing at night and sleepiness. Leave a number empty "
        "if you do not know it.",
        _ids_of_step("sleep"),
    ),
    Step(
        "medicines",
        "Medicines and health",
        "Medicines and conditions that can affect restless legs.",
        _ids_of_step("medicines"),
    ),
)

# --- messages ------------------------------------------------------------------------------------

_NUMBER_MESSAGES = {
    "age": "Age must be a whole number from 0 to 120.",
    "rls_impact": "Please choose a whole number from 0 (not at all) to 3 (very much).",
    "height_cm": "Please enter your height in cm, from 50 to 250.",
    "weight_kg": "Please enter your weight in kg, from 20 to 350.",
    "neck_cm": "Please enter your neck size in cm, from 20 to 70.",
    "epworth": "The Epworth score must be a whole number from 0 to 24.",
    "ferritin": "Please enter your ferritin result in ng/mL, from 0 to 5000.",
}

_CHOICE_MESSAGES = {
    "yes_no": "Please choose Yes or No.",
    "yes_no_unsure": "Please choose Yes, No or Not sure.",
    "one_of": "Please choose one of the answers shown.",
    "list": "Please check only the answers shown.",
}

_IMPACT_WORDS = ("not at all", "a little", "quite a lot", "very much")

_REQUIRED_MESSAGE = "Please answer this question."


def _format_number(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{round(value, 2):g}"
    return str(value)


def _invalid(question: Question) -> AnswerError:
    """The one message a question shows for any answer it cannot accept."""
    if question.kind in _CHOICE_MESSAGES:
        message = _CHOICE_MESSAGES[question.kind]
    else:
        message = _NUMBER_MESSAGES.get(question.id) or (
            f"Please enter {'a whole number' if question.kind == 'int' else 'a number'} from "
            f"{_format_number(question.minimum)} to {_format_number(question.maximum)}"
            f"{' ' + question.unit if question.unit else ''}."
        )
    return AnswerError(message, question.id)


def _short(key: object) -> str:
    text = repr(key)
    return text if len(text) <= 40 else text[:37] + "..."


def _unknown(key: object) -> AnswerError:
    return AnswerError(f"There is no question called {_short(key)}.", None)


# --- parsing form strings ------------------------------------------------------------------------

# Plain decimal numbers only: "172", "72.5", "72,5", ".5". No exponents, thousands separators or
# digits of other scripts, so "1e3" or "1,234.5" is refused rather than misread.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)", re.ASCII)


def parse_answer(question: Question, raw: str | list[str] | None) -> object | None:
    """Turn what a web form sent for `question` into a typed answer, or None when not answered.

    Spaces around values are ignored. Numbers take "." or "," as the decimal separator and may
    end with the question's unit ("172 cm"); int questions return int, number questions float.
    List questions take a list of strings (one string is a one-item list) and return the chosen
    values in the order the question declares them; an empty list is the answer "none of these".
    Anything else raises AnswerError with a message for the patient.
    """
    if question.kind == "list":
        return _parse_list(question, raw)
    if isinstance(raw, (list, tuple)):
        given = [item for item in raw if not (isinstance(item, str) and not item.strip())]
        if not given:
            return None
        if len(given) > 1:
            raise _invalid(question)
        raw = given[0]
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise _invalid(question)
    text = raw.strip()
    if not text:
        return None
    if question.kind in ("int", "number"):
        return _parse_number(question, text)
    for choice in question.choices:
        if text.lower() == choice.value.lower():
            return choice.value
    raise _invalid(question)


def _parse_list(question: Question, raw: object) -> list[str] | None:
    if raw is None:
        return None
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, (list, tuple)):
        raise _invalid(question)
    chosen = set()
    for item in items:
        if not isinstance(item, str):
            raise _invalid(question)
        value = item.strip()
        if not value:
            continue
        if value not in {choice.value for choice in question.choices}:
            raise _invalid(question)
        chosen.add(value)  # a value sent twice is still one tick
    return [choice.value for choice in question.choices if choice.value in chosen]


def _parse_number(question: Question, text: str) -> int | float:
    unit = question.unit
    if unit and text.lower().endswith(unit.lower()):
        text = text[: -len(unit)].rstrip()
    if not _DECIMAL.fullmatch(text):
        raise _invalid(question)
    value = float(text.replace(",", "."))
    if not math.isfinite(value) or not question.minimum <= value <= question.maximum:
        raise _invalid(question)
    if question.kind == "int":
        if not value.is_integer():
            raise _invalid(question)
        return int(value)
    return value


# --- checking typed answers ----------------------------------------------------------------------


def check_answers(answers: Mapping[str, object], *, partial: bool = False) -> dict[str, object]:
    """Validate a mapping of question id to typed answer; return it normalised.

    Typed means as stored in JSON: "yes"/"no"/"not_sure" and choice values as strings, lists of
    choice values, int (never bool) for whole-number questions, int or finite float for numbers.
    The result holds only the ids given, without None values; lists are in declared order and
    numbers are floats. An answer to a question that is asked only after another answer (the
    question's `only_if`) is dropped when that other answer rules it out (a male patient is not
    asked about pregnancy); with partial=False a missing deciding answer rules it out too.
    Missing required answers are an error unless partial=True. Anything wrong raises AnswerError
    naming the question; no other exception escapes, whatever the input.
    """
    if not isinstance(answers, Mapping):
        raise AnswerError("Answers must be given as question ids with their answers.", None)
    try:
        given = list(answers.items())
    except Exception as error:  # a broken mapping is still just bad input
        raise AnswerError("The answers could not be read.", None) from error
    for key, _value in given:
        if not isinstance(key, str) or key not in QUESTIONS:
            raise _unknown(key)
    values = dict(given)
    result: dict[str, object] = {}
    for question in _QUESTION_LIST:
        value = values.get(question.id)
        if value is None:
            if question.required and not partial:
                raise AnswerError(_REQUIRED_MESSAGE, question.id)
            continue
        result[question.id] = _check_value(question, value)
    for question in _QUESTION_LIST:
        if question.id in result and not question.applies(result, when_unknown=partial):
            del result[question.id]
    return result


def _check_value(question: Question, value: object) -> object:
    kind = question.kind
    if kind in ("yes_no", "yes_no_unsure", "one_of"):
        if isinstance(value, str) and value in {choice.value for choice in question.choices}:
            return value
        raise _invalid(question)
    if kind == "list":
        if not isinstance(value, (list, tuple)):
            raise _invalid(question)
        allowed = {choice.value for choice in question.choices}
        if not all(isinstance(item, str) and item in allowed for item in value):
            raise _invalid(question)
        if len(set(value)) != len(value):
            raise AnswerError("Each answer can be checked only once.", question.id)
        return [choice.value for choice in question.choices if choice.value in value]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid(question)
    if kind == "int" and not isinstance(value, int):
        raise _invalid(question)
    if isinstance(value, float) and not math.isfinite(value):
        raise _invalid(question)
    # Compared before any conversion, so a huge int is refused rather than overflowing float().
    if not question.minimum <= value <= question.maximum:
        raise _invalid(question)
    return int(value) if kind == "int" else float(value)


# --- showing answers -----------------------------------------------------------------------------


def describe_answer(question_id: str, value: object) -> str:
    """Plain words for a stored answer, for the patient's summary and the doctor's case view.

    "Yes", "Not sure", "Varicose veins, Ankle swelling", "None" (an empty list), "172 cm",
    "14 out of 24", "Not answered" (None). A value the question does not know (for example from
    an older version of the questionnaire) is shown as it was stored rather than hidden.
    """
    question = QUESTIONS.get(question_id) if isinstance(question_id, str) else None
    if question is None:
        raise _unknown(question_id)
    if value is None:
        return "Not answered"
    labels = {choice.value: choice.label for choice in question.choices}
    if question.kind == "list":
        if not isinstance(value, (list, tuple)):
            return str(value)
        if not value:
            return "None"
        known = [labels[choice.value] for choice in question.choices if choice.value in value]
        unknown = [str(item) for item in value if not isinstance(item, str) or item not in labels]
        return ", ".join(known + unknown)
    if question.kind in ("yes_no", "yes_no_unsure", "one_of"):
        return labels.get(value, str(value)) if isinstance(value, str) else str(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    text = _format_number(value)
    if question.id == "rls_impact" and value in range(len(_IMPACT_WORDS)):
        return f"{text} out of 3 ({_IMPACT_WORDS[int(value)]})"
    if question.id == "height_cm":
        return f"{text} cm ({units.feet_and_inches(value)})"
    if question.id == "weight_kg":
        return f"{text} kg ({units.kg_to_pounds(value)} lb)"
    if question.id == "neck_cm":
        return f"{text} cm ({units.number(units.cm_to_inches(value))} in)"
    if question.unit:
        return f"{text} {question.unit}"
    if question.maximum is not None:
        return f"{text} out of {_format_number(question.maximum)}"
    return text


# --- height, weight and neck in US or metric units -----------------------------------------------

US_UNITS, METRIC_UNITS = "us", "metric"
MEASURE_IDS = ("height_cm", "weight_kg", "neck_cm")


@dataclass(frozen=True)
class Box:
    """One box to type a number in: its form field name, the unit shown after it, its value."""

    name: str
    unit: str
    value: str = ""


# The US boxes of each measure: (field name, unit shown after the box).
US_BOXES = {
    "height_cm": (("height_ft", "feet"), ("height_in", "inches")),
    "weight_kg": (("weight_lb", "pounds"),),
    "neck_cm": (("neck_in", "inches"),),
}
US_HELP = {
    "height_cm": "In feet and inches, for example 5 feet 6 inches. Leave empty if you do not know.",
    "weight_kg": "In pounds. Leave empty if you do not know.",
    "neck_cm": "In inches, around the neck: your shirt collar size, for example 16. "
               "Leave empty if you do not know.",
}
_US_MESSAGES = {
    "height_cm": "Please enter your height in feet and inches, from 1 foot 8 inches to 8 feet 2 inches.",
    "weight_kg": "Please enter your weight in pounds, from 45 to 770.",
    "neck_cm": "Please enter your neck size in inches, from 8 to 27.",
}
_US_RANGES = {"height_cm": (20, 98), "weight_kg": (45, 770), "neck_cm": (8, 27)}  # inches, pounds, inches
_INCHES_MESSAGE = "Please enter the inches as a number from 0 to 11, after the feet."
# Units a patient may type after a number, whichever boxes are shown ("170 cm", "150 lbs", '16"').
_METRIC_SUFFIX = {"height_cm": ("cm",), "weight_kg": ("kg", "kgs"), "neck_cm": ("cm",)}
_US_SUFFIX = {"height_ft": ("ft", "feet", "foot", "'"), "height_in": ("in", "inch", "inches", '"'),
              "weight_lb": ("lb", "lbs", "pounds", "pound"), "neck_in": ("in", "inch", "inches", '"')}


def _form_value(form, name: str) -> str:
    value = form.get(name) if form is not None else None
    return value.strip() if isinstance(value, str) else ""


def _strip_suffix(text: str, suffixes: tuple[str, ...]) -> tuple[str, bool]:
    lowered = text.lower()
    for suffix in sorted(suffixes, key=len, reverse=True):
        if lowered.endswith(suffix):
            return text[: -len(suffix)].rstrip(), True
    return text, False


def _us_number(text: str, question_id: str) -> float:
    if not _DECIMAL.fullmatch(text):
        raise AnswerError(_US_MESSAGES[question_id], question_id)
    value = float(text.replace(",", "."))
    if not math.isfinite(value) or value < 0:
        raise AnswerError(_US_MESSAGES[question_id], question_id)
    return value


# A whole height typed in the feet box: 5'6", 5 ft 6 in, 5 feet 6.
_HEIGHT_IN_ONE = re.compile(r"([0-9]+)\s*(?:'|’|ft|feet|foot)\s*"
                            r"(?:([0-9]+(?:[.,][0-9]*)?)\s*(?:\"|”|in|inch|inches)?)?", re.ASCII | re.IGNORECASE)


def _read_measure(question: Question, form) -> float | None:
    """A height, weight or neck from whichever boxes were filled in: the US boxes, or the metric
    box (named as the question); a metric unit typed in a US box ("170 cm") is read as metric."""
    names = [name for name, _unit in US_BOXES[question.id]]
    typed = {name: _form_value(form, name) for name in names}
    if not any(typed.values()):
        return parse_answer(question, form.get(question.id) if form is not None else None)
    for name, text in typed.items():
        number_text, metric = _strip_suffix(text, _METRIC_SUFFIX[question.id])
        if metric:
            if any(other for other_name, other in typed.items() if other_name != name):
                raise AnswerError(_US_MESSAGES[question.id], question.id)
            return parse_answer(question, number_text)
    whole = _HEIGHT_IN_ONE.fullmatch(typed.get("height_ft", "")) if question.id == "height_cm" else None
    if whole and not typed["height_in"]:
        typed = {"height_ft": whole.group(1), "height_in": whole.group(2) or ""}
    values = {name: _us_number(_strip_suffix(text, _US_SUFFIX[name])[0], question.id) if text else 0.0
              for name, text in typed.items()}
    low, high = _US_RANGES[question.id]
    if question.id == "height_cm":
        feet, inches = values["height_ft"], values["height_in"]
        if typed["height_ft"] and inches >= units.INCHES_PER_FOOT:
            raise AnswerError(_INCHES_MESSAGE, question.id)
        total = feet * units.INCHES_PER_FOOT + inches
        if not low <= total <= high:
            raise AnswerError(_US_MESSAGES[question.id], question.id)
        return units.inches_to_cm(total)
    (value,) = values.values()
    if not low <= value <= high:
        raise AnswerError(_US_MESSAGES[question.id], question.id)
    return units.pounds_to_kg(value) if question.id == "weight_kg" else units.inches_to_cm(value)


def read_answer(question: Question, form) -> object | None:
    """The typed answer to `question` from a submitted form (a mapping with `getlist`, as Flask's
    request.form): a list question's ticks, a measure from its US or metric boxes, any other
    question's one value, as parse_answer reads them. Raises AnswerError as parse_answer does."""
    if question.id in US_BOXES:
        return _read_measure(question, form)
    if question.kind == "list":
        return parse_answer(question, form.getlist(question.id))
    return parse_answer(question, form.get(question.id))


def answer_boxes(question: Question, system: str, stored: object = None, sent=None) -> tuple[Box, ...]:
    """The boxes a number question shows in `system` (US_UNITS or METRIC_UNITS), filled with what
    was just sent (`sent`, the form, when the page is shown again with an error) or else with the
    stored answer, converted for the US boxes."""
    if sent is not None and question.id in US_BOXES and _form_value(sent, question.id) and not any(
            _form_value(sent, name) for name, _unit in US_BOXES[question.id]):
        system = METRIC_UNITS  # the metric box was sent: shown again as it was typed, with its message
    if question.id not in US_BOXES or system != US_UNITS:
        value = _form_value(sent, question.id) if sent is not None else (
            "" if stored is None else _format_number(stored) if isinstance(stored, float) else str(stored))
        return (Box(question.id, question.unit, value),)
    if sent is not None:
        return tuple(Box(name, unit, _form_value(sent, name)) for name, unit in US_BOXES[question.id])
    if isinstance(stored, bool) or not isinstance(stored, (int, float)):
        values: tuple[str, ...] = ("",) * len(US_BOXES[question.id])
    elif question.id == "height_cm":
        values = tuple(str(part) for part in units.cm_to_feet_and_inches(stored))
    elif question.id == "weight_kg":
        values = (str(units.kg_to_pounds(stored)),)
    else:
        values = (units.number(units.cm_to_inches(stored)),)
    return tuple(Box(name, unit, value) for (name, unit), value in zip(US_BOXES[question.id], values, strict=True))
