"""Fuzzing: whatever arrives, the core answers Message or Malformed and nothing else escapes."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from softswitch.sip.digest import parse_challenge, parse_credentials
from softswitch.sip.errors import SipParseError
from softswitch.sip.message import Message, Request
from softswitch.sip.parser import Malformed, try_parse_message
from softswitch.sip.sdp import has_sdp, parse_sdp, sdp_body
from tests.sip.mutations import SEEDS, T, mutate

ACCESSORS = (
    "call_id",
    "cseq",
    "from_",
    "to",
    "via",
    "vias",
    "contact",
    "contact_is_wildcard",
    "record_route",
    "route",
    "expires",
    "max_forwards",
    "content_type",
    "user_agent",
)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class DrawChooser:
    """A mutation's choices drawn by hypothesis (so failures shrink)."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw

    def integer(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))

    def choice(self, options: Sequence[T]) -> T:
        return self.draw(st.sampled_from(options))

    def binary(self, max_size: int) -> bytes:
        return self.draw(st.binary(min_size=1, max_size=max_size))


@st.composite
def mutated_messages(draw: st.DrawFn) -> bytes:
    """A real message with a few bytes inserted, deleted or replaced, or lines duplicated."""
    return mutate(draw(st.sampled_from(SEEDS)), DrawChooser(draw))


def check_never_escapes(data: bytes) -> None:
    result = try_parse_message(data)
    if isinstance(result, Malformed):
        if result.can_reply:
            assert try_parse_message(result.build_400(to_tag="t").to_bytes()) is not None
        return
    assert isinstance(result, Message)
    assert has_sdp(result) == (sdp_body(result) is not None)
    parse_sdp(result.body)
    if result.validate() is None:
        check_valid_message(result)
    else:
        for name in ACCESSORS:
            with contextlib.suppress(SipParseError):
                getattr(result, name)


def check_valid_message(message: Message) -> None:
    values = [getattr(message, name) for name in ACCESSORS]
    reparsed = try_parse_message(message.to_bytes())
    assert isinstance(reparsed, Message), reparsed
    assert reparsed.validate() is None
    assert [getattr(reparsed, name) for name in ACCESSORS] == values
    assert reparsed.body == message.body
    if isinstance(message, Request):
        assert isinstance(reparsed, Request) and reparsed.uri == message.uri
    for value in message.headers.get_all("authorization"):
        parse_credentials(value)


@FUZZ
@given(st.binary(max_size=1500))
def test_random_bytes(data: bytes) -> None:
    check_never_escapes(data)


@FUZZ
@given(mutated_messages())
def test_mutated_messages(data: bytes) -> None:
    check_never_escapes(data)


@FUZZ
@given(st.text(max_size=300))
def test_random_credentials_and_challenges(value: str) -> None:
    parse_credentials(value)
    parse_challenge(value)
    parse_credentials("Digest " + value)
    parse_challenge("Digest " + value)
