"""A week of free times as the booking pages show them, to patients and to the desk alike: which
week a page shows (?week=), its times grouped by day, the day whose times are shown (?day=) split
into morning, afternoon and evening, the first free time, and the time a link picked
(?start=&clinician=). The booking service checks whatever a link says again."""
from collections.abc import Callable, Collection
from datetime import date, datetime, time, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from flask import flash, request
from sqlalchemy import Row

from portal import dates
from portal.booking.models import AppointmentType, Clinician
from portal.booking.picker import chosen_day, times_of_day
from portal.booking.slots import OFFERING, Slot, next_open_slots, open_slots
from portal.extensions import db

DAYS_SHOWN = 7


Notify = Callable[[str, str], None]  # (message, category), as flask.flash takes them


def week_start(today: date, last: date, notify: Notify = flash) -> date:
    """The first day shown: ?week=YYYY-MM-DD, never before today and never after `last` (a week
    asked for beyond it is the week that ends on `last`); today when it is missing or garbled. A
    week the page cannot show is said so (a stale bookmark, a mistyped address) through `notify`,
    so nobody takes the week shown for the one they asked for."""
    asked = request.args.get("week", "")
    if not asked:
        return today
    try:
        first = date.fromisoformat(asked)
    except ValueError:
        notify("We could not read the week in that link, so here are the times from today.", "warning")
        return today
    if first < today:
        notify("That week starts before today, so here are the times from today.", "warning")
        return today
    if first > last:
        # The seven days that end on the last day: a week starting on it would show one day, and
        # none of its times at all when the horizon falls before that day's opening hour.
        notify(f"Times can be booked up to {dates.dated(last)}, so here is the last week.", "warning")
        return max(today, last - timedelta(days=DAYS_SHOWN - 1))
    return first


def days_of_week(first_day: date) -> list[date]:
    return [first_day + timedelta(days=offset) for offset in range(DAYS_SHOWN)]


def slots_by_day(slots: list[Slot], zone: ZoneInfo, first_day: date) -> list[tuple[date, list[Slot]]]:
    """Every day of the week shown, with its slots (an empty list on a day with none)."""
    grouped = {day: list(day_slots) for day, day_slots in
               groupby(slots, key=lambda slot: slot.start.astimezone(zone).date())}
    return [(day, grouped.get(day, [])) for day in days_of_week(first_day)]


def picked_slot(*, now: datetime, latest: datetime) -> tuple[datetime, Clinician] | None:
    """The time and clinician a time link names (?start=&clinician=), if they could be a slot: an
    aware start from now to `latest` and an active clinician that exists; None for anything else."""
    try:
        start = datetime.fromisoformat(request.args.get("start", ""))
    except ValueError:
        return None
    clinician_id = request.args.get("clinician", type=int)
    if start.tzinfo is None or not now <= start <= latest or clinician_id is None or not 0 < clinician_id < 2**31:
        return None
    clinician = db.session.get(Clinician, clinician_id)
    return (start, clinician) if clinician is not None and clinician.takes_bookings else None


_CLINICIANS_OFFERING = OFFERING.add_columns(Clinician.display_name)


def clinicians_offering(appointment_type: AppointmentType) -> dict[int, Row]:
    """The active clinicians who give this visit, by id in id order (clinician_ids_offering's
    clinicians, read in the same query as their names): rows with `id` and `display_name`, all a
    page of free times shows of them (a big clinic's dozens of ORM objects cost a millisecond)."""
    return {row.id: row for row in db.session.connection().execute(_CLINICIANS_OFFERING,
                                                                  {"type_id": appointment_type.id})}


def first_free_time(appointment_type: AppointmentType, week_slots: list[Slot], *, first_day: date, today: date,
                    zone: ZoneInfo, now: datetime, notice: timedelta, clinician_id: int | None,
                    latest_start: datetime, offering: Collection[int] | None = None) -> Slot | None:
    """The soonest time this visit can be booked (with this clinician, when one is chosen),
    offered at the top of every week: this week's first when the week shown starts today, else
    looked up over the next four weeks; None when there is none in that time."""
    if first_day == today and week_slots:
        return week_slots[0]
    after = now if first_day > today else datetime.combine(first_day + timedelta(days=DAYS_SHOWN), time(0), zone)
    found = next_open_slots(appointment_type, after=after, zone=zone, now=now, notice=notice, limit=1,
                            clinician_id=clinician_id, latest_start=latest_start, offering=offering)
    return found[0] if found else None


def free_week(appointment_type: AppointmentType, *, zone: ZoneInfo, now: datetime, notice: timedelta,
              horizon: timedelta, latest_start: datetime, notify: Notify = flash) -> dict:
    """What a week page of free times shows (the context of booking/_week.html): the week from
    ?week=, for the clinician in ?clinician= or anyone who gives this visit, starting no later
    than `latest_start`, with the weeks before and after when there are any to show; the times of
    one day of it (?day=, or the first day with times) by part of the day; the first free time.
    What it could not show as asked is said through `notify` (flashed, by default)."""
    today = now.astimezone(zone).date()
    # The last day with times to offer: the horizon, or sooner (an urgent case's next 24 hours).
    last_bookable = min(today + horizon, latest_start.astimezone(zone).date())
    first_day = week_start(today, last_bookable, notify)
    last_day = first_day + timedelta(days=DAYS_SHOWN - 1)
    clinicians = clinicians_offering(appointment_type)
    wanted = request.args.get("clinician", type=int)
    clinician_id = wanted if wanted in clinicians else None
    if request.args.get("clinician") and clinician_id is None:
        notify("That clinician does not give this visit, so here are the times of every clinician who does.", "warning")
    slots = open_slots(appointment_type, first_day=first_day, last_day=last_day, zone=zone, now=now,
                       notice=notice, clinician_id=clinician_id, latest_start=latest_start, offering=clinicians)
    days = slots_by_day(slots, zone, first_day)
    day, day_understood = chosen_day(request.args.get("day", ""), days)
    return {"days": days, "first_day": first_day, "last_day": last_day, "today": today,
            "chosen_day": day, "day_understood": day_understood, "day_parts": times_of_day(dict(days)[day], zone),
            "first_free": first_free_time(appointment_type, slots, first_day=first_day, today=today, zone=zone,
                                          now=now, notice=notice, clinician_id=clinician_id,
                                          latest_start=latest_start, offering=clinicians),
            "clinicians": clinicians, "clinician_id": clinician_id, "zone_name": zone.key,
            "previous_week": first_day - timedelta(days=DAYS_SHOWN) if first_day > today else None,
            "next_week": first_day + timedelta(days=DAYS_SHOWN) if last_day < last_bookable else None}
