"""Digest authentication (RFC 3261 §22, RFC 2617, RFC 7616): stateless server side and client.

Nonces carry their issue time and a random part, signed with HMAC-SHA-256 over a server
secret and the realm, so any node sharing the secret checks them without shared state; give
every node the same wall-clock `now` for that. Responses must use qop=auth: a response without
qop (RFC 2069) has no nonce count, so it could be replayed for the nonce's whole lifetime, and
is refused as MALFORMED. Nonce counts are tracked per node in a bounded LRU map; when it has to
forget a nonce, every nonce issued up to that one's issue time becomes STALE, which forces a
fresh challenge instead of accepting a possible replay.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import os
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from softswitch.sip.frozen import quick_init
from softswitch.sip.syntax import (
    TOKEN,
    WHITESPACE,
    is_made_of,
    is_token,
    quote,
    split_list,
    unquote,
)

DEFAULT_NONCE_LIFETIME = 300.0
_CLOCK_SKEW = 30.0
_MAC_SIZE = 16
_RANDOM_SIZE = 8
_NONCE_SIZE = 8 + _RANDOM_SIZE + _MAC_SIZE
_HEX_DIGITS = "0123456789abcdefABCDEF"
# 'name=token' and 'name="text"' with SWS around '=' and ',', and no quoted-pair or empty
# element: the shape clients send. A list that fullmatches _PLAIN_AUTH_PARAMS needs no other
# check, and _AUTH_PARAM finds its elements: (name, quoted text, token), one of the two empty.
_AUTH_ELEMENT = rf'[ \t]*{TOKEN}[ \t]*=[ \t]*(?:"[^"\\]*"|{TOKEN})[ \t]*'
_PLAIN_AUTH_PARAMS = re.compile(rf"{_AUTH_ELEMENT}(?:,{_AUTH_ELEMENT})*")
_AUTH_PARAM = re.compile(rf'({TOKEN})[ \t]*=[ \t]*(?:"([^"\\]*)"|({TOKEN}))')


class DigestAlgorithm(enum.Enum):
    """The hash algorithms offered and accepted (RFC 7616 §3.2)."""

    MD5 = "MD5"
    SHA_256 = "SHA-256"

    def hash(self, text: str) -> str:
        """Hex digest of text in UTF-8."""
        data = text.encode("utf-8", "surrogateescape")
        digest = hashlib.md5(data) if self is DigestAlgorithm.MD5 else hashlib.sha256(data)
        return digest.hexdigest()


_ALGORITHMS = {algorithm.value.lower(): algorithm for algorithm in DigestAlgorithm}


class DigestResult(enum.Enum):
    """The outcome of checking an Authorization or Proxy-Authorization header."""

    OK = "ok"
    STALE = "stale"  # our nonce, too old: challenge again with stale=true
    BAD_CREDENTIALS = "bad_credentials"  # the response does not match the password
    BAD_NONCE = "bad_nonce"  # a nonce this secret never signed for this realm
    MISMATCH = "mismatch"  # realm or uri of another request
    REPLAY = "replay"  # nonce count not above the last one accepted
    MALFORMED = "malformed"  # missing directives, unknown algorithm, no or other qop


@dataclass(frozen=True, slots=True)
class DigestChallenge:
    """A parsed WWW-Authenticate or Proxy-Authenticate value."""

    realm: str
    nonce: str
    algorithm: DigestAlgorithm
    qop: tuple[str, ...]
    opaque: str | None
    stale: bool


@quick_init
@dataclass(frozen=True, slots=True)
class DigestCredentials:
    """A parsed Authorization or Proxy-Authorization value."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: DigestAlgorithm | None
    qop: str | None
    nc: str | None
    cnonce: str | None
    opaque: str | None


def parse_auth_params(value: str) -> dict[str, str] | None:
    """Parse 'Digest name=value, name="value"…' into lower-cased names; None if unusable."""
    parts = value.split(None, 1)
    if len(parts) != 2 or parts[0].lower() != "digest":
        return None
    if _PLAIN_AUTH_PARAMS.fullmatch(parts[1]):
        return _plain_auth_params(parts[1])
    return _parse_general_auth_params(parts[1])


def _plain_auth_params(text: str) -> dict[str, str] | None:
    found = _AUTH_PARAM.findall(text)
    params = {name.lower(): token or quoted for name, quoted, token in found}
    return params if len(params) == len(found) else None  # a repeated name: unusable


def _parse_general_auth_params(text: str) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for item in split_list(text):
        if not item.strip(WHITESPACE):
            continue  # RFC 7235 §7: empty list elements are allowed and ignored
        name, equals, raw = item.partition("=")
        name, raw = name.strip(WHITESPACE).lower(), raw.strip(WHITESPACE)
        if not equals or not is_token(name) or name in params:
            return None
        parsed = _auth_param_value(raw)
        if parsed is None:
            return None
        params[name] = parsed
    return params


def _auth_param_value(raw: str) -> str | None:
    if not raw.startswith('"'):
        return raw if is_token(raw) else None
    try:
        return unquote(raw)
    except ValueError:
        return None


def _algorithm(name: str | None) -> DigestAlgorithm | None:
    if name is None:
        return DigestAlgorithm.MD5  # RFC 2617 §3.2.1: absent means MD5
    return _ALGORITHMS.get(name.lower())


def parse_challenge(value: str) -> DigestChallenge | None:
    """Parse a Digest challenge; None when it is not one this module can answer."""
    params = parse_auth_params(value)
    if params is None or "realm" not in params or "nonce" not in params:
        return None
    algorithm = _algorithm(params.get("algorithm"))
    if algorithm is None:
        return None
    qop = tuple(item.strip(WHITESPACE) for item in params.get("qop", "").split(",") if item)
    stale = params.get("stale", "").lower() == "true"
    return DigestChallenge(
        params["realm"], params["nonce"], algorithm, qop, params.get("opaque"), stale
    )


def parse_credentials(value: str) -> DigestCredentials | None:
    """Parse Digest credentials; None when a required directive is missing or unparsable."""
    params = parse_auth_params(value)
    required = ("username", "realm", "nonce", "uri", "response")
    if params is None or any(name not in params for name in required):
        return None
    return DigestCredentials(
        params["username"],
        params["realm"],
        params["nonce"],
        params["uri"],
        params["response"],
        _algorithm(params.get("algorithm")),
        params.get("qop"),
        params.get("nc"),
        params.get("cnonce"),
        params.get("opaque"),
    )


def compute_ha1(username: str, realm: str, password: str, algorithm: DigestAlgorithm) -> str:
    """H(username:realm:password), what a server may store instead of the password."""
    return algorithm.hash(f"{username}:{realm}:{password}")


def compute_response(
    ha1: str,
    *,
    method: str,
    uri: str,
    nonce: str,
    algorithm: DigestAlgorithm,
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
) -> str:
    """The request-digest of RFC 2617 §3.2.2.1 / RFC 7616 §3.4.1 (qop 'auth' or none)."""
    ha2 = algorithm.hash(f"{method}:{uri}")
    if qop is None:
        return algorithm.hash(f"{ha1}:{nonce}:{ha2}")
    return algorithm.hash(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def build_authorization(
    challenge: DigestChallenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str,
    nc: int = 1,
) -> str:
    """Answer a challenge (client side): the Authorization / Proxy-Authorization value."""
    qop = "auth" if "auth" in challenge.qop else None
    nc_text = f"{nc:08x}"
    ha1 = compute_ha1(username, challenge.realm, password, challenge.algorithm)
    response = compute_response(
        ha1,
        method=method,
        uri=uri,
        nonce=challenge.nonce,
        algorithm=challenge.algorithm,
        qop=qop,
        nc=nc_text,
        cnonce=cnonce,
    )
    parts = [
        f"username={quote(username)}",
        f"realm={quote(challenge.realm)}",
        f"nonce={quote(challenge.nonce)}",
        f"uri={quote(uri)}",
        f'response="{response}"',
        f"algorithm={challenge.algorithm.value}",
    ]
    if qop is not None:
        parts += [f"cnonce={quote(cnonce)}", f"nc={nc_text}", f"qop={qop}"]
    if challenge.opaque is not None:
        parts.append(f"opaque={quote(challenge.opaque)}")
    return "Digest " + ", ".join(parts)


class NonceCountTracker:
    """Remembers the highest nonce count accepted per nonce, for at most `capacity` nonces."""

    __slots__ = ("_capacity", "_counts", "_forgotten_until")

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._forgotten_until = float("-inf")

    def check_and_record(self, nonce: str, issued: float, count: int) -> DigestResult:
        """OK and remember count if it is above the last one for nonce; REPLAY or STALE else."""
        last = self._counts.get(nonce)
        if last is None and issued <= self._forgotten_until:
            return DigestResult.STALE  # we may have forgotten this nonce's counts
        if last is not None and count <= last:
            return DigestResult.REPLAY
        self._counts[nonce] = count
        self._counts.move_to_end(nonce)
        if len(self._counts) > self._capacity:
            forgotten, _ = self._counts.popitem(last=False)
            self._forgotten_until = max(self._forgotten_until, _issued_at(forgotten))
        return DigestResult.OK


def _issued_at(nonce: str) -> float:
    raw = _decode_nonce(nonce)
    return float("-inf") if raw is None else float(int.from_bytes(raw[:8], "big"))


def _decode_nonce(nonce: str) -> bytes | None:
    try:
        raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == _NONCE_SIZE else None


class DigestAuthenticator:
    """Issues challenges and verifies credentials for one shared secret; never raises."""

    __slots__ = ("_keyed_mac", "_lifetime", "_randbytes", "_tracker")

    def __init__(
        self,
        secret: bytes,
        *,
        nonce_lifetime: float = DEFAULT_NONCE_LIFETIME,
        max_tracked_nonces: int = 65536,
        randbytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        # Keyed once: copying it is half the cost of keying HMAC for every nonce.
        self._keyed_mac = hmac.new(secret, digestmod=hashlib.sha256)
        self._lifetime = nonce_lifetime
        self._randbytes = randbytes
        self._tracker = NonceCountTracker(max_tracked_nonces)

    def make_nonce(self, realm: str, now: float) -> str:
        """A fresh nonce: issue time, random bytes and their HMAC, base64url-encoded."""
        body = int(now).to_bytes(8, "big") + self._randbytes(_RANDOM_SIZE)
        raw = body + self._mac(body, realm)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def _mac(self, body: bytes, realm: str) -> bytes:
        mac = self._keyed_mac.copy()
        mac.update(body + realm.encode("utf-8", "surrogateescape"))
        return mac.digest()[:_MAC_SIZE]

    def challenge(
        self,
        realm: str,
        now: float,
        *,
        algorithm: DigestAlgorithm = DigestAlgorithm.MD5,
        stale: bool = False,
        nonce: str | None = None,
    ) -> str:
        """A WWW-Authenticate / Proxy-Authenticate value offering qop=auth.

        Offers for several algorithms may share one `nonce` (it does not depend on the
        algorithm), which saves making one per offer.
        """
        nonce = nonce or self.make_nonce(realm, now)
        value = f'Digest realm={quote(realm)}, nonce="{nonce}", algorithm={algorithm.value}'
        return value + ', qop="auth"' + (", stale=true" if stale else "")

    def challenges(self, realm: str, now: float, *, stale: bool = False) -> list[str]:
        """One challenge per algorithm, SHA-256 first (RFC 7616 §3.7, RFC 8760 §2.3)."""
        order = (DigestAlgorithm.SHA_256, DigestAlgorithm.MD5)
        return [self.challenge(realm, now, algorithm=a, stale=stale) for a in order]

    def verify(
        self,
        credentials: DigestCredentials,
        *,
        method: str,
        realm: str,
        request_uri: str,
        now: float,
        password: str | None = None,
        ha1: Mapping[DigestAlgorithm, str] | None = None,
    ) -> DigestResult:
        """Check credentials against the password, or against stored H(A1) per algorithm."""
        count = _nonce_count(credentials)
        if count is None:
            return DigestResult.MALFORMED
        problem = self._check_request(credentials, realm, request_uri)
        if problem is not None:
            return problem
        algorithm = credentials.algorithm or DigestAlgorithm.MD5
        if password is not None:
            ha1 = {algorithm: compute_ha1(credentials.username, realm, password, algorithm)}
        if ha1 is None or algorithm not in ha1:
            return DigestResult.BAD_CREDENTIALS
        expected = compute_response(
            ha1[algorithm],
            method=method,
            uri=credentials.uri,
            nonce=credentials.nonce,
            algorithm=algorithm,
            qop=credentials.qop,
            nc=credentials.nc,
            cnonce=credentials.cnonce,
        )
        received = credentials.response.lower().encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(expected.encode("ascii"), received):
            return DigestResult.BAD_CREDENTIALS
        issued = _issued_at(credentials.nonce)
        if self._is_stale(issued, now):  # only now: stale=true means a valid digest (§3.3)
            return DigestResult.STALE
        return self._tracker.check_and_record(credentials.nonce, issued, count)

    def _check_request(
        self, credentials: DigestCredentials, realm: str, request_uri: str
    ) -> DigestResult | None:
        if credentials.realm != realm or credentials.uri.lower() != request_uri.lower():
            return DigestResult.MISMATCH
        return self._check_nonce(credentials.nonce, realm)

    def _check_nonce(self, nonce: str, realm: str) -> DigestResult | None:
        raw = _decode_nonce(nonce)
        if raw is None or not hmac.compare_digest(
            raw[-_MAC_SIZE:], self._mac(raw[:-_MAC_SIZE], realm)
        ):
            return DigestResult.BAD_NONCE
        return None

    def _is_stale(self, issued: float, now: float) -> bool:
        age = now - issued
        return age > self._lifetime or age < -_CLOCK_SKEW


def _nonce_count(credentials: DigestCredentials) -> int | None:
    """The nc of a well-formed qop=auth response (RFC 7616 §3.4), else None."""
    nc = credentials.nc
    usable = (
        credentials.algorithm is not None
        and credentials.qop == "auth"
        and bool(credentials.cnonce)
        and nc is not None
        and len(nc) == 8
        and is_made_of(nc, _HEX_DIGITS)
    )
    return int(nc, 16) if usable and nc is not None else None
