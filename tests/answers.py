"""Shared by the pure modules' tests: any answer set the questionnaire accepts (hypothesis
strategies). That the pure modules import no Flask and no database is tests/unit/test_layout.py's."""
from hypothesis import strategies as st

from portal.triage.questions import QUESTIONS

REQUIRED_IDS = [question.id for question in QUESTIONS.values() if question.required]
OPTIONAL_IDS = [question.id for question in QUESTIONS.values() if not question.required]


def valid_value(question_id: str) -> st.SearchStrategy:
    """Any answer the questionnaire accepts for this question (rlsvein-1's answer table)."""
    question = QUESTIONS[question_id]
    values = [choice.value for choice in question.choices]
    if question.kind == "list":
        return st.lists(st.sampled_from(values), unique=True)
    if question.kind == "int":
        return st.integers(int(question.minimum), int(question.maximum))
    if question.kind == "number":
        return st.one_of(st.integers(int(question.minimum), int(question.maximum)),
                         st.floats(question.minimum, question.maximum, allow_nan=False))
    return st.sampled_from(values)


# Every question answered; and every required one with any of the optional ones.
complete_answers = st.fixed_dictionaries({question_id: valid_value(question_id) for question_id in QUESTIONS})
valid_answers = st.fixed_dictionaries({question_id: valid_value(question_id) for question_id in REQUIRED_IDS},
                                      optional={question_id: valid_value(question_id) for question_id in OPTIONAL_IDS})
