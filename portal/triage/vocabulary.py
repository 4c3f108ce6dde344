"""The routes and urgencies a triage outcome can have, defined once as string enums.

The values are the strings stored in the database, shown in URLs and filters and written in
the rule set rlsvein-1; every other module uses these enums instead of spelling the strings again.
Pure: no Flask, no database.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ROUTE_EXPLAINED", "ROUTE_LABELS", "Route", "Urgency"]


class Route(StrEnum):
    """The kind of first visit a triaged patient is routed to."""

    VASCULAR_ULTRASOUND = "vascular_ultrasound"  # duplex scan of the leg veins
    SLEEP_STUDY_REFERRAL = "sleep_study_referral"
    GENERAL_CONSULT = "general_consult"


# How staff pages name each route.
ROUTE_LABELS = {Route.VASCULAR_ULTRASOUND: "Vascular ultrasound", Route.SLEEP_STUDY_REFERRAL: "Sleep study referral",
                Route.GENERAL_CONSULT: "General consult"}

# How the patient's pages explain each route: a title and what the visit is.
ROUTE_EXPLAINED = {
    Route.VASCULAR_ULTRASOUND: (
        "A scan of the veins in your legs",
        "A duplex ultrasound is a painless scan with a hand-held probe and gel on the skin. It shows how blood "
        "flows in the leg veins, whether the valves in them work, and whether there is a clot. It takes about "
        "45 minutes and you can go home straight after."),
    Route.SLEEP_STUDY_REFERRAL: (
        "A visit about your sleep",
        "Some of your answers suggest your sleep should be looked at more closely, for example for pauses in "
        "breathing or leg movements during sleep. A doctor will talk with you and, if it is needed, arrange a "
        "sleep study, where your breathing and movements are recorded overnight."),
    Route.GENERAL_CONSULT: (
        "A general consultation",
        "A doctor will talk with you about your legs, your sleep and your symptoms, examine you, and may suggest "
        "blood tests such as iron levels. Together you decide on the next steps."),
}


# Defined outside the enum so it does not become a member.
_URGENCY_RANK = {"routine": 0, "urgent": 1, "emergency": 2}


class Urgency(StrEnum):
    """How soon the patient must be seen; compare with `rank` (routine < urgent < emergency)."""

    ROUTINE = "routine"
    URGENT = "urgent"
    EMERGENCY = "emergency"

    @property
    def rank(self) -> int:
        """0 for routine, 1 for urgent, 2 for emergency: the order used to pick the highest."""
        return _URGENCY_RANK[self.value]
