"""The clinic's own error pages, with its name and phone number, for every error, even when the
database is down.

An ordinary error page shows the navigation of the account that is logged in, which reads the
account (and, with server-side sessions, the session itself) from the database. When the database
is what failed, that would fail again and leave the visitor with the server's bare "Internal
Server Error". So an error that came from the database, or an error page that failed to render,
is answered with the page without the database: no account, no session, no query, and never an
exception. A database that cannot be reached answers 503 with Retry-After.
"""
from flask import Flask, g, jsonify, render_template, request
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
              "<body><h1>{title}</h1><p>{detail}</p><p>{name}: please call us at "
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


# Addresses that a script or a browser fetches as a file, not as a page to read.
FILE_SUFFIXES = (".css", ".js", ".svg", ".ics", ".ico", ".txt")
JSON_PATHS = ("/healthz",)


def answer_kind() -> str:
    """"json" for the JSON addresses and clients that ask for JSON, "text" for files (a stylesheet,
    a calendar), else "html". Read from the path, since the route may not have been matched."""
    path = request.path
    if path.endswith(".json") or path in JSON_PATHS:
        return "json"
    if path.startswith("/static/") or path.endswith(FILE_SUFFIXES):
        return "text"
    accepted = request.accept_mimetypes
    if accepted.best_match(("text/html", "application/json")) == "application/json" and \
            accepted["application/json"] > accepted["text/html"]:
        return "json"
    return "html"


def page_without_database(app: Flask, code: int):
    """The error page from the settings alone: the navigation shows no account, the session is
    neither read nor saved, and nothing is asked of the database. A script asking for JSON gets
    JSON, a file (a stylesheet) plain text."""
    title, detail = MESSAGES[code]
    headers = {"Cache-Control": "no-store"}
    if code == 503:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # A null session is neither loaded nor saved. (Flask 3.1 keeps the session in _session, behind
    # a read-only property; it is None when opening it failed.)
    request_ctx._session = app.session_interface.make_null_session(app)
    kind = answer_kind()
    if kind == "json":
        body = {"status": "error", "error": "database_unreachable" if code == 503 else f"http_{code}",
                "message": f"{title}. {detail}"}
        if request.path in JSON_PATHS:
            body["database"] = "unreachable"
        return jsonify(body), code, headers
    if kind == "text":
        return f"{title}. {detail}\n", code, {**headers, "Content-Type": "text/plain; charset=utf-8"}
    try:
        g._login_user = login_manager.anonymous_user()
        body = render_template("errors/error.html", code=code, title=title, detail=detail, without_database=True)
    except Exception:
        app.logger.exception("The error page failed even without the database; showing the plain one")
        body = PLAIN_PAGE.format(code=code, title=escape(title), detail=escape(detail),
                                 name=escape(app.config.get("CLINIC_NAME", "")),
                                 phone=escape(app.config.get("CLINIC_PHONE", "")))
    return body, code, headers
