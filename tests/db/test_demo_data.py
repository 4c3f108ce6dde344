"""`flask seed-demo` makes what the README promises, and a second run changes nothing."""
from sqlalchemy import func, select

from portal.auth.models import User
from portal.booking.models import Appointment, AppointmentType, Clinician, WorkingHours
from portal.extensions import db


def counts() -> dict[str, int]:
    db.session.rollback()
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (User, Clinician, AppointmentType, WorkingHours, Appointment)}


def test_seed_demo_makes_the_demo_clinic_and_is_idempotent(app, runner, auth):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    first = counts()
    assert first["Clinician"] == 3 and first["AppointmentType"] == 3 and first["Appointment"] >= 3
    routes = set(db.session.scalars(select(AppointmentType.route)))
    assert routes == {"general_consult", "vascular_ultrasound", "sleep_study_referral"}
    # one clinician works two blocks a day with a lunch gap
    blocks_per_day = db.session.execute(select(WorkingHours.clinician_id, WorkingHours.weekday, func.count())
                                        .group_by(WorkingHours.clinician_id, WorkingHours.weekday)).all()
    assert any(n == 2 for _, _, n in blocks_per_day)

    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "nothing changed" in again.output
    assert counts() == first

    for role in ("patient", "desk", "doctor", "admin"):
        response = auth.login(f"{role}@example.com")
        assert response.status_code == 302, f"demo {role} cannot log in"
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
        assert db.session.scalar(select(func.count()).select_from(Clinician)) == 3
        db.engine.dispose()
