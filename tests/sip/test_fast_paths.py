"""The parsers' fast paths for common shapes read exactly what the general parsers read.

Each fast path must accept only what its general parser accepts, with the same result; the
rest falls through to the general parser, so errors are the general parser's. These tests
compare the public function (fast path first) with the general parser alone, on the RFC 4475
values, on hand-picked edge cases and on generated strings made of the characters that matter.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softswitch.sip import digest, fields, syntax, uri
from softswitch.sip.errors import SipParseError
from softswitch.sip.frozen import quick_init
from softswitch.sip.headers import list_values, split_values
from softswitch.sip.message import Message
from softswitch.sip.parser import try_parse_message
from tests.sip.samples import INVITE, REGISTER, RESPONSE_180

FIXTURES = Path(__file__).parent / "fixtures" / "rfc4475"
EXAMPLES = settings(max_examples=600, deadline=None)


def outcome(parse: Callable[[str], object], text: str) -> object:
    """What parse makes of text: its result, or the error it raises."""
    try:
        return parse(text)
    except SipParseError as error:
        return ("SipParseError", str(error))


def general_auth_params(value: str) -> dict[str, str] | None:
    parts = value.split(None, 1)
    if len(parts) != 2 or parts[0].lower() != "digest":
        return None
    return digest._parse_general_auth_params(parts[1])


PAIRS: dict[str, tuple[Callable[[str], object], Callable[[str], object]]] = {
    "uri": (uri.parse_uri, uri._parse_general_uri),
    "name-addr": (uri.parse_name_addr, uri._parse_general_name_addr),
    "via": (fields.parse_via, fields._parse_spaced_via),
    "params": (syntax.parse_params, syntax._parse_spaced_params),
    "auth": (digest.parse_auth_params, general_auth_params),
}


def assert_same(kind: str, text: str) -> None:
    fast, general = PAIRS[kind]
    assert outcome(fast, text) == outcome(general, text), text


def header_values() -> list[tuple[str, str]]:
    """(kind, value) of every From, To, Contact, Route, Via and credentials in the fixtures."""
    kinds = {
        "from": "name-addr",
        "to": "name-addr",
        "contact": "name-addr",
        "route": "name-addr",
        "record-route": "name-addr",
        "via": "via",
        "authorization": "auth",
        "proxy-authorization": "auth",
        "www-authenticate": "auth",
    }
    seeds = [INVITE, REGISTER, RESPONSE_180] + [
        path.read_bytes() for path in sorted(FIXTURES.glob("*/*.dat"))
    ]
    found = set()
    for data in seeds:
        message = try_parse_message(data)
        headers = message.headers
        for name, kind in kinds.items():
            for line in headers.get_all(name):
                values = [line] if kind == "auth" else split_values(line)
                found.update((kind, value) for value in values)
        if isinstance(message, Message) and hasattr(message, "uri"):
            found.add(("uri", str(message.uri)))
        start_line = data.split(b"\r\n", 1)[0].decode("utf-8", "surrogateescape").split(" ")
        if len(start_line) == 3:
            found.add(("uri", start_line[1]))
    return sorted(found)


@pytest.mark.parametrize(("kind", "text"), header_values())
def test_fixture_values(kind: str, text: str) -> None:
    assert_same(kind, text)


EDGE_CASES = {
    "uri": [
        "sip:alice@example.com",
        "sip:alice@example.com:5060;transport=udp;lr",
        "sip:alice@example.com:65535",
        "sip:alice@example.com:65536",
        "sip:alice@example.com:99999",
        "sip:alice@example.com:005060",
        "sip:alice@example.com:",
        "sip:alice@@example.com",
        "sip:@example.com",
        "sip:a;b@example.com",
        "sip:a?b@example.com",
        "sip:a:pw@example.com",
        "sip:example.com;lr=",
        "sip:example.com;=x",
        "sip:example.com;;lr",
        "sip:example.com;a=b=c",
        "sip:example.com?h=v",
        "sip:[2001:db8::1]:5060",
        "SIP:alice@example.com",
        "sips:%61lice@example.com;maddr=[2001:db8::2]",
        "sip:alice@exa_mple.com",
        "sip:alice@example.com;x=%41;y=a:b/c&d$+e",
    ],
    "name-addr": [
        "<sip:alice@example.com>",
        "<sip:alice@example.com>;tag=1",
        ' "Alice" <sip:alice@example.com:5060;lr>;tag=1 ',
        '"" <sip:alice@example.com>',
        '"Al\\"ice" <sip:alice@example.com>',
        '"Alice"<sip:alice@example.com>',
        "Alice Smith <sip:alice@example.com>",
        "Alice  Smith <sip:alice@example.com>",
        "Alice\tSmith <sip:alice@example.com>",
        "Alice<sip:alice@example.com>",
        "<sip:alice@example.com>;expires=60;q=0.5",
        "<sip:alice@example.com> ;tag=1",
        "<sip:alice@example.com>;tag = 1",
        '<sip:alice@example.com>;x="quoted"',
        "<sip:alice@example.com>;tag=",
        "<sip:alice@example.com>;",
        "<sip:alice@example.com:70000>",
        "<sip:alice@example.com:65535>;tag=a",
        "<sips:alice@example.com>",
        "<SIP:alice@example.com>",
        "<tel:+4930123456>",
        "sip:alice@example.com;tag=1",
        "<sip:alice@example.com",
        "<sip:alice@example.com>junk",
        "Bell, Alexander <sip:a@example.com>",
        "<sip:alice@[2001:db8::1]>",
        "<sip:a@b>;received=[2001:db8::1]:5060",
    ],
    "via": [
        "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport",
        "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport=5060;received=192.0.2.9",
        "SIP/2.0/udp host",
        "SIP/2.0/TCP [2001:db8::9:1]:5060;branch=z9hG4bK1;received=2001:db8::9:255",
        "SIP/2.0/UDP host:65535",
        "SIP/2.0/UDP host:65536;branch=z9hG4bK1",
        "SIP/2.0/UDP host:99999;branch=",
        "SIP/2.0/UDP host:123456",
        "SIP / 2.0 / UDP host ; branch = x",
        "SIP/2.0/UDP  host",
        "SIP/2.0/UDP host;branch=",
        'SIP/2.0/UDP host;x="a;b"',
        "SIP/2.0/UDP host;;branch=x",
        "SIP/2.0/UDP",
        "SIP/2.0/UDP host:",
    ],
    "params": [
        "",
        ";tag=1",
        ";lr",
        ";a=b;c;d=e:f[g]",
        "; tag=1",
        ";tag =1",
        ';x="a;b"',
        ";=1",
        ";tag=",
        "tag=1",
        ";a=b=c",
        ";;",
    ],
    "auth": [
        'Digest username="a", realm="r", nonce="n", uri="sip:r", response="x"',
        "Digest username=a,realm=r",
        'Digest a="1", a="2"',
        'Digest a="1", A="2"',
        'Digest a=""',
        'Digest a="x\\"y"',
        "Digest a=1,,b=2",
        "Digest a=1, ",
        "Digest a=",
        'Digest a="1,2", b=3',
        'Digest qop="auth,auth-int"',
        "Digest a =  1 ,\tb=2",
        "Digest a=b c",
        "Basic abc",
        "Digest",
    ],
}


@pytest.mark.parametrize(
    ("kind", "text"), [(kind, text) for kind, texts in EDGE_CASES.items() for text in texts]
)
def test_edge_cases(kind: str, text: str) -> None:
    assert_same(kind, text)


def test_the_samples_take_the_fast_paths() -> None:
    assert uri._PLAIN_URI.fullmatch("sip:+4930123456@switch.example.net")
    assert uri._PLAIN_NAME_ADDR.fullmatch('"Alice" <sip:+4930999@switch.example.net>;tag=19283')
    assert uri._PLAIN_NAME_ADDR.fullmatch("<sip:4930999@198.51.100.7:5060>;expires=3600")
    assert uri._PLAIN_NAME_ADDR.fullmatch("sipp <sip:sipp@127.0.0.1:5061>;tag=1")
    assert fields._PLAIN_VIA.fullmatch("SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK7;rport")
    credentials = REGISTER.split(b"Authorization: Digest ")[1].split(b"\r\n")[0].decode()
    assert digest._PLAIN_AUTH_PARAMS.fullmatch(credentials)


PIECES = {
    "uri": ["sip:", "sips:", "SIP:", "tel:", "alice", "@", "example.com", "192.0.2.1", ":", "5060",
            "65536", ";", "lr", "=", "transport", "udp", "?", "&", "%41", "[2001:db8::1]", "/",
            "_", " ", "$", ","],
    "name-addr": ['"', "Alice", " ", "\t", "\\", "<", ">", "sip:", "sips:", "bob", "@",
                  "host.example", ":", "5060", "99999", ";", "tag", "=", "1", "lr", ",", "[",
                  "]", "?", "x", "é"],
    "via": ["SIP", "/", "2.0", "UDP", "tcp", " ", "\t", "host", "192.0.2.1", "[2001:db8::1]",
            ":", "5060", "65536", ";", "branch", "=", "z9hG4bK1", "rport", '"', ",", "é"],
    "params": [";", "=", "tag", "1", " ", "\t", '"', "\\", ",", "<", ">", ":", "[", "]", "é"],
    "auth": ["Digest ", "Basic ", "username", "realm", "=", '"', "\\", ",", " ", "\t", "a", "MD5",
             "sip:r", ";", "é", ""],
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(PIECES))
@EXAMPLES
@given(data=st.data())
def test_generated_strings(kind: str, data: st.DataObject) -> None:
    pieces = data.draw(st.lists(st.sampled_from(PIECES[kind]), max_size=14))
    assert_same(kind, "".join(pieces))


TOKEN = st.text("abcXYZ019-.!%*_+`'~", min_size=1, max_size=5)
ODD = ["", " ", "\t", ";", "=", '"', "\\", ">", "<", "@", ":", ",", "[", "?", "/", "é"]


@st.composite
def params(draw: st.DrawFn, value: st.SearchStrategy[str] = TOKEN) -> str:
    pairs = draw(st.lists(st.tuples(TOKEN, st.none() | value), max_size=3))
    return "".join(";" + name + ("" if value is None else "=" + value) for name, value in pairs)


@st.composite
def perturbed(draw: st.DrawFn, text: st.SearchStrategy[str]) -> str:
    """A drawn text with up to two characters inserted, dropped or replaced."""
    result = draw(text)
    for _ in range(draw(st.integers(0, 2))):
        start = draw(st.integers(0, len(result)))
        end = start + draw(st.integers(0, 1))
        result = result[:start] + draw(st.sampled_from(ODD)) + result[end:]
    return result


@st.composite
def sip_uris(draw: st.DrawFn) -> str:
    user = draw(st.none() | st.text("abc019-_.!~*'()%&=+$,;?/:", max_size=6))
    host = draw(st.sampled_from(["example.com", "192.0.2.1", "[2001:db8::1]", "ex_ample", ""]))
    port = draw(st.none() | st.integers(0, 99999).map(str) | st.just("") | st.just("007"))
    userinfo = "" if user is None else user + "@"
    port_text = "" if port is None else ":" + port
    value = st.text("abcXYZ019-_.!~*'()%[]/:&+$", max_size=5)
    return (
        f"{draw(st.sampled_from(['sip', 'sips']))}:{userinfo}{host}{port_text}{draw(params(value))}"
    )


@st.composite
def name_addrs(draw: st.DrawFn) -> str:
    display = draw(
        st.sampled_from(
            ["", '"Alice" ', '"A\\"B" ', "Alice ", "Al ice", "Al  ice", "Al\\tice ", '""', " "]
        )
    )
    return f"{display}<{draw(sip_uris())}>{draw(params(st.text('abc019.:[]', max_size=4)))}"


@st.composite
def vias(draw: st.DrawFn) -> str:
    transport = draw(st.sampled_from(["UDP", "tcp", "TLS", "WS"]))
    host = draw(st.sampled_from(["192.0.2.1", "host.example", "[2001:db8::1]", "[]", "h_x"]))
    port = draw(st.none() | st.integers(0, 99999).map(str))
    port_text = "" if port is None else ":" + port
    return f"SIP/2.0/{transport} {host}{port_text}{draw(params())}"


@st.composite
def credentials(draw: st.DrawFn) -> str:
    elements = draw(
        st.lists(
            st.tuples(TOKEN, TOKEN | st.text('abc ,=;\\"', max_size=5).map(lambda v: f'"{v}"')),
            max_size=4,
        )
    )
    separator = draw(st.sampled_from([", ", ",", " , ", ",\t"]))
    return "Digest " + separator.join(f"{name}={value}" for name, value in elements)


WELL_FORMED = {
    "uri": sip_uris(),
    "name-addr": name_addrs(),
    "via": vias(),
    "params": params(st.text("abc019.:[]", max_size=4)),
    "auth": credentials(),
}


@pytest.mark.parametrize("kind", sorted(WELL_FORMED))
@EXAMPLES
@given(data=st.data())
def test_generated_near_well_formed_values(kind: str, data: st.DataObject) -> None:
    assert_same(kind, data.draw(perturbed(WELL_FORMED[kind])))


@EXAMPLES
@given(
    st.lists(st.text(" \t,ab\"<>'", max_size=8), min_size=0, max_size=3),
)
def test_list_values_matches_splitting_every_line(lines: list[str]) -> None:
    assert list_values(lines) == [value for line in lines for value in split_values(line)]


def test_quick_init_keeps_the_dataclass_behaviour() -> None:
    address = uri.NameAddr(uri.SipUri("example.com", port=5060), display_name="A")
    assert address == uri.NameAddr(uri.SipUri("example.com", None, None, 5060), "A", ())
    assert hash(address) == hash(uri.NameAddr(uri.SipUri("example.com", port=5060), "A"))
    assert repr(address.uri).startswith("SipUri(host='example.com', user=None")
    assert dataclasses.replace(address, params=(("tag", "1"),)).tag == "1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        address.uri.host = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        fields.Via("UDP")  # type: ignore[call-arg]
    assert list(inspect.signature(fields.Via).parameters) == [
        "transport",
        "host",
        "port",
        "params",
        "protocol",
    ]


def test_quick_init_refuses_what_it_cannot_copy() -> None:
    @dataclasses.dataclass(slots=True)
    class Mutable:
        value: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class WithFactory:
        values: list[int] = dataclasses.field(default_factory=list)

    for cls in (Mutable, WithFactory):
        with pytest.raises(TypeError, match="quick_init"):
            quick_init(cls)
