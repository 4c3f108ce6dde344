"""Administrators and accounts: adding staff, changing their role, deactivating and reactivating
them (the rules in staff.py; a doctor's or sonographer's clinician details are on the page
portal/clinicians/views.py adds beside these), who has a second factor, who is locked out, and ending an account's
sessions (a lost phone, a shared computer, someone leaving)."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from portal.auth import staff as staff_accounts
from portal.auth.forms import RoleForm, StaffMemberForm
from portal.auth.guards import roles_required
from portal.auth.models import CLINICIAN_ROLES, STAFF_ROLE_NAMES, AccountEvent, Role, TokenPurpose, User
from portal.auth.service import EmailTaken, end_sessions, is_locked, remove_second_factor, unlock
from portal.auth.tokens import LIFETIMES
from portal.extensions import db
from portal.redirects import safe_path

bp = Blueprint("auth_accounts", __name__, url_prefix="/accounts")


@bp.get("/")
@roles_required(Role.ADMIN)
def staff():
    return _staff_page(StaffMemberForm(prefix="new"))


def _staff_page(add_form: StaffMemberForm, status: int = 200, refusal: str | None = None):
    """The staff list and the form to add someone; a refused change (400) says why above them."""
    accounts = db.session.scalars(select(User).where(User.role != Role.PATIENT).order_by(User.role, User.name))
    return render_template("accounts/staff.html", accounts=list(accounts), form=FlaskForm(), add_form=add_form,
                           role_names=STAFF_ROLE_NAMES, clinician_roles=CLINICIAN_ROLES, refusal=refusal,
                           is_locked=is_locked, invitation_days=LIFETIMES[TokenPurpose.INVITATION].days), status


def _refused(message: str):
    return _staff_page(StaffMemberForm(prefix="new", formdata=None), 400, refusal=message)


@bp.post("/new")
@roles_required(Role.ADMIN)
def add_staff():
    form = StaffMemberForm(prefix="new")
    if form.validate_on_submit():
        try:
            user, _ = staff_accounts.add_staff_member(name=form.name.data, email=form.email.data,
                                                      role=form.role.data, added_by=current_user)
        except EmailTaken:
            form.email.errors.append("This email address already has an account here. Each person needs an "
                                     "address of their own: please use another one.")
        except staff_accounts.StaffChangeRefused as refused:
            form.name.errors.append(refused.message)
        else:
            flash(f"{user.name} is added ({STAFF_ROLE_NAMES[user.role]}). We have emailed {user.email} an "
                  f"invitation to choose a password; the link works for "
                  f"{LIFETIMES[TokenPurpose.INVITATION].days} days. At their first login they set up an "
                  "authenticator app.", "success")
            if user.role in CLINICIAN_ROLES:  # they see patients: their title, visits and hours next
                return redirect(url_for("clinician_records.details", user_id=user.id))
            return redirect(url_for(".staff"))
    return _staff_page(form, 400)


@bp.post("/<int:user_id>/role")
@roles_required(Role.ADMIN)
def change_role(user_id: int):
    db.get_or_404(User, user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        return _refused(" ".join(form.role.errors) or "Please choose a role.")
    try:
        user = staff_accounts.change_role(user_id, form.role.data, by=current_user)
    except staff_accounts.StaffChangeRefused as refused:
        return _refused(refused.message)
    if user.id == current_user.id:  # one's own role: this session ended with the old one
        return redirect(url_for("auth.login"))
    flash(f"{user.name} is now {STAFF_ROLE_NAMES[user.role]}. They are logged out everywhere and find their new "
          "pages when they log in again.", "success")
    if user.role in CLINICIAN_ROLES:  # they see patients: their title, visits and hours next
        return redirect(url_for("clinician_records.details", user_id=user.id))
    return redirect(url_for(".staff"))


@bp.post("/<int:user_id>/deactivate")
@roles_required(Role.ADMIN)
def deactivate(user_id: int):
    _account_to_change(user_id)
    try:
        user = staff_accounts.deactivate(user_id, by=current_user)
    except staff_accounts.StaffChangeRefused as refused:
        return _refused(refused.message)
    flash(f"{user.name}'s account is deactivated: they are logged out everywhere and cannot log in. What they "
          "did stays in the records under their name.", "success")
    return redirect(url_for(".staff"))


@bp.post("/<int:user_id>/reactivate")
@roles_required(Role.ADMIN)
def reactivate(user_id: int):
    _account_to_change(user_id)
    try:
        user = staff_accounts.reactivate(user_id, by=current_user)
    except staff_accounts.StaffChangeRefused as refused:
        return _refused(refused.message)
    flash(f"{user.name}'s account is active again: they can log in with their password and authenticator app.",
          "success")
    return redirect(url_for(".staff"))


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
