"""`flask seed-demo` makes what the README promises, and a second run changes nothing."""
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role, User
from portal.booking.models import ACTIVE_STATUSES, Appointment, AppointmentType, Clinician, WorkingHours
from portal.demo import DEMO_EMAILS, seed_demo
from portal.extensions import db
from tests.client import browser_of

CHICAGO = ZoneInfo("America/Chicago")  # the tests' CLINIC_TIMEZONE
README = __import__("pathlib").Path(__file__).resolve().parents[2] / "README.md"


def counts() -> dict[str, int]:
    db.session.rollback()
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (User, Clinician, AppointmentType, WorkingHours, Appointment)}


def test_seed_demo_makes_the_demo_clinic_and_is_idempotent(app, runner, auth):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    first = counts()
    assert first["Clinician"] == 4 and first["AppointmentType"] == 3 and first["Appointment"] >= 3
    routes = set(db.session.scalars(select(AppointmentType.route)))
    assert routes == {"general_consult", "vascular_ultrasound", "sleep_study_referral"}
    # one clinician works two blocks a day with a lunch gap
    blocks_per_day = db.session.execute(select(WorkingHours.clinician_id, WorkingHours.weekday, func.count())
                                        .group_by(WorkingHours.clinician_id, WorkingHours.weekday)).all()
    assert any(n == 2 for _, _, n in blocks_per_day)

    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "nothing changed" in again.output
    assert counts() == first

    for email in ("patient@example.com", "desk@example.com", "doctor@example.com", "admin@example.com",
                  "lee@example.com", "morgan@example.com", "okafor@example.com"):
        response = auth.login(email)
        assert response.status_code == 302, f"demo {email} cannot log in"
        auth.logout()


def test_seed_demo_if_empty_leaves_a_used_database_alone(app, runner):
    from tests import factories
    factories.make_user()
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0 and "not loaded" in result.output
    assert counts()["Clinician"] == 0


def test_seed_demo_runs_under_the_test_cli_runner_without_an_app_context(database_url):
    """Registered so that Flask pushes the app context: it works as `flask seed-demo` does."""
    from flask import has_app_context

    from tests.conftest import make_app
    app = make_app(database_url)
    assert not has_app_context()
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "booking demo-booking-1 for patient@example.com" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Clinician)) == 4
        db.engine.dispose()


def next_weekday_at(weekday: int, hour: int, minute: int = 0) -> datetime:
    """The coming `weekday` (0 = Monday) at a clinic wall-clock time, as UTC."""
    today = datetime.now(CHICAGO).date()
    day = today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHICAGO).astimezone(UTC)


def todays_visits(now: datetime, email: str) -> list[Appointment]:
    db.session.rollback()
    day = now.astimezone(CHICAGO).date()
    start = datetime(day.year, day.month, day.day, tzinfo=CHICAGO).astimezone(UTC)
    user = db.session.scalar(select(User).where(User.email == email))
    return list(db.session.scalars(
        select(Appointment).join(Clinician).where(Clinician.user_id == user.id, Appointment.start_at >= start,
                                                  Appointment.start_at < start + timedelta(days=1),
                                                  Appointment.status.in_(ACTIVE_STATUSES))
        .order_by(Appointment.start_at)))


@pytest.mark.parametrize("when", ["Sunday 8:40 PM", "Saturday 7:15 AM"])
def test_seed_demo_books_today_earlier_and_later_whatever_the_day_and_hour(app, when):
    weekday, hour, minute = {"Sunday 8:40 PM": (6, 20, 40), "Saturday 7:15 AM": (5, 7, 15)}[when]
    now = next_weekday_at(weekday, hour, minute)

    seed_demo(now=now)

    everyday = todays_visits(now, "morgan@example.com")
    assert len(everyday) >= 4
    assert any(v.start_at < now for v in everyday) or hour < 8  # to check in (none before 7 AM has passed)
    assert any(v.start_at >= now for v in everyday)  # still to come
    scans = todays_visits(now, "lee@example.com")
    assert len(scans) >= 2 and {v.appointment_type.route for v in scans} == {"vascular_ultrasound"}
    assert not any("today's visit" in line for line in seed_demo(now=now))  # the same day again: nothing new


def test_the_demo_sonographer_is_one_and_sees_todays_scans_on_my_day(app):
    seed_demo()
    lee = db.session.scalar(select(User).where(User.email == "lee@example.com"))
    assert lee.role == Role.SONOGRAPHER

    browser = browser_of(app, lee)
    start = browser.get("/my-day/")

    assert start.status_code == 200
    page = start.get_data(as_text=True)
    assert "Vascular ultrasound" in page or "Leg vein ultrasound" in page
    assert "No visits today" not in page
    assert browser.get("/queue/").status_code == 403


def test_the_readme_lists_every_demo_staff_account_with_its_role(app):
    readme = README.read_text()
    seed_demo()
    staff = db.session.execute(select(User.email, User.role).where(User.email.in_(DEMO_EMAILS),
                                                                    User.role != Role.PATIENT)).all()
    for email, role in staff:
        row = next((line for line in readme.splitlines() if f"`{email}`" in line), None)
        assert row is not None, f"{email} is not in the README's demo table"
        assert re.search(role.replace("desk", "front desk").replace("admin", "administrator"), row, re.I), row
