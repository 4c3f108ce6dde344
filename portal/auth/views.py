"""Register; log in (the password, then for staff and willing patients a code from an app);
log out; and the account's own security page."""
import time

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import bindparam, select

from portal import clinic, dates
from portal.auth import devices, sessions, totp
from portal.auth.forms import (
    ChangePasswordForm,
    ConfirmIdentityForm,
    LoginForm,
    RegistrationForm,
    ReplaceSecondFactorForm,
    SecondFactorForm,
    SecondFactorOffForm,
)
from portal.auth.models import AccountEvent, Role, User, normalise_email
from portal.auth.service import (
    AccountLocked,
    IdentityNotConfirmed,
    SecondFactorResult,
    authenticate,
    change_password,
    check_second_factor,
    end_sessions,
    enrol_second_factor,
    is_locked,
    make_new_recovery_codes,
    record_login,
    register_online,
    replace_second_factor,
    turn_off_second_factor,
    unused_recovery_codes,
)
from portal.extensions import db, limiter, login_manager
from portal.redirects import safe_path

bp = Blueprint("auth", __name__, url_prefix="/auth")

# Per client address (ASVS 2.2.1's anti-automation), on top of the per-account lockout: enough for
# people at one clinic or family address, not for a script.
LOGIN_LIMIT = "20 per minute; 200 per hour"
REGISTER_LIMIT = "10 per minute; 50 per hour"

login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see that page."
login_manager.login_message_category = "info"


# The account and its epoch in one statement built once: asked on every logged-in request.
_CURRENT_ACCOUNT = select(User).where(User.id == bindparam("user_id"), User.session_epoch == bindparam("epoch"))


@login_manager.user_loader
def load_user(login_id: str) -> User | None:
    """The account of a session's login id ("id:epoch", User.get_id), while its epoch is current."""
    user_id, _, epoch = login_id.partition(":")
    if not (user_id.isdigit() and epoch.isdigit() and int(user_id) < 2**31 and int(epoch) < 2**31):
        return None
    return db.session.scalars(_CURRENT_ACCOUNT, {"user_id": int(user_id), "epoch": int(epoch)}).first()


# Where each role starts its day: the desk (and an admin, who has the audit log in the menu) on
# today's calendar, a doctor and a sonographer on "My day", a patient on their appointments.
START_PAGES = {Role.PATIENT: "booking.my_appointments", Role.DESK: "desk.day", Role.ADMIN: "desk.day",
               Role.DOCTOR: "clinicians.day", Role.SONOGRAPHER: "clinicians.day"}


def _home_for(user: User) -> str:
    return url_for(START_PAGES.get(user.role, "pages.index"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(REGISTER_LIMIT, methods=["POST"])
def register():
    """The same answer whether or not the email already has an account (ASVS 2.x and 3.x: no
    account enumeration): "check your email". A new account chooses its password through the
    link mailed to it (which also shows the address is theirs); the owner of an existing one is
    told by mail that someone tried. Nobody is logged in here. Registering from an outcome page
    (?answers=<its submission>) ties those answers to the mailed link (register_online)."""
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = RegistrationForm()
    if form.validate_on_submit():
        next_path = safe_path(request.args.get("next"))
        register_online(name=form.name.data, email=form.email.data, date_of_birth=form.date_of_birth.data,
                        phone=form.phone.data, next_path=next_path, answers_id=request.args.get("answers", type=int))
        flash(f"Thank you. We have sent a message to {normalise_email(form.email.data)}.", "success")
        return redirect(url_for(".registration_sent", next=next_path))
    return render_template("auth/register.html", form=form), 400 if form.errors else 200


@bp.get("/register/sent")
def registration_sent():
    return render_template("auth/check_email.html")


# How long the step between the password and the second factor may take.
SECOND_STEP_WINDOW = 300
PENDING = "_pending_login"  # the account whose password was right, until its second factor is
ENROL_SECRET = "_enrol_secret"  # nosec B105  # a session key's name, not a secret
# The same words for a wrong password, an unknown email and a locked account (ASVS 2.2.1, 3.x).
WRONG_LOGIN = ("That email and password do not match an account. After 10 wrong tries an account is paused "
               "for 15 minutes, except on the devices where it was used before.")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        known_ids = devices.known_device_ids()
        user = authenticate(form.email.data, form.password.data, known_device_ids=known_ids)
        if user is None:
            form.password.errors.append(WRONG_LOGIN)
        else:
            return password_given(user, "password", known_device_ids=known_ids,
                                  next_path=safe_path(request.args.get("next")))
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


def password_given(user: User, how: str, *, known_device_ids, next_path: str | None):
    """The account's password is right (typed at the login page, or just chosen through a link
    mailed to it): logged in, or on to the second step when the account has one (staff, and
    patients who turned it on), which then goes on to `next_path`."""
    known = user.id in known_device_ids
    if user.needs_second_factor:
        # A new session id for the step up, holding only who is half in.
        sessions.renew(keep=sessions.CARRIED_INTO_LOGIN)
        session[PENDING] = {"user": user.id, "epoch": user.session_epoch, "at": time.time(),
                            "next": next_path, "known": known}
        return redirect(url_for("auth.verify" if user.has_second_factor else "auth.enrol"))
    return _logged_in(user, how, known_device=known, next_url=next_path)


def _logged_in(user: User, how: str, *, known_device: bool, next_url: str | None = None):
    user = record_login(user, how, known_device=known_device)
    sessions.start_logged_in_session(user)
    devices.remember_device(user.id)
    return redirect(next_url or safe_path(request.args.get("next")) or _home_for(user))


def _half_logged_in() -> User | None:
    """The account whose password was just given in this session, within the time allowed."""
    pending = session.get(PENDING)
    if not pending or time.time() - pending["at"] > SECOND_STEP_WINDOW:
        return None
    user = db.session.get(User, pending["user"])
    if user is None or user.session_epoch != pending["epoch"] or not user.is_active or \
            is_locked(user, known_device=pending.get("known", False)):
        return None
    return user


def _start_again():
    session.pop(PENDING, None)
    flash("Please log in again.", "info")
    return redirect(url_for(".login"))


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
def verify():
    """The second step: a code from the authenticator app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    user = _half_logged_in()
    if user is None or not user.has_second_factor:
        return _start_again()
    form = SecondFactorForm()
    if form.validate_on_submit():
        pending = session[PENDING]
        result = check_second_factor(user.id, form.code.data, known_device=pending.get("known", False))
        if result is not None:
            session.pop(PENDING)
            response = _logged_in(user, f"password and {result}", known_device=pending.get("known", False),
                                  next_url=pending["next"])
            if result is SecondFactorResult.RECOVERY_CODE:
                flash(f"You used a recovery code; {unused_recovery_codes(user.id)} left. If your phone is lost, "
                      "set up the authenticator again on your Login and security page.", "info")
            return response
        if _half_logged_in() is None:  # that failure locked the account
            return _start_again()
        form.code.errors.append("That code did not work. Type the 6 digits your app shows now, or a recovery code.")
    return render_template("auth/verify.html", form=form), 400 if form.errors else 200


@bp.route("/enrol", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
def enrol():
    """Setting up the authenticator app: staff on their first login (after the password), and,
    logged in, a patient turning it on or anyone moving to a new phone, who confirm who they are
    first (the password, and a code from the app in use now)."""
    if not current_user.is_authenticated:
        return _enrol_at_login()
    secret = session.get(ENROL_SECRET) or session.setdefault(ENROL_SECRET, totp.new_secret())
    form = ReplaceSecondFactorForm()
    if not current_user.has_second_factor:
        del form.current_code
    if form.validate_on_submit():
        user_id = current_user.id
        try:
            codes = replace_second_factor(user_id, secret, form.code.data, password=form.password.data,
                                          current_code=form.current_code.data if "current_code" in form else None)
        except AccountLocked as locked:
            form.password.errors.append(_locked_message(locked, "two-step login cannot be changed"))
        except IdentityNotConfirmed:
            form.password.errors.append(NOT_CONFIRMED)
        else:
            if codes is not None:
                session.pop(ENROL_SECRET, None)
                sessions.start_logged_in_session(db.session.get(User, user_id))  # every other device is out
                flash("Two-step login is set up with your new app. You are logged out everywhere else.", "success")
                return render_template("auth/recovery_codes.html", codes=codes, next_url=url_for(".security"))
            form.code.errors.append(NEW_CODE_WRONG)
    return _enrol_page(form, secret, current_user)


def _enrol_at_login():
    user = _half_logged_in()
    if user is None:
        return _start_again()
    if user.has_second_factor:
        return redirect(url_for(".verify"))
    secret = session.get(ENROL_SECRET) or session.setdefault(ENROL_SECRET, totp.new_secret())
    form = SecondFactorForm()
    if form.validate_on_submit():
        codes = enrol_second_factor(user.id, secret, form.code.data)
        if codes is not None:
            session.pop(ENROL_SECRET, None)
            pending = session.pop(PENDING)
            _logged_in(user, "password and a new authenticator", known_device=pending.get("known", False),
                       next_url=pending["next"])
            return render_template("auth/recovery_codes.html", codes=codes, next_url=_home_for(user))
        form.code.errors.append(NEW_CODE_WRONG)
    return _enrol_page(form, secret, user)


NEW_CODE_WRONG = "That code did not work. Check the app shows this clinic and type the 6 digits it shows now."
NOT_CONFIRMED = ("That password and code do not match your account. Type your password, and the code your app "
                 "shows now (or a recovery code). After 10 wrong tries the account is paused for 15 minutes.")


def _enrol_page(form, secret: str, user: User):
    uri = totp.provisioning_uri(secret, account=user.email, issuer=current_app.config["CLINIC_NAME"])
    return render_template("auth/enrol.html", form=form, qr_code=totp.qr_code_data_uri(uri),
                           secret=totp.grouped(secret)), 400 if form.errors else 200


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        end_sessions(current_user.id, action=AccountEvent.LOGOUT)  # logging out here logs out everywhere
    sessions.renew()
    flash("You are logged out.", "info")
    return redirect(url_for("pages.index"))


def _locked_message(locked: AccountLocked, what: str) -> str:
    return (f"Too many wrong passwords were typed, so {what} until "
            f"{dates.time_of_day(locked.until.astimezone(clinic.zone()))}. Please try again then.")


@bp.route("/security", methods=["GET", "POST"])
@login_required
def security():
    """The account's security: the second factor, recovery codes, logging out everywhere."""
    form = FlaskForm()
    password_form = ChangePasswordForm(personal=(current_user.name, current_user.email))
    off_form = SecondFactorOffForm(prefix="off")
    codes_form = ConfirmIdentityForm(prefix="codes")

    def page(status: int = 200):
        return render_template("auth/security.html", form=form, password_form=password_form, off_form=off_form,
                               codes_form=codes_form,
                               recovery_codes_left=unused_recovery_codes(current_user.id)), status

    action = request.form.get("action")
    if action == "change_password":
        if password_form.validate_on_submit():
            try:
                user = change_password(current_user.id, password_form.current.data, password_form.password.data)
            except AccountLocked as locked:
                password_form.current.errors.append(_locked_message(locked, "the password cannot be changed"))
            else:
                if user is not None:
                    sessions.start_logged_in_session(user)  # this device stays in; every other one is out
                    flash("Your password is changed. You are logged out everywhere else.", "success")
                    return redirect(url_for(".security"))
                password_form.current.errors.append("That is not your current password.")
        return page(400)
    if action == "remove_second_factor":
        if current_user.role != Role.PATIENT or not current_user.has_second_factor:
            abort(400)  # staff keep theirs; there is nothing to turn off
        if off_form.validate_on_submit():
            try:
                removed = turn_off_second_factor(current_user.id, off_form.current.data)
            except AccountLocked as locked:
                off_form.current.errors.append(_locked_message(locked, "two-step login cannot be turned off"))
            else:
                if removed:
                    sessions.renew_id()
                    flash("Two-step login is off. You can turn it on again here at any time.", "info")
                    return redirect(url_for(".security"))
                off_form.current.errors.append("That is not your password.")
        return page(400)
    if action == "new_recovery_codes":
        if not current_user.has_second_factor:
            abort(400)
        return _new_recovery_codes(codes_form) or page(400)
    if form.validate_on_submit():
        if action == "end_sessions":
            end_sessions(current_user.id, action=AccountEvent.SESSIONS_ENDED, detail="by the account's owner")
            sessions.renew()
            flash("You are logged out on every device, this one too. Please log in again.", "info")
            return redirect(url_for(".login"))
        abort(400)
    return page()


def _new_recovery_codes(form: ConfirmIdentityForm):
    """New recovery codes once the password and a current code are given; None to show the page again."""
    if not form.validate_on_submit():
        return None
    user_id = current_user.id
    try:
        codes = make_new_recovery_codes(user_id, password=form.password.data, current_code=form.current_code.data)
    except AccountLocked as locked:
        form.password.errors.append(_locked_message(locked, "new recovery codes cannot be made"))
        return None
    except IdentityNotConfirmed:
        form.password.errors.append(NOT_CONFIRMED)
        return None
    sessions.start_logged_in_session(db.session.get(User, user_id))  # every other device is out
    flash("Your old recovery codes no longer work. You are logged out everywhere else.", "success")
    return render_template("auth/recovery_codes.html", codes=codes, next_url=url_for(".security"))
