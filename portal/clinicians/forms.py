"""The administrator's form for a clinician's details (their hours are the desk's schedules)."""
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField
from wtforms.validators import Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.clinicians.records import TITLE_LENGTH


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _as_id(value) -> int:
    """A posted visit type's id; anything but a number is no id, refused with the form's message."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


class ClinicianDetailsForm(FlaskForm):
    title = StringField("Title", filters=[_strip],
                        validators=[Length(max=TITLE_LENGTH, message=f"Please keep the title to {TITLE_LENGTH} "
                                                                     "characters.")])
    # The portal's own message for a visit type it does not know, not WTForms' "Not a valid choice".
    visit_types = SelectMultipleField("Visits they give", coerce=_as_id, validate_choice=False,
                                      invalid_value_message="Please choose visit types from the list.",
                                      widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())

    def offer(self, visit_types) -> "ClinicianDetailsForm":
        self.visit_types.choices = [(t.id, t.name) for t in visit_types]
        return self

    def validate_visit_types(self, field):
        known = {value for value, _label in field.choices}
        if any(value not in known for value in field.data or []):
            raise ValidationError("Please choose visit types from the list.")
