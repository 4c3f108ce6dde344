"""The outcome page says one thing per urgency (rlsvein-1 "What each urgency does in the portal"):
an urgent case leads with a button that calls the clinic and its phone hours, offers only the
next 24 hours, and sends the patient elsewhere today when the clinic is closed or full; an
emergency says first to call 911, and promises an anonymous visitor no follow-up. Clocks fixed."""
import re
from datetime import datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from portal.auth.models import Role
from portal.booking.models import Route
from portal.triage.browser import SUBMISSIONS_KEY
from portal.triage.rules import CLINICIAN_RULE_TEXT, RULE_TEXT, URGENCY_ADVICE
from portal.triage.vocabulary import Urgency
from tests import factories
from tests.client import browser_of, submit
from tests.pages import main, slot_links, words

CHICAGO = factories.CHICAGO
ALL_DAY = {weekday: [(time(0), time(23, 30))] for weekday in range(7)}
TUESDAY_MORNING = datetime(2026, 12, 15, 9, 30, tzinfo=CHICAGO)
SUNDAY_EVENING = datetime(2026, 12, 13, 20, 53, tzinfo=CHICAGO)
ELSEWHERE = "Go to an urgent care center or an emergency department today."
AT_ONCE = "Call 911 at once if you have chest pain, feel short of breath or cough up blood."
SAFE = {"pe_symptoms": "no", "bleeding_vein": "no", "cold_pale_leg": "no"}


@pytest.fixture
def clock(monkeypatch):
    """Set the outcome page's clock."""
    def set_to(moment: datetime):
        monkeypatch.setattr("portal.booking.views.utc_now", lambda: moment.astimezone(factories.UTC))
    return set_to


def urgent_patient(app, route="vascular_ultrasound", *, clinician=True):
    factories.make_type(Route.VASCULAR_ULTRASOUND, 45, "Leg vein scan")
    factories.make_type(Route.GENERAL_CONSULT, 30, "General consultation")
    if clinician:
        factories.make_clinician(hours=ALL_DAY)
    patient = factories.make_user()
    submission = factories.make_submission(patient, route, "urgent")
    return browser_of(app, patient), submission


def outcome_words(browser, submission) -> tuple[str, str]:
    response = browser.get(f"/triage/{submission.id}")
    assert response.status_code == 200
    return main(response), words(main(response))


def test_open_on_a_tuesday_morning_the_page_leads_with_the_call_button_and_the_next_24_hours(app, clock):
    clock(TUESDAY_MORNING)
    browser, submission = urgent_patient(app)

    markup, page = outcome_words(browser, submission)

    assert re.search(r"<h1>Be seen within 24 hours</h1>", markup)
    first_link = re.search(r'<a [^>]*href="([^"]+)"', markup).group(1)
    assert first_link == f"tel:{app.config['CLINIC_PHONE']}"  # the first thing to press calls the clinic
    assert "Open now." in page
    assert "Monday to Friday, 8:00 AM to 6:00 PM" in page and "Saturday, 9:00 AM to 12:00 PM" in page
    assert ELSEWHERE not in page
    assert AT_ONCE in page
    assert "Do not drive" not in page
    response = browser.get(f"/triage/{submission.id}")
    starts = [datetime.fromisoformat(parse_qs(urlsplit(link).query)["start"][0]) for link in slot_links(response)]
    assert starts and all(TUESDAY_MORNING < start <= TUESDAY_MORNING + timedelta(hours=24) for start in starts)


def test_closed_on_sunday_at_8_53_pm_the_page_sends_the_patient_elsewhere_today(app, clock):
    clock(SUNDAY_EVENING)
    browser, submission = urgent_patient(app)

    markup, page = outcome_words(browser, submission)

    assert "Closed now." in page
    assert "The clinic is closed now" in page and ELSEWHERE in page
    assert AT_ONCE in page
    assert page.index(ELSEWHERE) < page.index("Times in the next 24 hours")  # what to do now comes first
    assert "phone the clinic today" not in page.lower() and "call us today" not in page.lower()


def test_open_with_no_free_time_in_24_hours_the_page_sends_the_patient_elsewhere_today(app, clock):
    clock(TUESDAY_MORNING)
    browser, submission = urgent_patient(app, clinician=False)

    markup, page = outcome_words(browser, submission)

    assert "Open now." in page
    assert "No free time in the next 24 hours" in page and ELSEWHERE in page
    assert AT_ONCE in page
    assert slot_links(browser.get(f"/triage/{submission.id}")) == []


def test_drowsy_driving_adds_do_not_drive(app, clock):
    clock(TUESDAY_MORNING)
    browser, submission = urgent_patient(app, route="general_consult")

    markup, page = outcome_words(browser, submission)

    assert "Do not drive until a doctor has seen you." in page
    assert page.index("Do not drive") < page.index("Why it is urgent")


def test_an_anonymous_urgent_visitor_sees_the_call_button_and_can_register(app, client, clock):
    clock(SUNDAY_EVENING)
    factories.make_type(Route.VASCULAR_ULTRASOUND, 45, "Leg vein scan")
    submission = factories.make_submission(None, "vascular_ultrasound", "urgent")
    with client.session_transaction() as session:  # answered in this browser, before any account
        session[SUBMISSIONS_KEY] = [submission.id]

    response = client.get(f"/triage/{submission.id}")

    markup = main(response)
    assert re.search(r'<a [^>]*href="([^"]+)"', markup).group(1) == f"tel:{app.config['CLINIC_PHONE']}"
    assert ELSEWHERE in words(markup) and "/auth/register" in markup


# --- emergencies --------------------------------------------------------------------------------

FOLLOW_UP_WORDS = ("doctor", "follow up", "follow-up", "passed your answers", "contact you", "call you")


@pytest.mark.parametrize("answer", [{"pe_symptoms": "yes"}, {"bleeding_vein": "not_sure"}, {"cold_pale_leg": "yes"}])
def test_an_anonymous_emergency_page_says_call_911_first_and_promises_nobody_will_follow_up(client, answer):
    response = submit(client, "/triage/step/safety", {**SAFE, **answer, "action": "next"})
    page = client.get(response.headers["Location"])

    markup = main(page)
    said = words(markup).lower()
    assert re.search(r"<h1>Call 911 now, or go to the nearest emergency department</h1>", markup)
    assert markup.index("<h1>") < markup.index("<p>")  # nothing before it
    for phrase in FOLLOW_UP_WORDS:
        assert phrase not in said, phrase
    assert 'href="tel:911"' in markup


def test_a_patients_own_emergency_page_says_a_doctor_will_review_it(app):
    patient = factories.make_user()
    submission = factories.make_submission(patient, "general_consult", "emergency")
    page = words(main(browser_of(app, patient).get(f"/triage/{submission.id}")))

    assert page.startswith("Call 911 now, or go to the nearest emergency department")
    assert "A doctor at the clinic will review your answers." in page


# --- the words of an urgent case, everywhere ----------------------------------------------------

def test_every_urgent_text_says_within_24_hours_and_nothing_else():
    assert CLINICIAN_RULE_TEXT["U1"] == "U1 possible deep vein thrombosis: seen within 24 hours"
    assert CLINICIAN_RULE_TEXT["U2"] == "U2 possible clot in pregnancy: seen within 24 hours"
    assert CLINICIAN_RULE_TEXT["U3"] == "U3 superficial vein thrombosis: seen within 24 hours to rule out DVT"
    assert CLINICIAN_RULE_TEXT["U4"] == "U4 drowsy driving: seen within 24 hours, no driving until then"
    for text in [*(RULE_TEXT[rule] for rule in ("U1", "U2", "U3", "U4")), URGENCY_ADVICE[Urgency.URGENT]]:
        assert "4 hours" not in text.replace("24 hours", "")
        assert "same or next day" not in text and "same day" not in text
        assert "today" not in text.replace("emergency department today", "")


def test_the_desks_urgent_list_says_why_in_the_rule_texts_and_by_when(app):
    patient = factories.make_user(name="Eve Urgent")
    answered = datetime(2026, 12, 13, 20, 53, tzinfo=CHICAGO)
    factories.make_submission(patient, "vascular_ultrasound", "urgent", pregnant="yes", sex="female", age=30,
                              created_at=answered.astimezone(factories.UTC))
    desk = factories.make_user(role=Role.DESK)

    page = words(main(browser_of(app, desk).get("/desk/patients/urgent")))

    assert "These patients need to be seen within 24 hours" in page
    assert CLINICIAN_RULE_TEXT["U1"] in page and CLINICIAN_RULE_TEXT["U2"] in page
    assert "Mon, Dec 14, 8:53 PM" in page  # 24 hours from the answers
