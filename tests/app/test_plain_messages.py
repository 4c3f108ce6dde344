"""Every message a form shows is the portal's own, in plain words: never the form library's
defaults ("Field cannot be longer than 254 characters.", "Not a valid choice.").

Three ways of looking: every FlaskForm subclass of the portal is found (not listed) and sent
too-long, garbled and empty values for every field; every validator and field that has a message
of its own is checked to carry one, so a default cannot hide behind a value the walk did not try;
and the busiest forms are posted through the pages, with their CSRF tokens, as a browser would
(and once without a token).
"""
import importlib
import pkgutil

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import DateField, DateTimeField, SelectField, SelectMultipleField, TimeField
from wtforms import validators as v

import portal
from portal.auth.models import Role
from portal.booking.service import book_appointment
from portal.extensions import db
from tests import factories
from tests.client import AuthActions, logged_in, submit
from tests.factories import local
from tests.pages import main, text, words

# What WTForms (3.x) and Flask-WTF say when a form does not give its own words.
WTFORMS_DEFAULTS = [
    "This field is required.", "Field must be at least", "Field cannot be longer than", "Field must be exactly",
    "Field must be between", "Invalid email address.", "Field must be equal to", "Invalid input.",
    "Invalid value, must be one of", "Invalid value, can't be any of", "Number must be", "Not a valid date value",
    "Not a valid time value", "Not a valid datetime value", "Not a valid integer value", "Not a valid decimal value",
    "Not a valid float value", "Not a valid choice", "Invalid Choice: could not coerce", "Choices cannot be None",
    "is not a valid choice for this field", "Invalid URL.", "Invalid IP address.", "Invalid Mac address.",
    "Invalid UUID.", "The CSRF token is missing.", "The CSRF token is invalid.", "The CSRF token has expired.",
    "The CSRF session token is missing.", "The CSRF tokens do not match.", "The referrer header is missing.",
    "The referrer does not match the host.", "Bad Request",
]
# Validators whose `message` is the library's when left None.
WITH_A_MESSAGE = (v.DataRequired, v.InputRequired, v.Length, v.Email, v.EqualTo, v.Regexp, v.AnyOf, v.NoneOf,
                  v.NumberRange, v.URL, v.IPAddress, v.MacAddress, v.UUID)


def defaults_in(page: str) -> list[str]:
    return [default for default in WTFORMS_DEFAULTS if default in page]


def portal_forms() -> list[type[FlaskForm]]:
    """Every FlaskForm subclass defined in the portal (every module is imported first)."""
    for module in pkgutil.walk_packages(portal.__path__, "portal."):
        importlib.import_module(module.name)
    found, waiting = [], [FlaskForm]
    while waiting:
        for subclass in waiting.pop().__subclasses__():
            waiting.append(subclass)
            if subclass.__module__.startswith("portal."):
                found.append(subclass)
    return found


FORMS = portal_forms()


def test_the_walk_finds_the_forms():
    names = {form.__name__ for form in FORMS}
    assert {"RegistrationForm", "LoginForm", "OverbookForm", "TimeOffForm", "HoursForm", "CancelForm",
            "ReviewForm", "EmergencyDealtWithForm"} <= names


def _ready(form: FlaskForm) -> FlaskForm:
    """Choices the views fill in at run time, filled in as a view would."""
    if hasattr(form, "offer_routes"):
        form.offer_routes(provisional=True)
    for field in form:
        if isinstance(field, SelectField) and field.choices is None:
            field.choices = [(1, "One")] if field.coerce is int else [("one", "One")]
    return form


def _values(form_class: type[FlaskForm], kind: str) -> MultiDict:
    """A value for every field of the form: far too long, garbled, or empty."""
    form = form_class(meta={"csrf": False}, formdata=None)
    data = MultiDict({"unrelated": "x"})  # never an empty form, which WTForms would read as no form at all
    for field in form:
        if isinstance(field, (DateField, DateTimeField, TimeField)):
            value = {"long": "2025-01-01" * 500, "garbled": "31/31/2020 25:99", "empty": ""}[kind]
        elif isinstance(field, (SelectField, SelectMultipleField)):
            value = {"long": "9" * 5000, "garbled": "not-one-of-the-choices", "empty": ""}[kind]
        else:
            value = {"long": "Z" * 5000, "garbled": "<&>'\" 31/31", "empty": ""}[kind]
        data.add(field.name, value)
    return data


@pytest.mark.parametrize("kind", ["long", "garbled", "empty"])
@pytest.mark.parametrize("form_class", FORMS, ids=lambda form: form.__name__)
def test_every_form_answers_bad_values_in_its_own_words(app, form_class, kind):
    with app.test_request_context(method="POST"):
        form = _ready(form_class(formdata=_values(form_class, kind), meta={"csrf": False}))
        form.validate()
        messages = [str(message) for errors in form.errors.values() for message in errors]
    assert not [message for message in messages if defaults_in(message)], messages


@pytest.mark.parametrize("form_class", FORMS, ids=lambda form: form.__name__)
def test_every_field_that_can_fail_carries_its_own_message(app, form_class):
    """Not only the values tried above: a validator or field left with the library's message
    would show it for some value, so none may be."""
    missing = []
    with app.test_request_context():
        for field in _ready(form_class(meta={"csrf": False}, formdata=None)):
            missing += [f"{field.name}: {type(check).__name__}" for check in field.validators
                        if isinstance(check, WITH_A_MESSAGE) and check.message is None]
            if isinstance(field, DateTimeField) and field.invalid_value_message is None:
                missing.append(f"{field.name}: a value that is not a date or time")
            if isinstance(field, SelectField) and field.validate_choice and field.invalid_choice_message is None:
                missing.append(f"{field.name}: a choice not in the list")
            if isinstance(field, SelectField) and field.coerce is not str and field.invalid_value_message is None:
                missing.append(f"{field.name}: a value that is not a number")
    assert missing == []


# --- through the pages ----------------------------------------------------------------------------

def test_registering_and_logging_in_with_far_too_long_values(client):
    page = submit(client, "/auth/register", {"name": "Pat", "email": "a" * 250 + "@example.com",
                                             "date_of_birth": "14/03/1954", "phone": "(555) 010-1234"})
    assert page.status_code == 400
    shown = words(main(page))
    assert "An email address has at most 254 characters." in shown
    assert "Please enter the date of birth as month, day and year" in shown
    assert defaults_in(shown) == []
    page = submit(client, "/auth/login", {"email": "a" * 300 + "@example.com", "password": "p" * 300})
    assert page.status_code == 400 and defaults_in(words(main(page))) == []
    assert "An email address has at most 254 characters." in words(main(page))


def test_the_desks_schedule_forms_with_garbled_dates_and_times(app):
    clinician_id = factories.make_clinician().id
    db.session.rollback()
    _, desk = logged_in(app, Role.DESK)
    url = f"/desk/schedules/{clinician_id}"
    page = submit(desk, f"{url}/time-off", {"off-first_day": "31/31/2020", "off-start_time": "25:99",
                                            "off-last_day": "someday", "off-end_time": "noon",
                                            "off-reason": "R" * 300}, form_page=url)
    shown = words(main(page))
    assert page.status_code == 400 and defaults_in(shown) == []
    assert "Please give the date as year, month and day" in shown
    assert "Please give the time as hours and minutes" in shown
    assert "Please keep the reason to 200 characters." in shown
    page = submit(desk, f"{url}/hours", {"hours-effective_from": "next week", "hours-monday": "9" * 300},
                  form_page=url)
    shown = words(main(page))
    assert page.status_code == 400 and defaults_in(shown) == []
    assert "Monday: please write at most 200 characters" in shown


def test_an_overbook_with_choices_not_in_the_lists(app):
    factories.make_type()
    clinician = factories.make_clinician()
    patient_id = factories.make_user().id
    db.session.rollback()
    _, desk = logged_in(app, Role.DESK)
    page = submit(desk, f"/desk/patients/{patient_id}/overbook", {
        "clinician_id": "nobody", "appointment_type_id": "999999", "day": "tomorrow", "start_time": "99:99",
        "reason": "Squeeze in"}, form_page=f"/desk/patients/{patient_id}/book")
    shown = words(main(page))
    assert page.status_code == 400 and defaults_in(shown) == [], defaults_in(shown)
    assert "Please choose a clinician from the list." in shown
    assert "Please choose a visit type from the list." in shown
    assert clinician.id  # the lists did hold a real choice


def test_a_patients_cancellation_with_a_reason_not_in_the_list(app):
    visit, clinician = factories.make_type(), factories.make_clinician()
    patient, browser = logged_in(app)
    appointment = book_appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=visit.id,
                                   start=local(factories.future_weekday(), 10))
    appointment_id = appointment.id
    db.session.rollback()
    page = submit(browser, f"/appointments/{appointment_id}/cancel", {"reason": "Because I said so"})
    shown = words(main(page))
    assert page.status_code == 400 and defaults_in(shown) == []
    assert "Please choose one of the reasons in the list" in shown


def test_a_doctors_review_with_a_route_not_in_the_list(app):
    case_id = factories.make_submission(factories.make_user()).id
    db.session.rollback()
    _, doctor = logged_in(app, Role.DOCTOR)
    page = submit(doctor, f"/queue/{case_id}", {"new_route": "brain_surgery", "reason": "why not"})
    shown = words(main(page))
    assert page.status_code == 400 and defaults_in(shown) == []
    assert "Please choose one of the routes in the list." in shown


def test_a_form_without_its_token_gets_the_portals_expired_form_page(client):
    factories.make_user(email="pat@example.com")
    page = client.post("/auth/login", data={"email": "pat@example.com", "password": "demo-password-1"})
    assert page.status_code == 400
    assert "This form has expired" in text(page) and defaults_in(text(page)) == []
    AuthActions(client).login("pat@example.com")
    page = client.post("/auth/logout", data={"csrf_token": "forged"})
    assert page.status_code == 400 and defaults_in(text(page)) == []
