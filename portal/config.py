"""Settings, read from the environment once when the app is made.

Every clinic fact a page or message needs is a setting here, so a deployment changes them
without touching code. Demo defaults are plainly fictional.
"""
import os
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from portal.phone_hours import PhoneHoursError, parse_phone_hours

DEVELOPMENT, PRODUCTION = "development", "production"
# Flask signs session ids and CSRF tokens with it: at least this long (token_urlsafe(48) gives 64).
MIN_SECRET_KEY_LENGTH = 32


def _portal_env(name: str) -> str:
    if name not in (DEVELOPMENT, PRODUCTION):
        raise RuntimeError(f"PORTAL_ENV={name!r}: use {DEVELOPMENT!r} (the default) or {PRODUCTION!r}")
    return name


def settle_secret_key(config: dict, instance_path: Path) -> None:
    """Production starts only with a SECRET_KEY given (the environment, or the config of a test);
    development makes one once and keeps it in the instance folder, so sessions survive a
    restart of `make run`."""
    key = config.get("SECRET_KEY")
    if config["PORTAL_ENV"] == PRODUCTION:
        if not key:
            raise RuntimeError("SECRET_KEY is not set, and PORTAL_ENV=production will not make one up: export "
                               "SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))') "
                               "(the same value for every process of the portal)")
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise RuntimeError(f"SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} characters: make a new one with "
                               "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'")
        return
    if key:
        return
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    config["SECRET_KEY"] = key_file.read_text().strip()


def check_shared_limits(config: dict) -> None:
    """Production counts the per-address limits where every process sees them: counters in one
    process's memory would let each of several processes allow the whole limit again. Checked
    when the app is made to serve (gunicorn imports wsgi); the `flask` commands (Flask sets
    FLASK_RUN_FROM_CLI for all of them: db upgrade, send-mail, backup) serve no logins."""
    if config["PORTAL_ENV"] == PRODUCTION and config["RATELIMIT_ENABLED"] and \
            config["RATELIMIT_STORAGE_URI"].startswith("memory") and not os.environ.get("FLASK_RUN_FROM_CLI"):
        raise RuntimeError("PORTAL_ENV=production counts login and registration limits in Redis: set REDIS_URL "
                           "(or RATELIMIT_STORAGE_URI) to redis://host:6379/0, the same for every process")


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise RuntimeError(f"CLINIC_TIMEZONE={name!r} is not an IANA time zone name") from error
    return name


def _phone_hours(text: str) -> str:
    try:
        parse_phone_hours(text)
    except PhoneHoursError as error:
        raise RuntimeError(f"CLINIC_PHONE_HOURS={text!r} cannot be read: {error}") from None
    return text


def _whole_number(env, name: str, default: int) -> int:
    value = env(name, str(default))
    try:
        number = int(value)
    except ValueError:
        raise RuntimeError(f"{name}={value!r} is not a whole number") from None
    if number < 0:
        raise RuntimeError(f"{name}={value!r} must not be negative")
    return number


def pool_options(env) -> dict:
    """Each process's database connection pool (SQLAlchemy's QueuePool), from the environment.

    DB_POOL_SIZE connections are kept open and DB_MAX_OVERFLOW more are opened under load; a
    sync gunicorn worker serves one request at a time and uses at most two (the request's and the
    session store's writes), so the defaults (2 and 3) leave room while workers x 5 stays under the
    server's max_connections (100 by default). DB_POOL_RECYCLE closes a connection older than
    that many seconds (under a proxy or firewall that drops idle ones); DB_POOL_PRE_PING=1 tests a
    connection before use, so a database restart costs no request. SQLite is a file: no pool settings.
    """
    if env("DATABASE_URL", "sqlite:").startswith("sqlite"):
        return {}
    return {"pool_size": _whole_number(env, "DB_POOL_SIZE", 2),
            "max_overflow": _whole_number(env, "DB_MAX_OVERFLOW", 3),
            "pool_timeout": _whole_number(env, "DB_POOL_TIMEOUT", 10),
            "pool_recycle": _whole_number(env, "DB_POOL_RECYCLE", 1800) or -1,
            "pool_pre_ping": env("DB_POOL_PRE_PING", "1") == "1"}


LETTER_PAPERS = ("A4", "Letter")


def _letter_paper(name: str) -> str:
    if name not in LETTER_PAPERS:
        raise RuntimeError(f"LETTER_PAPER={name!r}: use A4 or Letter (US Letter)")
    return name


def from_environment(instance_path: Path) -> dict:
    env = os.environ.get
    return {
        "SQLALCHEMY_DATABASE_URI": env("DATABASE_URL", f"sqlite:///{instance_path / 'portal.db'}"),
        "SQLALCHEMY_ENGINE_OPTIONS": pool_options(env),
        # SQLite: how long a write waits for another process's write lock before the page says
        # "try again" (503 with Retry-After).
        "SQLITE_BUSY_TIMEOUT_MS": _whole_number(env, "SQLITE_BUSY_TIMEOUT_MS", 30000),
        # development (the default) or production: production refuses demo data, demo accounts and a
        # made-up SECRET_KEY (settle_secret_key, demo.py).
        "PORTAL_ENV": _portal_env(env("PORTAL_ENV", DEVELOPMENT)),
        "SECRET_KEY": env("SECRET_KEY") or None,  # see settle_secret_key
        "CLINIC_TIMEZONE": _zone(env("CLINIC_TIMEZONE", "America/Chicago")),
        "CLINIC_NAME": env("CLINIC_NAME", "Riverside Vein & Leg Clinic"),
        "CLINIC_PHONE": env("CLINIC_PHONE", "(555) 010-4477"),
        "CLINIC_ADDRESS": env("CLINIC_ADDRESS", "100 Example Avenue, Suite 2, Springfield"),
        # When the phone is answered, in the clinic's zone (portal/phone_hours.py): the urgent page
        # says "call us" while it is, and to be seen elsewhere today while it is not.
        "CLINIC_PHONE_HOURS": _phone_hours(env("CLINIC_PHONE_HOURS", "Mon-Fri 08:00-18:00; Sat 09:00-12:00")),
        "EMERGENCY_NUMBER": env("EMERGENCY_NUMBER", "911"),
        # The paper size of referral letters as PDF (portal/letters/pdf.py): A4 or Letter.
        "LETTER_PAPER": _letter_paper(env("LETTER_PAPER", "Letter")),
        # Patients book at least this long ahead, so the clinic can prepare (front desk can override).
        "BOOKING_MIN_NOTICE_MINUTES": int(env("BOOKING_MIN_NOTICE_MINUTES", "60")),
        # How far ahead a patient may book.
        "BOOKING_HORIZON_DAYS": int(env("BOOKING_HORIZON_DAYS", "90")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env("SESSION_COOKIE_SECURE", "0") == "1",
        "REMEMBER_COOKIE_SECURE": env("SESSION_COOKIE_SECURE", "0") == "1",
        # Sessions live on the server (portal/auth/sessions.py): in the database, or in Redis when set.
        "REDIS_URL": env("REDIS_URL", ""),
        "SESSION_COOKIE_NAME": "portal_session",
        # Flask-Limiter's counters per client address: in Redis when REDIS_URL is set (every process
        # shares them), else in this process's memory, which production refuses (check_production).
        "RATELIMIT_STORAGE_URI": env("RATELIMIT_STORAGE_URI") or env("REDIS_URL") or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # 0 turns the limits off: only for a load test from one address (bench/), never for a clinic.
        "RATELIMIT_ENABLED": env("RATELIMIT_ENABLED", "1") == "1",
        # The largest request body read (OWASP ASVS 13.1.x): a form of ours is a few kilobytes; more is
        # answered 413 before it is parsed.
        "MAX_CONTENT_LENGTH": _whole_number(env, "MAX_CONTENT_LENGTH", 1024 * 1024),
        "WTF_CSRF_TIME_LIMIT": None,  # a form left open over lunch still submits; the token is per session
        # How many proxies in front of the app set X-Forwarded-For/-Proto/-Host (0: none, trust no header).
        "PROXY_FIX_HOPS": int(env("PROXY_FIX_HOPS", "0")),
        # Logs are JSON lines on standard error (portal/logs.py); DEBUG, INFO, WARNING or ERROR.
        "LOG_LEVEL": env("LOG_LEVEL", "INFO"),
        # Where links in messages point (the manage-your-appointment link).
        "PUBLIC_URL": env("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
        # Mail: with no MAIL_SERVER, messages are written as .eml files under MAIL_FILE_DIR.
        "MAIL_SERVER": env("MAIL_SERVER", ""),
        "MAIL_PORT": int(env("MAIL_PORT", "587")),
        "MAIL_USERNAME": env("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": env("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": env("MAIL_USE_TLS", "1") == "1",
        "MAIL_DEFAULT_SENDER": env("MAIL_DEFAULT_SENDER", "Riverside Vein & Leg Clinic <appointments@example.com>"),
        "MAIL_FILE_DIR": env("MAIL_FILE_DIR", str(instance_path / "mail")),
        # A failed send is tried again after 1, 2, 4, ... minutes, and given up (dead) after this many tries.
        "MAIL_MAX_ATTEMPTS": int(env("MAIL_MAX_ATTEMPTS", "8")),
    }
