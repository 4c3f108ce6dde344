"""Logs as JSON lines, and one access line per request written by the app itself.

Every line is one JSON object: time (UTC), level, logger, message and, during a request, its id,
method, path (never the query string) and the logged-in user's id (never a name or an email). The
request id is the X-Request-ID a proxy sent when it is a safe token, else a new one; the response
echoes it, so a complaint, a proxy log line and ours can be matched.

Patient data stays out at the source, since a log is read far more widely than the audit log:
- the fields written are a fixed list, so `extra=` given to a logger cannot add a value;
- searches and filters that carry names or dates of birth are posted, and paths carry ids only
  (a calendar feed's secret token is hidden);
- the database engine hides bound values in its log lines and error messages (`hide_parameters`
  in portal/extensions.py), and SQLAlchemy's debug lines with result rows are dropped here;
- Werkzeug's development-server request lines, which include the query string, are dropped for
  ours; gunicorn is run without its access log (README, Production).
"""
import functools
import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, current_app, g, has_request_context, request
from flask.logging import default_handler
from flask.signals import request_finished, request_started
from sqlalchemy import inspect
from werkzeug.exceptions import HTTPException

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's id (hex, a UUID, base64url): a token that cannot break a line or a header.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=-]{0,127}")
# Path arguments that are secrets in themselves (a calendar feed's address): shown as "hidden".
SECRET_ARGUMENT_WORDS = ("token", "secret")
REQUEST_FIELDS = ("request_id", "method", "path", "status", "duration_ms", "user_id")
# Werkzeug's request line: '127.0.0.1 - - [date] "GET /path?query HTTP/1.1" 200 -'.
WERKZEUG_REQUEST_LINE = re.compile(r"\S+ - - \[[^\]]*\] ")

access_log = logging.getLogger("portal.access")


class JSONLineFormatter(logging.Formatter):
    """One JSON object per line, with a fixed set of fields; a traceback is one escaped string."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        line |= {field: value for field in REQUEST_FIELDS if (value := getattr(record, field, None)) is not None}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class RequestContext(logging.Filter):
    """Adds the request's id, method, path and user id to each record logged during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            for field, value in request_fields().items():
                if getattr(record, field, None) is None:
                    setattr(record, field, value)
        return True


class WithoutWerkzeugRequestLines(logging.Filter):
    """The development server's own request lines carry the query string; the app writes its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and WERKZEUG_REQUEST_LINE.match(record.msg))


class WithoutResultRows(logging.Filter):
    """SQLAlchemy's debug level logs every row a query returns, patients' details included."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != "Row %r"


class StandardErrorHandler(logging.StreamHandler):
    """Writes to sys.stderr as it is when a line is written (a test runner replaces it)."""

    def __init__(self):
        super().__init__()
        self.setFormatter(JSONLineFormatter())
        self.addFilter(RequestContext())

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):  # StreamHandler sets it; the property always answers sys.stderr
        pass


def json_lines_handler(stream) -> logging.Handler:
    """A handler writing this module's JSON lines to `stream` (the tests read them back)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONLineFormatter())
    handler.addFilter(RequestContext())
    return handler


def install(app: Flask) -> None:
    """JSON lines on standard error at LOG_LEVEL, a request id for each request, and an access line."""
    level = str(app.config.get("LOG_LEVEL", "INFO")).upper()
    if not isinstance(logging.getLevelName(level), int):
        raise RuntimeError(f"LOG_LEVEL={level!r} is not a logging level (DEBUG, INFO, WARNING, ERROR)")
    root = logging.getLogger()
    if not any(isinstance(handler, StandardErrorHandler) for handler in root.handlers):
        root.addHandler(StandardErrorHandler())  # once per process, however many apps are made
    root.setLevel(level)
    app.logger.removeHandler(default_handler)  # Flask's own, plain-text one: ours on the root is enough
    _add_filter_once(logging.getLogger("werkzeug"), WithoutWerkzeugRequestLines)
    _add_filter_once(logging.getLogger("sqlalchemy.engine.Engine"), WithoutResultRows)
    # Signals rather than before/after_request, so the id is there before any other hook runs and
    # the access line sees the final status after every other hook.
    app.log_exception = functools.partial(log_exception, app)  # instead of Flask's method
    request_started.connect(_begin_request, app)
    request_finished.connect(_end_request, app)


def _add_filter_once(logger: logging.Logger, kind: type[logging.Filter]) -> None:
    if not any(isinstance(existing, kind) for existing in logger.filters):
        logger.addFilter(kind())


def _begin_request(sender: Flask, **extra) -> None:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = offered if SAFE_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _end_request(sender: Flask, response, **extra) -> None:
    request_id = g.get("request_id") or uuid.uuid4().hex
    g.request_id = request_id
    response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
    access_log.info("%s %s %s", request.method, loggable_path(), response.status_code,
                    extra={"status": response.status_code, "duration_ms": duration_ms})


def request_fields() -> dict:
    """The request's fields for a log line: id, method, path without the query, user id."""
    return {"request_id": g.get("request_id"), "method": request.method, "path": loggable_path(),
            "user_id": _user_id()}


def loggable_path() -> str:
    """The path without its query string, with a secret argument in it (a feed's token) hidden.

    The route is matched here when the request never got that far: opening the session comes
    before matching, so when the database is down the request has no rule, and its path would be
    written as it came, token and all."""
    rule, arguments = request.url_rule, request.view_args
    if rule is None:
        try:
            rule, arguments = current_app.url_map.bind_to_environ(request.environ).match(return_rule=True)
        except HTTPException:  # no route has this path (404, 405, a redirect): no argument to hide
            return request.path
    secret = [name for name in arguments or {} if any(word in name.lower() for word in SECRET_ARGUMENT_WORDS)]
    if not secret:
        return request.path
    built = rule.build({**arguments, **dict.fromkeys(secret, "hidden")}, append_unknown=False)
    return built[1] if built else rule.rule


def log_exception(app: Flask, exc_info) -> None:
    """Flask's own line for an unhandled error names request.path as it came; ours hides secrets."""
    app.logger.error("Exception on %s [%s]", loggable_path(), request.method, exc_info=exc_info)


def _user_id() -> int | None:
    """The user's id when this request has loaded them. It never loads them, and reads the id
    from the session's identity map, so writing a line never queries the database."""
    user = g.get("_login_user")  # where Flask-Login keeps the user it loaded for this request
    if user is None or getattr(user, "is_anonymous", True):
        return None
    state = inspect(user, raiseerr=False)
    identity = state.identity if state is not None else None
    return identity[0] if identity else None
