"""Staff in a real browser, in the order of a clinic day: the desk finds a caller, books her for
today, checks her in and gives a clinician time off; the doctor deals with the most urgent case
and changes a route; the admin finds both in the audit log (so that journey needs the two before
it, on the same portal)."""
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from portal import dates
from portal.triage.vocabulary import ROUTE_LABELS, Route
from tests.e2e.live_portal import ADMIN, DESK, DESK_CALLER, DOCTOR, EVERY_DAY_CLINICIAN

TIME_OFF_CLINICIAN = "Jordan Lee"
TIME_OFF_REASON = "Training course in ultrasound"
NEW_ROUTE_REASON = "Varicose veins on examination: scan the leg veins first"


def clinic_today(zone: str):
    return datetime.now(ZoneInfo(zone)).date()


def test_the_desk_finds_a_caller_books_and_checks_her_in_and_sets_time_off(journey, portal):
    today = clinic_today(portal.zone)
    with journey("desk books and checks in") as j:
        j.log_in(DESK)
        with j.step("find a patient") as page:
            j.nav("Patients")
            expect(page.get_by_role("heading", level=1)).to_have_text("Find a patient")
        with j.step("search by name") as page:
            page.get_by_label("Name, date of birth, phone or email").fill("harriet qu")
            page.get_by_role("button", name="Search").click()
            assert "harriet qu" not in page.url, "what the desk typed stays out of the address"
            expect(page.get_by_role("row", name=re.compile(DESK_CALLER.name))).to_have_count(1)
        with j.step("her record") as page:
            page.get_by_role("link", name=DESK_CALLER.name).click()
            expect(page.get_by_role("heading", level=1)).to_have_text(DESK_CALLER.name)
        with j.step("book for her") as page:
            page.get_by_role("link", name="Book a visit").first.click()
            expect(page.get_by_role("heading", level=1)).to_have_text(f"Book for {DESK_CALLER.name}")
        with j.step("times of the clinician who works today") as page:
            times_of = page.locator("form").filter(has=page.get_by_role("button", name="Show times"))
            times_of.get_by_label("Clinician").select_option(label=EVERY_DAY_CLINICIAN)
            times_of.get_by_role("button", name="Show times").click()
            # The pointer may rest on the chosen day after a click: it must stay readable there (axe, below).
            page.locator(".sp-tab[aria-current]").hover()
        with j.step("confirm today's first time") as page:
            first_time = page.locator("a[href*='start=']").first
            start = parse_qs(urlsplit(first_time.get_attribute("href")).query)["start"][0]
            assert datetime.fromisoformat(start).astimezone(ZoneInfo(portal.zone)).date() == today, (
                f"the every-day clinician's first free time {start} is not today ({today})")
            first_time.click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Confirm the booking")
        with j.step("booked") as page:
            page.get_by_role("button", name="Book this time").click()
            expect(page.get_by_role("heading", level=1)).to_have_text(DESK_CALLER.name)
            assert f"booked for {DESK_CALLER.name} on {dates.long_date(today, today)}" in j.flash()

        with j.step("today's calendar") as page:
            j.nav("Calendar")
            expect(page.get_by_role("heading", level=1)).to_contain_text(dates.long_date(today, today))
        with j.step("checked in") as page:
            visit = page.locator("li").filter(has=page.get_by_role("link", name=DESK_CALLER.name, exact=True))
            visit.get_by_role("button", name="Check in").click()
            assert f"{DESK_CALLER.name} is checked in." in j.flash()
            expect(page.locator("li").filter(has=page.get_by_role("link", name=DESK_CALLER.name, exact=True))
                   ).to_contain_text("Checked in")

        away = today + timedelta(days=14)
        with j.step("schedules") as page:
            j.nav("Schedules")
            expect(page.get_by_role("heading", level=1)).to_have_text("Schedules")
        with j.step(f"{TIME_OFF_CLINICIAN}'s schedule") as page:
            page.get_by_role("link", name=TIME_OFF_CLINICIAN).click()
            expect(page.get_by_role("heading", level=1)).to_have_text(TIME_OFF_CLINICIAN)
        with j.step("time off added") as page:
            page.get_by_label("From (day)", exact=True).fill(away.isoformat())
            page.get_by_label("Until (day)", exact=True).fill(away.isoformat())
            page.get_by_label("Whole days").check()
            page.get_by_label("Reason", exact=True).fill(TIME_OFF_REASON)
            page.get_by_role("button", name="Add time off").click()
            assert "Time off saved." in j.flash()
            expect(page.get_by_role("listitem").filter(has_text=TIME_OFF_REASON)).to_contain_text(
                dates.short_date(away, today))
    portal.journeys_done.add("desk")


def test_the_doctor_deals_with_the_most_urgent_case_and_changes_its_route(journey, portal):
    with journey("doctor clears an emergency") as j:
        j.log_in(DOCTOR)
        with j.step("the triage queue") as page:
            j.nav("Triage queue")
            expect(page.get_by_role("heading", level=1)).to_have_text("Triage queue")
        with j.step("the most urgent case") as page:
            first_case = page.locator("#patient-cases > li").first
            expect(first_case).to_contain_text("Emergency not yet dealt with")
            patient = first_case.get_by_role("link").first.inner_text()
            first_case.get_by_role("link").first.click()
            expect(page.get_by_role("heading", level=1)).to_contain_text(patient)
        with j.step("emergency dealt with") as page:
            page.get_by_label("What was done about the emergency").fill(
                "Seen in the emergency department on the day; scan clear, no clot.")
            route = page.get_by_label("Route for the next visit")
            if route.locator("option").first.inner_text() == "Choose the route":  # the questions stopped early
                route.select_option(label=ROUTE_LABELS[Route.GENERAL_CONSULT])
            page.get_by_role("button", name="Record that the emergency has been dealt with").click()
            assert "the emergency has been dealt with" in j.flash()
        with j.step("route changed") as page:
            current = page.locator("dt", has_text=re.compile("^Route$")).locator("+ dd").inner_text()
            new_route = next(label for label in ROUTE_LABELS.values() if not current.startswith(label))
            page.get_by_label("Route", exact=True).select_option(label=new_route)
            page.get_by_label(re.compile("^Note")).fill(NEW_ROUTE_REASON)
            page.get_by_role("button", name="Save review").click()
            assert "Your review is saved." in j.flash()
            expect(page.locator(".history")).to_contain_text(f"to {new_route}: “{NEW_ROUTE_REASON}”")
    portal.journeys_done.add("doctor")


def test_the_admin_finds_the_desks_and_the_doctors_actions_in_the_audit_log(journey, portal):
    if not {"desk", "doctor"} <= portal.journeys_done:
        pytest.skip("the admin reads what the desk's and the doctor's journeys did, and they did not both pass "
                    "on this portal: see them")
    with journey("admin reads the audit log") as j:
        j.log_in(ADMIN)
        with j.step("the audit log") as page:
            j.nav("Audit log")
            expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
        for who, action, about in [(DESK, "appointment.booked", DESK_CALLER.name),
                                   (DESK, "appointment.checked_in", DESK_CALLER.name),
                                   (DESK, "schedule.time_off_added", TIME_OFF_REASON),
                                   (DOCTOR, "triage.emergency_cleared", "emergency dealt with"),
                                   (DOCTOR, "triage.reviewed", NEW_ROUTE_REASON)]:
            with j.step(f"{who.name}: {action}") as page:
                page.get_by_label("Who").fill(who.email)
                page.get_by_label("Action").select_option(action)
                page.get_by_role("button", name="Filter").click()
                expect(page.locator("tbody tr").filter(has_text=who.name).filter(has_text=about).first).to_be_visible()
