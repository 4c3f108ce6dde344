"""Where one page's time goes: cProfile over a few requests of a logged-in user, in process.

The app is built from the environment (DATABASE_URL: the database to read, which must already
hold the account), the user logs in through the real forms with the test client (CSRF on), the
page is asked for a few times to warm up, then REQUESTS more times under the profiler. Prints the
plain time of a request, the time and calls per request of the parts that matter (session, user,
SQL, templates, url_for, the slot engine), then the top entries by cumulative (or own) time from
the portal's code and its libraries (the test client's own machinery left out). cProfile slows
Python-heavy code (Jinja, SQLAlchemy) two to three times: read the shares, not the milliseconds.

    DATABASE_URL=sqlite:////tmp/clinic.db .venv/bin/python -m bench.profile_page /book/
    .venv/bin/python -m bench.profile_page /queue/ --email doctor@example.com \
        --totp-secret DEMOSTAFFSECRETPUBLISHEDFORTESTS
"""
import argparse
import cProfile
import inspect
import os
import pstats
import sys
import time

os.environ.setdefault("SECRET_KEY", "profile-page-" + "x" * 32)  # not the instance's own key file
os.environ["RATELIMIT_ENABLED"] = "0"

from portal import create_app
from portal.auth.totp import code_at
from tests.client import AuthActions

# (label, end of the file name, function): the parts of a request worth a line of their own.
PARTS = [
    ("whole request (Flask.wsgi_app)", "flask/app.py", "wsgi_app"),
    ("session load", "flask_session/base.py", "open_session"),
    ("session save", "flask_session/base.py", "save_session"),
    ("before-request hooks (Flask.preprocess_request)", "flask/app.py", "preprocess_request"),
    ("after-request hooks (Flask.process_response)", "flask/app.py", "process_response"),
    ("user load (load_user)", "portal/auth/views.py", "load_user"),
    ("SQL: ORM statements (Session._execute_internal)", "sqlalchemy/orm/session.py", "_execute_internal"),
    ("SQL: every statement (Connection._execute_context)", "sqlalchemy/engine/base.py", "_execute_context"),
    ("SQL: statement compile", "sqlalchemy/sql/elements.py", "_compile_w_cache"),
    ("SQL: in the driver (dialect.do_execute)", "sqlalchemy/engine/default.py", "do_execute"),
    ("SQL: rows to objects (orm loading.instances)", "sqlalchemy/orm/loading.py", "instances"),
    ("template rendering (render_template)", "flask/templating.py", "render_template"),
    ("links: routes built (Flask.url_for)", "flask/app.py", "url_for"),
    ("slot engine (availability.free_slots)", "portal/booking/availability.py", "free_slots"),
    ("slots from the database (slots.open_slots)", "portal/booking/slots.py", "open_slots"),
    ("the week (week.free_week)", "portal/booking/week.py", "free_week"),
]
# In the table, only the portal and its libraries: not the standard library, not the test client.
OWN_AND_LIBRARIES = r"(/portal/|site-packages/(?!werkzeug/test\.py))"


def per_request(stats: pstats.Stats, file_end: str, function: str, requests: int) -> str:
    """Cumulative ms and calls per request of one function, summed over its definitions."""
    calls = cumulative = 0
    for (file_name, _, name), (_, primitive_calls, _, total, _) in stats.stats.items():
        if name == function and file_name.endswith(file_end):
            calls += primitive_calls
            cumulative += total
    if not calls:
        return "not called"
    return f"{cumulative / requests * 1000:8.2f} ms  {calls / requests:6.1f} calls"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="the page, e.g. /book/")
    parser.add_argument("--email", default="patient@example.com")
    parser.add_argument("--password", default="demo-password-1")
    parser.add_argument("--totp-secret", help="for staff: the authenticator secret")
    parser.add_argument("--requests", type=int, default=20, help="requests under the profiler")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"],
                        help="the table's order: with callees, or the function's own time")
    arguments = parser.parse_args()

    app = create_app()
    client = app.test_client()
    code = code_at(arguments.totp_secret) if arguments.totp_secret else None
    login = AuthActions(client).login(arguments.email, arguments.password, code=code)
    if login.status_code != 302 or "/auth/" in login.headers["Location"]:
        sys.exit(f"the login as {arguments.email} failed (a staff code is taken once per 30 seconds: try again)")

    for _ in range(5):  # templates compiled, caches and connections warm
        response = client.get(arguments.path)
        if response.status_code != 200:
            sys.exit(f"GET {arguments.path} answered {response.status_code}")
    started = time.perf_counter()
    for _ in range(arguments.requests):
        client.get(arguments.path)
    plain = (time.perf_counter() - started) / arguments.requests

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(arguments.requests):
        client.get(arguments.path)
    profiler.disable()
    stats = pstats.Stats(profiler)

    view = app.view_functions[app.url_map.bind("localhost").match(arguments.path.partition("?")[0])[0]]
    view_code = inspect.unwrap(view).__code__  # the view itself, under its guards
    parts = [PARTS[0], (f"view function ({view_code.co_name})", view_code.co_filename, view_code.co_name),
             *PARTS[1:]]
    print(f"GET {arguments.path} as {arguments.email} on {app.config['SQLALCHEMY_DATABASE_URI']}")
    print(f"{plain * 1000:.2f} ms a request without the profiler; per request under it:")
    for label, file_end, function in parts:
        print(f"  {label:<52} {per_request(stats, file_end, function, arguments.requests)}")
    print(f"\ntop {arguments.top} by {arguments.sort} time over {arguments.requests} requests:")
    stats.sort_stats(arguments.sort).print_stats(OWN_AND_LIBRARIES, arguments.top)


if __name__ == "__main__":
    main()
