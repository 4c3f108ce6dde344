"""The password policy (portal/auth/passwords.py), pure: no app, no database."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.auth.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    TOO_COMMON,
    TOO_EASY,
    TOO_LONG,
    TOO_PERSONAL,
    TOO_SHORT,
    is_made_of,
    normalised,
    password_problem,
    personal_words,
)

MARIA = ("Maria Lopez", "maria.lopez@example.com")


@pytest.mark.parametrize("password", [
    "a long enough password",
    "rivers and mountains in spring",
    "demo-password-1",  # the demo accounts' and the tests' password
    "Maria grows roses in June",  # her name with words of her own is hers to choose
    "blue coffee mug morning",
    "zebra kettle velvet 7",
    "ünïcödé pässwörd wïth äccents",
    "пароль из нескольких слов",
    "x" * 3 + " quiet harbour lantern " + "y" * 3,
    "Tr0ub4dor&3xyz",
])
def test_good_passwords_are_accepted(password):
    assert password_problem(password, personal=MARIA) is None


@pytest.mark.parametrize("password, problem", [
    ("password1234", TOO_COMMON),
    ("ｐａｓｓｗｏｒｄ１２３４", TOO_COMMON),  # fullwidth: stored as "password1234" after NFKC
    ("ｓｕｎｎｙ ｂｅａｃｈ", TOO_SHORT),
    ("123456789012", TOO_COMMON),
    ("qwertyuiop12", TOO_COMMON),
    ("iloveyou1234", TOO_COMMON),
    ("letmein12345", TOO_COMMON),
    ("abcdefghijkl", TOO_EASY),
    ("aaaaaaaaaaaa", TOO_EASY),
    ("passwordpassword", TOO_EASY),  # a repeat of a common word: a pattern first
    ("Maria Lopez 1960", TOO_PERSONAL),
    ("LOPEZ.maria!!22", TOO_PERSONAL),
    ("maria.lopez@example.com", TOO_PERSONAL),
    ("marialopez marialopez", TOO_PERSONAL),
    ("password123", TOO_SHORT),  # 11 characters
    ("", TOO_SHORT),
    ("x" * (MAX_LENGTH + 1), TOO_LONG),
])
def test_weak_passwords_are_refused_with_the_reason(password, problem):
    assert password_problem(password, personal=MARIA) == problem


def test_the_messages_are_plain_words_with_the_numbers():
    assert "at least 12 characters" in TOO_SHORT
    assert "at most 128 characters" in TOO_LONG
    assert TOO_COMMON.startswith("This password is too common")
    assert "name or email address" in TOO_PERSONAL


def test_the_limits_are_inclusive():
    assert len("zebra kettle") == MIN_LENGTH and password_problem("zebra kettle") is None
    assert password_problem("zebra kettl") == TOO_SHORT
    longest = ("quiet harbour lantern, " * 6)[:MAX_LENGTH]
    assert len(longest) == MAX_LENGTH and password_problem(longest) is None


def test_no_composition_rules():
    """Lower-case letters and spaces alone are fine (NIST SP 800-63B: no composition rules)."""
    assert password_problem("velvet kettle on the hill") is None
    assert password_problem("VELVET KETTLE ON THE HILL") is None


def test_personal_words_are_the_name_and_the_email_without_its_domain():
    assert personal_words(MARIA) == {"maria", "lopez", "marialopez", "maria.lopez@example.com"}
    assert personal_words(("Al Bo", None, "")) == {"albo"}  # two-letter names match inside too many words


def test_is_made_of_needs_a_personal_word_in_it():
    assert is_made_of("Maria Lopez 1960", {"maria", "lopez"})
    assert not is_made_of("1960 1961 1962", {"maria", "lopez"})  # other rules judge that
    assert not is_made_of("Maria's roses in June", {"maria", "lopez"})


# Lengths are those of the password as stored, NFKC-normalised ("´" is a space and an accent there).
@given(st.text(max_size=MIN_LENGTH - 1).filter(lambda typed: len(normalised(typed)) < MIN_LENGTH))
def test_anything_shorter_than_the_minimum_is_too_short(password):
    assert password_problem(password) == TOO_SHORT


@given(st.text(min_size=MAX_LENGTH + 1, max_size=MAX_LENGTH + 50).filter(
    lambda typed: len(normalised(typed)) > MAX_LENGTH))
def test_anything_longer_than_the_maximum_is_too_long(password):
    assert password_problem(password) == TOO_LONG


def test_length_is_counted_in_the_password_as_stored():
    assert password_problem("0000000000\u00b4") != TOO_SHORT  # 11 typed, 12 stored: judged on the rest
    assert password_problem("ｓｕｎｎｙ ｂｅａｃｈ") == TOO_SHORT


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=MIN_LENGTH, max_size=MAX_LENGTH), st.text(max_size=60), st.emails())
def test_any_text_gets_an_answer_from_the_policy(password, name, email):
    assert password_problem(password, personal=(name, email)) in (
        None, TOO_COMMON, TOO_EASY, TOO_PERSONAL)


@settings(max_examples=30, deadline=None)
@given(st.from_regex(r"[A-Za-z]{3,12}", fullmatch=True), st.from_regex(r"[A-Za-z]{3,12}", fullmatch=True),
       st.integers(1900, 2030), st.sampled_from([" ", ".", "", "-", "_"]))
def test_a_name_and_a_year_is_always_refused(first, last, year, between):
    password = f"{first}{between}{last}{between}{year}"
    if len(password) >= MIN_LENGTH:
        assert password_problem(password, personal=(f"{first} {last}", "someone@example.com")) == TOO_PERSONAL

