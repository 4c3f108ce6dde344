"""Patient booking forms. The slot travels in hidden fields and is re-checked by the service."""
import uuid
from datetime import datetime

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp, ValidationError


def _aware_iso_datetime(form, field):
    try:
        moment = datetime.fromisoformat(field.data or "")
    except ValueError:
        raise ValidationError("That time could not be read. Please pick a time again.") from None
    if moment.tzinfo is None:
        raise ValidationError("That time could not be read. Please pick a time again.")


class ConfirmSlotForm(FlaskForm):
    """Confirms one slot. The idempotency key is made when the page is shown, so submitting
    the same page twice (double click, back button, retry) books once."""

    start = HiddenField(validators=[DataRequired("Please pick a time."), _aware_iso_datetime])
    clinician_id = HiddenField(validators=[DataRequired("Please pick a time."), Regexp(r"^\d{1,9}$")])
    idempotency_key = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9a-f]{32}$")])

    def fill(self, start: datetime, clinician_id: int) -> "ConfirmSlotForm":
        self.start.data = start.isoformat()
        self.clinician_id.data = str(clinician_id)
        self.idempotency_key.data = uuid.uuid4().hex
        return self

    @property
    def start_at(self) -> datetime:
        return datetime.fromisoformat(self.start.data)


CANCEL_REASONS = [
    ("", "Choose a reason (optional)"),
    ("I feel better", "I feel better"),
    ("The time no longer suits me", "The time no longer suits me"),
    ("I booked by mistake", "I booked by mistake"),
    ("I will see another doctor", "I will see another doctor"),
    ("Other", "Other"),
]


class CancelForm(FlaskForm):
    reason = SelectField("Why are you cancelling?", choices=CANCEL_REASONS, validate_choice=True)
    details = TextAreaField("Anything you want us to know (optional)", validators=[
        Length(max=250, message="Please use at most 250 characters.")])

    @property
    def reason_text(self) -> str:
        return " - ".join(part.strip() for part in (self.reason.data, self.details.data) if part and part.strip())
