"""Unit tests for portal.letters.fhir: a letter as the FHIR ServiceRequest a receiving service reads.

Every request is checked by fhir.resources' R4B models (R4B keeps R4's ServiceRequest, Patient,
Practitioner and Observation) and then read back the way the receiver would: the patient, the
doctor, the reasons and the measured values from the validated model, not from our dict.
fhir.resources checks structure, types and formats but not required code bindings (it accepts
status "signed"), so the few required codes are checked here against R4's value sets.
No Flask, no database.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.servicerequest import ServiceRequest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from portal.letters.content import (
    Clinic,
    LetterContent,
    LetterKind,
    Patient,
    Priority,
    Section,
    Signature,
)
from portal.letters.fhir import CATEGORIES, service_request

BASE_URL = "https://portal.example-clinic.test"
SIGNED_AT = datetime(2026, 3, 4, 14, 30, tzinfo=UTC)

# R4's required bindings (hl7.org/fhir/R4: request-status, request-intent, request-priority,
# administrative-gender, observation-status).
REQUEST_STATUSES = {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
REQUEST_INTENTS = {"proposal", "plan", "directive", "order", "original-order", "reflex-order", "filler-order",
                   "instance-order", "option"}
REQUEST_PRIORITIES = {"routine", "urgent", "asap", "stat"}
GENDERS = {"male", "female", "other", "unknown"}
OBSERVATION_STATUSES = {"registered", "preliminary", "final", "amended", "corrected", "cancelled",
                        "entered-in-error", "unknown"}

CLINIC = Clinic("Riverside Vein Clinic", "12 Mill Lane, Springfield", "+1 555 0100")
MARIA = Patient(name="Maria Lopez", date_of_birth=date(1968, 5, 17), sex="female",
                email="maria@example.test", phone="+1 555 0123")
NOBODY_KNOWN = Patient(name="Alex Kim", date_of_birth=None, sex=None, email=None, phone=None)


def letter(kind: LetterKind = LetterKind.SLEEP_STUDY_REFERRAL, *, patient: Patient = MARIA,
           priority: Priority = Priority.ROUTINE, sections: tuple[Section, ...] | None = None,
           history: str = "Restless legs for 3 years, worse in the evening.",
           question: str = "Please assess for obstructive sleep apnoea.",
           extra: dict | None = None, signed: bool = True) -> LetterContent:
    """A letter that says only what a test changes; the rest is a plausible sleep referral."""
    if sections is None:
        sections = (Section("What the patient reported", ("Loud snoring", "Tired during the day")),
                    Section("Reason for referral", ("STOP-Bang score 6 (high risk)", "Epworth score 14")))
    content = LetterContent(
        kind=kind, clinic=CLINIC, recipient="Sleep medicine service", patient=patient, priority=priority,
        sections=sections, history=history, question=question, rules_version="rlsvein-1",
        reasons=("S1", "S3"), letter_date=date(2026, 3, 4), reference="L12-v2", author="Dr. Samuel Okafor",
        extra=dict(extra or {}))
    return content.signed(Signature("Dr. Samuel Okafor", SIGNED_AT)) if signed else content


def request_for(content: LetterContent) -> tuple[dict, ServiceRequest]:
    data = service_request(content, letter_id=12, version=2, patient_id=345, base_url=BASE_URL)
    return data, ServiceRequest.model_validate(data)


def contained(request: ServiceRequest, resource_id: str):
    """The contained resource a '#id' reference points to, as its validated model."""
    matches = [resource for resource in request.contained or [] if resource.id == resource_id]
    assert len(matches) == 1, f"expected one contained resource #{resource_id}"
    return matches[0]


def observations(request: ServiceRequest) -> dict[str, Observation]:
    found = {}
    for info in request.supportingInfo or []:
        assert info.reference.startswith("#")
        observation = contained(request, info.reference[1:])
        assert isinstance(observation, Observation)
        found[observation.id] = observation
    return found


def notes(request: ServiceRequest) -> list[str]:
    return [note.text for note in request.note or []]


def test_signed_sleep_referral_is_an_active_order_with_the_signing_time() -> None:
    _, request = request_for(letter(priority=Priority.URGENT))
    assert request.id == "letter-12-v2"
    assert (request.status, request.intent, request.priority) == ("active", "order", "urgent")
    assert request.authoredOn == SIGNED_AT
    assert [(i.system, i.value) for i in request.identifier] == [(f"{BASE_URL}/letters", "L12-v2")]
    assert request.code.text == "Referral for a sleep study"
    assert request.performerType.text == "Sleep medicine service"
    assert request.category[0].coding[0].code == "3457005"  # SNOMED CT: Patient referral


def test_the_patient_travels_inside_the_request() -> None:
    _, request = request_for(letter())
    assert request.subject.reference == "#patient"
    patient = contained(request, "patient")
    assert isinstance(patient, FhirPatient)
    assert patient.name[0].text == "Maria Lopez"
    assert patient.birthDate == date(1968, 5, 17)
    assert patient.gender == "female"
    assert [(i.system, i.value) for i in patient.identifier] == [(f"{BASE_URL}/patients", "345")]
    assert {(t.system, t.value) for t in patient.telecom} == {("phone", "+1 555 0123"),
                                                              ("email", "maria@example.test")}


def test_a_patient_with_unknown_birth_date_and_sex_has_neither_field() -> None:
    data, request = request_for(letter(patient=NOBODY_KNOWN))
    patient = contained(request, "patient")
    assert patient.name[0].text == "Alex Kim"
    assert patient.birthDate is None and patient.gender is None and patient.telecom is None
    assert set(data["contained"][0]) == {"resourceType", "id", "identifier", "name"}


def test_the_requester_is_the_doctor_who_signed() -> None:
    _, request = request_for(letter())
    assert request.requester.reference == "#requester"
    doctor = contained(request, "requester")
    assert isinstance(doctor, Practitioner)
    assert doctor.name[0].text == "Dr. Samuel Okafor"


def test_reasons_are_the_lines_of_the_reason_section() -> None:
    _, request = request_for(letter())
    assert [reason.text for reason in request.reasonCode] == ["STOP-Bang score 6 (high risk)", "Epworth score 14"]


def test_scores_and_lab_values_arrive_as_observations_with_units() -> None:
    _, request = request_for(letter(extra={"stop_bang": 6, "epworth": 14, "ferritin": 45, "bmi": 31.2}))
    found = observations(request)
    assert [info.display for info in request.supportingInfo] == [
        "STOP-Bang score", "Epworth Sleepiness Scale total score", "Ferritin", "Body mass index"]
    assert set(found) == {"stop-bang", "epworth", "ferritin", "bmi"}
    assert all(o.status == "final" and o.subject.reference == "#patient" for o in found.values())
    assert found["stop-bang"].valueInteger == 6 and "STOP-Bang" in found["stop-bang"].code.text
    assert found["epworth"].valueInteger == 14 and "Epworth" in found["epworth"].code.text
    ferritin, bmi = found["ferritin"].valueQuantity, found["bmi"].valueQuantity
    assert (float(ferritin.value), ferritin.unit, ferritin.code, ferritin.system) == (
        45.0, "ng/mL", "ng/mL", "http://unitsofmeasure.org")
    assert (float(bmi.value), bmi.unit, bmi.code, bmi.system) == (31.2, "kg/m2", "kg/m2", "http://unitsofmeasure.org")
    assert found["bmi"].code.coding[0].code == "39156-5"  # LOINC BMI [Ratio]
    assert found["ferritin"].code.coding[0].code == "2276-4"  # LOINC ferritin, serum or plasma


def test_only_the_values_present_become_observations() -> None:
    _, request = request_for(letter(extra={"ferritin": 18, "epworth": None, "bmi": "unknown", "stop_bang": True}))
    assert set(observations(request)) == {"ferritin"}


@pytest.mark.parametrize("extra", [{"stop_bang": 9}, {"epworth": 25}, {"epworth": 7.5}, {"stop_bang": -1},
                                   {"bmi": -31.2}, {"ferritin": float("nan")}],
                         ids=["STOP-Bang above 8", "Epworth above 24", "Epworth not whole", "negative score",
                              "negative BMI", "ferritin not a number"])
def test_a_value_that_is_not_a_reading_of_its_measure_is_left_out(extra: dict) -> None:
    data, request = request_for(letter(extra=extra))
    assert observations(request) == {} and "supportingInfo" not in data


def test_notes_carry_history_question_and_every_other_section() -> None:
    _, request = request_for(letter())
    assert notes(request) == [
        "History: Restless legs for 3 years, worse in the evening.",
        "Question: Please assess for obstructive sleep apnoea.",
        "What the patient reported: Loud snoring; Tired during the day",
        "From Riverside Vein Clinic, 12 Mill Lane, Springfield, phone +1 555 0100",
        "Triage rules rlsvein-1 (rules that applied: S1, S3)",
    ]
    assert [(t.system, t.code) for t in request.meta.tag] == [(f"{BASE_URL}/triage-rules", "rlsvein-1")]


def test_unsigned_ultrasound_request_is_a_draft_without_extras() -> None:
    sections = (Section("Findings", ("Swollen left calf",)),
                Section("Reason for request", ("Suspected venous reflux",)))
    data, request = request_for(letter(LetterKind.VASCULAR_ULTRASOUND, sections=sections, history=" ",
                                       question="", signed=False))
    assert (request.status, request.priority) == ("draft", "routine")
    assert request.authoredOn is None and "authoredOn" not in data
    assert request.code.text == "Request for a venous duplex ultrasound"
    assert request.category[0].coding[0].code == "363679005"  # SNOMED CT: Imaging
    assert contained(request, "requester").name[0].text == "Dr. Samuel Okafor"  # the author
    assert [reason.text for reason in request.reasonCode] == ["Suspected venous reflux"]
    assert request.supportingInfo is None and "supportingInfo" not in data
    assert [resource.id for resource in request.contained] == ["patient", "requester"]
    assert not any(text.startswith(("History", "Question")) for text in notes(request))
    assert "Findings: Swollen left calf" in notes(request)


def test_a_letter_without_a_reason_section_has_no_reasons() -> None:
    _, request = request_for(letter(sections=(Section("Findings", ("Swollen left calf",)),)))
    assert request.reasonCode is None


def test_every_letter_kind_has_a_category() -> None:
    assert set(CATEGORIES) == set(LetterKind)


def test_the_request_is_plain_json_that_reads_back_the_same() -> None:
    data, _ = request_for(letter(extra={"stop_bang": 6, "epworth": 14, "ferritin": 45, "bmi": 31.2}))
    assert json.loads(json.dumps(data)) == data
    assert ServiceRequest.model_validate_json(json.dumps(data)).model_dump(mode="json") == \
        ServiceRequest.model_validate(data).model_dump(mode="json")


def test_changing_one_request_leaves_the_next_alone() -> None:
    first, _ = request_for(letter(extra={"bmi": 31.2}))
    first["category"][0]["coding"][0]["code"] = "changed"
    first["contained"][2]["code"]["coding"][0]["code"] = "changed"
    second, _ = request_for(letter(extra={"bmi": 31.2}))
    assert second["category"][0]["coding"][0]["code"] == "3457005"
    assert second["contained"][2]["code"]["coding"][0]["code"] == "39156-5"


def test_a_stored_letter_gives_the_same_request() -> None:
    content = letter(extra={"bmi": 31.2})
    again = LetterContent.from_dict(json.loads(json.dumps(content.to_dict())))
    assert request_for(again)[0] == request_for(content)[0]


def test_signing_time_keeps_its_offset() -> None:
    content = letter().signed(Signature("Dr. Samuel Okafor", SIGNED_AT.astimezone(timezone(timedelta(hours=-5)))))
    data, request = request_for(content)
    assert data["authoredOn"] == "2026-03-04T09:30:00-05:00"
    assert request.authoredOn == SIGNED_AT


def test_a_naive_signing_time_is_refused() -> None:
    content = letter().signed(Signature("Dr. Samuel Okafor", SIGNED_AT.replace(tzinfo=None)))
    with pytest.raises(ValueError, match="timezone-aware"):
        request_for(content)


# The validator is real: each of these breaks one FHIR rule and is refused.
@pytest.mark.parametrize("break_it", [
    pytest.param(lambda d: d.pop("status"), id="status missing"),
    pytest.param(lambda d: d.update(authoredOn="2026-03-04T14:30:00"), id="time without offset"),
    pytest.param(lambda d: d.update(id="letter 12_v2"), id="id with a space"),
    pytest.param(lambda d: d["contained"][0].update(birthDate="17/05/1968"), id="birth date not ISO"),
    pytest.param(lambda d: d["contained"][2].update(valueInteger="six"), id="score not a number"),
    pytest.param(lambda d: d.update(reasonText="snoring"), id="unknown field"),
])
def test_the_validator_refuses_a_broken_request(break_it: Callable[[dict], object]) -> None:
    data, _ = request_for(letter(extra={"stop_bang": 6}))
    break_it(data)
    with pytest.raises(ValidationError):
        ServiceRequest.model_validate(data)


def assert_required_codes(request: ServiceRequest) -> None:
    assert request.status in REQUEST_STATUSES
    assert request.intent in REQUEST_INTENTS
    assert request.priority in REQUEST_PRIORITIES
    patient = contained(request, "patient")
    assert patient.gender is None or patient.gender in GENDERS
    assert all(o.status in OBSERVATION_STATUSES for o in observations(request).values())


text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)
measure = st.one_of(st.none(), st.booleans(), st.integers(-5, 300), text,
                    st.floats(allow_nan=True, allow_infinity=True))


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(LetterKind), priority=st.sampled_from(Priority), signed=st.booleans(),
       sex=st.sampled_from([None, "female", "male", "prefer not to say"]),
       born=st.one_of(st.none(), st.dates(date(1900, 1, 1), date(2026, 1, 1))),
       name=text, recipient=text, doctor=text, phone=st.one_of(st.none(), text), history=text, question=text,
       sections=st.lists(st.tuples(st.sampled_from(["Reason for referral", "Reason for request", "Findings",
                                                    "Medicines"]), st.lists(text, max_size=3)),
                         max_size=3),
       extra=st.dictionaries(st.sampled_from(["stop_bang", "epworth", "ferritin", "bmi", "other"]), measure))
def test_any_letter_gives_a_valid_request(kind, priority, signed, sex, born, name, recipient, doctor, phone,
                                          history, question, sections, extra) -> None:
    """Whatever the letter holds (blank names, odd text, unusable values), the request is valid FHIR."""
    content = replace(
        letter(kind, patient=Patient(name, born, sex, phone, phone), priority=priority, history=history,
               question=question, sections=tuple(Section(heading, tuple(lines)) for heading, lines in sections),
               extra=extra, signed=False),
        recipient=recipient, author=doctor)
    if signed:
        content = content.signed(Signature(doctor, SIGNED_AT))
    data, request = request_for(content)
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert_required_codes(request)
    assert (request.status == "active") == signed
