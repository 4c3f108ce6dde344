"""Security headers on every response (OWASP ASVS 14.4): a Content-Security-Policy that allows
only the portal's own scripts and styles (no inline ones are needed), no sniffing, no framing, a
strict referrer policy, HSTS over HTTPS; and Cache-Control: no-store on every response to a
logged-in user, to a visitor whose session holds answers, and on every page of the questionnaire
and its outcome whoever asks, so answers and patient data stay out of shared and back-button
caches (a library's computer, a family tablet)."""
from flask import Flask, request, session

from portal.auth.sessions import NOTHING_OF_THEIRS

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
HSTS = "max-age=31536000; includeSubDomains"
# Pages that show a questionnaire's answers or its outcome, to visitors too.
SHOWS_ANSWERS_BLUEPRINTS = frozenset({"triage"})
SHOWS_ANSWERS_ENDPOINTS = frozenset({"booking.outcome", "booking.book"})


def install(app: Flask) -> None:
    @app.after_request
    def _secure(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", HSTS)
        if shows_something_private():
            headers["Cache-Control"] = "no-store"
        return response


def shows_something_private() -> bool:
    """Logged in (Flask-Login's key, read without loading the user), a session holding answers,
    or a page that shows answers or an outcome."""
    return (request.blueprint in SHOWS_ANSWERS_BLUEPRINTS or request.endpoint in SHOWS_ANSWERS_ENDPOINTS
            or not session.keys() <= NOTHING_OF_THEIRS)
