"""Every field a person fills in has a label a screen reader reads, and an error is tied to its
field (WCAG 2.1 1.3.1, 3.3.1, 4.1.2; axe-core's critical `label` rule): the triage's number
questions (age, how much restless legs get in the way, height, weight, neck, sleepiness score,
ferritin) included, which had only the question above them in a fieldset's legend."""
from html.parser import HTMLParser

import pytest

from portal.auth.models import Role
from portal.triage.questions import QUESTIONS, STEPS, US_BOXES
from tests import factories
from tests.client import logged_in, submit
from tests.pages import location, text

NUMBER_QUESTIONS = [q.id for q in QUESTIONS.values() if q.kind in ("int", "number")]
# Enough to walk every step: every yes/no question answered "no", every other choice its first, an
# age; the other numbers and the lists may stay empty.
WALK = {q.id: "no" if q.kind in ("yes_no", "yes_no_unsure") else q.choices[0].value
        for q in QUESTIONS.values() if q.kind in ("yes_no", "yes_no_unsure", "one_of")} | {"age": "52"}


class _Fields(HTMLParser):
    """The fields of a page's main content, and what names each one."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.fields: list[dict] = []
        self.label_for: set[str] = set()
        self.ids: dict[str, str] = {}  # element id -> the text inside it (for aria-describedby)
        self._open_labels = 0
        self._texts: list[list] = []
        self.label_texts: list[str] = []  # what each label says, in page order

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if "id" in attributes:
            self._texts.append([attributes["id"], tag, ""])
        if tag == "label":
            self._open_labels += 1
            self.label_texts.append("")
            if attributes.get("for"):
                self.label_for.add(attributes["for"])
        if tag in ("input", "select", "textarea") and attributes.get("type") not in ("hidden", "submit", "button"):
            self.fields.append({**attributes, "tag": tag, "wrapped": self._open_labels > 0})

    def handle_endtag(self, tag):
        if tag == "label":
            self._open_labels -= 1
        if self._texts and self._texts[-1][1] == tag:
            element_id, _, inside = self._texts.pop()
            self.ids[element_id] = inside.strip()

    def handle_data(self, data):
        if self._open_labels:
            self.label_texts[-1] += data
        for open_element in self._texts:
            open_element[2] += data


def fields_of(response) -> _Fields:
    reader = _Fields()
    reader.feed(text(response))
    return reader


def unlabelled(response) -> list[str]:
    """Fields with neither a <label for> nor a label around them nor an aria-label(ledby)."""
    page = fields_of(response)
    return [f.get("name", "?") for f in page.fields
            if not (f.get("id") in page.label_for or f["wrapped"] or f.get("aria-label") or f.get("aria-labelledby"))]


def walk_the_questionnaire(client, until: str | None = None) -> dict[str, object]:
    """Every step's page, as a person meets it (up to the step `until`, not answered)."""
    pages, step_id = {}, STEPS[0].id
    while True:
        pages[step_id] = client.get(f"/triage/step/{step_id}")
        if step_id == until:
            return pages
        response = submit(client, f"/triage/step/{step_id}", {
            **{qid: value for qid, value in WALK.items() if QUESTIONS[qid].step == step_id}, "action": "next"})
        target = location(response)
        if not target.startswith("/triage/step/"):
            return pages
        step_id = target.rsplit("/", 1)[1]


def test_every_question_of_the_questionnaire_is_labelled(client):
    pages = walk_the_questionnaire(client)
    assert list(pages) == [step.id for step in STEPS]
    for step_id, page in pages.items():
        assert unlabelled(page) == [], step_id
    boxes = {f["id"]: page for page in pages.values() for f in fields_of(page).fields if f.get("type") == "text"}
    # Height, weight and neck are asked in feet and inches, pounds and inches at first.
    first_box = {qid: US_BOXES[qid][0][0] if qid in US_BOXES else qid for qid in NUMBER_QUESTIONS}
    assert sorted(boxes) == sorted({*first_box.values(), "height_in"})
    for question_id, box_id in first_box.items():  # the label is the question itself
        assert (f'<label class="question-label" id="{question_id}-label" for="{box_id}">{QUESTIONS[question_id].text}'
                in text(boxes[box_id]))
    [inches] = [f for f in fields_of(boxes["height_in"]).fields if f.get("id") == "height_in"]
    assert inches["aria-labelledby"] == "height_cm-label height_in-unit"  # "How tall are you? inches"


@pytest.mark.parametrize("question_id", NUMBER_QUESTIONS)
def test_a_wrong_number_is_tied_to_its_box(client, question_id):
    step_id = QUESTIONS[question_id].step
    walk_the_questionnaire(client, until=step_id)
    response = submit(client, f"/triage/step/{step_id}", {
        **{qid: value for qid, value in WALK.items() if QUESTIONS[qid].step == step_id},
        question_id: "lots", "action": "next"})
    assert response.status_code == 400
    page = fields_of(response)
    [box] = [f for f in page.fields if f.get("id") == question_id]
    described = box["aria-describedby"].split()
    assert box.get("aria-invalid") == "true"
    assert described[0] == f"{question_id}-error" and page.ids[described[0]]  # the error is read first
    assert all(element_id in page.ids for element_id in described)  # and every id it names is on the page
    assert f'href="#{question_id}"' in text(response)  # the summary at the top leads to the box


def test_an_unanswered_choice_is_tied_to_its_question(client):
    response = submit(client, "/triage/step/safety", {"pe_symptoms": "no", "action": "next"})
    assert response.status_code == 400
    markup = text(response)
    assert 'id="q-bleeding_vein"\n                    aria-describedby="bleeding_vein-error' in markup
    assert 'id="bleeding_vein-error">Please answer this question.' in markup
    assert 'href="#q-bleeding_vein"' in markup


@pytest.mark.parametrize("role, pages", [
    ("anonymous", ["/auth/login", "/auth/register", "/auth/password/forgot", "/triage/"]),
    (Role.PATIENT, ["/appointments/", "/auth/security"]),
    (Role.DESK, ["/desk/", "/desk/week", "/desk/patients/", "/desk/patients/new", "/desk/schedules/{clinician}",
                 "/desk/patients/{patient}/book"]),
    (Role.DOCTOR, ["/queue/", "/queue/{case}"]),
    (Role.ADMIN, ["/desk/audit/", "/accounts/"]),
])
def test_every_field_of_the_other_pages_is_labelled(app, client, role, pages):
    factories.make_type()
    patient = factories.make_user()
    factories.make_clinician()  # two, so the pages offer a choice of clinician
    ids = {"clinician": factories.make_clinician().id, "patient": patient.id,
           "case": factories.make_submission(patient).id}
    browser = client if role == "anonymous" else logged_in(app, role)[1]
    for page in pages:
        response = browser.get(page.format(**ids))
        assert response.status_code == 200, page
        assert unlabelled(response) == [], page
        # Two fields named alike ("Clinician" twice) leave a screen reader's user guessing which is which.
        said = [" ".join(label.split()) for label in fields_of(response).label_texts]
        assert sorted({label for label in said if said.count(label) > 1}) == [], page
