"""What a person's name may hold: the letters of any script, spaces and punctuation, and nothing
that could change how a page or a message around it reads.

A name goes into the clinic's own emails ("Dear ..."), letters and calendars, and anyone may
register with anyone's address, so a line break (a second paragraph of someone else's text), a
control character or a bidirectional override (text that displays backwards) is refused. Pure.
"""
import unicodedata

LONGEST = 120
# Unicode's controls (Cc) and its line and paragraph separators (Zl, Zp).
_REFUSED_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})
# The bidirectional embeddings, overrides and isolates (Unicode's "Trojan Source" characters).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

NOT_ONE_LINE = "Please type the name on one line, with letters, spaces and punctuation only."
TOO_LONG = f"Please use at most {LONGEST} characters."


def name_problem(name: str) -> str | None:
    """What is wrong with `name` as a person's name, or None."""
    if len(name) > LONGEST:
        return TOO_LONG
    if any(character in _BIDI_CONTROLS or unicodedata.category(character) in _REFUSED_CATEGORIES
           for character in name):
        return NOT_ONE_LINE
    return None
