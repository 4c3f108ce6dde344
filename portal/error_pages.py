"""The clinic's own error pages, with its name and phone number, for every error, even when the
database is down.

An ordinary error page shows the navigation of the account that is logged in, which reads the
account (and, with server-side sessions, the session itself) from the database. When the database
is what failed, that would fail again and leave the visitor with the server's bare "Internal
Server Error". So an error that came from the database, or an error page that failed to render,
is answered with the page without the database: no account, no session, no query, and never an
exception. A database that cannot be reached answers 503 with Retry-After.
"""
from flask import Flask, g, render_template
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from portal.extensions import login_manager

MESSAGES = {
    400: ("Something in that request was not right", "Please go back and try again."),
    403: ("You do not have access to this page", "This page is for another kind of account."),
    404: ("We could not find that page", "The link may be old, or the page may have moved."),
    405: ("That did not work", "Please go back and use the buttons on the page."),
    413: ("That was more than we can take", "Please send less at once, or call us."),
    429: ("Too many tries in a short time", "For your safety, please wait a few minutes and try again, "
                                            "or call us."),
    500: ("Something went wrong on our side", "Nothing was changed. Please try again in a moment, or call us."),
    503: ("Our records cannot be reached just now", "Nothing was changed. Please try again in a few minutes, "
                                                    "or call us."),
}
# The database is down, restarting, refusing connections, or every pooled connection is busy.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)
RETRY_AFTER_SECONDS = 30

# The last resort when even the template fails: the settings alone, escaped, nothing else.
PLAIN_PAGE = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} · {name}</title></head>"
              "<body><h1>{title}</h1><p>{detail}</p><p>{name}: please call us on "
              "<a href=\"tel:{phone}\">{phone}</a>.</p><p>Error {code}</p></body></html>")


def install(app: Flask) -> None:
    def render_error(code: int):
        title, detail = MESSAGES[code]
        try:
            return render_template("errors/error.html", code=code, title=title, detail=detail), code
        except Exception:  # reading the account for the navigation failed: the page without it
            app.logger.exception("The error page for %s failed; showing it without the database", code)
            return page_without_database(app, code)

    for code in MESSAGES.keys() - {500}:
        app.register_error_handler(code, lambda error, code=code: render_error(code))

    @app.errorhandler(500)
    def server_error(error):
        """Every unhandled exception ends here, those raised while opening the session included."""
        original = getattr(error, "original_exception", None)
        if isinstance(original, DATABASE_UNAVAILABLE):
            return page_without_database(app, 503)  # Flask has logged it
        if isinstance(original, SQLAlchemyError):  # the request's transaction is broken: read nothing more
            return page_without_database(app, 500)
        return render_error(500)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeout)
    def database_unavailable(error):
        app.logger.error("The database is unavailable", exc_info=error)
        return page_without_database(app, 503)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        try:
            return render_template("errors/error.html", code=400, title="This form has expired",
                                   detail="For your safety, please go back, reload the page and try again."), 400
        except Exception:
            app.logger.exception("The expired-form page failed; showing it without the database")
            return page_without_database(app, 400)


def page_without_database(app: Flask, code: int):
    """The error page from the settings alone: the navigation shows no account, the session is
    neither read nor saved, and nothing is asked of the database."""
    title, detail = MESSAGES[code]
    headers = {"Cache-Control": "no-store"}
    if code == 503:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    try:
        # A null session is neither loaded nor saved, and an anonymous user is never looked up. (Flask 3.1
        # keeps the session in _session, behind a read-only property; it is None when opening it failed.)
        request_ctx._session = app.session_interface.make_null_session(app)
        g._login_user = login_manager.anonymous_user()
        body = render_template("errors/error.html", code=code, title=title, detail=detail, without_database=True)
    except Exception:
        app.logger.exception("The error page failed even without the database; showing the plain one")
        body = PLAIN_PAGE.format(code=code, title=escape(title), detail=escape(detail),
                                 name=escape(app.config.get("CLINIC_NAME", "")),
                                 phone=escape(app.config.get("CLINIC_PHONE", "")))
    return body, code, headers
