"""URIs (RFC 3261 §19.1, RFC 3966) and name-addr values (§20.10)."""

from __future__ import annotations

import pytest

from softswitch.sip.errors import SipParseError
from softswitch.sip.uri import (
    AbsoluteUri,
    NameAddr,
    SipUri,
    TelUri,
    parse_name_addr,
    parse_uri,
)


@pytest.mark.parametrize(
    "text",
    [
        "sip:alice@example.com",
        "sips:alice:secret@example.com:5061;transport=tcp;lr?subject=hi&priority=urgent",
        "sip:+4930123456@192.0.2.1:5060;user=phone",
        "sip:[2001:db8::1]",
        "sip:alice@[2001:db8::1]:5070;maddr=[2001:db8::2]",
        "sip:example.com;lr",
        "sip:%61lice@example.com;%6C%72",
        "tel:+1-201-555-0123;phone-context=example.com",
        "urn:service:sos",
        "http://www.example.com/x?y=1",
    ],
)
def test_uris_serialise_back_as_written(text: str) -> None:
    assert str(parse_uri(text)) == text


def test_sip_uri_components() -> None:
    uri = parse_uri("SIPS:alice:secret@Example.COM:5061;transport=TCP;lr;x=%41?h=v")
    assert uri == SipUri(
        host="Example.COM",
        user="alice",
        password="secret",
        port=5061,
        params=(("transport", "TCP"), ("lr", None), ("x", "%41")),
        headers=(("h", "v"),),
        scheme="sips",
    )
    assert isinstance(uri, SipUri)
    assert uri.transport == "tcp" and uri.lr and uri.param("x") == "A" and uri.param("y") is None


def test_sip_uri_with_param() -> None:
    uri = SipUri("example.com", "bob")
    assert (
        str(uri.with_param("transport", "tcp").with_param("lr"))
        == "sip:bob@example.com;transport=tcp;lr"
    )
    assert str(uri.with_param("lr").with_param("LR", "1")) == "sip:bob@example.com;lr=1"


def test_tel_and_unknown_schemes() -> None:
    assert parse_uri("tel:+4930123456;npdi") == TelUri("+4930123456", (("npdi", None),))
    assert parse_uri("im:alice@example.com") == AbsoluteUri("im", "alice@example.com")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sip:",
        "alice@example.com",
        "sip:alice@",
        "sip:al ice@example.com",
        "sip:alice@example.com:port",
        "sip:alice@example.com:70000",
        "sip:a@b@example.com",
        "sip:[2001:db8::1",
        "sip:[zz::1]",
        "sip:alice@exa_mple.com",
        "sip:alice@example.com;;lr",
        "sip:alice@example.com;a=b=c<",
        "sip:alice@example.com?h=<v>",
        "sip:<alice@example.com>",
        "tel:",
        "tel:12 34",
        "1sip:alice@example.com",
    ],
)
def test_bad_uris_raise_parse_error(text: str) -> None:
    with pytest.raises(SipParseError):
        parse_uri(text)


def test_name_addr_forms() -> None:
    assert parse_name_addr('"Alice \\"A\\"" <sip:alice@example.com>;tag=1') == NameAddr(
        SipUri("example.com", "alice"), 'Alice "A"', (("tag", "1"),)
    )
    assert parse_name_addr("Bob Smith <sip:bob@example.com>").display_name == "Bob Smith"
    bare = parse_name_addr("sip:carol@example.com;tag=9 ; expires = 60")
    assert (bare.display_name, bare.tag, bare.expires) == (None, "9", 60)
    assert bare.uri == SipUri("example.com", "carol")


def test_name_addr_serialisation_quotes_and_escapes_the_display_name() -> None:
    address = NameAddr(SipUri("example.com", "a"), 'Eve "x" \\\x01\n', (("tag", "t"),))
    assert str(address) == '"Eve \\"x\\" \\\\\\\x01 " <sip:a@example.com>;tag=t'
    assert parse_name_addr(str(address)).display_name == 'Eve "x" \\\x01 '


def test_name_addr_with_param_replaces_or_appends() -> None:
    address = parse_name_addr("<sip:a@example.com>;tag=1")
    assert str(address.with_param("tag", "2").with_param("expires", "5")) == (
        "<sip:a@example.com>;tag=2;expires=5"
    )


@pytest.mark.parametrize(
    "text",
    [
        '"unterminated <sip:a@example.com>',
        '"quoted" sip:a@example.com',
        "Bell, Alexander <sip:a@example.com>",
        "< sip:a@example.com>",
        "<sip:a@example.com",
        "sip:a@example.com?x=y",
        "<sip:a@example.com>;",
        "<sip:a@example.com>;tag=a b",
        "<sip:a@example.com>junk",
        '<sip:a@example.com>;x="open',
    ],
)
def test_bad_name_addrs_raise_parse_error(text: str) -> None:
    with pytest.raises(SipParseError):
        parse_name_addr(text)
