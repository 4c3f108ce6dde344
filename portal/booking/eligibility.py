"""May this person book this patient this visit at this time, given the patient's triage?

The clinic's triage safety rules (rlsvein-1, what each urgency does in the portal;
the booking rule of triage safety) as one pure function, and nothing else decides them:

- an emergency that no doctor has recorded as dealt with closes all booking for the patient,
  for every actor, whatever the patient answered since;
- an urgent case is booked within URGENT_WINDOW; later only by staff with a stated reason;
- a visit type other than the triaged route only by staff with a stated reason;
- one upcoming visit of each type: a patient moves it instead of booking another; staff may add
  a second with a stated reason;
- staff book a patient with no triage at all only with a stated reason (a doctor's follow-up,
  say), or after answering the questions with the caller on the phone; online, the patient's
  pages ask the questions before they offer any time.

Plain values in, a Decision out: no Flask, no database, no clock. The booking service loads
the TriageState inside its write transaction, after its locks, and applies the Decision.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from portal.triage.vocabulary import ROUTE_LABELS, Urgency

__all__ = ["OVERRIDE_LABELS", "URGENT_WINDOW", "Actor", "BookingRequest", "Decision", "Override", "TriageState",
           "Verdict", "decide", "latest_start", "seen_within_urgent_window"]

# rlsvein-1: an urgent case (a possible clot, drowsy driving) is seen within 24 hours (NICE NG158's
# path of a scan within 24 hours with interim anticoagulation started by a doctor).
URGENT_WINDOW = timedelta(hours=24)


class Actor(StrEnum):
    """Who makes the booking: the patient online, or clinic staff on the patient's behalf."""

    PATIENT = "patient"
    STAFF = "staff"


class Override(StrEnum):
    """A triage rule that staff may set aside for one appointment, with a stated reason."""

    URGENT_WINDOW = "urgent_window"
    ROUTE = "route"
    SECOND_VISIT = "second_visit"
    NO_TRIAGE = "no_triage"


# How pages, calendars and the audit log name each override.
OVERRIDE_LABELS = {Override.URGENT_WINDOW: "later than 24 hours for an urgent case",
                   Override.ROUTE: "a different visit from the triage's route",
                   Override.SECOND_VISIT: "a second upcoming visit of this type",
                   Override.NO_TRIAGE: "booked without a triage"}


class Verdict(StrEnum):
    ALLOWED = "allowed"
    NEEDS_REASON = "needs_reason"
    REFUSED = "refused"

    @property
    def rank(self) -> int:
        """How restrictive: allowed < needs a reason < refused."""
        return _VERDICT_RANK[self.value]


_VERDICT_RANK = {"allowed": 0, "needs_reason": 1, "refused": 2}


@dataclass(frozen=True)
class TriageState:
    """What the booking rules need to know of a patient's triage.

    `route` and `urgency` are those of the latest submission (the route after any doctor's
    change); `route` is None while it is provisional (the questions stopped at the safety step).
    `open_emergency_id` is a submission with an emergency that no doctor has recorded as dealt
    with, whichever submission is the latest."""

    submission_id: int | None = None
    route: str | None = None
    urgency: Urgency | None = None
    open_emergency_id: int | None = None

    @property
    def urgent(self) -> bool:
        return self.urgency == Urgency.URGENT

    @property
    def triaged(self) -> bool:
        """Whether the patient has answered the questions at all (online or on the phone)."""
        return self.submission_id is not None


NO_TRIAGE = TriageState()


@dataclass(frozen=True)
class BookingRequest:
    """One booking or move: who, which kind of visit (by its route), when, and what else stands.

    For a move, `standing_overrides` are the overrides already stated with a reason on the
    appointment moved. `has_other_upcoming_of_type` tells whether the patient has another
    upcoming active visit of this type, the one being moved left out."""

    actor: Actor
    route: str
    start: datetime
    now: datetime
    has_other_upcoming_of_type: bool = False
    standing_overrides: frozenset[Override] = frozenset()


@dataclass(frozen=True)
class Decision:
    """The answer: allowed, allowed with a stated reason for `overrides`, or refused with
    `message` (written for the actor: the patient, or staff speaking of the patient)."""

    verdict: Verdict
    message: str = ""
    overrides: tuple[Override, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.verdict == Verdict.ALLOWED


def _refused(message: str) -> Decision:
    return Decision(Verdict.REFUSED, message)


def _route_words(route: str | None) -> str:
    return ROUTE_LABELS.get(route, "another visit").lower() if route else "another visit"


def decide(state: TriageState, request: BookingRequest, *, clinic_phone: str = "the clinic",
           emergency_number: str = "911") -> Decision:
    """Apply the clinic's triage safety rules to one booking request (`emergency_number` is the
    number a patient is told to call, EMERGENCY_NUMBER)."""
    if state.open_emergency_id is not None:
        if request.actor == Actor.PATIENT:
            return _refused(
                "Your answers said you may need emergency care, so online booking is closed until a doctor "
                "at the clinic has reviewed them. If you have not yet had emergency care, call "
                f"{emergency_number} now. For anything else, please call us at {clinic_phone}.")
        return _refused(
            f"This patient has an emergency triage (case {state.open_emergency_id}) that no doctor has yet "
            "recorded as dealt with. Nothing can be booked or moved until a doctor does so in the queue.")
    if request.actor == Actor.PATIENT:
        return _decide_for_patient(state, request, clinic_phone)
    return _decide_for_staff(state, request)


def _needed_overrides(state: TriageState, request: BookingRequest) -> tuple[Override, ...]:
    """The triage rules this booking would set aside, in a fixed order."""
    needed = []
    if not state.triaged and request.actor == Actor.STAFF:
        needed.append(Override.NO_TRIAGE)
    if state.urgent and request.start > request.now + URGENT_WINDOW:
        needed.append(Override.URGENT_WINDOW)
    if state.route is not None and request.route != state.route:
        needed.append(Override.ROUTE)
    if request.has_other_upcoming_of_type:
        needed.append(Override.SECOND_VISIT)
    return tuple(needed)


def _decide_for_patient(state: TriageState, request: BookingRequest, clinic_phone: str) -> Decision:
    """Online, a patient books only what the triage says, one upcoming visit of a type; a visit
    staff booked with a reason may be moved, but an urgent case never past 24 hours."""
    if state.triaged and state.route is None:
        return _refused(f"A doctor will set the kind of visit you need. Please call us at {clinic_phone}.")
    # With no answers at all, the patient's pages ask the questions before they offer a time
    # (booking/views.py, QUESTIONS_FIRST); the service books what they confirm.
    needed = _needed_overrides(state, request)
    if Override.URGENT_WINDOW in needed:
        return _refused("You need to be seen within 24 hours. Please pick a time in the next 24 hours, "
                        f"or call us at {clinic_phone}.")
    missing = [o for o in needed if o not in request.standing_overrides]
    if Override.ROUTE in missing:
        return _refused(f"That kind of visit does not match your answers, which point to a "
                        f"{_route_words(state.route)}. Please call us at {clinic_phone} if you need it.")
    if Override.SECOND_VISIT in missing:
        return _refused("You already have an upcoming visit of this kind. Please move that one instead "
                        "of booking another (under My appointments).")
    return Decision(Verdict.ALLOWED, overrides=needed)


def _decide_for_staff(state: TriageState, request: BookingRequest) -> Decision:
    needed = _needed_overrides(state, request)
    missing = [o for o in needed if o not in request.standing_overrides]
    if not missing:
        return Decision(Verdict.ALLOWED, overrides=needed)
    return Decision(Verdict.NEEDS_REASON, "A reason is needed to book " + "; ".join(
        _staff_words(o, state) for o in missing) + ".", needed)


def _staff_words(override: Override, state: TriageState) -> str:
    if override == Override.NO_TRIAGE:
        return ("a patient who has not answered the triage questions (answer them with the caller on the "
                "phone from the patient's record, or give the reason, for example: doctor's follow-up)")
    if override == Override.URGENT_WINDOW:
        return "this urgent case later than 24 hours from now (for example: the patient cannot come sooner)"
    if override == Override.ROUTE:
        return f"a visit other than the triage's route ({_route_words(state.route)})"
    return "a second upcoming visit of this type"


def latest_start(state: TriageState, *, now: datetime, horizon: timedelta) -> datetime:
    """The last start offered without a reason: URGENT_WINDOW for an urgent case, else the
    horizon. Staff may still book later with a reason; `decide` says when one is needed."""
    return now + (URGENT_WINDOW if state.urgent else horizon)


def seen_within_urgent_window(answered_at: datetime, visit_start: datetime, visit_end: datetime) -> bool:
    """Whether a visit falls in the urgent window that opened when the patient answered: it has
    not ended before the answers and starts no later than URGENT_WINDOW after them."""
    return visit_end > answered_at and visit_start <= answered_at + URGENT_WINDOW
