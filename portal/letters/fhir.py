"""A letter as a FHIR R4 ServiceRequest (JSON), for the receiving service's system.

Made from the same LetterContent as the page and the PDF, so the request says what the letter
says. One self-contained resource: the patient, the requesting doctor and the measured values
(STOP-Bang, Epworth, ferritin, BMI) travel as contained resources, because the receiver has no
access to our server to resolve references. Plain dicts only: fhir.resources validates these in
the tests (tests/unit/test_letter_fhir.py) and is not needed at runtime. Pure: no Flask, no database.

Codes: a coding is added only where the code was checked against a published HL7 source (named
beside it); everything else is carried as CodeableConcept.text, which is valid FHIR.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

from portal.letters.content import LetterContent, LetterKind, Section

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"

# ServiceRequest.category (an example binding, so any code is allowed).
# 363679005 "Imaging" is in the FHIR R4 ServiceRequest category example value set
# (http://hl7.org/fhir/ValueSet/servicerequest-category). 3457005 "Patient referral" is not in
# that set; it is the SNOMED CT concept the FHIR STU3 referral-type value set is built on
# ("is-a 3457005 (Patient referral)") and is in US Core 9's ServiceRequest category value set.
CATEGORIES: dict[LetterKind, dict[str, Any]] = {
    LetterKind.SLEEP_STUDY_REFERRAL: {
        "coding": [{"system": SNOMED, "code": "3457005", "display": "Patient referral"}],
        "text": "Referral"},
    LetterKind.VASCULAR_ULTRASOUND: {
        "coding": [{"system": SNOMED, "code": "363679005", "display": "Imaging"}],
        "text": "Diagnostic procedure: imaging"},
}


# The values of LetterContent.extra that travel as Observations, in this order.
# LOINC 39156-5 is in FHIR's vital-signs BMI value set; 2276-4 is LOINC's serum/plasma ferritin
# mass concentration. No LOINC code was verified for the two questionnaire totals: text only.
@dataclass(frozen=True)
class Measure:
    key: str  # the key in LetterContent.extra
    observation_id: str
    name: str
    coding: dict[str, str] | None = None
    unit: str | None = None  # a UCUM code that also reads well as the unit shown; None for a score
    highest_score: int | None = None  # a questionnaire total runs from 0 to this


MEASURES = (
    Measure("stop_bang", "stop-bang", "STOP-Bang score", highest_score=8),  # 8 yes/no items
    Measure("epworth", "epworth", "Epworth Sleepiness Scale total score", highest_score=24),  # 8 items, 0-3 each
    Measure("ferritin", "ferritin", "Ferritin",
            {"system": LOINC, "code": "2276-4", "display": "Ferritin [Mass/volume] in Serum or Plasma"}, unit="ng/mL"),
    Measure("bmi", "bmi", "Body mass index",
            {"system": LOINC, "code": "39156-5", "display": "Body mass index (BMI) [Ratio]"}, unit="kg/m2"),
)

# FHIR's administrative gender codes for the answers the triage questionnaire records.
GENDERS = {"female": "female", "male": "male"}


def _reason_section(content: LetterContent) -> Section | None:
    """The section that says why the letter is written ("Reason for referral" in a referral,
    "Reason for request" in a scan request), or None when the letter has none."""
    for section in content.sections:
        if section.heading.strip().lower().startswith("reason for"):
            return section
    return None


def service_request(content: LetterContent, *, letter_id: int, version: int, patient_id: int,
                    base_url: str) -> dict[str, Any]:
    """The letter as a FHIR R4 ServiceRequest: a JSON-safe dict (strings, numbers, lists, dicts).

    A signed letter is "active" and carries the signing time as authoredOn; a draft is "draft"
    without authoredOn. `base_url` is the portal's public address, the namespace of the letter's
    and the patient's identifiers.
    """
    base_url = base_url.rstrip("/")
    signature = content.signature
    if signature is not None and signature.signed_at.utcoffset() is None:
        # FHIR dateTime with a time must carry an offset; a naive time would be a guess.
        raise ValueError("the signature time must be timezone-aware")

    observations = _observations(content.extra)
    reasons = _reason_section(content)
    patient_name, requester_name, recipient = (content.patient.name.strip(), _requester_name(content),
                                               content.recipient.strip())
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": f"letter-{letter_id}-v{version}",
        "contained": [_patient(content, patient_id, base_url), _requester(content), *observations],
        "identifier": [{"system": f"{base_url}/letters", "value": content.reference}],
        "status": "active" if signature else "draft",
        "intent": "order",
        "category": [copy.deepcopy(CATEGORIES[content.kind])],  # a caller may change its copy
        "priority": content.priority.value,
        "code": {"text": content.title},
        "subject": {"reference": "#patient", **({"display": patient_name} if patient_name else {})},
        "requester": {"reference": "#requester", **({"display": requester_name} if requester_name else {})},
    }
    # FHIR strings may not be empty, so a blank value is left out rather than sent as "".
    if recipient:
        resource["performerType"] = {"text": recipient}
    # The triage rules version goes in meta.tag (workflow metadata a receiver may ignore safely)
    # and in a note (so a person reading the request sees it). Not an identifier: it does not
    # identify this request; not an extension: that would need a published StructureDefinition.
    if content.rules_version.strip():
        rules = content.rules_version.strip()
        resource["meta"] = {"tag": [{"system": f"{base_url}/triage-rules", "code": rules,
                                     "display": f"Triage rules {rules}"}]}
    if signature:
        resource["authoredOn"] = signature.signed_at.isoformat()
    reason_lines = [line.strip() for line in reasons.lines if line.strip()] if reasons else []
    if reason_lines:
        resource["reasonCode"] = [{"text": line} for line in reason_lines]
    if observations:
        resource["supportingInfo"] = [{"reference": f"#{observation['id']}", "display": observation["code"]["text"]}
                                      for observation in observations]
    resource["note"] = _notes(content, reasons)
    return resource


def _patient(content: LetterContent, patient_id: int, base_url: str) -> dict[str, Any]:
    patient = content.patient
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": "patient",
        "identifier": [{"system": f"{base_url}/patients", "value": str(patient_id)}],
    }
    if patient.name.strip():
        resource["name"] = [{"text": patient.name.strip()}]
    telecom = [{"system": system, "value": value.strip()}
               for system, value in (("phone", patient.phone), ("email", patient.email)) if value and value.strip()]
    if telecom:
        resource["telecom"] = telecom
    if patient.sex in GENDERS:
        resource["gender"] = GENDERS[patient.sex]
    if patient.date_of_birth:
        resource["birthDate"] = patient.date_of_birth.isoformat()
    return resource


def _requester_name(content: LetterContent) -> str:
    """Who asks: the doctor who signed, or while a draft the doctor writing it."""
    return (content.signature.name if content.signature else content.author).strip()


def _requester(content: LetterContent) -> dict[str, Any]:
    name = _requester_name(content)
    return {"resourceType": "Practitioner", "id": "requester", **({"name": [{"text": name}]} if name else {})}


def _value(measure: Measure, value: Any) -> dict[str, Any] | None:
    """The Observation's value[x], or None when `value` is not a reading of this measure (missing,
    text, a boolean, not finite, negative, or a score that is not a whole number on its scale):
    such a value stays out of the data and the letter's own words still say what was found."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    if measure.highest_score is not None:
        if value != int(value) or value > measure.highest_score:
            return None
        return {"valueInteger": int(value)}
    return {"valueQuantity": {"value": value, "unit": measure.unit, "system": UCUM, "code": measure.unit}}


def _observations(extra: dict[str, Any]) -> list[dict[str, Any]]:
    observations = []
    for measure in MEASURES:
        value = _value(measure, extra.get(measure.key))
        if value is None:
            continue
        code: dict[str, Any] = {"coding": [dict(measure.coding)]} if measure.coding else {}
        observations.append({
            "resourceType": "Observation",
            "id": measure.observation_id,
            "status": "final",
            "code": {**code, "text": measure.name},
            "subject": {"reference": "#patient"},
            **value,
        })
    return observations


def _notes(content: LetterContent, reasons: Section | None) -> list[dict[str, str]]:
    """The letter's words the structured fields do not hold, so the receiver reads the whole letter."""
    notes = []
    if content.history.strip():
        notes.append(f"History: {content.history.strip()}")
    if content.question.strip():
        notes.append(f"Question: {content.question.strip()}")
    for section in content.sections:
        lines = [line.strip() for line in section.lines if line.strip()]
        if section is not reasons and lines:
            notes.append(f"{section.heading.strip()}: {'; '.join(lines)}")
    clinic = content.clinic
    notes.append(f"From {clinic.name}, {clinic.address}, phone {clinic.phone}")
    if content.rules_version.strip():
        fired = f" (rules that applied: {', '.join(content.reasons)})" if content.reasons else ""
        notes.append(f"Triage rules {content.rules_version.strip()}{fired}")
    return [{"text": text} for text in notes]
