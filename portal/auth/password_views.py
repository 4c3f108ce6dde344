"""Forgotten passwords and invitations: ask for a link by email, then choose a password through it.

"Forgot your password?" answers the same whether or not an account uses the address typed
(OWASP ASVS 2.5, 3.x: no account enumeration). The link page serves both a reset and an
invitation (a patient's first password): it asks for the new password twice, under the password
policy, and sends the person to log in; a link that is unknown, used or expired gets a page
that says so, with the way to ask again.
"""
from flask import Blueprint, flash, redirect, render_template, request, url_for

from portal.auth.forms import ForgotPasswordForm, NewPasswordForm
from portal.auth.models import TokenPurpose, User, normalise_email
from portal.auth.service import request_password_reset, set_password_with_link
from portal.auth.tokens import usable_link
from portal.database import utc_now
from portal.extensions import db, limiter
from portal.redirects import safe_path

bp = Blueprint("auth_password", __name__, url_prefix="/auth/password")

# Per client address, on top of the per-account limit on reset links (service.MOST_RESET_LINKS_PER_HOUR).
LINK_PAGES_LIMIT = "10 per minute; 60 per hour"


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(LINK_PAGES_LIMIT, methods=["POST"])
def forgot():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_password_reset(form.email.data)
        flash(f"If an account uses {normalise_email(form.email.data)}, we have sent it a link to choose a new "
              "password.", "info")
        return redirect(url_for(".sent"))
    return render_template("password/forgot.html", form=form), 400 if form.errors else 200


@bp.get("/forgot/sent")
def sent():
    return render_template("password/sent.html")


@bp.route("/reset/<token>", methods=["GET", "POST"])
@bp.route("/set/<token>", methods=["GET", "POST"])
@limiter.limit(LINK_PAGES_LIMIT, methods=["POST"])
def choose(token: str):
    """The page a mailed link opens (a reset, or an invitation's first password)."""
    link = usable_link(token, now=utc_now())
    if link is None:
        return _link_no_longer_works()
    user = db.session.get(User, link.user_id)
    first = link.purpose == TokenPurpose.INVITATION
    form = NewPasswordForm(personal=(user.name, user.email))
    if form.validate_on_submit():
        if set_password_with_link(token, form.password.data) is None:  # spent or expired meanwhile
            return _link_no_longer_works()
        if first:
            flash("Your password is set. Please log in with your email address and your new password.", "success")
        else:
            flash("Your new password is set. For your safety, every device that was logged in to your account "
                  "has been logged out. Please log in with your new password.", "success")
        return redirect(url_for("auth.login", next=safe_path(request.args.get("next"))))
    return render_template("password/choose.html", form=form, first=first, email=user.email), \
        400 if form.errors else 200


def _link_no_longer_works():
    return render_template("password/link_expired.html"), 404
