"""Forgotten passwords and invitations: ask for a link by email, then choose a password through it.

"Forgot your password?" answers the same whether or not an account uses the address typed
(OWASP ASVS 2.5, 3.x: no account enumeration). The link page serves both a reset and an
invitation (a patient's first password): it asks for the new password twice, under the password
policy. A patient is then logged in (the link showed the mailbox is theirs; one who turned on
two-step login still types a code) and goes where they were going: after registering from
their answers, the times for their visit, the answers joined to their record on the way
(service.set_password_with_link). Staff log in as usual, which sets up their authenticator. A
link that is unknown, used or expired gets a page that says so, with the way to ask again.
"""
from flask import Blueprint, flash, redirect, render_template, request, url_for

from portal.auth import devices
from portal.auth.forms import ForgotPasswordForm, NewPasswordForm
from portal.auth.models import Role, TokenPurpose, User, normalise_email
from portal.auth.service import request_password_reset, set_password_with_link
from portal.auth.tokens import usable_link
from portal.auth.views import password_given
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
        user = set_password_with_link(token, form.password.data)
        if user is None:  # spent or expired meanwhile
            return _link_no_longer_works()
        next_path = safe_path(request.args.get("next"))
        if user.role == Role.PATIENT:
            response = password_given(user, "a password chosen through " + ("an invitation" if first else "a reset")
                                      + " link mailed to the account", known_device_ids=devices.known_device_ids(),
                                      next_path=next_path)
            # After the login, which starts a new session: a notice flashed before it would be lost.
            flash("Your password is set." if first else "Your new password is set. For your safety, every other "
                  "device that was logged in to your account has been logged out.", "success")
            return response
        if first:
            flash("Your password is set. Please log in with your email address and your new password.", "success")
        else:
            flash("Your new password is set. For your safety, every device that was logged in to your account "
                  "has been logged out. Please log in with your new password.", "success")
        return redirect(url_for("auth.login", next=next_path))
    return render_template("password/choose.html", form=form, first=first, email=user.email), \
        400 if form.errors else 200


def _link_no_longer_works():
    return render_template("password/link_expired.html"), 404
