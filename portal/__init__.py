"""The vein clinic portal: create_app builds the Flask application."""
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import config as settings
from portal import headers
from portal.database import configure_sqlite
from portal.extensions import csrf, db, login_manager, migrate


def create_app(config: dict | None = None) -> Flask:
    """Make the app: settings from the environment, overridden by `config` (tests), extensions,
    blueprints, the CLI and error pages."""
    app = Flask(__name__, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(settings.from_environment(Path(app.instance_path)))
    if config:
        app.config.from_mapping(config)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)

    from portal import pages
    from portal.auth import views as auth_views
    from portal.audit import views as audit_views
    from portal.booking import patient_views
    from portal.desk import calendar_views, patient_views as desk_patient_views, schedule_views
    from portal.notify import views as notify_views
    from portal.queue import views as queue_views
    from portal.triage import views as triage_views
    for blueprint in (pages.bp, auth_views.bp, patient_views.bp, triage_views.bp, queue_views.bp, calendar_views.bp,
                      desk_patient_views.bp, schedule_views.bp, audit_views.bp, notify_views.bp):
        app.register_blueprint(blueprint)

    from portal import demo
    from portal.notify import outbox, worker
    outbox.listen_to_bookings()
    app.cli.add_command(demo.seed_demo_command)
    app.cli.add_command(worker.send_mail_command)

    _register_error_pages(app)
    _register_template_helpers(app)
    headers.install(app)
    if hops := app.config["PROXY_FIX_HOPS"]:  # behind a proxy: the client's address, scheme and host
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app


def _register_error_pages(app: Flask) -> None:
    messages = {
        400: ("Something in that request was not right", "Please go back and try again."),
        403: ("You do not have access to this page", "This page is for another kind of account."),
        404: ("We could not find that page", "The link may be old, or the page may have moved."),
        405: ("That did not work", "Please go back and use the buttons on the page."),
        500: ("Something went wrong on our side", "Nothing was changed. Please try again in a moment, "
                                                  "or call us."),
    }

    def render_error(error, code: int):
        title, detail = messages[code]
        return render_template("errors/error.html", code=code, title=title, detail=detail), code

    for code in messages:
        app.register_error_handler(code, lambda error, code=code: render_error(error, code))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("errors/error.html", code=400, title="This form has expired",
                               detail="For your safety, please go back, reload the page and try again."), 400


def _register_template_helpers(app: Flask) -> None:
    zone = ZoneInfo(app.config["CLINIC_TIMEZONE"])

    @app.context_processor
    def clinic_facts():
        keys = ("CLINIC_NAME", "CLINIC_PHONE", "CLINIC_ADDRESS", "CLINIC_TIMEZONE", "EMERGENCY_NUMBER")
        return {"clinic": {key.removeprefix("CLINIC_").lower(): app.config[key] for key in keys}}

    from portal.auth.models import DESK_ROLES, Role
    from portal.booking.eligibility import OVERRIDE_LABELS
    app.jinja_env.globals.update(Role=Role, DESK_ROLES=DESK_ROLES, override_labels=OVERRIDE_LABELS)

    @app.template_filter("local")
    def to_local(moment, fmt: str = "%A %-d %B %Y, %-I:%M %p"):
        """Show a UTC datetime in the clinic's zone, the way people write it."""
        return moment.astimezone(zone).strftime(fmt)
