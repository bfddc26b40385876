"""RFC 4475 torture messages: the valid ones parse, the invalid ones are rejected cleanly.

The fixtures are the RFC's messages byte for byte. Those of §3.1.1 hash to the SHA-256 digests
of the RFC's Appendix A archive members, checked below so an editor or a CRLF conversion
cannot corrupt them silently.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from softswitch.sip.message import Message, Request, Response
from softswitch.sip.parser import Malformed, try_parse_message
from softswitch.sip.uri import AbsoluteUri, SipUri

FIXTURES = Path(__file__).parent / "fixtures" / "rfc4475"

VALID_SHA256 = {
    "wsinv": "d6f6cdee99cd0a1f8e3d9a0fdd67c877700e19ab86d8186dada06f61260e3e61",
    "intmeth": "b957a8292c1c0a9851fe94705b90f94320738f43aacde64998e401f742ef688d",
    "esc01": "be3a316d4ce5f69cad474646191e390dd4b50fc8371e44b5197fe1237781973e",
    "escnull": "263fe2ecd12a5ccbb6c67b3174e9211d11da9b600e7d69666a86d2ee42873e90",
    "esc02": "9a9c59449f00327b02071feafc8e5c2a261c98c818044167894cc17809a12199",
    "lwsdisp": "d1b36b6316c12824f6f04bf6b1fd1f021cade9b74871693b9c3474cd9fa7f4e6",
    "longreq": "185739292bc676760e5b1cca77c87705aa570240171c506ad76f8c35af0ecdaa",
    "dblreq": "a6be48426565c2a705389c4ce2ea17e57b891cb13f80490a2cb9392c797b46ef",
    "semiuri": "87bbaed6b4b354dbd3c5c7a20e66686303c63e43a0aa19b89de1ac75231611a2",
    "transports": "33b4553a3b9418121b099ff07882535151edd6a1e81898c63a916aad2cbf90bc",
    "mpart01": "92147c8e24997bac59629e1b163767697d0d6d499af87f89e325d69968bec3ba",
    "unreason": "4f939d6ebf4817eea70f011d3209e83732872ffc20ffd304b244084dc392f4d7",
    "noreason": "07e11e470a69fffa3674de805e5165d1351a9439a91045ee70c9570ea24ab4fe",
}

# How each invalid message is refused: Malformed from the parser (answer 400 when it can
# reply, drop otherwise), or a parsed message whose validate() gives the status to answer.
MALFORMED_400 = {
    "badinv01": "bad parameter name",  # §3.1.2.1: ';;,;,,' in Via
    "clerr": "body shorter than Content-Length",  # §3.1.2.2
    "ncl": "bad Content-Length",  # §3.1.2.3: -999
    "scalar02": "bad CSeq",  # §3.1.2.4: CSeq over 2**32-1
    "ltgtruri": "bad URI",  # §3.1.2.7: <> around the Request-URI
    "lwsruri": "bad request line",  # §3.1.2.8: LWS inside the Request-URI
    "lwsstart": "bad request line",  # §3.1.2.9: several SPs between elements
    "trws": "bad request line",  # §3.1.2.10: SPs after SIP-Version
    "escruri": "headers are not allowed in a Request-URI",  # §3.1.2.11
    "multi01": "more than one From header",  # §3.3.8
    "mcl01": "more than one Content-Length header",  # §3.3.9
}
MALFORMED_DROPPED = {
    "scalarlg": "bad CSeq",  # §3.1.2.5: a response, never answered
    "bigcode": "bad status line",  # §3.1.2.19: a response, never answered
    "insuf": "missing From header",  # §3.3.1: nothing to build a response from
}
REJECTED_BY_VALIDATE = {
    "quotbal": (400, "unterminated quoted string"),  # §3.1.2.6
    "baddate": (400, "bad Date"),  # §3.1.2.12: EST instead of GMT
    "regbadct": (400, "must be in <>"),  # §3.1.2.13: '?' in an addr-spec Contact
    "badaspec": (400, "bad URI"),  # §3.1.2.14: LWS inside <>
    "baddn": (400, "display name is neither tokens nor quoted"),  # §3.1.2.15
    "badvers": (505, "unsupported version SIP/7.0"),  # §3.1.2.16
    "mismatch01": (400, "CSeq method INVITE differs from OPTIONS"),  # §3.1.2.17
    "mismatch02": (400, "CSeq method INVITE differs from NEWMETHOD"),  # §3.1.2.18
}


def load(kind: str, name: str) -> bytes:
    return (FIXTURES / kind / f"{name}.dat").read_bytes()


def parse_valid(name: str) -> Message:
    message = try_parse_message(load("valid", name))
    assert isinstance(message, Message), message
    assert message.validate() is None
    return message


def test_every_fixture_is_classified() -> None:
    classified = set(MALFORMED_400) | set(MALFORMED_DROPPED) | set(REJECTED_BY_VALIDATE)
    assert {path.stem for path in (FIXTURES / "invalid").glob("*.dat")} == classified
    assert {path.stem for path in (FIXTURES / "valid").glob("*.dat")} == set(VALID_SHA256)


@pytest.mark.parametrize("name", sorted(VALID_SHA256))
def test_valid_message_is_bit_exact_and_parses(name: str) -> None:
    assert hashlib.sha256(load("valid", name)).hexdigest() == VALID_SHA256[name]
    message = parse_valid(name)
    reparsed = try_parse_message(message.to_bytes())
    assert isinstance(reparsed, Message) and reparsed.validate() is None
    assert reparsed.body == message.body


def test_wsinv_short_tortuous_invite() -> None:
    message = parse_valid("wsinv")
    assert isinstance(message, Request)
    assert str(message.uri) == "sip:vivekg@chair-dnrc.example.com;unknownparam"
    assert message.call_id == "wsinv.ndaksdj@192.0.2.1"
    assert message.to.tag == "1918181833n"
    assert str(message.to.uri) == "sip:vivekg@chair-dnrc.example.com"
    assert message.from_.display_name == 'J Rosenberg \\"'
    assert message.from_.tag == "98asjd8"
    assert message.max_forwards == 68
    assert (message.cseq.number, message.cseq.method) == (9, "INVITE")
    assert [(via.transport, via.host, via.branch) for via in message.vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert message.headers.get("subject") == ""
    assert message.headers.get("newfangledheader") == "newfangled value continued newfangled value"
    assert message.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    contact = message.contact[0]
    assert contact.display_name == 'Quoted string ""'
    assert contact.params == (("newparam", "newvalue"), ("secondparam", None), ("q", "0.33"))
    route = message.route[0].uri
    assert isinstance(route, SipUri) and route.lr
    assert route.param("unknown-no-value") == ""
    assert len(message.body) == 150


def test_intmeth_wide_range_of_characters() -> None:
    message = parse_valid("intmeth")
    assert isinstance(message, Request)
    assert message.method == "!interesting-Method0123456789_*+`.%indeed'~"
    uri = message.uri
    assert isinstance(uri, SipUri)
    assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert message.to.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert message.from_.display_name == "token1~` token2'+_ token3*%!.-"
    assert message.from_.param("fromParam''~+*_!.-%") == '"работающий"'
    assert message.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert message.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff大停電"


def test_esc01_escaped_uris() -> None:
    message = parse_valid("esc01")
    assert isinstance(message, Request) and isinstance(message.uri, SipUri)
    assert message.uri.unescaped_user == "sips:user@example.com"
    assert str(message.uri) == "sip:sips%3Auser%40example.com@example.net"
    to_uri = message.to.uri
    assert isinstance(to_uri, SipUri) and to_uri.unescaped_user == "user"
    contact = message.contact[0].uri
    assert isinstance(contact, SipUri)
    assert contact.lr and contact.param("name") == "value%41"


def test_escnull_escaped_nulls() -> None:
    message = parse_valid("escnull")
    assert [c.uri.unescaped_user for c in message.contact] == ["\x00", "\x00\x00"]  # type: ignore[union-attr]


def test_esc02_percent_that_is_not_an_escape() -> None:
    message = parse_valid("esc02")
    assert isinstance(message, Request) and message.method == "RE%47IST%45R"
    assert len(message.contact) == 2  # C%6Fntact is an unknown header, not a Contact
    assert message.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"
    assert message.to.display_name == "%Z%45"


def test_lwsdisp_no_space_before_angle_bracket() -> None:
    assert parse_valid("lwsdisp").from_.display_name == "caller"


def test_longreq_long_values() -> None:
    message = parse_valid("longreq")
    assert len(message.vias) == 34
    assert message.to.uri.port == 6000  # type: ignore[union-attr]
    assert message.from_.tag == "12" + "982" * 50 + "424"
    assert message.call_id == "longreq.one" + "really" * 20 + "longcallid"


def test_dblreq_ignores_the_second_request() -> None:
    message = parse_valid("dblreq")
    assert isinstance(message, Request) and message.method == "REGISTER"
    assert message.body == b""


def test_semiuri_semicolon_in_user_part() -> None:
    message = parse_valid("semiuri")
    assert isinstance(message, Request) and isinstance(message.uri, SipUri)
    assert message.uri.user == "user;par=u%40example.net"
    assert message.uri.unescaped_user == "user;par=u@example.net"
    assert message.uri.params == ()


def test_transports_unusual_transports() -> None:
    message = parse_valid("transports")
    assert [via.transport for via in message.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]


def test_mpart01_binary_multipart_body() -> None:
    message = parse_valid("mpart01")
    assert len(message.body) == 553
    assert message.body.endswith(b"--7a9cbec02ceef655--\r\n")
    assert message.content_type is not None
    assert message.content_type.param("boundary") == "7a9cbec02ceef655"


def test_unreason_utf8_reason_phrase() -> None:
    message = parse_valid("unreason")
    assert isinstance(message, Response)
    assert message.reason == "= 2**3 * 5**2 но сто девяносто девять - простое"


def test_noreason_empty_reason_phrase() -> None:
    message = parse_valid("noreason")
    assert isinstance(message, Response) and (message.status_code, message.reason) == (100, "")


@pytest.mark.parametrize("name", sorted(MALFORMED_400))
def test_invalid_request_is_malformed_and_answered_with_400(name: str) -> None:
    result = try_parse_message(load("invalid", name))
    assert isinstance(result, Malformed)
    assert MALFORMED_400[name] in result.reason
    assert result.can_reply
    response = result.build_400(to_tag="t1")
    assert response.status_code == 400
    assert response.headers.get("call-id") is not None
    assert b"Content-Length: 0\r\n" in response.to_bytes()


@pytest.mark.parametrize("name", sorted(MALFORMED_DROPPED))
def test_invalid_message_is_malformed_and_dropped(name: str) -> None:
    result = try_parse_message(load("invalid", name))
    assert isinstance(result, Malformed)
    assert MALFORMED_DROPPED[name] in result.reason
    assert not result.can_reply


@pytest.mark.parametrize("name", sorted(REJECTED_BY_VALIDATE))
def test_invalid_message_parses_but_validate_rejects_it(name: str) -> None:
    message = try_parse_message(load("invalid", name))
    assert isinstance(message, Request)
    rejection = message.validate()
    assert rejection is not None
    status, detail = REJECTED_BY_VALIDATE[name]
    assert rejection.status_code == status
    assert detail in rejection.detail


@pytest.mark.parametrize("path", sorted((FIXTURES / "application").glob("*.dat")), ids=str)
def test_application_layer_messages_parse(path: Path) -> None:
    """§3.2-3.4: syntactically valid; what to answer is the application's business."""
    message = try_parse_message(path.read_bytes())
    assert isinstance(message, Message), message
    assert message.validate() is None


def test_unknown_schemes_stay_opaque() -> None:
    unksm2 = try_parse_message(load("application", "unksm2"))
    assert isinstance(unksm2, Message)
    assert unksm2.to.uri == AbsoluteUri("isbn", "2983792873")
    assert str(unksm2.contact[0].uri) == "name:John_Smith"
    novelsc = try_parse_message(load("application", "novelsc"))
    assert isinstance(novelsc, Request)
    assert novelsc.uri == AbsoluteUri("soap.beep", "//192.0.2.103:3002")


def test_contact_parameters_versus_uri_parameters() -> None:
    cparam01 = try_parse_message(load("application", "cparam01"))
    cparam02 = try_parse_message(load("application", "cparam02"))
    assert isinstance(cparam01, Message) and isinstance(cparam02, Message)
    assert cparam01.contact[0].param("unknownparam") == ""
    assert cparam01.contact[0].uri.params == ()  # type: ignore[union-attr]
    assert cparam02.contact[0].param("unknownparam") is None
    assert cparam02.contact[0].uri.params == (("unknownparam", None),)  # type: ignore[union-attr]
