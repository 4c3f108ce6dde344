"""The front desk's forms: the patient search box, registering a caller, confirming a time or an
overbook (with the reason the triage rules may ask for), a status change, a cancellation, and
the clinicians' weekly hours and time off."""
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SearchField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional, Regexp, ValidationError

from portal import clinic
from portal.auth.forms import RegistrationForm, email_field
from portal.auth.models import CONTACT_PREFERENCES
from portal.booking.forms import ConfirmSlotForm
from portal.booking.models import STATUS_WORDS, AppointmentStatus
from portal.booking.schedule_service import WEEKDAYS

# The status buttons of the calendar: value posted, label, what the flash message says happened
# (booking/models.py STATUS_WORDS has the words), in the order the buttons stand.
STATUS_ACTIONS = {status: (STATUS_WORDS[status].button, STATUS_WORDS[status].done)
                  for status in (AppointmentStatus.CHECKED_IN, AppointmentStatus.NOSHOW, AppointmentStatus.FULFILLED)}


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


# The portal's own words where WTForms would say "Not a valid date value." and the like.
NOT_A_DATE = "Please give the date as year, month and day, for example 2025-03-14."
NOT_A_TIME = "Please give the time as hours and minutes, for example 14:30."
FORM_CHANGED = "This form was changed or is too old. Please open the page again."


class PatientSearchForm(FlaskForm):
    """The one search box. Posted, not sent in the address: what the desk types is a name, a date
    of birth or a phone number, which would otherwise sit in access logs and browser history."""

    q = SearchField("Name, date of birth, phone or email", filters=[_strip],
                    validators=[Length(max=120, message="Please type at most 120 characters.")])


_CONTACT_CHOICES = [SelectChoice("", "Not said"),
                    *(SelectChoice(value, label) for value, label in CONTACT_PREFERENCES.items())]


def _a_contact_preference(form, field):
    if field.data and field.data not in CONTACT_PREFERENCES:
        raise ValidationError("Please choose how they prefer to be reached from the list.")


class DeskRegistrationForm(RegistrationForm):
    """Self-registration's fields and checks, but the email is optional (a caller may have none:
    then no online account until one is added) and the desk notes how the caller prefers to be
    reached. Neither sets a password: the patient chooses it through the invitation mailed to them."""

    email = email_field("Email address (optional)", required=False)
    preferred_contact = SelectField("How they prefer to be reached", choices=_CONTACT_CHOICES,
                                    validate_choice=False, validators=[_a_contact_preference])


class PatientDetailsForm(DeskRegistrationForm):
    """The desk corrects a patient's name, date of birth, phone, email and preferred contact."""


def _within_ten_years(form, field):
    if field.data and not clinic.plausible_day(field.data):
        raise ValidationError("Please give a date within ten years of today.")


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

    clinician_id = SelectField("Clinician to overbook", coerce=int, validate_choice=True,
                               invalid_value_message="Please choose a clinician from the list.",
                               invalid_choice_message="Please choose a clinician from the list.")
    appointment_type_id = SelectField("Visit type", coerce=int, validate_choice=True,
                                      invalid_value_message="Please choose a visit type from the list.",
                                      invalid_choice_message="Please choose a visit type from the list.")
    day = DateField("Date", validators=[InputRequired("Please enter the date."), _within_ten_years],
                    invalid_value_message=NOT_A_DATE)
    start_time = TimeField("Time (clinic time)", validators=[InputRequired("Please enter the time.")],
                           invalid_value_message=NOT_A_TIME)
    reason = TextAreaField("Reason for overbooking", filters=[_strip], validators=[
        DataRequired("A reason is required to overbook."),
        Length(max=300, message="Please use at most 300 characters.")])
    override_reason = _override_reason_field()
    idempotency_key = HiddenField(validators=[DataRequired(FORM_CHANGED),
                                              Regexp(r"^[0-9a-f]{32}$", message=FORM_CHANGED)])

    def fresh_key(self) -> "OverbookForm":
        self.idempotency_key.data = uuid.uuid4().hex
        return self


class StatusForm(FlaskForm):
    to = HiddenField(validators=[AnyOf(list(STATUS_ACTIONS), message="That change of status is not possible.")])
    back = HiddenField()


class DeskCancelForm(FlaskForm):
    reason = TextAreaField("Reason for canceling", validators=[
        DataRequired("Please give a reason for canceling."),
        Length(max=300, message="Please use at most 300 characters.")])
    back = HiddenField()


def _day_hours_field(day: str) -> StringField:
    return StringField(day, validators=[Length(max=200, message=f"{day}: please write at most 200 characters, "
                                                                "for example 08:30-12:00, 13:00-17:00.")])


class HoursForm(FlaskForm):
    effective_from = DateField("These hours start on", validators=[InputRequired("Please give the first day."),
                                                                   _within_ten_years],
                               invalid_value_message=NOT_A_DATE)
    monday = _day_hours_field("Monday")
    tuesday = _day_hours_field("Tuesday")
    wednesday = _day_hours_field("Wednesday")
    thursday = _day_hours_field("Thursday")
    friday = _day_hours_field("Friday")
    saturday = _day_hours_field("Saturday")
    sunday = _day_hours_field("Sunday")

    def day_fields(self):
        return [getattr(self, name.lower()) for name in WEEKDAYS]

    def validate_effective_from(self, field):
        if field.data and field.data < clinic.today() - timedelta(days=1):
            raise ValidationError("New hours cannot start in the past.")


class TimeOffForm(FlaskForm):
    first_day = DateField("From (day)", validators=[InputRequired("Please give the first day."), _within_ten_years],
                          invalid_value_message=NOT_A_DATE)
    start_time = TimeField("From (time)", validators=[Optional()], invalid_value_message=NOT_A_TIME)
    last_day = DateField("Until (day)", validators=[InputRequired("Please give the last day."), _within_ten_years],
                         invalid_value_message=NOT_A_DATE)
    end_time = TimeField("Until (time)", validators=[Optional()], invalid_value_message=NOT_A_TIME)
    whole_days = BooleanField("Whole days")
    reason = StringField("Reason", validators=[Length(max=200, message="Please keep the reason to 200 characters.")])

    def period(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """Local days and times as an aware interval; whole days run midnight to midnight."""
        if self.whole_days.data or not (self.start_time.data and self.end_time.data):
            start = datetime.combine(self.first_day.data, time(0), zone)
            end = datetime.combine(self.last_day.data + timedelta(days=1), time(0), zone)
        else:
            start = datetime.combine(self.first_day.data, self.start_time.data, zone)
            end = datetime.combine(self.last_day.data, self.end_time.data, zone)
        return start, end
