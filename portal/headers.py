"""Security headers on every response (OWASP ASVS 14.4): a Content-Security-Policy that allows
only the portal's own scripts and styles (no inline ones are needed), no sniffing, no framing, a
strict referrer policy, HSTS over HTTPS; and Cache-Control: no-store on every response to a
logged-in user, so pages with patient data stay out of shared and back-button caches."""
from flask import Flask, request, session

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
HSTS = "max-age=31536000; includeSubDomains"


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
        if session.get("_user_id"):  # logged in (Flask-Login's key), read without loading the user
            headers["Cache-Control"] = "no-store"
        return response
