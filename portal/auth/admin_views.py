"""Administrators and accounts: who has a second factor, who is locked out, and ending an
account's sessions (a lost phone, a shared computer, someone leaving)."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from portal.auth.guards import roles_required
from portal.auth.models import AccountEvent, Role, User
from portal.auth.service import end_sessions, is_locked, remove_second_factor, unlock
from portal.extensions import db
from portal.redirects import safe_path

bp = Blueprint("auth_accounts", __name__, url_prefix="/accounts")


@bp.get("/")
@roles_required(Role.ADMIN)
def staff():
    accounts = db.session.scalars(select(User).where(User.role != Role.PATIENT).order_by(User.role, User.name))
    return render_template("accounts/staff.html", accounts=list(accounts), form=FlaskForm(), is_locked=is_locked)


def _account_to_change(user_id: int) -> User:
    """The account a posted button names: 404 when there is none, 400 without the form's token."""
    user = db.get_or_404(User, user_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    return user


def _back():
    return redirect(safe_path(request.form.get("next")) or url_for(".staff"))


@bp.post("/<int:user_id>/end-sessions")
@roles_required(Role.ADMIN)
def end_account_sessions(user_id: int):
    user = _account_to_change(user_id)
    end_sessions(user.id, action=AccountEvent.SESSIONS_ENDED, detail="by an administrator")
    if user.id == current_user.id:
        return redirect(url_for("auth.login"))
    flash(f"{user.name} is logged out on every device.", "success")
    return _back()


@bp.post("/<int:user_id>/reset-second-factor")
@roles_required(Role.ADMIN)
def reset_second_factor(user_id: int):
    user = _account_to_change(user_id)
    if user.id == current_user.id:
        abort(400)  # not one's own: an admin who lost their phone asks another admin
    remove_second_factor(user.id, by_admin=True)
    flash(f"{user.name}'s authenticator is reset: they set up a new one at their next login.", "success")
    return _back()


@bp.post("/<int:user_id>/unlock")
@roles_required(Role.ADMIN)
def unlock_account(user_id: int):
    user = _account_to_change(user_id)
    unlock(user.id)
    flash(f"{user.name} can log in again.", "success")
    return _back()
