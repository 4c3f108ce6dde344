"""Account forms. Every field is checked on the server with a message a patient understands."""
import re
from datetime import date

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, PasswordField, StringField, TelField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from portal import clinic

def _strip(value: str | None) -> str | None:
    """Autofill and phone keyboards add spaces around what people type."""
    return value.strip() if isinstance(value, str) else value


PHONE_PATTERN = re.compile(r"^\+?[0-9 ().-]{7,20}$")
MIN_PASSWORD_LENGTH = 10


def _date_of_birth_is_plausible(form, field):
    born: date | None = field.data
    if born is None:
        return
    today = clinic.today()
    if born > today:
        raise ValidationError("Date of birth cannot be in the future.")
    if born.year < today.year - 120:
        raise ValidationError("Please check the year of birth.")


def _phone_is_plausible(form, field):
    digits = re.sub(r"\D", "", field.data or "")
    if not PHONE_PATTERN.match(field.data or "") or not 7 <= len(digits) <= 15:
        raise ValidationError("Enter a phone number with 7 to 15 digits, for example (555) 010-1234.")


class RegistrationForm(FlaskForm):
    name = StringField("Full name", filters=[_strip], validators=[
        DataRequired("Please enter your name."), Length(max=120, message="Please use at most 120 characters.")])
    email = EmailField("Email address", filters=[_strip], validators=[
        DataRequired("Please enter your email address."),
        Email("That does not look like an email address, for example name@example.com.",
              check_deliverability=False),
        Length(max=254)])
    date_of_birth = DateField("Date of birth", validators=[
        DataRequired("Please enter your date of birth."), _date_of_birth_is_plausible])
    phone = TelField("Phone number", filters=[_strip], validators=[DataRequired("Please enter a phone number."), _phone_is_plausible])
    password = PasswordField("Choose a password", validators=[
        DataRequired("Please choose a password."),
        Length(min=MIN_PASSWORD_LENGTH, max=200,
               message=f"Your password needs at least {MIN_PASSWORD_LENGTH} characters.")])
    confirm = PasswordField("Type the password again", validators=[
        DataRequired("Please type the password again."), EqualTo("password", "The two passwords are not the same.")])


class LoginForm(FlaskForm):
    email = EmailField("Email address", filters=[_strip],
                       validators=[DataRequired("Please enter your email address."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Please enter your password."), Length(max=200)])
