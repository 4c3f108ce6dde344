"""The admin adds a sonographer in a real browser: Staff accounts, the clinician's details (the
visits they give, a link to their hours), the invitation read from the portal's mail, the
sonographer choosing a password, setting up the authenticator at the first login, and landing on
"My day", with no triage queue in the menu."""
import re

from playwright.sync_api import expect

from portal.auth import totp
from tests.e2e.live_portal import ADMIN

SONOGRAPHER_NAME = "Riley Scanwell"
SONOGRAPHER_PASSWORD = "harbor lantern quartz 4471"


def test_the_admin_adds_a_sonographer_who_sets_up_and_sees_my_day(journey, portal, size):
    email = f"riley.scanwell.{size}@clinic.example"
    with journey("admin adds staff") as j:
        j.log_in(ADMIN)
        with j.step("staff accounts") as page:
            j.nav("Staff accounts")
            expect(page.get_by_role("heading", level=1)).to_have_text("Staff accounts")
        with j.step("add a sonographer") as page:
            page.get_by_label("Full name").fill(SONOGRAPHER_NAME)
            page.get_by_label("Email address").fill(email)
            page.get_by_label("Role", exact=True).select_option(label="Sonographer")
            page.get_by_role("button", name="Add and send the invitation").click()
            expect(page.get_by_role("heading", level=1)).to_have_text(SONOGRAPHER_NAME)
            assert f"{SONOGRAPHER_NAME} is added (sonographer)" in j.flash()
        with j.step("the clinician's details") as page:
            expect(page.get_by_role("checkbox", name="Leg vein ultrasound")).to_be_checked()
            expect(page.get_by_role("checkbox", name="General consultation")).not_to_be_checked()
            page.get_by_label("Title").fill("Vascular sonographer, part time")
            page.get_by_role("button", name="Save the details").click()
            assert "clinician details are saved" in j.flash()
            expect(page.get_by_role("link", name=f"Set {SONOGRAPHER_NAME}'s hours and time off")).to_be_visible()

    with journey("the new sonographer's first login") as j:
        [invitation] = portal.mail_to(email)
        text = invitation.get_body(("plain",)).get_content()
        assert "sonographer" in text
        [link] = re.findall(re.escape(portal.base_url) + r"/auth/password/set/\S+", text)
        with j.step("open the link in the email") as page:
            page.goto(link)
            expect(page.get_by_role("heading", level=1)).to_contain_text("password")
        with j.step("choose a password") as page:
            page.get_by_label("New password").fill(SONOGRAPHER_PASSWORD)
            page.get_by_label("Type the password again").fill(SONOGRAPHER_PASSWORD)
            page.get_by_role("button", name=re.compile("password", re.I)).click()
            page.wait_for_load_state()
        if page.get_by_role("heading", level=1).inner_text() == "Log in":
            with j.step("log in") as page:
                page.get_by_label("Email address").fill(email)
                page.get_by_label("Password", exact=True).fill(SONOGRAPHER_PASSWORD)
                page.get_by_role("button", name="Log in").click()
        with j.step("set up the authenticator") as page:
            expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-step login")
            secret = page.locator("code.secret").inner_text().replace(" ", "")
            page.get_by_label("Code from the app").fill(totp.code_at(secret))
            page.get_by_role("button", name="Turn on two-step login").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
        with j.step("my day") as page:
            page.get_by_role("link", name="I have kept them, continue").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("My day")
            expect(page.get_by_text("No visits today")).to_be_visible()
            menu = page.get_by_role("navigation", name="Main")
            expect(menu.get_by_role("link", name="My day")).to_be_visible()
            expect(menu.get_by_role("link", name="Triage queue")).to_have_count(0)
