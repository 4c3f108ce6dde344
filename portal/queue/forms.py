"""The doctors' forms on a case: a review (with an optional change of route), and the record that
an emergency has been dealt with."""
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.triage.vocabulary import ROUTE_LABELS

_ROUTE_CHOICES = [SelectChoice(route.value, label) for route, label in ROUTE_LABELS.items()]
NOT_A_ROUTE = "Please choose one of the routes in the list."


class ReviewForm(FlaskForm):
    new_route = SelectField("Route", choices=[SelectChoice("", "Keep the current route"), *_ROUTE_CHOICES],
                            validate_choice=True, default="", invalid_choice_message=NOT_A_ROUTE)
    reason = TextAreaField("Note (a reason is required to change the route)", validators=[
        Length(max=2000, message="Please keep the note under 2,000 characters.")])


class EmergencyDealtWithForm(FlaskForm):
    """Booking stays closed for the patient until a doctor records this (booking/eligibility.py)."""

    note = TextAreaField("What was done about the emergency", validators=[
        DataRequired("Please write what was done about the emergency (for example: seen in the emergency "
                     "department, scan clear)."),
        Length(max=2000, message="Please keep the note under 2,000 characters.")])
    new_route = SelectField("Route for the next visit", validate_choice=True, default="",
                            invalid_choice_message=NOT_A_ROUTE)

    def offer_routes(self, *, provisional: bool) -> "EmergencyDealtWithForm":
        """A provisional route must be chosen; otherwise the current one may be kept."""
        first = SelectChoice("", "Choose the route" if provisional else "Keep the current route")
        self.new_route.choices = [first, *_ROUTE_CHOICES]
        return self
