"""The registrar's security policy (SPEC §2.1, §3.2) in memory and in virtual time: a source
that fails authentication too often is ignored for SS_AUTHENTICATION_FAILED_SUSPEND seconds,
counting only the failures of the last SS_AUTHENTICATION_FAILED_WINDOW; a phone's calls are
digest-challenged and need its registration (tests/engine/b2bua.py; the wire is
test_registrar.py and test_calls.py)."""

from __future__ import annotations

from typing import Any

import pytest

from billing.choices import CdrBillingModeChoices as Mode
from billing.choices import CdrEndReasonChoices as Reason
from softswitch.models import Phone, Registration, RoutingGateway
from softswitch.rules.registrar import MAX_CONTACT_LENGTH
from softswitch.sip.digest import DigestAlgorithm, build_authorization, parse_challenge
from softswitch.sip.message import Request, Response
from softswitch.sip.requests import new_request
from softswitch.sip.uri import NameAddr, SipUri
from tests.engine.b2bua import SWITCH
from vosadmin.core.parameters import update_parameter

PHONE_IP = "198.51.100.30"


@pytest.fixture
def phone(db) -> Phone:
    return Phone.objects.create(e164="1001", password="pw-1001")


def test_source_is_suspended_after_max_retry_then_accepted_again(b2bua, phone) -> None:
    update_parameter("SS_AUTHENTICATION_MAX_RETRY", 3)
    update_parameter("SS_AUTHENTICATION_FAILED_SUSPEND", 60)
    switch = b2bua()
    handset = switch.phone(PHONE_IP)
    assert [handset.register("1001", "wrong") for _ in range(3)] == [403, 403, None]
    assert handset.register("1001", "pw-1001") is None  # even the right password: ignored
    switch.advance(59.5)
    assert handset.register("1001", "pw-1001") is None
    switch.advance(0.5)
    assert handset.register("1001", "pw-1001") == 200


def test_failures_older_than_the_window_do_not_count_toward_suspension(b2bua, phone) -> None:
    update_parameter("SS_AUTHENTICATION_MAX_RETRY", 3)
    update_parameter("SS_AUTHENTICATION_FAILED_WINDOW", 1)
    switch = b2bua()
    handset = switch.phone(PHONE_IP)
    assert [handset.register("1001", "wrong") for _ in range(2)] == [403, 403]
    switch.advance(1.5)
    assert [handset.register("1001", "wrong") for _ in range(2)] == [403, 403]
    assert handset.register("1001", "pw-1001") == 200


def registered_phone(b2bua) -> tuple[Any, Any, Any]:
    """Phone 1001 registered, and a vendor for numbers starting 44: (switch, vendor, phone)."""
    gateway = RoutingGateway.objects.create(
        name="VENDOR", host="203.0.113.5", port=5090, prefixes=["44"]
    )
    switch = b2bua()
    vendor = switch.gateway(gateway.host, gateway.port)
    handset = switch.phone(PHONE_IP)
    assert handset.register("1001", "pw-1001") == 200
    return switch, vendor, handset


def test_a_registered_phone_is_challenged_then_billed_as_the_phone(b2bua, phone) -> None:
    switch, vendor, handset = registered_phone(b2bua)
    invite = handset.call("4420790000", "1001", "pw-1001")
    vendor.answer(vendor.take("INVITE"), 486)
    handset.ack(invite, handset.take(486))
    record = switch.cdr("4420790000")
    assert (record["billing_mode"], record["phone"], record["mapping_gateway"]) == (
        str(Mode.PHONE),
        "1001",
        "",
    )


def test_an_unregistered_phone_is_refused_after_authenticating(b2bua, phone) -> None:
    switch = b2bua()
    handset = switch.phone(PHONE_IP)
    invite = handset.call("4420790000", "1001", "pw-1001")
    handset.ack(invite, handset.take(403))
    assert switch.cdr("4420790000")["end_reason"] == str(Reason.NOT_REGISTERED)


def test_lightweight_registration_removes_a_contact_that_stops_answering(b2bua, phone) -> None:
    """SS_ENDPOINTTIMETOLIVE: an OPTIONS every period; two in a row unanswered remove it."""
    update_parameter("SS_ENDPOINTTIMETOLIVE", 10)
    Phone.objects.create(e164="1002", password="pw-1002")
    switch = b2bua()
    answering, silent = switch.phone(PHONE_IP), switch.phone("198.51.100.31")
    assert answering.register("1001", "pw-1001") == 200
    assert silent.register("1002", "pw-1002") == 200
    registrar = switch.switch.registrar
    ids = {e164: phone.id for e164, phone in switch.switch.config.phones_by_number.items()}
    removed_after = None
    for second in range(1, 41):
        switch.advance(1)
        switch.housekeeping()
        answering.answer_probes()
        if removed_after is None and registrar.contact_flow(ids["1002"]) is None:
            removed_after = second
    assert removed_after == 30  # probes at 10 and 20 s unanswered: gone when the third is due
    probes = {probe.via.branch for probe in silent.received("OPTIONS")}  # retransmitted
    assert len(probes) == 2
    assert registrar.contact_flow(ids["1001"]) is not None


def test_a_challenge_is_stateless_and_a_retransmission_is_challenged_afresh(b2bua, phone) -> None:
    """The 401 keeps no transaction (Timer J would hold it 32 s): a retransmitted REGISTER is
    challenged again, with a new nonce, and the first challenge's nonce still authenticates."""
    switch = b2bua()
    handset = switch.phone(PHONE_IP)
    request = handset._register("1001", 3600, cseq=1)
    handset.send(request)  # its retransmission
    first, second = handset.take(401), handset.take(401)
    challenges = [parse_challenge(c.headers.get("www-authenticate")) for c in (first, second)]
    assert challenges[0].nonce != challenges[1].nonce
    assert not switch.switch.layer.servers
    authorization = build_authorization(
        challenges[0],
        method="REGISTER",
        uri=str(request.uri),
        username="1001",
        password="pw-1001",
        cnonce="c1",
    )
    handset._register("1001", 3600, 2, request.call_id, authorization)
    assert handset.take(200)
    assert len(switch.switch.layer.servers) == 1  # the REGISTER that was answered 200


def test_a_worker_tells_the_others_of_failures_and_of_addresses_it_binds(b2bua, phone) -> None:
    """What every worker must know (workers.Peers): each failed authentication, a success that
    clears failures, and an address that becomes or stops being a phone's; a refresh from the
    same address tells nothing."""
    switch = b2bua()
    handset = switch.phone(PHONE_IP)
    assert handset.register("1001", "wrong") == 403
    [failure] = switch.told
    assert failure.startswith(f"!0 failure {PHONE_IP} ".encode())
    assert float(failure.split()[-1]) == pytest.approx(switch.clock.now())
    assert handset.register("1001", "pw-1001") == 200
    assert handset.register("1001", "pw-1001") == 200
    assert handset.register("1001", "pw-1001", expires=0) == 200
    assert switch.told[1:] == [
        f"!0 success {PHONE_IP} -".encode(),
        f"!0 source {PHONE_IP} 1".encode(),
        f"!0 source {PHONE_IP} 0".encode(),
    ]


def test_failures_another_worker_counted_add_up_to_a_suspension(b2bua, phone, caplog) -> None:
    """A peer's failures count as this worker's own; a success it reports clears them; a peer
    message not understood is logged and changes nothing."""
    update_parameter("SS_AUTHENTICATION_MAX_RETRY", 3)
    update_parameter("SS_AUTHENTICATION_FAILED_SUSPEND", 60)
    switch = b2bua()
    handset = switch.phone(PHONE_IP)
    peer_failure = f"1 failure {PHONE_IP} {switch.clock.now()!r}".encode()
    for message in (peer_failure, peer_failure, f"1 success {PHONE_IP} -".encode()):
        switch.switch.on_peer(message)
    for garbage in (b"1 failure", b"1 failure 198.51.100.30 soon", b"x source ip 1", b"\xff"):
        switch.switch.on_peer(garbage)
    assert caplog.text.count("a peer message not understood") == 4
    assert [handset.register("1001", "wrong") for _ in range(2)] == [403, 403]
    switch.switch.on_peer(peer_failure)
    assert handset.register("1001", "pw-1001") is None  # suspended: 2 here + 1 there


def bound_contact(switch) -> str | None:
    binding = switch.switch.registrar.bindings.get(switch.switch.config.phones_by_number["1001"].id)
    return None if binding is None else binding.contact


@pytest.mark.parametrize("expires", [3600, None])
def test_contact_star_without_expires_0_is_a_bad_request(b2bua, phone, expires) -> None:
    """RFC 3261 §10.3 step 6: 'Contact: *' with an expiry other than 0 (or none) is 400,
    and no binding is removed."""
    switch = b2bua()
    handset = switch.phone(PHONE_IP)
    assert handset.register("1001", "pw-1001") == 200
    assert handset.register("1001", "pw-1001", expires, contact="*") == 400
    assert bound_contact(switch) == str(handset.contact("1001"))
    assert handset.register("1001", "pw-1001", 0, contact="*") == 200
    assert bound_contact(switch) is None


def test_a_register_without_contact_is_a_query_whatever_its_expires(b2bua, phone) -> None:
    """RFC 3261 §10.3 steps 6 and 8: no Contact skips to the answer, a 200 that lists the
    current bindings; an un-REGISTER of another contact leaves the binding, listed too."""
    switch = b2bua()
    handset = switch.phone(PHONE_IP)
    assert handset.register("1001", "pw-1001", 600) == 200
    home = f"<{handset.contact('1001')}>;expires=600"
    for expires, contact in ((0, ""), (0, "<sip:1001@192.0.2.99>"), (None, "")):
        ok = handset.registration("1001", "pw-1001", expires, contact=contact)
        assert (ok.status_code, ok.headers.get_all("contact")) == (200, [home])
    assert bound_contact(switch) == str(handset.contact("1001"))


def test_an_older_cseq_of_the_same_call_id_does_not_change_the_binding(b2bua, phone) -> None:
    """RFC 3261 §10.3 step 7: within one Call-ID a REGISTER whose CSeq is not above the
    binding's is out of order (a delayed one): it fails and the binding stays as it is."""
    switch = b2bua()
    handset = switch.phone(PHONE_IP)
    assert handset.register("1001", "pw-1001", call_id="reg-1", cseq=10) == 200  # CSeq 11
    assert handset.register("1001", "pw-1001", 0, call_id="reg-1", cseq=5) == 400  # CSeq 6
    assert handset.register("1001", "pw-1001", 0, call_id="reg-1", cseq=10) == 400  # CSeq 11
    assert bound_contact(switch) == str(handset.contact("1001"))
    assert handset.register("1001", "pw-1001", 60, call_id="reg-1", cseq=11) == 200  # CSeq 12
    assert handset.register("1001", "pw-1001", 0, call_id="reg-2", cseq=1) == 200  # another
    assert bound_contact(switch) is None


def test_a_lowered_lightweight_registration_period_applies_at_once(b2bua, phone) -> None:
    """SPEC §2: a parameter change reaches the engine within seconds. A binding made under
    SS_ENDPOINTTIMETOLIVE 3600 is probed within the new period once it is lowered to 10,
    not an hour later."""
    update_parameter("SS_ENDPOINTTIMETOLIVE", 3600)
    switch = b2bua()
    handset = switch.phone(PHONE_IP)
    assert handset.register("1001", "pw-1001") == 200
    switch.switch.config.parameters["SS_ENDPOINTTIMETOLIVE"] = 10  # as a reload sets it
    for _ in range(11):
        switch.advance(1)
        switch.housekeeping()
    assert len(handset.received("OPTIONS")) == 1


def challenged_call(b2bua) -> tuple[Any, Any, Request, Response]:
    """A registered phone's INVITE to a routable number, challenged and ACKed: (the vendor,
    the phone, the INVITE, its 407)."""
    _, vendor, handset = registered_phone(b2bua)
    first = handset.invite("4420790000", "1001")
    challenge = handset.take(407)
    handset.ack(first, challenge)
    return vendor, handset, first, challenge


def phone_credentials(challenge: Response, uri: str) -> str:
    """Phone 1001's Proxy-Authorization for the challenge, with `uri` as the digest's."""
    return build_authorization(
        parse_challenge(challenge.headers.get("proxy-authenticate")),
        method="INVITE",
        uri=uri,
        username="1001",
        password="pw-1001",
        cnonce="c1",
    )


def test_credentials_for_another_realm_are_not_ours_to_refuse(b2bua, phone) -> None:
    """RFC 3261 §20.28 (and §20.7): a Proxy-Authorization value for another realm (an outbound
    proxy's, first in the INVITE) must not be consumed: the switch uses the value with its own
    realm, and without one of its own it challenges, counting no failed authentication."""
    update_parameter("SS_AUTHENTICATION_MAX_RETRY", 1)
    vendor, handset, first, challenge = challenged_call(b2bua)
    corp = 'Digest username="alice", realm="corp", nonce="n1", uri="sip:corp", response="00"'
    alone = handset.invite("4420790000", "1001", after=first, authorization=[corp])
    handset.ack(alone, handset.take(407))  # as if it had none for this switch: no failure
    ours = phone_credentials(challenge, str(first.uri))
    handset.invite("4420790000", "1001", after=alone, authorization=[corp, ours])
    assert vendor.take("INVITE")


def test_a_digest_uri_other_than_the_request_uri_is_accepted(b2bua, phone) -> None:
    """sipp, and many phones, answer a challenge with the server's URI (no user part) as the
    digest `uri`: the switch does not compare it with the Request-URI (README, "Phones")."""
    vendor, handset, first, challenge = challenged_call(b2bua)
    server_uri = "sip:{}:{}".format(*SWITCH)
    handset.invite(
        "4420790000", "1001", after=first, authorization=phone_credentials(challenge, server_uri)
    )
    assert vendor.take("INVITE")


def test_a_contact_longer_than_the_registration_table_holds_is_refused(b2bua, phone) -> None:
    """A Contact URI past the `Registration.contact` column (512) was bound, and its row made
    every later write of the bindings fail ('value too long'): no phone's registration reached
    "Online phones" again. It is refused with 400, as Kamailio's registrar does."""
    switch = b2bua()
    handset = switch.phone(PHONE_IP)
    push = f"<{handset.contact('1001')};pn-prid={'a' * 512}>"
    assert handset.register("1001", "pw-1001", contact=push) == 400
    assert bound_contact(switch) is None
    fits = f"<{handset.contact('1001')};pn-prid={'a' * 400}>"
    assert handset.register("1001", "pw-1001", contact=fits) == 200


def test_a_register_requiring_an_unsupported_extension_gets_420(b2bua, phone) -> None:
    """RFC 3261 §10.3 step 2 and §8.2.2.3: a REGISTER whose Require names an extension the
    registrar does not support (here RFC 3327's path) is refused with 420 naming it in
    Unsupported, and binds nothing; it used to bind as if the extension were honoured."""
    switch = b2bua()
    handset = switch.phone(PHONE_IP)
    refused = handset.registration("1001", "pw-1001", require="path")
    assert refused is not None and refused.status_code == 420
    assert refused.headers.get("unsupported") == "path"
    assert bound_contact(switch) is None
    assert handset.register("1001", "pw-1001") == 200


def test_options_requiring_an_unsupported_extension_get_420(b2bua, phone) -> None:
    """RFC 4475 §3.3.1 (bext01): an OPTIONS with an unknown Require gets 420 with the tags in
    Unsupported; its Proxy-Require is for proxies and ignored by the switch, a UA (§8.2.2.3).
    It used to get 200, as if the switch supported them."""
    switch = b2bua()
    handset = switch.phone(PHONE_IP)
    assert handset.register("1001", "pw-1001") == 200

    def options(require: str | None) -> Response:
        account = NameAddr(SipUri(host=PHONE_IP, user="1001"))
        request = new_request(
            "OPTIONS",
            SipUri(host=SWITCH[0], port=SWITCH[1]),
            via=handset.via,
            from_=account,
            to=NameAddr(SipUri(host=SWITCH[0])),
            ids=handset.ids,
        )
        request.headers.add("Proxy-Require", "sillyother")
        if require is not None:
            request.headers.add("Require", require)
        handset.send(request)
        answer = handset.inbox.pop()
        assert isinstance(answer, Response) and answer.call_id == request.call_id
        return answer

    refused = options("nothingyetdefined, alsonot")
    assert (refused.status_code, refused.headers.get("unsupported")) == (
        420,
        "nothingyetdefined, alsonot",
    )
    assert options(None).status_code == 200


def test_an_answer_with_an_algorithm_not_offered_is_refused(b2bua, phone) -> None:
    """SIP_DIGEST_ALGORITHMS=SHA-256: an operator who stops offering MD5 wants no MD5 digest
    on the wire (the weaker one to crack from a capture). A response computed with MD5 to the
    SHA-256 challenge (the nonce is the same) was accepted all the same; it is refused and
    counted as a failed authentication."""
    switch = b2bua()
    switch.switch.digest_algorithms = (DigestAlgorithm.SHA_256,)
    handset = switch.phone(PHONE_IP)
    assert handset.register("1001", "pw-1001", algorithm=DigestAlgorithm.MD5) == 403
    assert bound_contact(switch) is None
    assert handset.register("1001", "pw-1001") == 200  # SHA-256, as offered


def test_the_contact_limit_is_the_registration_tables() -> None:
    assert Registration._meta.get_field("contact").max_length == MAX_CONTACT_LENGTH
