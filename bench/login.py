"""Log in to a running portal through its real forms and print the session cookie's value, for a
load tool's `Cookie: portal_session=...` header (bench/load.sh uses it with wrk).

The password form (GET /auth/login for its CSRF token, then POST), and for staff the second step
with the code an authenticator app would show for the given secret. Then the page the login
redirects to must answer 200: anything else (a redirect back to the login page, an error) exits
with status 1 and says what happened, so a load test never measures the login page by mistake.

    .venv/bin/python -m bench.login http://127.0.0.1:18201 patient@example.com demo-password-1
    .venv/bin/python -m bench.login http://127.0.0.1:18201 doctor@example.com demo-password-1 \\
        --totp-secret DEMOSTAFFSECRETPUBLISHEDFORTESTS
"""
import argparse
import http.cookiejar
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from portal.auth.totp import STEP_SECONDS, code_at
from tests.client import hidden_fields

COOKIE_NAME = "portal_session"


class LoginFailed(Exception):
    pass


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Hand back each redirect as it is, so the flow can see where the portal sends us."""

    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Just enough of a browser: a cookie jar, form posts with the page's hidden fields, no
    automatic redirects."""

    def __init__(self, base_url: str, timeout: float = 30):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects)

    def request(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        """(status, Location header, body) of one GET, or POST when `data` is given."""
        body = None if data is None else urllib.parse.urlencode(data).encode()
        try:
            response = self.opener.open(self.base_url + path, data=body, timeout=self.timeout)
        except urllib.error.HTTPError as error:  # 3xx (not followed) and 4xx/5xx arrive here
            response = error
        with response:
            return response.status, response.headers.get("Location", ""), response.read().decode()

    def submit(self, path: str, fields: dict) -> tuple[int, str, str]:
        """GET the form's page, then POST its hidden fields (the CSRF token) and `fields`."""
        status, _, page = self.request(path)
        if status != 200:
            raise LoginFailed(f"GET {path} answered {status}")
        return self.request(path, {**hidden_fields(page), **fields})

    def cookie(self, name: str) -> str | None:
        return next((cookie.value for cookie in self.cookies if cookie.name == name), None)


def _path(location: str) -> str:
    return urllib.parse.urlsplit(location).path


def _second_step(browser: Browser, secret: str) -> tuple[int, str, str]:
    """The code of the current 30-second step; a code is taken once only per account and step, so
    when a login a moment ago used it, the code of the next step is typed when that step begins."""
    answer = browser.submit("/auth/verify", {"code": code_at(secret)})
    if answer[0] == 302:
        return answer
    wait = STEP_SECONDS - time.time() % STEP_SECONDS + 1
    print(f"the code was refused (used already in this step?): trying the next one in {wait:.0f} s",
          file=sys.stderr)
    time.sleep(wait)
    return browser.submit("/auth/verify", {"code": code_at(secret)})


def log_in(base_url: str, email: str, password: str, totp_secret: str | None = None) -> str:
    """The session cookie's value of a new login as `email`; raises LoginFailed otherwise."""
    browser = Browser(base_url)
    status, location, _ = browser.submit("/auth/login", {"email": email, "password": password})
    if status != 302:
        raise LoginFailed(f"the password step answered {status}, not a redirect: wrong email or password?")
    if _path(location) in ("/auth/verify", "/auth/enrol"):
        if not totp_secret:
            raise LoginFailed(f"{email} needs a second factor: give --totp-secret")
        if _path(location) == "/auth/enrol":
            raise LoginFailed(f"{email} has no authenticator enrolled yet: log in once by hand first")
        status, location, _ = _second_step(browser, totp_secret)
        if status != 302:
            raise LoginFailed(f"the code step answered {status}, not a redirect: wrong --totp-secret?")
    home = _path(location)
    status, location, _ = browser.request(home)
    if status != 200:
        raise LoginFailed(f"not logged in: GET {home} answered {status} {location}".rstrip())
    cookie = browser.cookie(COOKIE_NAME)
    if not cookie:
        raise LoginFailed(f"logged in, but the portal set no {COOKIE_NAME} cookie")
    return cookie


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url", help="the running portal, e.g. http://127.0.0.1:18201")
    parser.add_argument("email")
    parser.add_argument("password")
    parser.add_argument("--totp-secret", help="the account's authenticator secret (staff)")
    arguments = parser.parse_args()
    try:
        print(log_in(arguments.base_url, arguments.email, arguments.password, arguments.totp_secret))
    except (LoginFailed, OSError) as error:
        print(f"login as {arguments.email} at {arguments.base_url} failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
