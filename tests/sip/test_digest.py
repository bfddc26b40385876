"""Digest authentication: RFC test vectors, stateless nonces, replay and tamper detection."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softswitch.sip.digest import (
    DigestAlgorithm,
    DigestAuthenticator,
    DigestChallenge,
    DigestCredentials,
    DigestResult,
    build_authorization,
    compute_ha1,
    compute_response,
    parse_challenge,
    parse_credentials,
)

MD5, SHA_256 = DigestAlgorithm.MD5, DigestAlgorithm.SHA_256
REALM = "switch.example.net"
URI = "sip:switch.example.net"
NOW = 1_700_000_000.0


def authenticator(**options: float | int) -> DigestAuthenticator:
    return DigestAuthenticator(b"shared secret", randbytes=random.Random(4).randbytes, **options)  # type: ignore[arg-type]


def answer(
    server: DigestAuthenticator,
    *,
    algorithm: DigestAlgorithm = MD5,
    password: str = "s3cret",
    nc: int = 1,
    now: float = NOW,
    realm: str = REALM,
) -> DigestCredentials:
    challenge = parse_challenge(server.challenge(realm, now, algorithm=algorithm))
    assert challenge is not None
    return respond(challenge, password=password, nc=nc)


def respond(
    challenge: DigestChallenge, *, password: str = "s3cret", nc: int = 1
) -> DigestCredentials:
    value = build_authorization(
        challenge,
        method="REGISTER",
        uri=URI,
        username="4930999",
        password=password,
        cnonce="c0ffee",
        nc=nc,
    )
    credentials = parse_credentials(value)
    assert credentials is not None
    return credentials


def verify(
    server: DigestAuthenticator, credentials: DigestCredentials, **overrides: object
) -> DigestResult:
    options: dict[str, object] = {
        "method": "REGISTER",
        "realm": REALM,
        "request_uri": URI,
        "now": NOW + 1,
        "password": "s3cret",
    }
    options.update(overrides)
    return server.verify(credentials, **options)  # type: ignore[arg-type]


def test_rfc2617_section_3_5_vector() -> None:
    ha1 = compute_ha1("Mufasa", "testrealm@host.com", "Circle Of Life", MD5)
    response = compute_response(
        ha1,
        method="GET",
        uri="/dir/index.html",
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        algorithm=MD5,
        qop="auth",
        nc="00000001",
        cnonce="0a4f113b",
    )
    assert response == "6629fae49393a05397450978507c4ef1"


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        (MD5, "8ca523f5e9506fed4657c9700eebdbec"),
        (SHA_256, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_section_3_9_1_vectors(algorithm: DigestAlgorithm, expected: str) -> None:
    challenge = parse_challenge(
        'Digest realm="http-auth@example.org", qop="auth, auth-int", '
        f"algorithm={algorithm.value}, "
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
    )
    assert challenge is not None and challenge.qop == ("auth", "auth-int")
    value = build_authorization(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle of Life",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    credentials = parse_credentials(value)
    assert credentials is not None
    assert credentials.response == expected
    assert credentials.opaque == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
    assert (credentials.nc, credentials.qop, credentials.algorithm) == (
        "00000001",
        "auth",
        algorithm,
    )


def test_challenge_format() -> None:
    value = authenticator().challenge(REALM, NOW, algorithm=SHA_256, stale=True)
    assert value.startswith(f'Digest realm="{REALM}", nonce="')
    assert value.endswith('", algorithm=SHA-256, qop="auth", stale=true')
    challenge = parse_challenge(value)
    assert challenge is not None
    assert (challenge.algorithm, challenge.qop, challenge.stale) == (SHA_256, ("auth",), True)


def test_challenges_offer_sha256_before_md5_with_distinct_nonces() -> None:
    challenges = [parse_challenge(v) for v in authenticator().challenges(REALM, NOW)]
    assert [c.algorithm for c in challenges if c] == [SHA_256, MD5]
    assert len({c.nonce for c in challenges if c}) == 2


@pytest.mark.parametrize("algorithm", [MD5, SHA_256])
def test_good_credentials_are_accepted(algorithm: DigestAlgorithm) -> None:
    server = authenticator()
    assert verify(server, answer(server, algorithm=algorithm)) is DigestResult.OK


def test_another_node_with_the_same_secret_accepts_the_nonce() -> None:
    credentials = answer(authenticator())
    other_node = DigestAuthenticator(b"shared secret")
    assert verify(other_node, credentials) is DigestResult.OK
    assert verify(DigestAuthenticator(b"other secret"), credentials) is DigestResult.BAD_NONCE


def test_stored_ha1_instead_of_password() -> None:
    server = authenticator()
    credentials = answer(server, algorithm=SHA_256)
    ha1 = {SHA_256: compute_ha1("4930999", REALM, "s3cret", SHA_256)}
    assert verify(server, credentials, password=None, ha1=ha1) is DigestResult.OK
    md5_only = {MD5: compute_ha1("4930999", REALM, "s3cret", MD5)}
    assert verify(server, credentials, password=None, ha1=md5_only) is DigestResult.BAD_CREDENTIALS
    assert verify(server, credentials, password=None) is DigestResult.BAD_CREDENTIALS


def test_wrong_password() -> None:
    server = authenticator()
    assert verify(server, answer(server, password="guess")) is DigestResult.BAD_CREDENTIALS


def test_expired_nonce_is_stale() -> None:
    server = authenticator(nonce_lifetime=60.0)
    credentials = answer(server)
    assert verify(server, credentials, now=NOW + 61) is DigestResult.STALE
    assert verify(server, credentials, now=NOW - 3600) is DigestResult.STALE


def test_an_expired_nonce_with_a_wrong_password_is_not_stale() -> None:
    """RFC 7616 §3.3, RFC 2617 §3.2.1: stale=true only for a valid digest with an old nonce
    (the client knows the password and may retry without asking the user)."""
    server = authenticator(nonce_lifetime=60.0)
    credentials = answer(server, password="guess")
    assert verify(server, credentials, now=NOW + 61) is DigestResult.BAD_CREDENTIALS


@pytest.mark.parametrize(
    "nonce_change",
    [
        lambda nonce: nonce[:-2] + ("AA" if nonce[-2:] != "AA" else "BB"),
        lambda nonce: ("B" if nonce[0] != "B" else "C") + nonce[1:],
        lambda nonce: nonce[:-4],
        lambda nonce: "not base64 at all!",
        lambda nonce: "",
    ],
)
def test_tampered_nonce_is_refused(nonce_change: object) -> None:
    server = authenticator()
    credentials = answer(server)
    tampered = replace(credentials, nonce=nonce_change(credentials.nonce))  # type: ignore[operator]
    assert verify(server, tampered) is DigestResult.BAD_NONCE


def test_nonce_from_another_realm_is_refused() -> None:
    server = authenticator()
    credentials = replace(answer(server, realm="other.example.net"), realm=REALM)
    assert verify(server, credentials) is DigestResult.BAD_NONCE


def test_replayed_nonce_count_is_refused() -> None:
    server = authenticator()
    challenge = parse_challenge(server.challenge(REALM, NOW))
    assert challenge is not None
    first = respond(challenge, nc=1)
    assert verify(server, first) is DigestResult.OK
    assert verify(server, first) is DigestResult.REPLAY
    assert verify(server, respond(challenge, nc=3)) is DigestResult.OK
    assert verify(server, respond(challenge, nc=2)) is DigestResult.REPLAY
    assert verify(server, replace(first, nc="00000004")) is DigestResult.BAD_CREDENTIALS


def test_a_bad_response_does_not_advance_the_nonce_count() -> None:
    server = authenticator()
    good = answer(server, nc=5)
    assert verify(server, replace(good, response="0" * 32)) is DigestResult.BAD_CREDENTIALS
    assert verify(server, good) is DigestResult.OK


def test_forgotten_nonces_become_stale_instead_of_replayable() -> None:
    server = authenticator(max_tracked_nonces=2)
    old = answer(server, now=NOW)
    assert verify(server, old) is DigestResult.OK
    newer = [answer(server, now=NOW + 10 + i) for i in range(2)]
    assert all(verify(server, c, now=NOW + 20) is DigestResult.OK for c in newer)
    assert verify(server, old, now=NOW + 20) is DigestResult.STALE  # evicted: cannot tell


@pytest.mark.parametrize(
    ("change", "result"),
    [
        ({"realm": "other"}, DigestResult.MISMATCH),
        ({"uri": "sip:elsewhere.example.net"}, DigestResult.MISMATCH),
        ({"qop": None}, DigestResult.MALFORMED),
        ({"qop": "auth-int"}, DigestResult.MALFORMED),
        ({"nc": None}, DigestResult.MALFORMED),
        ({"nc": "1"}, DigestResult.MALFORMED),
        ({"nc": "0000000g"}, DigestResult.MALFORMED),
        ({"cnonce": None}, DigestResult.MALFORMED),
        ({"algorithm": None}, DigestResult.MALFORMED),
        ({"response": "é" * 32}, DigestResult.BAD_CREDENTIALS),
    ],
)
def test_credentials_that_do_not_fit_the_request(
    change: dict[str, object], result: DigestResult
) -> None:
    server = authenticator()
    assert verify(server, replace(answer(server), **change)) is result  # type: ignore[arg-type]


def test_rfc2069_response_without_qop_is_refused() -> None:
    server = authenticator()
    challenge = parse_challenge(server.challenge(REALM, NOW))
    assert challenge is not None
    legacy = replace(challenge, qop=())
    value = build_authorization(
        legacy, method="REGISTER", uri=URI, username="4930999", password="s3cret", cnonce="x"
    )
    assert "qop" not in value and "nc=" not in value
    credentials = parse_credentials(value)
    assert credentials is not None
    assert verify(server, credentials) is DigestResult.MALFORMED


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Basic dXNlcjpwYXNz",
        "NoOneKnowsThisScheme opaque-data=here",
        'Digest username="a", realm="r", nonce="n", uri="u"',
        'Digest username="a", username="b", realm="r", nonce="n", uri="u", response="x"',
        'Digest username="a, realm="r", nonce="n", uri="u", response="x"',
        'Digest username=a b, realm="r", nonce="n", uri="u", response="x"',
        'Digest novalue, realm="r"',
    ],
)
def test_unusable_authorization_values(value: str) -> None:
    assert parse_credentials(value) is None


def test_credentials_parsing_tolerates_spacing_and_empty_items() -> None:
    credentials = parse_credentials(
        'digest  username = "a\\"b" ,, realm="r",nonce="n", uri="sip:x", '
        'response="ABC", algorithm=sha-256, qop=auth, nc=00000001, cnonce="c",'
    )
    assert credentials is not None
    assert (credentials.username, credentials.algorithm) == ('a"b', SHA_256)


def test_unknown_algorithm_challenge_is_not_answerable() -> None:
    assert parse_challenge('Digest realm="r", nonce="n", algorithm=SHA-512-256') is None
    assert parse_challenge('Digest realm="r"') is None
    challenge = parse_challenge('Digest realm="r", nonce="n"')
    assert challenge == DigestChallenge("r", "n", MD5, (), None, False)


@settings(max_examples=300, deadline=None)
@given(
    st.builds(
        DigestCredentials,
        username=st.text(max_size=20),
        realm=st.sampled_from([REALM, "", "é"]),
        nonce=st.one_of(st.text(max_size=50), st.just(authenticator().make_nonce(REALM, NOW))),
        uri=st.sampled_from([URI, "sip:é"]),
        response=st.text(max_size=70),
        algorithm=st.sampled_from([MD5, SHA_256, None]),
        qop=st.sampled_from(["auth", None, "auth-int", "é"]),
        nc=st.one_of(st.none(), st.text(max_size=9), st.just("00000001")),
        cnonce=st.one_of(st.none(), st.text(max_size=9)),
        opaque=st.none(),
    )
)
def test_verify_never_raises(credentials: DigestCredentials) -> None:
    result = verify(authenticator(), credentials)
    assert result is not DigestResult.OK
