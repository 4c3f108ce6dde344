"""Fixtures for database tests: an app whose pool lets 30 threads hold connections at once."""
from dataclasses import dataclass
from datetime import date, time

import pytest

from portal.auth.models import User
from portal.booking.models import AppointmentType, Clinician
from portal.extensions import db
from tests import factories
from tests.conftest import make_app

THREADS = 30


@pytest.fixture
def app(database_url):
    app = make_app(database_url, SQLALCHEMY_ENGINE_OPTIONS={
        "pool_size": THREADS + 5, "max_overflow": 5, "pool_timeout": 60})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@dataclass
class Clinic:
    appointment_type: AppointmentType
    clinician: Clinician
    other_clinician: Clinician
    patients: list[User]
    day: date  # a weekday next week, inside everyone's hours


@pytest.fixture
def clinic(app) -> Clinic:
    hours = {day: [(time(8), time(18))] for day in range(7)}
    return Clinic(appointment_type=factories.make_type(minutes=30),
                  clinician=factories.make_clinician(hours=hours),
                  other_clinician=factories.make_clinician(hours=hours),
                  patients=[factories.make_user() for _ in range(THREADS)],
                  day=factories.future_weekday(weekday=2))
