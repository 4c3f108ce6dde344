"""The second factor's arithmetic, pure: TOTP codes (RFC 6238, through pyotp) from an
authenticator app, the QR code that enrols one (drawn here by segno; no outside service sees the
secret), and one-time recovery codes, kept only as hashes."""
import hashlib
import hmac
import re
import secrets
import time

import pyotp
import segno

STEP_SECONDS = 30
# A code from the step before or after the current one is accepted too: phone clocks drift and
# people type slowly (RFC 6238 section 5.2 allows one step either way).
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
# Recovery codes: 16 characters of an alphabet without look-alikes (0/O, 1/I/L), about 78 bits,
# so a plain SHA-256 is enough to keep them (nothing to guess at that a slow hash would protect).
_RECOVERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


class _TOTP(pyotp.TOTP):
    # Secrets made here have 160 bits (new_secret), and so has the published demo secret. pyotp
    # refuses secrets under 112 bits; demo databases made before the demo secret grew still hold
    # an 80-bit one (RFC 4226's own minimum), which keeps working until it is reset.
    min_secret_length_bits = 80


def new_secret() -> str:
    return pyotp.random_base32()  # 32 base32 characters: 160 bits


def grouped(secret: str) -> str:
    """The secret in fours, for typing into an app by hand: "DEMO STAF FSEC RETP ..."."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    return _TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_code_data_uri(uri: str) -> str:
    """The enrolment QR code as an SVG data: URI (the page's CSP allows data: images only)."""
    return segno.make(uri, error="m").svg_data_uri(scale=6, border=2)


def code_digits(code: str) -> str:
    """What the person typed, without the spaces and dashes apps show in the middle."""
    return re.sub(r"[\s-]", "", code or "")


def matching_step(secret: str, code: str, *, after: int | None, now: float | None = None) -> int | None:
    """The time step whose code this is, or None; a step at or before `after` (the last one used)
    never matches again, so an overheard code cannot be replayed."""
    code = code_digits(code)
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = _TOTP(secret)
    current = int((time.time() if now is None else now) // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def code_at(secret: str, now: float | None = None) -> str:
    """The code an authenticator app shows at `now` (for tests and the demo)."""
    return _TOTP(secret).at(time.time() if now is None else now)


def new_recovery_codes() -> list[str]:
    return ["-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4)) for _ in range(4))
            for _ in range(RECOVERY_CODE_COUNT)]


def recovery_code_hash(code: str) -> str:
    return hashlib.sha256(code_digits(code).upper().encode()).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    return len(code_digits(code)) == 16
