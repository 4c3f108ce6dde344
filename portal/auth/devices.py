"""The devices an account has logged in on, so that an outsider's wrong passwords cannot keep its
owner out (OWASP's "device cookies" against online guessing; ASVS 2.2.1).

A browser that completes a login (every factor) gets a signed, HttpOnly cookie naming the
accounts it has logged in to lately (at most five: a family's shared tablet). Failed logins from
a browser without it count against the account's unknown devices, and ten of them lock only those
out; failures from a known device are counted and locked apart (auth/service.py). The cookie is
a signature over account ids and a time, checked with SECRET_KEY: it opens nothing by itself, and
the password and second factor are asked as always.
"""
from datetime import timedelta

from flask import after_this_request, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

DEVICE_COOKIE = "portal_device"
LIFETIME = timedelta(days=180)  # renewed at each login; a device unused for longer is unknown again
MOST_ACCOUNTS = 5
LONGEST_COOKIE = 500


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="portal-known-device")


def known_device_ids() -> list[int]:
    """The accounts this browser has completed a login to within LIFETIME, the most recent first."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie or len(cookie) > LONGEST_COOKIE:
        return []
    try:
        ids = _serializer().loads(cookie, max_age=LIFETIME.total_seconds())
    except BadSignature:  # forged, from another SECRET_KEY, or older than LIFETIME
        return []
    return [i for i in ids if isinstance(i, int)][:MOST_ACCOUNTS] if isinstance(ids, list) else []


def remember_device(user_id: int) -> None:
    """After a completed login: this browser is a known device of the account (the most recent
    first), set on whatever response the request ends with."""
    ids = [user_id] + [known for known in known_device_ids() if known != user_id][:MOST_ACCOUNTS - 1]
    value = _serializer().dumps(ids)
    secure = current_app.config.get("SESSION_COOKIE_SECURE", False)

    @after_this_request
    def _set_cookie(response):
        response.set_cookie(DEVICE_COOKIE, value, max_age=int(LIFETIME.total_seconds()), httponly=True,
                            secure=secure, samesite="Lax", path="/")
        return response
