"""A patient's own details: they change their phone at once, and their email once the new address
is confirmed from its own mailbox (a single-use link, tokens.py, valid a day), so a typo or a
session left open cannot move the account to an address its owner does not read."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from portal.auth.forms import MyDetailsForm
from portal.auth.guards import roles_required
from portal.auth.models import CONTACT_PREFERENCES, Role, TokenPurpose, normalise_email
from portal.auth.service import EmailTaken, confirm_email_change, request_email_change, update_patient_details
from portal.auth.tokens import usable_link
from portal.database import utc_now
from portal.extensions import limiter

bp = Blueprint("my_details", __name__, url_prefix="/account")

EMAIL_IN_USE = "Another account already uses this email. Please use another address, or call us."
LINK_PAGES_LIMIT = "10 per minute; 60 per hour"


@bp.route("/details", methods=["GET", "POST"])
@roles_required(Role.PATIENT)
def details():
    form = MyDetailsForm(obj=current_user)
    if form.validate_on_submit():
        asked_for = normalise_email(form.email.data)
        try:
            mailed = request_email_change(current_user.id, asked_for)
        except EmailTaken:
            form.email.errors.append(EMAIL_IN_USE)
            return render_template("auth/details.html", form=form, preferences=CONTACT_PREFERENCES), 400
        changed = update_patient_details(current_user.id, by_user=current_user, phone=form.phone.data)
        if changed:
            flash("Your phone number is saved.", "success")
        if mailed:
            flash(f"We have emailed a link to {asked_for}. Your email changes when you open it "
                  "(within a day); until then we keep using your current address.", "info")
        if not changed and not mailed:
            flash("Nothing was changed.", "info")
        return redirect(url_for(".details"))
    return render_template("auth/details.html", form=form, preferences=CONTACT_PREFERENCES), \
        400 if form.errors else 200


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(LINK_PAGES_LIMIT, methods=["POST"])
def confirm_email(token: str):
    """The link mailed to the new address. Opening it (GET) changes nothing, since mail scanners
    open links too; the button does."""
    link = usable_link(token, now=utc_now(), purposes=(TokenPurpose.EMAIL_CHANGE,))
    if link is None:
        return render_template("auth/email_link_expired.html"), 404
    form = FlaskForm()  # CSRF; the button says yes
    if form.validate_on_submit() and request.form.get("confirm") == "yes":
        try:
            user = confirm_email_change(token)
        except EmailTaken:
            flash("Another account took this email meanwhile, so yours was not changed. Please call us.", "error")
            return redirect(url_for("pages.index"))
        if user is None:
            return render_template("auth/email_link_expired.html"), 404
        flash(f"Your email is now {user.email}. Use it to log in from now on.", "success")
        return redirect(url_for(".details") if current_user.is_authenticated else url_for("auth.login"))
    error = None
    if request.method == "POST":
        error = ("This page had expired. Please press the button again." if form.errors
                 else "Please press the button to use this email.")
    return render_template("auth/confirm_email.html", form=form, new_email=link.new_email, error=error), \
        400 if error else 200
