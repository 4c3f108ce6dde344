"""Register, log in, log out."""
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from portal.auth.forms import LoginForm, RegistrationForm
from portal.auth.models import Role, User
from portal.auth.service import EmailTaken, authenticate, register_patient
from portal.extensions import db, login_manager

bp = Blueprint("auth", __name__, url_prefix="/auth")

login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see that page."
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(login_id: str) -> User | None:
    """The account of a session's login id ("id:epoch", User.get_id), while its epoch is current."""
    user_id, _, epoch = login_id.partition(":")
    if not (user_id.isdigit() and epoch.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.session_epoch == int(epoch) else None


def _safe_next(target: str | None) -> str | None:
    """Only follow `next` to a path on this site, never to another host."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _home_for(user: User) -> str:
    return url_for("booking.my_appointments") if user.role == Role.PATIENT else url_for("pages.index")


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = RegistrationForm()
    if form.validate_on_submit():
        try:
            user = register_patient(name=form.name.data, email=form.email.data,
                                    date_of_birth=form.date_of_birth.data, phone=form.phone.data,
                                    password=form.password.data)
        except EmailTaken:
            form.email.errors.append("An account with this email already exists. Please log in instead.")
        else:
            login_user(user)
            flash("Welcome! Your account is ready.", "success")
            return redirect(_safe_next(request.args.get("next")) or _home_for(user))
    return render_template("auth/register.html", form=form), 400 if form.errors else 200


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or _home_for(user))
        form.password.errors.append("That email and password do not match an account.")
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


@bp.post("/logout")
def logout():
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("pages.index"))
