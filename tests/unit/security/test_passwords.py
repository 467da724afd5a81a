import pytest

from saas.security.passwords import (
    WeakPassword,
    check_new_password,
    hash_password,
    needs_rehash,
    verify_password,
)


def test_hash_verifies_only_same_password():
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse battery")
    assert not verify_password(stored, "correct horse batterY")
    assert not needs_rehash(stored)


@pytest.mark.parametrize("stored", [None, "", "not-a-hash"])
def test_broken_hash_never_matches(stored):
    assert not verify_password(stored, "anything at all")


@pytest.mark.parametrize(("password", "message"), [
    ("short", "at least 10"),
    ("x" * 300, "at most 256"),
    ("Password123", "most common"),
    ("me@example.com", "email address"),
])
def test_weak_password_rejected(password, message):
    with pytest.raises(WeakPassword, match=message):
        check_new_password(password, email="me@example.com")


def test_good_password_accepted():
    assert check_new_password("violet-harbour-42") == "violet-harbour-42"
