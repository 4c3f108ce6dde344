"""Front-desk forms about patients: the search box, registering a caller, and the overbook."""
import uuid

from flask_wtf import FlaskForm
from wtforms import DateField, Form, HiddenField, SearchField, SelectField, TextAreaField, TimeField
from wtforms.validators import DataRequired, Length, Regexp

from portal.auth.forms import RegistrationForm
from portal.booking.forms import ConfirmSlotForm


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class PatientSearchForm(Form):
    """The one search box. A GET form: it changes nothing, so it needs no CSRF token."""

    q = SearchField("Name, date of birth, phone or email", filters=[_strip],
                    validators=[Length(max=120, message="Please type at most 120 characters.")])


class DeskRegistrationForm(RegistrationForm):
    """Self-registration's fields and checks, without the password: the desk never sets one."""

    password = None
    confirm = None


def _override_reason_field():
    return TextAreaField("Reason for booking against the triage (only when asked)", filters=[_strip], validators=[
        Length(max=300, message="Please use at most 300 characters.")])


class DeskConfirmSlotForm(ConfirmSlotForm):
    """The desk's confirmation of a time: the patient's form, plus the reason the booking service
    asks for when the time or visit goes against the patient's triage."""

    override_reason = _override_reason_field()


class OverbookForm(FlaskForm):
    """A deliberate squeeze-in: any clinician, any visit type, a local date and time, and why.
    The choices are filled in by the view; the idempotency key makes a double click book once."""

    clinician_id = SelectField("Clinician", coerce=int, validate_choice=True)
    appointment_type_id = SelectField("Visit type", coerce=int, validate_choice=True)
    day = DateField("Date", validators=[DataRequired("Please enter the date.")])
    start_time = TimeField("Time (clinic time)", validators=[DataRequired("Please enter the time.")])
    reason = TextAreaField("Reason for overbooking", filters=[_strip], validators=[
        DataRequired("A reason is required to overbook."),
        Length(max=300, message="Please use at most 300 characters.")])
    override_reason = _override_reason_field()
    idempotency_key = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9a-f]{32}$")])

    def fresh_key(self) -> "OverbookForm":
        self.idempotency_key.data = uuid.uuid4().hex
        return self
