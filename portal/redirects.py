"""Where a page may send the browser after it has done its work: a path on this site, never
another host, and never a value that cannot be a Location header (OWASP ASVS 5.1.5).

One check for every `next=` and `back=`, made before the page writes anything, so an address
that cannot be followed is dropped for the page's own default instead of failing after the
change has been made. Refused: anything with a scheme or host, a path starting "//" or "/\\"
(which browsers read as another host), a backslash anywhere, and every control or space
character (CR and LF would split the header; a tab or a line separator is never in our paths).
"""
import re
from urllib.parse import urlsplit

# Control characters (C0, DEL, C1), spaces and the Unicode line and paragraph separators.
_NOT_IN_A_PATH = re.compile(r"[\x00-\x20\x7f-\xa0\u1680\u2000-\u200f\u2028\u2029\u202f\u205f\u3000\ufeff\\]")
LONGEST = 2000  # a path and query of ours is far shorter; a longer one is someone's experiment


def safe_path(target: str | None, *, under: str = "/") -> str | None:
    """`target` when it is a path on this site that starts with `under`, else None."""
    if not target or len(target) > LONGEST or not target.startswith(under) or target.startswith("//"):
        return None
    if _NOT_IN_A_PATH.search(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "//" in parts.path:  # no path of ours has an empty segment
        return None
    return target
