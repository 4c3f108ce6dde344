"""Messages telling a patient what a doctor decided, queued in the transaction of the decision:
booking is open again after an emergency, the kind of visit was changed, a signed letter is ready.

The triage and letters services announce these with signals (triage.service.emergency_dealt_with
and route_changed, letters.service.letter_signed), so they never import the outbox and every page
or command that records a decision sends its message. A patient with no email (registered by the
desk without one) is simply not written to; answers not linked to a patient have nobody to tell.
A letter's email says only that a letter is ready and where to read it after logging in: the
letter itself, and anything clinical, stays behind the login.
"""
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, render_template

from portal import clinic, dates
from portal.auth.models import User
from portal.letters.models import Letter
from portal.letters.service import letter_signed
from portal.notify.models import MessageKind, OutboxMessage
from portal.notify.outbox import queue_message
from portal.triage.models import TriageReview, TriageSubmission
from portal.triage.service import emergency_dealt_with, route_changed
from portal.triage.vocabulary import ROUTE_EXPLAINED, Route, Urgency

SUBJECTS = {
    MessageKind.BOOKING_REOPENED: "You can book with {clinic} again",
    MessageKind.ROUTE_CHANGED: "A doctor has changed the visit we suggest for you",
    MessageKind.LETTER_READY: "A letter from your doctor at {clinic} is ready",
}


@dataclass(frozen=True)
class Content:
    subject: str
    text: str
    html: str


def care_message(kind: MessageKind, patient: User, **details) -> Content:
    """Subject, text and HTML (templates/notify/care.*) of one message to `patient`."""
    config = current_app.config
    public = config["PUBLIC_URL"]
    context = {"kind": kind, "patient": patient, "book_url": f"{public}/book/",
               "appointments_url": f"{public}/appointments/", "emergency_number": config["EMERGENCY_NUMBER"],
               "clinic": {"name": config["CLINIC_NAME"], "phone": config["CLINIC_PHONE"],
                          "address": config["CLINIC_ADDRESS"]}, **details}
    subject = SUBJECTS[kind].format(clinic=config["CLINIC_NAME"])
    if kind == MessageKind.LETTER_READY and details.get("corrected"):
        subject = f"A corrected letter from your doctor at {config['CLINIC_NAME']} is ready"
    return Content(subject=subject, text=render_template("notify/care.txt", **context),
                   html=render_template("notify/care.html", **context))


def _reachable(patient: User | None) -> bool:
    """A patient we can write to: one linked to the answers, with an email address."""
    return patient is not None and bool(patient.email)


def _queue(kind: MessageKind, patient: User, content: Content, now: datetime) -> OutboxMessage:
    return queue_message(kind=kind, to=patient.email, subject=content.subject, text=content.text,
                         html=content.html, due_at=now, patient_id=patient.id)


def _visit(route: str | None) -> str | None:
    return ROUTE_EXPLAINED[Route(route)][0] if route else None


def _on_emergency_dealt_with(submission: TriageSubmission, *, review: TriageReview, now: datetime,
                             **extra) -> None:
    if not _reachable(submission.patient):
        return
    answered = dates.moment_in_style(submission.created_at, "date", clinic.zone(), clinic.today())
    content = care_message(MessageKind.BOOKING_REOPENED, submission.patient, answered=answered,
                           visit=_visit(review.new_route))
    _queue(MessageKind.BOOKING_REOPENED, submission.patient, content, now)


def _on_route_changed(submission: TriageSubmission, *, review: TriageReview, now: datetime, **extra) -> None:
    if not _reachable(submission.patient):
        return
    content = care_message(MessageKind.ROUTE_CHANGED, submission.patient, old_visit=_visit(review.old_route),
                           visit=_visit(review.new_route),
                           visit_explained=ROUTE_EXPLAINED[Route(review.new_route)][1],
                           urgent=submission.urgency == Urgency.URGENT)
    _queue(MessageKind.ROUTE_CHANGED, submission.patient, content, now)


def _on_letter_signed(letter: Letter, *, now: datetime, **extra) -> None:
    if not _reachable(letter.patient):
        return
    content = care_message(MessageKind.LETTER_READY, letter.patient, corrected=letter.version > 1,
                           letter_url=f"{current_app.config['PUBLIC_URL']}/letters/{letter.id}.pdf")
    _queue(MessageKind.LETTER_READY, letter.patient, content, now)


def listen_to_doctors() -> None:
    """Queue the messages about doctors' decisions (connecting twice is harmless)."""
    emergency_dealt_with.connect(_on_emergency_dealt_with)
    route_changed.connect(_on_route_changed)
    letter_signed.connect(_on_letter_signed)
