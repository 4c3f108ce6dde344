"""Patients in a real browser: a new patient registers, answers the questions as a routine
varicose-vein case and books, moves and cancels the leg vein ultrasound; a patient who answers an
emergency question is told to call for help first, with no way to book."""
import re
from datetime import datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from portal import dates
from portal.triage.questions import QUESTIONS, STEPS
from portal.triage.vocabulary import ROUTE_EXPLAINED, Route
from tests.e2e.journey import Journey
from tests.e2e.live_portal import EMERGENCY_PATIENT, Person
from tests.factories import ANSWERS_FOR, SAFE_ANSWERS

NEW_PATIENT = Person("nora.whitfield@example.com", "Nora Whitfield", password="quiet rivers at dusk")
# Answers that route to a routine leg vein ultrasound under rlsvein-1 (tests/factories.py).
VARICOSE_VEINS = {**SAFE_ANSWERS, "age": 58, **ANSWERS_FOR[("vascular_ultrasound", "routine")]}
ULTRASOUND = "Leg vein ultrasound"
TIME_LINKS = "a[href*='start=']"  # a free time: its link names the start and the clinician
CONTINUE = re.compile(r"^(Continue|Finish)$")


def answer(page, question_id: str, value) -> None:
    """Answer one question as a person does: pick the choices, or type the number."""
    question = QUESTIONS[question_id]
    if question.kind in ("int", "number"):
        page.locator(f"[name='{question_id}']").fill(str(value))
        return
    for choice in value if isinstance(value, list) else [value]:
        page.locator(f"input[name='{question_id}'][value='{choice}']").check()


def answer_the_questions(j: Journey, answers: dict) -> None:
    """Every step of the questionnaire in order, answering what `answers` holds on each; the
    others left empty (they are optional)."""
    for position, step in enumerate(STEPS):
        with j.step(f"answer {step.title}") as page:
            expect(page.get_by_role("heading", level=1)).to_have_text(step.title)
            for question_id in step.question_ids:
                if question_id in answers:
                    answer(page, question_id, answers[question_id])
            page.get_by_role("button", name=CONTINUE).click()
            if position + 1 < len(STEPS):
                expect(page.get_by_role("heading", level=1)).to_have_text(STEPS[position + 1].title)


def pick_a_time(page, *, not_at: str | None = None) -> str:
    """Follow the link of the first free time shown (other than `not_at`); its start, as sent."""
    for link in page.locator(TIME_LINKS).all():
        start = parse_qs(urlsplit(link.get_attribute("href")).query)["start"][0]
        if start != not_at:
            link.click()
            return start
    raise AssertionError("no free time offered")


def shown_time(start: str, zone: str, *, short: bool = False) -> str:
    """How the portal writes a start time ("Tuesday, December 1 at 9:00 AM"), in the clinic's zone."""
    clinic_zone = ZoneInfo(zone)
    return dates.date_and_time(datetime.fromisoformat(start), clinic_zone, datetime.now(clinic_zone).date(),
                               short=short)


def test_a_new_patient_registers_answers_books_moves_and_cancels(journey, portal):
    with journey("new patient books an ultrasound") as j:
        with j.step("landing page") as page:
            j.go("/")
        with j.step("create an account") as page:
            j.nav("Create account")
            expect(page.get_by_role("heading", level=1)).to_have_text("Create an account")
        with j.step("check your email") as page:
            page.get_by_label("Full name").fill(NEW_PATIENT.name)
            page.get_by_label("Email address").fill(NEW_PATIENT.email)
            page.get_by_label("Date of birth").select_option(label="May")  # month, day and year boxes
            page.get_by_label("Day").fill("21")
            page.get_by_label("Year").fill("1967")
            page.get_by_label("Phone number").fill("(555) 010-8123")
            page.get_by_role("button", name="Create my account").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")

        [invitation] = portal.mail_to(NEW_PATIENT.email)
        text = invitation.get_body(("plain",)).get_content()
        [link] = re.findall(re.escape(portal.base_url) + r"/auth/password/set/\S+", text)
        with j.step("open the link in the email") as page:
            page.goto(link)
            expect(page.get_by_role("heading", level=1)).to_have_text("Choose a password")
        with j.step("choose a password: logged in") as page:
            page.get_by_label("New password").fill(NEW_PATIENT.password)
            page.get_by_label("Type the password again").fill(NEW_PATIENT.password)
            page.get_by_role("button", name="Save my password").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("My appointments")
            assert "Your password is set" in j.flash()

        with j.step("book a visit: the questions first") as page:
            j.nav("Book a visit")
            expect(page.get_by_role("heading", level=1)).to_have_text("Find the right visit")
        with j.step("start the questions") as page:
            page.get_by_role("link", name="Start the questions").click()
        answer_the_questions(j, VARICOSE_VEINS)

        with j.step("the outcome: the times first") as page:
            expect(page.get_by_role("heading", level=1)).to_have_text("Pick a time")
            expect(page.get_by_text(ROUTE_EXPLAINED[Route.VASCULAR_ULTRASOUND][0]).first).to_be_visible()
            assert page.get_by_role("alert").count() == 0, "a routine case shows no warning"
        with j.step("confirm the time") as page:
            booked = pick_a_time(page)
            expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your visit")
            expect(page.get_by_text(shown_time(booked, portal.zone))).to_be_visible()
        with j.step("booked: my appointments") as page:
            page.get_by_role("button", name="Book this time").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("My appointments")
            assert f"Your {ULTRASOUND.lower()} is booked." in j.flash()
            visit = page.locator("article", has_text=ULTRASOUND)
            expect(visit).to_have_count(1)
            expect(visit.get_by_role("heading")).to_have_text(shown_time(booked, portal.zone))

        with page.expect_download() as download:
            visit.get_by_role("link", name="Add to my calendar").click()
        calendar = download.value.path().read_text()
        assert calendar.startswith("BEGIN:VCALENDAR") and "BEGIN:VEVENT" in calendar, calendar[:200]
        assert calendar.rstrip().endswith("END:VCALENDAR")

        with j.step("move it: other times") as page:
            visit.get_by_role("link", name="Move to another time").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Move your appointment")
        with j.step("confirm the new time") as page:
            moved_to = pick_a_time(page, not_at=booked)
            expect(page.get_by_role("heading", level=1)).to_have_text("Confirm the new time")
        with j.step("moved") as page:
            page.get_by_role("button", name="Move my appointment").click()
            assert "Your appointment has been moved." in j.flash()
            expect(page.locator("article", has_text=ULTRASOUND).get_by_role("heading")).to_have_text(
                shown_time(moved_to, portal.zone))

        with j.step("cancel it?") as page:
            page.locator("article", has_text=ULTRASOUND).get_by_role("link", name="Cancel").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Cancel this appointment?")
        with j.step("cancelled") as page:
            page.get_by_label("Why are you canceling?").select_option("The time no longer suits me")
            page.get_by_role("button", name="Yes, cancel it").click()
            assert "Your appointment is canceled." in j.flash()
            expect(page.locator("article", has_text=ULTRASOUND)).to_have_count(0)
            in_history = shown_time(moved_to, portal.zone, short=True)
            # The line whose time is the one canceled (the moved visit's line names it too, as "to ...").
            cancelled = page.locator(".history li").filter(has=page.locator("strong", has_text=in_history))
            expect(cancelled).to_contain_text(ULTRASOUND)
            expect(cancelled).to_contain_text("Canceled")


def test_an_emergency_answer_shows_the_emergency_advice_first_and_no_way_to_book(journey, portal):
    with journey("emergency answer") as j:
        j.log_in(EMERGENCY_PATIENT)
        with j.step("the questions"):
            j.go("/triage/")
        with j.step("start the questions") as page:
            page.get_by_role("link", name="Start the questions").click()
        with j.step("the first step: yes to breathlessness") as page:
            answer(page, "pe_symptoms", "yes")
            answer(page, "bleeding_vein", "no")
            answer(page, "cold_pale_leg", "no")
            page.get_by_role("button", name=CONTINUE).click()

            first_heading = page.get_by_role("heading", level=1)
            expect(first_heading).to_contain_text("Call 911 now")
            expect(page.get_by_role("alert").first).to_contain_text("Call 911 now")
            main = page.get_by_role("main")
            assert main.get_by_role("link", name=re.compile("book|choose a time", re.I)).count() == 0
            assert page.locator(f"{TIME_LINKS}, a[href*='/book']").count() == 0, "no way to book"
            expect(page.get_by_role("link", name="Call 911")).to_have_attribute("href", "tel:911")
        with j.step("booking by its address is closed") as page:
            j.go("/book/")
            expect(page.get_by_role("heading", level=1)).to_have_text("Please call us to book")
            assert page.locator(f"{TIME_LINKS}, a[href*='/book']").count() == 0, "no way to book"
            expect(page.get_by_role("main")).to_contain_text("911")
