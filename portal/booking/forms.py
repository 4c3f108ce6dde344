"""Patient booking forms. The slot travels in hidden fields and is re-checked by the service."""
import uuid
from datetime import UTC, datetime, timedelta

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

PLAUSIBLE_DISTANCE = timedelta(days=3650)  # anything further from today is a tampered form
# A hidden field only a changed or very old page gets wrong: one plain message for all of them.
PICK_AGAIN = "That time could not be read. Please pick a time again."


def _aware_iso_datetime(form, field):
    try:
        moment = datetime.fromisoformat(field.data or "")
    except ValueError:
        raise ValidationError(PICK_AGAIN) from None
    if moment.tzinfo is None or abs(moment - datetime.now(UTC)) > PLAUSIBLE_DISTANCE:
        raise ValidationError(PICK_AGAIN)


class ConfirmSlotForm(FlaskForm):
    """Confirms one slot. The idempotency key is made when the page is shown, so submitting
    the same page twice (double click, back button, retry) books once."""

    start = HiddenField(validators=[DataRequired("Please pick a time."), _aware_iso_datetime])
    clinician_id = HiddenField(validators=[DataRequired("Please pick a time."),
                                           Regexp(r"^[0-9]{1,9}$", message=PICK_AGAIN)])
    idempotency_key = HiddenField(validators=[DataRequired(PICK_AGAIN), Regexp(r"^[0-9a-f]{32}$", message=PICK_AGAIN)])

    def fill(self, start: datetime, clinician_id: int) -> "ConfirmSlotForm":
        self.start.data = start.isoformat()
        self.clinician_id.data = str(clinician_id)
        self.idempotency_key.data = uuid.uuid4().hex
        return self

    @property
    def start_at(self) -> datetime:
        return datetime.fromisoformat(self.start.data)


CANCEL_REASONS = [
    SelectChoice("", "Choose a reason (optional)"),
    *(SelectChoice(reason) for reason in ("I feel better", "The time no longer suits me", "I booked by mistake",
                                          "I will see another doctor", "Other")),
]


class CancelForm(FlaskForm):
    reason = SelectField("Why are you canceling?", choices=CANCEL_REASONS, validate_choice=True,
                         invalid_choice_message="Please choose one of the reasons in the list, or leave it empty.")
    details = TextAreaField("Anything you want us to know (optional)", validators=[
        Length(max=250, message="Please use at most 250 characters.")])

    @property
    def reason_text(self) -> str:
        return " - ".join(part.strip() for part in (self.reason.data, self.details.data) if part and part.strip())
