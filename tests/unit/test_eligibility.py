"""Unit tests for portal.booking.eligibility: may this person book this visit, at this time?

The expected verdicts come from `expected_decision`, a small oracle written from the rules as
stated (the module docstring; rlsvein-1, what each urgency does in the portal;
the booking rule of triage safety), not from `decide`'s internals:

- an emergency no doctor has recorded as dealt with refuses everything, to everyone;
- a patient: a provisional route is refused; an urgent case later than 24 hours is refused even
  when staff had set that aside before; another route, or a second upcoming visit of a type, is
  refused unless it stands already (stated by staff on the visit being moved); a patient with
  no triage books freely (the pages ask the questions before they offer a time);
- staff: every triage rule the booking sets aside needs a stated reason unless one stands.

No Flask, no database: plain values in, a Decision out.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from portal.booking.eligibility import (
    NO_TRIAGE,
    URGENT_WINDOW,
    Actor,
    BookingRequest,
    Override,
    TriageState,
    Verdict,
    decide,
    latest_start,
    seen_within_urgent_window,
)
from portal.triage.questions import EMERGENCY_QUESTION_IDS
from portal.triage.rules import TriageOutcome, evaluate
from portal.triage.vocabulary import Route, Urgency
from tests.answers import valid_answers

UTC = UTC
CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
HORIZON = timedelta(days=60)
CLINIC_PHONE = "(555) 010-4242"

PATIENT, STAFF = Actor.PATIENT, Actor.STAFF
ALLOWED, NEEDS_REASON, REFUSED = Verdict.ALLOWED, Verdict.NEEDS_REASON, Verdict.REFUSED
LATE, ROUTE, SECOND = Override.URGENT_WINDOW, Override.ROUTE, Override.SECOND_VISIT
UNTRIAGED = Override.NO_TRIAGE
ROUTINE, URGENT, EMERGENCY = Urgency.ROUTINE, Urgency.URGENT, Urgency.EMERGENCY
ULTRASOUND, SLEEP_STUDY, CONSULT = Route.VASCULAR_ULTRASOUND, Route.SLEEP_STUDY_REFERRAL, Route.GENERAL_CONSULT
RED_FLAGS = ("pe_symptoms", "bleeding_vein", "cold_pale_leg", "dvt_signs", "svt_signs")


def another_route(route: Route) -> Route:
    """A route that is not `route` (the next one in the list)."""
    routes = list(Route)
    return routes[(routes.index(route) + 1) % len(routes)]


def request(actor: Actor = PATIENT, route: str = CONSULT, *, after: timedelta = timedelta(hours=3),
            moving: bool = False, has_other: bool = False, standing: frozenset[Override] = frozenset()
            ) -> BookingRequest:
    """A booking of `route` starting `after` from NOW. A move differs from a new booking only by
    what stands on the visit moved (`standing`), so `moving` names the case and nothing more."""
    assert moving or not standing, "only a visit being moved carries standing overrides"
    return BookingRequest(actor=actor, route=route, start=NOW + after, now=NOW,
                          has_other_upcoming_of_type=has_other, standing_overrides=standing)


def triaged(route: Route, urgency: Urgency = ROUTINE) -> TriageState:
    """A patient whose latest submission (case 5) routed them, with no emergency open."""
    return TriageState(submission_id=5, route=route, urgency=urgency)


def state_for(outcome: TriageOutcome) -> TriageState:
    """The TriageState a freshly stored outcome gives: an emergency stays open until a doctor acts."""
    return TriageState(submission_id=1, route=outcome.route, urgency=outcome.urgency,
                       open_emergency_id=1 if outcome.urgency is EMERGENCY else None)


# --- The oracle: the rules as written, over a plain description of the case -----------------------


@dataclass(frozen=True)
class TriageCase:
    """A patient's triage as the rules speak of it, with the TriageState the booking service loads."""

    label: str
    state: TriageState
    route: Route | None  # the triage's route; None with no triage or while provisional
    urgent: bool = False
    open_emergency: bool = False
    provisional: bool = False


TRIAGE_CASES = [
    TriageCase("no triage", NO_TRIAGE, None),
    *[TriageCase(f"routine {route}", triaged(route), route) for route in Route],
    *[TriageCase(f"urgent {route}", triaged(route, URGENT), route, urgent=True) for route in Route],
    # An emergency still open closes booking whatever the patient answered since (a later,
    # calmer submission is the latest one here).
    TriageCase("open emergency, latest routine", TriageState(9, CONSULT, ROUTINE, open_emergency_id=7), CONSULT,
               open_emergency=True),
    TriageCase("open emergency, latest urgent", TriageState(9, ULTRASOUND, URGENT, open_emergency_id=7), ULTRASOUND,
               urgent=True, open_emergency=True),
    TriageCase("open emergency, latest emergency", TriageState(7, SLEEP_STUDY, EMERGENCY, open_emergency_id=7),
               SLEEP_STUDY, open_emergency=True),
    # The questions stopped at the safety step, so the route waits for a doctor's review.
    TriageCase("provisional route", TriageState(7, None, EMERGENCY), None, provisional=True),
]

STARTS = {"within 24 hours": timedelta(hours=3),
          "exactly 24 hours": URGENT_WINDOW,
          "beyond 24 hours": URGENT_WINDOW + timedelta(minutes=1)}

# (label, moving, standing overrides): a new booking has none; a moved visit may carry any set.
EVERY_OVERRIDE_SET = [frozenset(chosen) for size in range(len(Override) + 1)
                       for chosen in itertools.combinations(Override, size)]
BOOKINGS = [("new booking", False, frozenset()),
            *[("moving, standing " + ("+".join(sorted(chosen)) or "none"), True, chosen)
              for chosen in EVERY_OVERRIDE_SET]]


def expected_decision(actor: Actor, case: TriageCase, other_route: bool, start: str, has_other: bool,
                      standing: frozenset[Override]) -> tuple[Verdict, tuple[Override, ...]]:
    """The verdict and overrides the stated rules give (overrides in the order no triage, late,
    route, second)."""
    if case.open_emergency:
        return REFUSED, ()
    set_aside = []
    if case.state.submission_id is None and actor is STAFF:
        set_aside.append(UNTRIAGED)
    if case.urgent and start == "beyond 24 hours":
        set_aside.append(LATE)
    if case.route is not None and other_route:
        set_aside.append(ROUTE)
    if has_other:
        set_aside.append(SECOND)
    unstated = [override for override in set_aside if override not in standing]
    if actor is PATIENT:
        if case.provisional or LATE in set_aside or unstated:
            return REFUSED, ()
        return ALLOWED, tuple(set_aside)
    return (NEEDS_REASON if unstated else ALLOWED), tuple(set_aside)


MATRIX = [
    pytest.param(actor, case, other_route, start, has_other, moving, standing,
                 id=f"{actor}-{case.label}-{'other' if other_route else 'same'} route-{start}"
                    f"-{'second visit' if has_other else 'only visit'}-{booking}")
    for actor in Actor
    for case in TRIAGE_CASES
    for other_route in (False, True)
    for start in STARTS
    for has_other in (False, True)
    for booking, moving, standing in BOOKINGS
]


@pytest.mark.parametrize(("actor", "case", "other_route", "start", "has_other", "moving", "standing"), MATRIX)
def test_every_combination_follows_the_rules(actor, case, other_route, start, has_other, moving, standing):
    reference_route = case.route or CONSULT
    visit_route = another_route(reference_route) if other_route else reference_route
    decision = decide(case.state, request(actor, visit_route, after=STARTS[start], moving=moving,
                                          has_other=has_other, standing=standing), clinic_phone=CLINIC_PHONE)
    verdict, overrides = expected_decision(actor, case, other_route, start, has_other, standing)
    assert (decision.verdict, decision.overrides) == (verdict, overrides)
    assert decision.allowed == (verdict is ALLOWED)
    assert bool(decision.message) == (verdict is not ALLOWED)  # every "no" says why


# A few of the matrix's cases written out by hand, so the oracle itself is checked against the rules.
SPOT_CHECKS = [
    pytest.param(PATIENT, NO_TRIAGE, request(PATIENT, SLEEP_STUDY, after=timedelta(days=30)), ALLOWED, (),
                 id="a patient with no triage books any visit"),
    pytest.param(PATIENT, triaged(ULTRASOUND, URGENT), request(PATIENT, ULTRASOUND, after=URGENT_WINDOW),
                 ALLOWED, (), id="urgent, 24 hours exactly is still in the window"),
    pytest.param(PATIENT, triaged(ULTRASOUND, URGENT),
                 request(PATIENT, ULTRASOUND, after=timedelta(hours=30), moving=True, standing=frozenset({LATE})),
                 REFUSED, (), id="a patient never moves an urgent visit past 24 hours, reason or not"),
    pytest.param(PATIENT, triaged(ULTRASOUND), request(PATIENT, CONSULT, moving=True, standing=frozenset({ROUTE})),
                 ALLOWED, (ROUTE,), id="a patient moves a visit staff booked on another route"),
    pytest.param(PATIENT, triaged(CONSULT), request(PATIENT, CONSULT, has_other=True), REFUSED, (),
                 id="a patient moves the upcoming visit instead of booking a second"),
    pytest.param(STAFF, triaged(CONSULT, URGENT),
                 request(STAFF, ULTRASOUND, after=timedelta(days=3), moving=True, has_other=True,
                         standing=frozenset({ROUTE})),
                 NEEDS_REASON, (LATE, ROUTE, SECOND), id="staff: every rule set aside is listed, stated or not"),
    pytest.param(STAFF, triaged(CONSULT, URGENT),
                 request(STAFF, ULTRASOUND, after=timedelta(days=3), moving=True, standing=frozenset(Override)),
                 ALLOWED, (LATE, ROUTE), id="staff move a visit whose reasons stand"),
    pytest.param(STAFF, TriageState(7, None, EMERGENCY), request(STAFF, SLEEP_STUDY), ALLOWED, (),
                 id="staff book a provisional route without a reason"),
    pytest.param(STAFF, TriageState(open_emergency_id=3), request(STAFF, CONSULT), REFUSED, (),
                 id="an open emergency with no submission loaded still closes booking"),
]


@pytest.mark.parametrize(("actor", "state", "booking", "verdict", "overrides"), SPOT_CHECKS)
def test_named_cases(actor, state, booking, verdict, overrides):
    decision = decide(state, booking, clinic_phone=CLINIC_PHONE)
    assert (decision.verdict, decision.overrides) == (verdict, overrides)


def test_matrix_covers_every_combination():
    assert len(MATRIX) == 2 * len(TRIAGE_CASES) * 2 * 3 * 2 * (1 + 16) == 4488


# --- Where the 24 hours end ----------------------------------------------------------------------


@pytest.mark.parametrize(("after", "verdict"), [
    (URGENT_WINDOW - timedelta(microseconds=1), ALLOWED),
    (URGENT_WINDOW, ALLOWED),
    (URGENT_WINDOW + timedelta(microseconds=1), REFUSED),
    (timedelta(days=14), REFUSED),
])
def test_urgent_window_ends_at_24_hours_exactly(after, verdict):
    assert decide(triaged(ULTRASOUND, URGENT), request(PATIENT, ULTRASOUND, after=after)).verdict is verdict


def test_urgent_window_compares_instants_not_wall_clocks():
    boundary_in_clinic_time = (NOW + URGENT_WINDOW).astimezone(CHICAGO)
    booking = BookingRequest(actor=PATIENT, route=ULTRASOUND, start=boundary_in_clinic_time, now=NOW)
    assert decide(triaged(ULTRASOUND, URGENT), booking).allowed
    later = BookingRequest(actor=PATIENT, route=ULTRASOUND, start=boundary_in_clinic_time + timedelta(seconds=1),
                           now=NOW)
    assert decide(triaged(ULTRASOUND, URGENT), later).verdict is REFUSED


# --- Words a person reads --------------------------------------------------------------------------


def test_patient_emergency_message_says_call_the_emergency_number_and_the_clinic():
    state = TriageState(9, CONSULT, ROUTINE, open_emergency_id=7)
    decision = decide(state, request(PATIENT, CONSULT), clinic_phone=CLINIC_PHONE, emergency_number="112")
    assert decision.verdict is REFUSED
    assert "call 112 now" in decision.message
    assert CLINIC_PHONE in decision.message
    assert "case 7" not in decision.message  # the patient is not told of case numbers


def test_staff_emergency_message_names_the_case():
    state = TriageState(9, CONSULT, ROUTINE, open_emergency_id=7)
    decision = decide(state, request(STAFF, CONSULT), clinic_phone=CLINIC_PHONE)
    assert decision.verdict is REFUSED
    assert "case 7" in decision.message
    assert "doctor" in decision.message


WHAT_NEEDS_A_REASON = {LATE: "later than 24 hours",
                       ROUTE: "other than the triage's route (general consult)",
                       SECOND: "second upcoming visit"}


@pytest.mark.parametrize("standing", EVERY_OVERRIDE_SET, ids=lambda chosen: "+".join(sorted(chosen)) or "none")
def test_staff_reason_message_names_what_still_needs_a_reason(standing):
    booking = request(STAFF, ULTRASOUND, after=timedelta(days=2), moving=bool(standing), has_other=True,
                      standing=standing)
    decision = decide(triaged(CONSULT, URGENT), booking)
    if standing >= {LATE, ROUTE, SECOND}:
        assert decision.verdict is ALLOWED and decision.message == ""
        return
    assert decision.verdict is NEEDS_REASON
    assert decision.message.startswith("A reason is needed to book")
    for override, words in WHAT_NEEDS_A_REASON.items():
        assert (words in decision.message) == (override not in standing), override


# --- No triage at all ----------------------------------------------------------------------------


def test_staff_need_a_reason_to_book_a_patient_who_never_answered_the_questions():
    decision = decide(NO_TRIAGE, request(STAFF, CONSULT))
    assert decision.verdict is NEEDS_REASON and decision.overrides == (UNTRIAGED,)
    assert "has not answered the triage questions" in decision.message
    assert "doctor's follow-up" in decision.message


def test_a_reason_given_for_no_triage_stands_when_the_visit_is_moved():
    moved = decide(NO_TRIAGE, request(STAFF, CONSULT, moving=True, standing=frozenset({UNTRIAGED})))
    assert moved.verdict is ALLOWED and moved.overrides == (UNTRIAGED,)


def test_once_the_questions_are_answered_no_reason_is_needed_for_the_routed_visit():
    assert decide(triaged(CONSULT), request(STAFF, CONSULT)).verdict is ALLOWED


def test_the_patients_own_booking_without_answers_is_the_pages_concern_not_an_override():
    """Online the pages send a patient with no answers to the questions first (tests/app); the rule
    never asks a patient for a reason."""
    decision = decide(NO_TRIAGE, request(PATIENT, CONSULT))
    assert UNTRIAGED not in decision.overrides


@pytest.mark.parametrize(("route", "words"), [(ULTRASOUND, "vascular ultrasound"),
                                              (SLEEP_STUDY, "sleep study referral"),
                                              (CONSULT, "general consult")])
def test_route_messages_name_the_triage_route(route, words):
    elsewhere = another_route(route)
    assert f"({words})" in decide(triaged(route), request(STAFF, elsewhere)).message
    patient_message = decide(triaged(route), request(PATIENT, elsewhere), clinic_phone=CLINIC_PHONE).message
    assert words in patient_message and CLINIC_PHONE in patient_message


def test_patient_refusals_say_what_to_do_instead():
    late = decide(triaged(ULTRASOUND, URGENT), request(PATIENT, ULTRASOUND, after=timedelta(days=2)),
                  clinic_phone=CLINIC_PHONE).message
    assert "within 24 hours" in late and CLINIC_PHONE in late
    second = decide(triaged(CONSULT), request(PATIENT, CONSULT, has_other=True)).message
    assert "move that one" in second
    provisional = decide(TriageState(7, None, EMERGENCY), request(PATIENT, CONSULT), clinic_phone=CLINIC_PHONE).message
    assert "doctor will set the kind of visit" in provisional and CLINIC_PHONE in provisional


# --- latest_start and seen_within_urgent_window ------------------------------------------------------


@pytest.mark.parametrize(("state", "latest"), [
    (triaged(ULTRASOUND, URGENT), NOW + timedelta(hours=24)),
    (triaged(CONSULT, ROUTINE), NOW + HORIZON),
    (TriageState(7, ULTRASOUND, EMERGENCY), NOW + HORIZON),  # an emergency already dealt with
    (TriageState(7, None, EMERGENCY), NOW + HORIZON),
    (NO_TRIAGE, NOW + HORIZON),
], ids=["urgent", "routine", "emergency dealt with", "provisional", "no triage"])
def test_latest_start_offered_without_a_reason(state, latest):
    assert latest_start(state, now=NOW, horizon=HORIZON) == latest


def test_an_urgent_patient_may_book_the_latest_start_offered_and_not_a_second_later():
    state = triaged(ULTRASOUND, URGENT)
    latest = latest_start(state, now=NOW, horizon=HORIZON)
    assert decide(state, request(PATIENT, ULTRASOUND, after=latest - NOW)).allowed
    assert decide(state, request(PATIENT, ULTRASOUND, after=latest - NOW + timedelta(seconds=1))).verdict is REFUSED


ANSWERED = datetime(2026, 3, 9, 8, 30, tzinfo=UTC)
VISIT = timedelta(minutes=30)


@pytest.mark.parametrize(("start", "end", "inside"), [
    (ANSWERED - VISIT, ANSWERED, False),  # ended exactly when the patient answered
    (ANSWERED - VISIT, ANSWERED + timedelta(minutes=1), True),  # still going on when they answered
    (ANSWERED, ANSWERED + VISIT, True),
    (ANSWERED + timedelta(hours=5), ANSWERED + timedelta(hours=5) + VISIT, True),
    (ANSWERED + URGENT_WINDOW, ANSWERED + URGENT_WINDOW + VISIT, True),  # starts exactly 24 hours after
    (ANSWERED + URGENT_WINDOW + timedelta(seconds=1), ANSWERED + URGENT_WINDOW + VISIT, False),
    (ANSWERED + timedelta(days=3), ANSWERED + timedelta(days=3) + VISIT, False),
    (ANSWERED - timedelta(days=2), ANSWERED - timedelta(days=2) + VISIT, False),
], ids=["ended at answers", "overlaps answers", "starts at answers", "5 hours after", "24 hours after",
        "a second past 24 hours", "3 days after", "2 days before"])
def test_seen_within_urgent_window(start, end, inside):
    assert seen_within_urgent_window(ANSWERED, start, end) is inside


# --- The module stays pure -------------------------------------------------------------------------


# --- Property: a red flag never opens a door ----------------------------------------------------------


any_full_answers = valid_answers
# Drawn at random, nearly every answer set already holds some red flag; half the examples start
# calm (routine) instead, so the flag added is what raises the urgency.
RAISING_ANSWERS = (*RED_FLAGS, "drowsy_driving")
calm_full_answers = any_full_answers.map(lambda answers: {**answers, **dict.fromkeys(RAISING_ANSWERS, "no")})
full_answers = st.one_of(calm_full_answers, any_full_answers)


@st.composite
def bookings_of_any_kind(draw) -> dict:
    """Who books, when (0 to 200 hours from now), and what else stands; the visit route is left out."""
    moving = draw(st.booleans())
    return {"actor": draw(st.sampled_from(Actor)),
            "after": timedelta(hours=draw(st.integers(0, 200))),
            "moving": moving,
            "has_other": draw(st.booleans()),
            "standing": draw(st.frozensets(st.sampled_from(Override))) if moving else frozenset()}


def before_and_after(answers: dict, red_flag: str) -> tuple[TriageState, TriageState]:
    """The booking state from the answers with `red_flag` answered no, then yes."""
    return (state_for(evaluate({**answers, red_flag: "no"})),
            state_for(evaluate({**answers, red_flag: "yes"})))


@settings(max_examples=300, deadline=None)
@given(full_answers, st.sampled_from(RED_FLAGS), bookings_of_any_kind())
def test_a_red_flag_never_loosens_booking_the_routed_visit(answers, red_flag, booking):
    before, after = before_and_after(answers, red_flag)
    event(f"{before.urgency} -> {after.urgency}")
    verdict_before = decide(before, request(route=before.route, **booking)).verdict
    verdict_after = decide(after, request(route=after.route, **booking)).verdict
    assert verdict_after.rank >= verdict_before.rank, (before, after, verdict_before, verdict_after)


@settings(max_examples=300, deadline=None)
@given(full_answers, st.sampled_from(RED_FLAGS), st.sampled_from(Route), bookings_of_any_kind())
def test_a_red_flag_that_keeps_the_route_never_loosens_any_booking(answers, red_flag, visit_route, booking):
    """Not when the route changes: a red flag may send the patient to the very scan asked for, then rightly allowed."""
    before, after = before_and_after(answers, red_flag)
    assume(before.route == after.route)
    verdict_before = decide(before, request(route=visit_route, **booking)).verdict
    verdict_after = decide(after, request(route=visit_route, **booking)).verdict
    assert verdict_after.rank >= verdict_before.rank, (before, after, verdict_before, verdict_after)


@settings(max_examples=300, deadline=None)
@given(full_answers, st.sampled_from(EMERGENCY_QUESTION_IDS), st.sampled_from(Route), bookings_of_any_kind())
def test_an_emergency_flag_refuses_every_request(answers, red_flag, visit_route, booking):
    state = state_for(evaluate({**answers, red_flag: "yes"}))
    decision = decide(state, request(route=visit_route, **booking))
    assert decision.verdict is REFUSED
