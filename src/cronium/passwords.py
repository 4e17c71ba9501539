"""Passwords: checked for strength, hashed with argon2id (argon2-cffi), verified in constant
time. Only the hash is stored; its parameters travel with it, so they can be raised later."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cronium.errors import InvalidInputError

MIN_LENGTH = 10
MAX_LENGTH = 1024  # hashing is costly: nobody sends a megabyte to be hashed

_hasher = PasswordHasher()  # argon2id, the library's (RFC 9106 low-memory) parameters
# verified when the user does not exist, so that an unknown name takes as long as a known one
_NOBODY = _hasher.hash("no user has this password")


def check_strength(password: str, *, user_name: str) -> None:
    """InvalidInputError saying what to change if ``password`` is too weak to keep."""
    if len(password) < MIN_LENGTH:
        raise InvalidInputError(
            f"the password is too short: use at least {MIN_LENGTH} characters (a few words "
            "make a good one)"
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInputError(f"the password is too long: use at most {MAX_LENGTH} characters")
    if password.strip() != password or not password.isprintable():
        raise InvalidInputError(
            "the password starts or ends with a space, or holds a control character: leave them out"
        )
    if password.casefold() == user_name.casefold() or len(set(password)) < 4:
        raise InvalidInputError(
            "the password is too easy to guess (the user's name, or few distinct characters)"
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; ``password_hash`` None (no user, or no password set)
    costs the same time and never matches."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash or _NOBODY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with older parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)
