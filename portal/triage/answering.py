"""Reading one page of the questionnaire from a posted form: which questions it asks given the
answers so far, each answer parsed and checked by questions.py, and the questions that no longer
apply. The patient's own pages (triage/views.py) and the desk's phone triage (desk/phone_triage.py)
both read their steps here, so the questions, their order and their checks are the same whoever
gives the answers. Pure apart from the form it is handed (any mapping with getlist)."""
from collections.abc import Mapping
from dataclasses import dataclass, field

from portal.triage.questions import QUESTIONS, AnswerError, Question, Step, read_answer


@dataclass
class StepAnswers:
    """What one posted step gave: the answers that parsed, a message per question at fault, and the
    ids of questions on the step that no longer apply (to drop from the draft)."""

    given: dict[str, object] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> dict[str, object]:
        return {key: value for key, value in self.given.items() if key not in self.errors}


def visible_questions(step: Step, answers: Mapping[str, object]) -> list[Question]:
    """The step's questions, leaving out those that do not apply (pregnancy for a male patient)."""
    return [QUESTIONS[qid] for qid in step.question_ids if QUESTIONS[qid].applies(answers)]


def _deciding_now(step: Step, form) -> dict[str, object]:
    """The sex and age answered on this very page, so a question that depends on them (pregnancy)
    is judged on them; an answer that cannot be read decides nothing."""
    deciding = {}
    for question_id in ("sex", "age"):
        if question_id in step.question_ids:
            try:
                value = read_answer(QUESTIONS[question_id], form)
            except AnswerError:
                continue
            if value is not None:
                deciding[question_id] = value
    return deciding


def read_step(step: Step, answers: Mapping[str, object], form) -> StepAnswers:
    """Parse and check the step's visible questions from `form`, given the `answers` so far."""
    result = StepAnswers()
    for question in visible_questions(step, {**answers, **_deciding_now(step, form)}):
        try:
            # read_answer, not parse_answer on one field: height in feet and inches is two boxes.
            result.given[question.id] = read_answer(question, form)
        except AnswerError as error:
            result.errors[question.id] = str(error)
        if question.required and result.given.get(question.id) is None and question.id not in result.errors:
            result.errors[question.id] = "Please answer this question."
    result.dropped = [qid for qid in step.question_ids if not QUESTIONS[qid].applies(result.given)]
    return result
