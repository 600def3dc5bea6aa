"""Password hashing with argon2id (argon2-cffi)."""

from __future__ import annotations

from typing import Protocol

import argon2
from argon2.exceptions import InvalidHashError, VerificationError


class PasswordHasher(Protocol):
    """The port workflows hash and check passwords through."""

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...

    def needs_rehash(self, password_hash: str) -> bool: ...


class Argon2Hasher:
    """argon2id with argon2-cffi's RFC 9106 low-memory profile by default.

    Tests may pass cheaper parameters (``Argon2Hasher.fast()``); the algorithm stays argon2id.
    """

    def __init__(self, hasher: argon2.PasswordHasher | None = None) -> None:
        self._hasher = hasher or argon2.PasswordHasher.from_parameters(
            argon2.profiles.RFC_9106_LOW_MEMORY
        )

    @classmethod
    def fast(cls) -> Argon2Hasher:
        """Minimal-cost argon2id for test suites; never use in production."""
        return cls(argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
