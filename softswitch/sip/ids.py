"""Random identifiers: tags, branches, Call-IDs and cnonces, from an injectable byte source."""

from __future__ import annotations

import os
from collections.abc import Callable

from softswitch.sip.fields import BRANCH_MAGIC_COOKIE


class IdGenerator:
    """Makes identifiers from randbytes (os.urandom by default; tests pass a seeded source)."""

    __slots__ = ("_call_id_tag", "_randbytes")

    def __init__(
        self, randbytes: Callable[[int], bytes] = os.urandom, call_id_tag: str = ""
    ) -> None:
        self._randbytes = randbytes
        self._call_id_tag = call_id_tag  # ends every Call-ID's local part (an engine worker's)

    def token(self, size: int = 8) -> str:
        """size random bytes as lower-case hex."""
        return self._randbytes(size).hex()

    def tag(self) -> str:
        """A From/To tag with 64 random bits (§19.3 asks for at least 32)."""
        return self.token(8)

    def branch(self) -> str:
        """A branch starting with the RFC 3261 magic cookie (§8.1.1.7)."""
        return BRANCH_MAGIC_COOKIE + self.token(12)

    def call_id(self, host: str | None = None) -> str:
        """A globally unique Call-ID (§8.1.1.4), optionally '@host'."""
        local = self.token(16) + self._call_id_tag
        return local if host is None else f"{local}@{host}"
