"""Mutations of real SIP messages, shared by the parser fuzz test (hypothesis draws the choices)
and the engine fuzzer `bench/fuzz_sip.py` (a seeded `random.Random` draws them)."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from tests.sip.samples import INVITE, REGISTER, RESPONSE_180

RFC4475 = Path(__file__).parent / "fixtures" / "rfc4475"
TORTURE = [path.read_bytes() for path in sorted(RFC4475.glob("*/*.dat"))]
SEEDS = [INVITE, REGISTER, RESPONSE_180, *TORTURE]
SIP_BYTES = [
    b"\r\n",
    b" ",
    b":",
    b";",
    b",",
    b"<",
    b">",
    b'"',
    b"\\",
    b"=",
    b"@",
    b"%",
    b"\x00",
    b"\xff",
]
OPERATIONS = ["insert", "delete", "replace", "duplicate"]

T = TypeVar("T")


class Chooser(Protocol):
    """Where a mutation's choices come from."""

    def integer(self, low: int, high: int) -> int: ...
    def choice(self, options: Sequence[T]) -> T: ...
    def binary(self, max_size: int) -> bytes: ...


class RandomChooser:
    """Choices from a seeded `random.Random` (reproducible from the seed alone)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def choice(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def binary(self, max_size: int) -> bytes:
        return self.rng.randbytes(self.rng.randint(1, max_size))


def mutate(message: bytes, chooser: Chooser) -> bytes:
    """A real message with a few bytes inserted, deleted or replaced, or lines duplicated."""
    data = bytearray(message)
    for _ in range(chooser.integer(1, 4)):
        position = chooser.integer(0, len(data))
        operation = chooser.choice(OPERATIONS)
        if operation == "insert":
            token = chooser.choice(SIP_BYTES) if chooser.integer(0, 1) else chooser.binary(8)
            data[position:position] = token
        elif operation == "delete":
            del data[position : position + chooser.integer(1, 20)]
        elif operation == "replace" and position < len(data):
            data[position] = chooser.integer(0, 255)
        else:
            line_end = data.find(b"\r\n", position)
            data[position:position] = data[position : line_end + 2] if line_end >= 0 else b""
    return bytes(data)


BRANCH = re.compile(rb"branch=z9hG4bK[^;,\s]*", re.I)
CALL_ID = re.compile(rb"^(Call-ID|i)[ \t]*:[ \t]*[^\r\n]*", re.I | re.M)


def freshen(message: bytes, token: str) -> bytes:
    """The message with its branches and Call-ID made unique by `token`, so that the receiver
    takes it for a new transaction (and keeps state for it) rather than a retransmission."""
    value = token.encode()
    message = BRANCH.sub(b"branch=z9hG4bK" + value, message)
    return CALL_ID.sub(lambda match: match[1] + b": " + value, message)
