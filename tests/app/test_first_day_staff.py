"""A real clinic's first day, from an empty production database: `flask create-admin` makes the
first administrator, who adds a front desk member, a doctor and a sonographer on Staff accounts.
Each opens the link mailed to them (read back from the outbox), chooses a password, sets up an
authenticator at the first login, lands on their start page and reaches their pages and no
others; and no other account exists."""
import re
from urllib.parse import urlsplit

from flask_migrate import upgrade
from sqlalchemy import select

from portal.auth import totp
from portal.auth.models import Role, User
from portal.booking.models import AppointmentType, Clinician
from portal.extensions import db
from portal.notify.models import MessageKind
from portal.triage.vocabulary import Route
from tests.client import submit
from tests.conftest import make_app
from tests.mailbox import messages_to, password_link
from tests.pages import location, text

PUBLIC_URL = "https://portal.clinic.example"
PASSWORDS = {"admin": "lantern orchard pebble 2718", "desk": "copper meadow violin 1414",
             "doctor": "granite harbor tulip 1732", "sonographer": "velvet canyon sparrow 1618"}
STAFF = [  # name, email, role, where they start, a page of theirs, pages that are not
    ("Dana Front", "dana@clinic.example", Role.DESK, "/desk/", ["/desk/patients/", "/desk/schedules/"],
     ["/queue/", "/my-day/", "/accounts/"]),
    ("Dr. Ada Vein", "ada@clinic.example", Role.DOCTOR, "/my-day/", ["/queue/"],
     ["/desk/", "/accounts/"]),
    ("Sol Scanner", "sol@clinic.example", Role.SONOGRAPHER, "/my-day/", [],
     ["/queue/", "/desk/", "/accounts/", "/desk/audit/"]),
]


def first_login(app, path: str, email: str, password: str):
    """Open the invitation link, choose the password, log in, set up the authenticator from the
    secret the page shows: the browser, logged in, and where "continue" leads."""
    browser = app.test_client()
    chosen = submit(browser, path, {"password": password, "confirm": password})
    assert location(chosen).startswith("/auth/login"), text(chosen)
    logged = submit(browser, "/auth/login", {"email": email, "password": password})
    assert location(logged) == "/auth/enrol"  # staff always set up the second factor first
    assert browser.get("/accounts/").status_code == 302  # no page before it
    page = text(browser.get("/auth/enrol"))
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    done = submit(browser, "/auth/enrol", {"code": totp.code_at(secret)})
    assert done.status_code == 200 and "recovery" in text(done).lower()
    start = re.search(r'<a class="button primary" href="([^"]+)">I have kept them', text(done)).group(1)
    return browser, start


def test_create_admin_and_invitations_give_a_working_clinic_staff_and_nothing_else(empty_database_url):
    app = make_app(empty_database_url, PUBLIC_URL=PUBLIC_URL)
    with app.app_context():
        upgrade()
        # The visit types a clinic sets up before anyone is booked (there is no page for them yet).
        db.session.add_all([AppointmentType(route=Route.GENERAL_CONSULT, name="General consultation",
                                            duration_minutes=30),
                            AppointmentType(route=Route.VASCULAR_ULTRASOUND, name="Leg vein ultrasound",
                                            duration_minutes=45)])
        db.session.commit()
        assert db.session.scalar(select(db.func.count()).select_from(User)) == 0

        result = app.test_cli_runner().invoke(args=["create-admin", "boss@clinic.example", "--name", "Bea Boss"])
        assert result.exit_code == 0, result.output
        [link] = re.findall(r"https?://\S+", result.output)
        admin, start = first_login(app, urlsplit(link).path, "boss@clinic.example", PASSWORDS["admin"])
        assert start == "/desk/" and admin.get(start).status_code == 200
        assert admin.get("/accounts/").status_code == 200 and admin.get("/desk/audit/").status_code == 200

        for name, email, role, _, _, _ in STAFF:
            added = submit(admin, "/accounts/new", {"new-name": name, "new-email": email, "new-role": role},
                           form_page="/accounts/")
            assert added.status_code == 302, text(added)

        for _name, email, role, home, theirs, not_theirs in STAFF:
            [invitation] = messages_to(email, MessageKind.INVITATION)
            assert "You have a staff account at" in invitation.text_body
            path = password_link(email, MessageKind.INVITATION)
            browser, start = first_login(app, path, email, PASSWORDS[role])
            assert start == home, (role, start)
            landing = browser.get(start)
            assert landing.status_code == 200, (role, landing.status_code)
            for page in theirs:
                assert browser.get(page).status_code == 200, (role, page)
            for page in not_theirs:
                assert browser.get(page).status_code == 403, (role, page)
            if role in (Role.DOCTOR, Role.SONOGRAPHER):
                assert "No visits today" in text(landing)  # their calendar exists, with nothing booked yet

        db.session.rollback()
        accounts = db.session.execute(select(User.email, User.role, User.active).order_by(User.id)).all()
        assert accounts == [("boss@clinic.example", Role.ADMIN, True),
                            *((email, role, True) for _, email, role, *_ in STAFF)]
        assert all(db.session.scalars(select(User.totp_confirmed_at)))  # every one has a second factor
        clinicians = {c.user.email: [t.route for t in c.appointment_types]
                      for c in db.session.scalars(select(Clinician))}
        assert clinicians == {"ada@clinic.example": [Route.GENERAL_CONSULT],
                              "sol@clinic.example": [Route.VASCULAR_ULTRASOUND]}
        db.session.remove()
        db.engine.dispose()
