"""Password hashing for staff logins: argon2id (argon2-cffi)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Argon2Passwords:
    """``hash``/``verify``/``needs_rehash`` with the configured cost; a hash made with an older
    cost still verifies and is replaced at the next login."""

    def __init__(self, time_cost: int = 3, memory_kib: int = 64 * 1024, parallelism: int = 1) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        # verified when the user is unknown, so that "no such user" takes as long as "wrong password"
        self._decoy = self._hasher.hash("decoy password for unknown users")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, hashed: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(hashed or self._decoy, password) and hashed is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, hashed: str) -> bool:
        return self._hasher.check_needs_rehash(hashed)
