"""The password policy (NIST SP 800-63B 5.1.1.2, OWASP ASVS 2.1): long enough, not too long, not
common or easy to guess, not the person's own name or email, and no composition rules (no "one
capital, one digit, one symbol"), which make passwords harder to remember, not to guess.

Pure: plain strings in, a message or None out. How guessable a password is comes from zxcvbn,
offline: its bundled lists of passwords from breaches, common words and names, and its patterns
(keyboard rows, repeats, sequences, dates, letters swapped for look-alike digits).
"""
import re
import unicodedata
from collections.abc import Iterable

from zxcvbn import zxcvbn

MIN_LENGTH = 12  # ASVS 2.1.1 (800-63B asks for 8 at least)
# ASVS 4.0.3 2.1.2: passwords of 64 characters or more are allowed, and none longer than 128.
MAX_LENGTH = 128
# Fewer estimated guesses than this is refused: zxcvbn's score 3, "safely unguessable", the point
# below which its authors find a password within reach of an attacker holding the hashes.
MIN_GUESSES = 10**8
# zxcvbn's matching grows quickly with length (about a second for 72 look-alike symbols on the
# clinic's server), so only the start of a long password is estimated: a password is at least as
# hard to guess as its beginning.
ESTIMATED_PREFIX = 64
# A personal word shorter than this ("Al", "Jo") would match inside ordinary words.
SHORTEST_PERSONAL_WORD = 3
# What may be left once the name and email are taken out, before the password counts as made of them.
FEWEST_OWN_LETTERS = 4

# Said in words a patient of any age understands; the form shows one at a time.
TOO_SHORT = (f"Your password needs at least {MIN_LENGTH} characters. Three or four words that mean "
             "something to you make a long password that is easy to remember.")
TOO_LONG = f"Your password can have at most {MAX_LENGTH} characters. Please choose a shorter one."
TOO_COMMON = ("This password is too common: it is on the lists of passwords that criminals try first. "
              "Please choose another one, for example three or four words that mean something to you.")
TOO_PERSONAL = ("Please do not use your name or email address in your password: other people know them. "
                "Please choose another one.")
TOO_EASY = ("This password is too easy to guess: patterns such as \"abcd\", \"1111\", rows of keys or dates "
            "are tried first. Please choose another one, for example three or four words that mean "
            "something to you.")

_NOT_LETTER_OR_DIGIT = re.compile(r"[\W_]+")


def normalised(password: str) -> str:
    """NIST SP 800-63B 5.1.1.2: a password is normalised (NFKC) before it is hashed or checked,
    so "é" typed as one letter or as "e" and an accent, on a phone or a laptop, is the same password."""
    return unicodedata.normalize("NFKC", password)


def password_problem(password: str, *, personal: Iterable[str | None] = ()) -> str | None:
    """What is wrong with `password` for the person whose name and email are `personal`, or None
    when it may be used. The policy judges the password as it will be stored, normalised: fullwidth
    "ｐａｓｓｗｏｒｄ１２３４" is the breached "password1234" once NFKC has folded it."""
    password = normalised(password)
    if len(password) < MIN_LENGTH:
        return TOO_SHORT
    if len(password) > MAX_LENGTH:
        return TOO_LONG
    words = personal_words(personal)
    if is_made_of(password, words):
        return TOO_PERSONAL
    estimate = zxcvbn(password[:ESTIMATED_PREFIX], user_inputs=sorted(words), max_length=ESTIMATED_PREFIX)
    if estimate["guesses"] >= MIN_GUESSES:
        return None
    found_in = {match.get("dictionary_name") for match in estimate["sequence"]}
    if "user_inputs" in found_in:
        return TOO_PERSONAL
    if "passwords" in found_in:
        return TOO_COMMON
    return TOO_EASY


def personal_words(personal: Iterable[str | None]) -> set[str]:
    """The words of a name and an email address that a password should not be made of: each in
    full and in its parts ("Maria Lopez", "maria.lopez@example.com" -> maria, lopez, mariaLopez...),
    in lower case. The email's domain is left out: it is shared with many others."""
    words = set()
    for text in filter(None, personal):
        text = text.strip().casefold()
        if "@" in text:
            words.add(text)
            text = text.rpartition("@")[0]
        parts = [part for part in _NOT_LETTER_OR_DIGIT.split(text) if part]
        words.update(part for part in parts + ["".join(parts)] if len(part) >= SHORTEST_PERSONAL_WORD)
    return words


def is_made_of(password: str, words: Iterable[str]) -> bool:
    """True when, after taking out every personal word, spaces, punctuation and digits, fewer than
    FEWEST_OWN_LETTERS letters are left: "Maria Lopez 1960!" for Maria Lopez."""
    skeleton = _NOT_LETTER_OR_DIGIT.sub("", password.casefold())
    remaining = skeleton
    for word in sorted((_NOT_LETTER_OR_DIGIT.sub("", word) for word in words), key=len, reverse=True):
        if word:
            remaining = remaining.replace(word, "")
    if remaining == skeleton:
        return False
    return sum(not character.isdigit() for character in remaining) < FEWEST_OWN_LETTERS
