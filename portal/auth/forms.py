"""Account forms. Every field is checked on the server with a message a patient understands."""
import re
from datetime import date

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, StringField, TelField
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, StopValidation, ValidationError

from portal import clinic
from portal.auth import names, passwords
from portal.auth.fields import DateOfBirthField
from portal.auth.models import STAFF_ROLE_NAMES


def _strip(value: str | None) -> str | None:
    """Autofill and phone keyboards add spaces around what people type."""
    return value.strip() if isinstance(value, str) else value


PHONE_PATTERN = re.compile(r"^\+?[0-9 ().-]{7,20}$")
# The portal's own words where WTForms would say "Field cannot be longer than 254 characters."
EMAIL_TOO_LONG = "An email address has at most 254 characters. Please check the address."
PASSWORD_TOO_LONG = "That is longer than any password here (at most 128 characters). Please check it."


def _date_of_birth_is_plausible(form, field):
    born: date | None = field.data
    if born is None:
        return
    today = clinic.today()
    if born > today:
        raise ValidationError("Date of birth cannot be in the future.")
    if born.year < today.year - 120:
        raise ValidationError("Please check the year of birth.")


def _is_a_name(form, field):
    if problem := names.name_problem(field.data or ""):
        raise ValidationError(problem)


def _phone_is_plausible(form, field):
    digits = re.sub(r"\D", "", field.data or "")
    if not PHONE_PATTERN.match(field.data or "") or not 7 <= len(digits) <= 15:
        raise ValidationError("Enter a phone number with 7 to 15 digits, for example (555) 010-1234.")


class RegistrationForm(FlaskForm):
    name = StringField("Full name", filters=[_strip], validators=[DataRequired("Please enter your name."), _is_a_name])
    email = EmailField("Email address", filters=[_strip], validators=[
        DataRequired("Please enter your email address."),
        Email("That does not look like an email address, for example name@example.com.",
              check_deliverability=False),
        Length(max=254, message=EMAIL_TOO_LONG)])
    # Month, day and year boxes (auth/fields.py). InputRequired, not DataRequired: a date typed
    # wrong keeps its own message, not "please enter".
    date_of_birth = DateOfBirthField("Date of birth", validators=[
        InputRequired("Please enter your date of birth."), _date_of_birth_is_plausible])
    phone = TelField("Phone number", filters=[_strip],
                     validators=[DataRequired("Please enter a phone number."), _phone_is_plausible])
    # No password here: the patient chooses it through the link we mail (NewPasswordForm), which
    # also shows the address is theirs, and lets this page answer the same for a known email.


def email_field(label: str = "Email address", *, required: bool = True) -> EmailField:
    """An email box with the portal's messages; optional ones give None when left empty."""
    first = DataRequired("Please enter the email address.") if required else _empty_is_none
    return EmailField(label, filters=[_strip, _none_if_empty], validators=[
        first, Email("That does not look like an email address, for example name@example.com.",
                     check_deliverability=False),
        Length(max=254, message=EMAIL_TOO_LONG)])


def _none_if_empty(value: str | None) -> str | None:
    return value or None


def _empty_is_none(form, field):
    """An optional box left empty: no further checks (WTForms' Optional, for a filtered None)."""
    if not field.data:
        field.errors[:] = []
        raise StopValidation()


class MyDetailsForm(FlaskForm):
    """A patient's own phone and email. A new email takes effect once confirmed from its mailbox."""
    phone = TelField("Phone number", filters=[_strip],
                     validators=[DataRequired("Please enter a phone number."), _phone_is_plausible])
    email = email_field()


class LoginForm(FlaskForm):
    email = EmailField("Email address", filters=[_strip],
                       validators=[DataRequired("Please enter your email address."),
                                   Length(max=254, message=EMAIL_TOO_LONG)])
    password = PasswordField("Password", validators=[DataRequired("Please enter your password."),
                                                     Length(max=200, message=PASSWORD_TOO_LONG)])


class SecondFactorForm(FlaskForm):
    code = StringField("Code from the app", filters=[_strip], validators=[
        DataRequired("Please type the code."), Length(max=40, message="That is longer than any code we send.")])


class MeetsPasswordPolicy:
    """The password policy (portal/auth/passwords.py) as a validator; the person's own name and
    email come from the form's `personal` (see NewPasswordForm)."""

    def __call__(self, form, field):
        problem = passwords.password_problem(field.data or "", personal=getattr(form, "personal", ()))
        if problem:
            raise ValidationError(problem)


class NewPasswordForm(FlaskForm):
    """Choosing a password through a mailed link: a reset, or an invitation's first password."""
    password = PasswordField("New password", validators=[DataRequired("Please choose a password."),
                                                         MeetsPasswordPolicy()])
    confirm = PasswordField("Type the password again", validators=[
        DataRequired("Please type the password again."), EqualTo("password", "The two passwords are not the same.")])

    def __init__(self, *args, personal: tuple[str, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.personal = personal


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email address", filters=[_strip], validators=[
        DataRequired("Please enter your email address."),
        Email("That does not look like an email address, for example name@example.com.",
              check_deliverability=False),
        Length(max=254, message=EMAIL_TOO_LONG)])


class ChangePasswordForm(NewPasswordForm):
    """A logged-in person changes their password: the current one first, so a session left open
    on a shared computer cannot take the account over."""
    current = PasswordField("Current password", validators=[
        DataRequired("Please type your current password."), Length(max=200, message=PASSWORD_TOO_LONG)])


class SecondFactorOffForm(FlaskForm):
    """A patient turns two-step login off: their password first, as for changing it, so a session
    left open on a shared computer cannot take the second factor away. Used with prefix="off", as
    the password form on the same page has a field named "current" too."""

    current = PasswordField("Your password, to turn two-step login off", validators=[
        DataRequired("Please type your password."), Length(max=200, message=PASSWORD_TOO_LONG)])


class ConfirmIdentityForm(FlaskForm):
    """Before a second factor or its recovery codes change: the password and a code from the app
    in use now (or a recovery code), so a session left open cannot take the second factor over.
    A view removes `current_code` for an account that has no second factor yet."""

    password = PasswordField("Your password", validators=[
        DataRequired("Please type your password."), Length(max=200, message=PASSWORD_TOO_LONG)])
    current_code = StringField("Code from the app you use now, or a recovery code", filters=[_strip], validators=[
        DataRequired("Please type the code your app shows now, or one of your recovery codes."),
        Length(max=40, message="That is longer than any code we send.")])


class ReplaceSecondFactorForm(ConfirmIdentityForm):
    code = StringField("Code the new app shows", filters=[_strip], validators=[
        DataRequired("Please type the code the new app shows."),
        Length(max=40, message="That is longer than any code we send.")])


def _is_a_staff_role(form, field):
    if field.data not in STAFF_ROLE_NAMES:
        raise ValidationError("Please choose a role: front desk, doctor, sonographer or administrator.")


_ROLE_CHOICES = [SelectChoice(role.value, words.capitalize()) for role, words in STAFF_ROLE_NAMES.items()]


class StaffMemberForm(FlaskForm):
    """An administrator adds a staff member, who is invited by mail to choose a password."""
    name = StringField("Full name", filters=[_strip],
                       validators=[DataRequired("Please enter the person's name."), _is_a_name])
    email = EmailField("Email address", filters=[_strip], validators=[
        DataRequired("Please enter their email address."),
        Email("That does not look like an email address, for example name@example.com.",
              check_deliverability=False),
        Length(max=254, message=EMAIL_TOO_LONG)])
    # The portal's own message for a role it does not know, not WTForms' "Not a valid choice".
    role = SelectField("Role", choices=_ROLE_CHOICES, validate_choice=False, validators=[_is_a_staff_role])


class RoleForm(FlaskForm):
    """A staff member's new role, one form per row of the Staff accounts page."""
    role = SelectField("New role", choices=_ROLE_CHOICES, validate_choice=False, validators=[_is_a_staff_role])
