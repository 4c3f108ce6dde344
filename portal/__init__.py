"""The vein clinic portal: create_app builds the Flask application."""
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import access, clinic, dates, error_pages, headers, input_checks, links, logs
from portal import config as settings
from portal.database import RecordIdConverter, configure_postgresql, configure_sqlite
from portal.extensions import csrf, db, limiter, login_manager, migrate


def create_app(config: dict | None = None) -> Flask:
    """Make the app: settings from the environment, overridden by `config` (tests), extensions,
    blueprints, the CLI and error pages."""
    app = Flask(__name__, instance_relative_config=True)
    app.url_map.converters["int"] = RecordIdConverter  # before any route: ids no row can have answer 404
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(settings.from_environment(Path(app.instance_path)))
    if config:
        app.config.from_mapping(config)
    logs.install(app)  # JSON lines, a request id, the app's own access line (no query strings)
    settings.settle_secret_key(app.config, Path(app.instance_path))
    settings.check_shared_limits(app.config)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine, busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"])
        configure_postgresql(db.engine)
    from portal.auth import sessions
    sessions.install(app)

    from portal import pages
    from portal.audit import views as audit_views
    from portal.auth import admin_views, details_views, password_views
    from portal.auth import views as auth_views
    from portal.booking import views as booking_views
    from portal.clinicians import views as clinician_views
    from portal.desk import calendar_views, phone_triage, schedule_views
    from portal.desk import patient_views as desk_patient_views
    from portal.letters import views as letter_views
    from portal.notify import views as notify_views
    from portal.queue import views as queue_views
    from portal.triage import views as triage_views
    for blueprint in (pages.bp, auth_views.bp, password_views.bp, booking_views.bp, triage_views.bp, queue_views.bp,
                      calendar_views.bp, desk_patient_views.bp, schedule_views.bp, audit_views.bp, notify_views.bp,
                      admin_views.bp, letter_views.bp, clinician_views.bp, clinician_views.records_bp, phone_triage.bp,
                      details_views.bp):
        app.register_blueprint(blueprint)

    from portal import backup, demo
    from portal.audit import service as audit_service
    from portal.auth import commands
    from portal.clinicians import records as clinician_records
    from portal.notify import account_messages, care_messages, outbox, worker
    from portal.triage import browser
    # Every signal receiver is connected here and nowhere else (connecting twice is harmless).
    audit_service.listen_to_accounts()
    clinician_records.listen_to_staff_changes()
    outbox.listen_to_bookings()
    account_messages.listen_to_accounts()
    care_messages.listen_to_doctors()
    browser.listen_to_logins()
    phone_triage.listen_to_logouts()
    app.cli.add_command(demo.seed_demo_command)
    app.cli.add_command(commands.create_admin_command)
    app.cli.add_command(worker.send_mail_command)
    app.cli.add_command(backup.backup_command)
    app.cli.add_command(backup.restore_command)
    if app.config["PORTAL_ENV"] == settings.PRODUCTION:
        demo.refuse_demo_accounts_in_production(app)

    error_pages.install(app)
    _register_template_helpers(app)
    links.install(app)  # url_for in templates from memory; a free time's link without rebuilding its route
    headers.install(app)
    input_checks.install(app)  # control characters and NUL bytes: 400 before any view
    access.install(app)  # deny by default: every page is public or for listed roles
    if hops := app.config["PROXY_FIX_HOPS"]:  # behind a proxy: the client's address, scheme and host
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app


def _register_template_helpers(app: Flask) -> None:
    zone = ZoneInfo(app.config["CLINIC_TIMEZONE"])

    @app.context_processor
    def clinic_facts():
        keys = ("CLINIC_NAME", "CLINIC_PHONE", "CLINIC_ADDRESS", "CLINIC_TIMEZONE", "EMERGENCY_NUMBER")
        facts = {key.removeprefix("CLINIC_").lower(): app.config[key] for key in keys}
        return {"clinic": {**facts, "zone_name": dates.zone_name(zone)}}

    from portal.auth.models import DESK_ROLES, Role
    from portal.booking.eligibility import OVERRIDE_LABELS
    from portal.booking.models import MOVED, MOVED_WORDS, STATUS_WORDS
    # Pages name a visit by Appointment.shown_status: a moved one is "Moved", not "Canceled".
    app.jinja_env.globals.update(Role=Role, DESK_ROLES=DESK_ROLES, override_labels=OVERRIDE_LABELS,
                                 status_words={**STATUS_WORDS, MOVED: MOVED_WORDS})

    @app.template_filter("local")
    def to_local(moment, style: str = "long"):
        """A UTC datetime (or a date) in the clinic's zone, the US way (portal/dates.py STYLES):
        "Monday, December 7 at 2:30 PM" by default; an old strftime format is read as the style
        nearest to it."""
        if moment is None:
            return ""
        if "%" in style:
            style = dates.style_of_strftime(style)
        return dates.moment_in_style(moment, style, zone, clinic.today())

    @app.template_filter("zone_words")
    def zone_words(zone_key):
        """ "Central Time" for America/Chicago: the zone as people say it."""
        return dates.zone_name(zone_key)
