"""A new patient across browsers: answers the questions first (a routine leg vein case), registers
from the outcome page, and opens the mailed link in another browser, as a phone's mail app does
(a new context: no cookies, no session). There they choose a password and land, logged in, on the
times for their visit, with no login page and no "are these your answers?" on the way; they pick
a time, confirm it, and see it in My appointments."""
import re

from playwright.sync_api import expect

from portal.triage.questions import STEPS
from portal.triage.vocabulary import ROUTE_EXPLAINED, Route
from tests.e2e.live_portal import Person
from tests.e2e.test_patient_journeys import (
    TIME_LINKS,
    ULTRASOUND,
    VARICOSE_VEINS,
    answer_the_questions,
    pick_a_time,
    shown_time,
)

PHONE_PATIENT = Person("lena.okafor@example.com", "Lena Okafor", password="lanterns over still water")


def fill_in_the_registration(page, who: Person) -> None:
    page.get_by_label("Full name").fill(who.name)
    page.get_by_label("Email address").fill(who.email)
    page.get_by_label("Date of birth").select_option(label="September")  # month, day and year boxes
    page.get_by_label("Day").fill("14")
    page.get_by_label("Year").fill("1971")
    page.get_by_label("Phone number").fill("(555) 010-8456")


def test_a_new_patient_answers_registers_and_books_from_the_link_in_another_browser(journey, portal):
    with journey("new patient across browsers: answers first") as j:
        with j.step("landing page"):
            j.go("/")
        with j.step("find the right visit") as page:
            page.get_by_role("main").get_by_role("link", name="Find the right visit").click()
            expect(page.get_by_role("heading", level=1)).to_have_text(STEPS[0].title)
        answer_the_questions(j, VARICOSE_VEINS)
        with j.step("the outcome") as page:
            expect(page.get_by_text(ROUTE_EXPLAINED[Route.VASCULAR_ULTRASOUND][0]).first).to_be_visible()
        with j.step("1. the register form") as page:
            page.get_by_role("main").get_by_role("link", name="Create an account").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Create an account")
        with j.step("check your email") as page:
            fill_in_the_registration(page, PHONE_PATIENT)
            page.get_by_role("button", name="Create my account").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")

    [invitation] = portal.mail_to(PHONE_PATIENT.email)
    text = invitation.get_body(("plain",)).get_content()
    [link] = re.findall(re.escape(portal.base_url) + r"/auth/password/set/\S+", text)

    with journey("new patient across browsers: the mail app's browser") as j:
        assert j.context.cookies() == [], "the second browser starts with no cookies"
        with j.step("2. the mailed link") as page:
            page.goto(link)
            expect(page.get_by_role("heading", level=1)).to_have_text("Choose a password")
        with j.step("choose a password: the times") as page:
            page.get_by_label("New password").fill(PHONE_PATIENT.password)
            page.get_by_label("Type the password again").fill(PHONE_PATIENT.password)
            page.get_by_role("button", name="Save my password").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Pick a time")
            assert "Your password is set" in j.flash()
            expect(page.get_by_text(ULTRASOUND).first).to_be_visible()
            assert page.get_by_role("button", name="Log out").count() == 1, "logged in by the link"
            expect(page.locator(TIME_LINKS).first).to_be_visible()
        with j.step("3. a time") as page:
            booked = pick_a_time(page)
            expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your visit")
            expect(page.get_by_text(shown_time(booked, portal.zone))).to_be_visible()
        with j.step("4. confirm: my appointments") as page:
            page.get_by_role("button", name="Book this time").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("My appointments")
            assert f"Your {ULTRASOUND.lower()} is booked." in j.flash()
            visit = page.locator("article", has_text=ULTRASOUND)
            expect(visit).to_have_count(1)
            expect(visit.get_by_role("heading")).to_have_text(shown_time(booked, portal.zone))
        seen = j._loads
        assert not any("/auth/login" in url or "/triage/claim" in url for url in seen), seen
