"""The desk triages callers on the phone, in a real browser at both sizes: a caller with no email
is registered, answers the questions with the desk (routine) and is booked; a second caller's
answer is an emergency: the desk is told to say "call 911 now" with the reason, and booking is
closed for that caller."""
import re
from datetime import datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.e2e.live_portal import DESK, EVERY_DAY_CLINICIAN

ROUTINE_CALLER = "Rosa Phonebook"
EMERGENCY_CALLER = "Ezra Breathless"


def register_without_email(j, name: str, phone: str) -> None:
    with j.step("find a patient") as page:
        j.nav("Patients")
        expect(page.get_by_role("heading", level=1)).to_have_text("Find a patient")
    with j.step(f"register {name}") as page:
        page.get_by_role("link", name="Register a new patient").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Register a new patient")
        page.get_by_label("Full name").fill(name)
        page.get_by_label("Date of birth").select_option(label="April")
        page.get_by_label("Day").fill("12")
        page.get_by_label("Year").fill("1958")
        page.get_by_label("Phone number").fill(phone)
        page.get_by_label("How they prefer to be reached").select_option(label="Phone call")
    with j.step(f"{name} registered") as page:
        page.get_by_role("button", name="Register the patient").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(name)
        assert "registered without an email" in j.flash()
        expect(page.locator(".dp-email")).to_contain_text("no online account")


def answer_no_to_every_yes_no_question(page) -> None:
    for question in page.locator("fieldset.question").all():
        no = question.get_by_label("No", exact=True)
        if no.count():
            no.check()


def test_the_desk_triages_a_caller_by_phone_and_books_or_sends_to_911(journey, portal):
    with journey("desk triages a caller") as j:
        j.log_in(DESK)
        register_without_email(j, ROUTINE_CALLER, "(555) 010-6061")
        with j.step("phone triage: safety first") as page:
            page.get_by_role("link", name="Triage by phone").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("First, your safety")
            expect(page.get_by_text(f"Phone triage for {ROUTINE_CALLER}")).to_be_visible()
            expect(page.locator("legend").first).to_contain_text("Ask:")
        with j.step("about the caller") as page:
            answer_no_to_every_yes_no_question(page)
            page.get_by_role("button", name="Continue").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("About you")
        finishing = False
        while not finishing:
            with j.step("the next questions") as page:
                if page.get_by_label("Female", exact=True).count():
                    page.get_by_label("Female", exact=True).check()
                answer_no_to_every_yes_no_question(page)
                finishing = page.get_by_role("button", name="Finish").count() > 0
                heading = page.get_by_role("heading", level=1).inner_text()
                page.get_by_role("button", name="Finish" if finishing else "Continue").click()
                expect(page.get_by_role("heading", level=1)).not_to_have_text(heading)
        with j.step("what to tell the caller: book") as page:
            expect(page.get_by_role("heading", level=1)).to_contain_text("Triage done")
        with j.step("book for the caller") as page:
            page.get_by_role("link", name="Book a time").click()
            expect(page.get_by_role("heading", level=1)).to_have_text(f"Book for {ROUTINE_CALLER}")
        with j.step("times of the clinician who works every day") as page:
            times_of = page.locator("form").filter(has=page.get_by_role("button", name="Show times"))
            times_of.get_by_label("Clinician").select_option(label=EVERY_DAY_CLINICIAN)
            times_of.get_by_role("button", name="Show times").click()
        with j.step("confirm the first time") as page:
            first_time = page.locator("a[href*='start=']").first
            start = parse_qs(urlsplit(first_time.get_attribute("href")).query)["start"][0]
            first_time.click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Confirm the booking")
        with j.step("booked, with the triage answered by phone on the record") as page:
            page.get_by_role("button", name="Book this time").click()
            expect(page.get_by_role("heading", level=1)).to_have_text(ROUTINE_CALLER)
            when = datetime.fromisoformat(start).astimezone(ZoneInfo(portal.zone))
            assert f"booked for {ROUTINE_CALLER}" in j.flash() and f"{when:%-d}" in j.flash()
            expect(page.get_by_text("answered by the desk by phone")).to_be_visible()

        register_without_email(j, EMERGENCY_CALLER, "(555) 010-6062")
        with j.step("phone triage for the second caller") as page:
            page.get_by_role("link", name="Triage by phone").click()
            expect(page.get_by_text(f"Phone triage for {EMERGENCY_CALLER}")).to_be_visible()
        with j.step("tell the caller: call 911 now") as page:
            answer_no_to_every_yes_no_question(page)
            page.locator("fieldset.question").first.get_by_label("Yes", exact=True).check()
            page.get_by_role("button", name="Continue").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Tell the caller: call 911 now")
            expect(page.get_by_role("alert")).to_contain_text("blood clot in the lungs")
            expect(page.get_by_role("alert")).to_contain_text(f"Booking is closed for {EMERGENCY_CALLER}")
        with j.step("the emergency on the record") as page:
            page.get_by_role("link", name=re.compile(f"{EMERGENCY_CALLER}'s record")).click()
            expect(page.locator(".dp-warning")).to_contain_text("Emergency triage.")
        with j.step("booking closed for that caller") as page:
            page.get_by_role("link", name="Book a visit").first.click()
            expect(page.locator(".notice-error")).to_contain_text(f"Booking is closed for {EMERGENCY_CALLER}.")
            expect(page.locator("a[href*='start=']")).to_have_count(0)
