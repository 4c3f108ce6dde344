"""Passwords are normalised (NFKC) before they are hashed and checked (NIST SP 800-63B 5.1.1.2):
the same password however its accented letters were typed, and hashes made before still verify.
No app and no database: a User not added to any session."""
import unicodedata

from argon2 import PasswordHasher

# Every model, so that User's mapper resolves its relationships when the unit tests run alone.
import portal.booking.models  # noqa: F401
import portal.triage.models  # noqa: F401
from portal.auth.models import User
from portal.auth.passwords import normalised

COMPOSED = "café crème brûlée"  # each accented letter one code point, as most keyboards type it
DECOMPOSED = unicodedata.normalize("NFD", COMPOSED)  # "e" then a combining accent, as some phones do


def test_a_password_is_the_same_however_its_accents_were_typed():
    assert COMPOSED != DECOMPOSED
    for set_as, typed in [(COMPOSED, DECOMPOSED), (DECOMPOSED, COMPOSED), (COMPOSED, COMPOSED)]:
        user = User()
        user.set_password(set_as)
        assert user.check_password(typed), (set_as, typed)
        assert not user.check_password(typed + "x")


def test_a_hash_made_before_normalising_still_verifies_as_it_was_typed():
    user = User(password_hash=PasswordHasher().hash(DECOMPOSED))  # stored as the letters came
    assert user.check_password(DECOMPOSED)
    assert not user.check_password("cafe creme brulee")


def test_normalised_leaves_plain_text_alone_and_folds_compatibility_forms():
    assert normalised("violet kettle harbour") == "violet kettle harbour"
    assert normalised("ｆｕｌｌｗｉｄｔｈ") == "fullwidth"  # NFKC: compatibility letters fold
