"""A letter as plain values: what a referral letter or a scan request says, whatever shows it.

The page, the PDF (letters/pdf.py) and the FHIR ServiceRequest (letters/fhir.py) are each made
from one LetterContent, and a signed letter stores its LetterContent as JSON (`to_dict`), so what
was signed is what every later copy shows, whatever changes afterwards in the portal's wording,
the clinic's address or the patient's details. Pure: no Flask, no database.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from portal.dates import dated, signed_moment


class LetterKind(StrEnum):
    """The two documents the specialist routes produce, named as the routes are."""

    SLEEP_STUDY_REFERRAL = "sleep_study_referral"
    VASCULAR_ULTRASOUND = "vascular_ultrasound"


# What each kind is called on pages and at the top of the letter.
KIND_TITLES = {LetterKind.SLEEP_STUDY_REFERRAL: "Referral for a sleep study",
               LetterKind.VASCULAR_ULTRASOUND: "Request for a venous duplex ultrasound"}


class Priority(StrEnum):
    """How soon the receiving service is asked to act: FHIR ServiceRequest.priority's codes."""

    ROUTINE = "routine"
    URGENT = "urgent"
    STAT = "stat"  # an emergency case


PRIORITY_WORDS = {Priority.ROUTINE: "Routine", Priority.URGENT: "Urgent", Priority.STAT: "Emergency"}


@dataclass(frozen=True)
class Clinic:
    name: str
    address: str
    phone: str
    timezone: str = "UTC"  # the clinic's zone (CLINIC_TIMEZONE): the signature's time is written in it


@dataclass(frozen=True)
class Patient:
    name: str
    date_of_birth: date | None
    sex: str | None  # "female" / "male" as answered (sex at birth), None when not asked
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class Section:
    """One headed part of the letter: its lines are separate statements (a list when several)."""

    heading: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Signature:
    name: str  # the doctor's name as shown ("Dr. Samuel Okafor")
    signed_at: datetime  # aware, UTC


@dataclass(frozen=True)
class LetterContent:
    kind: LetterKind
    clinic: Clinic
    recipient: str  # "Sleep medicine service"
    patient: Patient
    priority: Priority
    # What the patient reported and what the rules found, written by letters/compose.py.
    sections: tuple[Section, ...]
    # The doctor's own words: the history, and the question put to the receiving service.
    history: str
    question: str
    rules_version: str
    reasons: tuple[str, ...]  # the rule ids that fired, as stored with the triage
    letter_date: date  # the day it was written (signed), in the clinic's zone
    reference: str  # "L12-v2": the letter's number and version, on every page
    author: str  # the doctor who wrote it
    signature: Signature | None = None  # None while a draft
    extra: dict[str, Any] = field(default_factory=dict)  # values FHIR carries as data (scores, ferritin)

    @property
    def title(self) -> str:
        return KIND_TITLES[self.kind]

    def signed(self, signature: Signature) -> LetterContent:
        return replace(self, signature=signature)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: strings, numbers, lists, dicts and None; dates as ISO 8601."""
        return {
            "kind": self.kind.value,
            "clinic": {"name": self.clinic.name, "address": self.clinic.address, "phone": self.clinic.phone,
                       "timezone": self.clinic.timezone},
            "recipient": self.recipient,
            "patient": {"name": self.patient.name,
                        "date_of_birth": self.patient.date_of_birth.isoformat() if self.patient.date_of_birth else None,
                        "sex": self.patient.sex, "email": self.patient.email, "phone": self.patient.phone},
            "priority": self.priority.value,
            "sections": [{"heading": s.heading, "lines": list(s.lines)} for s in self.sections],
            "history": self.history,
            "question": self.question,
            "rules_version": self.rules_version,
            "reasons": list(self.reasons),
            "letter_date": self.letter_date.isoformat(),
            "reference": self.reference,
            "author": self.author,
            "signature": ({"name": self.signature.name, "signed_at": self.signature.signed_at.isoformat()}
                          if self.signature else None),
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LetterContent:
        patient, clinic, signature = data["patient"], data["clinic"], data.get("signature")
        born = patient.get("date_of_birth")
        return cls(
            kind=LetterKind(data["kind"]),
            clinic=Clinic(clinic["name"], clinic["address"], clinic["phone"], clinic.get("timezone", "UTC")),
            recipient=data["recipient"],
            patient=Patient(name=patient["name"], date_of_birth=date.fromisoformat(born) if born else None,
                            sex=patient.get("sex"), email=patient.get("email"), phone=patient.get("phone")),
            priority=Priority(data["priority"]),
            sections=tuple(Section(s["heading"], tuple(s["lines"])) for s in data["sections"]),
            history=data["history"],
            question=data["question"],
            rules_version=data["rules_version"],
            reasons=tuple(data["reasons"]),
            letter_date=date.fromisoformat(data["letter_date"]),
            reference=data["reference"],
            author=data["author"],
            signature=(Signature(signature["name"], datetime.fromisoformat(signature["signed_at"]))
                       if signature else None),
            extra=dict(data.get("extra") or {}),
        )

    def as_text(self) -> str:
        """The whole letter as plain text: stored beside the JSON when it is signed, so the signed
        words can be read (and searched) without the portal."""
        lines = [self.clinic.name, self.clinic.address, f"Phone {self.clinic.phone}", "",
                 self.title, f"To: {self.recipient}", f"Date: {dated(self.letter_date)}",
                 f"Reference: {self.reference}", f"Priority: {PRIORITY_WORDS[self.priority]}", "",
                 f"Patient: {self.patient.name}"]
        if self.patient.date_of_birth:
            lines.append(f"Date of birth: {dated(self.patient.date_of_birth)}")
        if self.patient.phone:
            lines.append(f"Phone: {self.patient.phone}")
        if self.patient.email:
            lines.append(f"Email: {self.patient.email}")
        for section in self.sections:
            lines += ["", section.heading, *(f"- {line}" for line in section.lines)]
        lines += ["", "History", self.history or "(none given)", "", "Question", self.question or "(none given)", ""]
        if self.signature:
            lines.append(f"Signed electronically by {self.signature.name} on "
                         f"{signed_moment(self.signature.signed_at, ZoneInfo(self.clinic.timezone))}")
        else:
            lines.append(f"DRAFT by {self.author}: not signed")
        lines.append(f"Triage rules {self.rules_version}")
        return "\n".join(lines)
