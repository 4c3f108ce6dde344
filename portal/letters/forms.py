"""The doctors' forms for a letter: its words (saved as a draft, or signed), and the plain buttons
that start a letter or its correction (their CSRF token is all they carry)."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, SubmitField, TextAreaField
from wtforms.validators import Length

from portal.letters.service import MAX_TEXT

_TOO_LONG = f"Please keep this under {MAX_TEXT:,} characters."


class LetterForm(FlaskForm):
    history = TextAreaField("History", validators=[Length(max=MAX_TEXT, message=_TOO_LONG)])
    question = TextAreaField("Question for the service", validators=[Length(max=MAX_TEXT, message=_TOO_LONG)])
    read_it = BooleanField("I have read the whole letter and it is correct")
    save = SubmitField("Save the draft")
    sign = SubmitField("Sign and lock the letter")

    def validate(self, extra_validators=None) -> bool:
        """Signing asks the doctor to say they read it: a signed letter cannot be changed."""
        valid = super().validate(extra_validators)
        if self.sign.data and not self.read_it.data:
            self.read_it.errors = [*self.read_it.errors, "Please read the whole letter and check this box to sign it."]
            return False
        return valid


class ButtonForm(FlaskForm):
    """Start a letter, or a correction of a signed one: nothing to fill in."""
