"""Password hashing with Argon2id, and the rules a new password must meet."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 256
# The most common passwords of public breach lists that meet the length rule.
COMMON_PASSWORDS = frozenset({
    "1234567890", "qwertyuiop", "password1!", "password12", "password123", "1q2w3e4r5t",
    "qwerty1234", "1qaz2wsx3edc", "iloveyou12", "0987654321", "1111111111", "abcdefghij",
    "passw0rd12", "welcome123", "letmein123", "administrator", "qwerty12345", "a1b2c3d4e5",
    "zaq12wsxcde", "football12", "baseball12", "sunshine12", "princess12", "trustno1234",
})

_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters


class WeakPassword(ValueError):
    """The new password breaks a rule, which the message names."""


def check_new_password(password: str, *, email: str | None = None) -> str:
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise WeakPassword(f"use at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"use at most {MAX_LENGTH} characters")
    if password.lower() in COMMON_PASSWORDS:
        raise WeakPassword("this password is among the most common ones; choose another")
    if email and password.lower() == email.lower():
        raise WeakPassword("do not use your email address as the password")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Return whether ``password`` matches; a missing or broken hash never matches."""
    if not password_hash:
        # Hash anyway, so an unknown account takes as long as a wrong password.
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
