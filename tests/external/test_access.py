"""Web access control: the allow-list by path prefix and address/CIDR, X-Forwarded-For only
from trusted proxies, the optional token; and the rules' page and API by role."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from tests.crud import CAST, ApiCrudTests, PageCrudTests, expected
from tests.external.conftest import CLIENT_IP, post
from vosadmin.external.models import WebAccessRule


def status(name: str = "GetPerformance", **kwargs) -> int:
    return post(name, {}, **kwargs).status_code


def test_no_rule_refuses_everybody(db) -> None:
    response = post("GetPerformance", {}, address="127.0.0.1")
    assert response.status_code == 403 and response.content == b""


def test_allowed_address_and_refused_address(rule) -> None:
    assert status(address=CLIENT_IP) == 200
    assert status(address="198.51.100.8") == 403


def test_cidr_and_ipv6(db) -> None:
    WebAccessRule.objects.create(allowed=["10.20.0.0/16", "2001:db8::/32"], memo="NOC")
    assert status(address="10.20.99.1") == 200
    assert status(address="2001:db8::5") == 200
    assert status(address="10.21.0.1") == 403


def test_path_prefix_limits_a_rule_to_its_calls(db) -> None:
    WebAccessRule.objects.create(path="/external/server/Get", allowed=[CLIENT_IP])
    assert status("GetCustomer") == 200
    assert status("Pay") == 403


def test_forwarded_for_counts_only_from_a_trusted_proxy(rule, settings) -> None:
    spoofed = {"HTTP_X_FORWARDED_FOR": CLIENT_IP}
    assert status(address="203.0.113.9", **spoofed) == 403  # not a proxy: the header is ignored
    settings.EXTERNAL_API_TRUSTED_PROXIES = ["127.0.0.1"]
    assert status(address="127.0.0.1", **spoofed) == 200
    forged = {"HTTP_X_FORWARDED_FOR": f"{CLIENT_IP}, 203.0.113.9"}  # the proxy appended the peer
    assert status(address="127.0.0.1", **forged) == 403


def test_optional_token(rule, settings, admin_user, viewer_user) -> None:
    settings.EXTERNAL_API_TOKEN_REQUIRED = True
    assert post("GetPerformance", {}).json()["retCode"] == -6
    viewer = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=viewer_user).key}"}
    assert post("GetPerformance", {}, **viewer).json()["retCode"] == 0
    pay = {"ownerName": "C1", "money": "1"}
    assert post("Pay", pay, **viewer).json()["retCode"] == -6  # writes: administrators
    admin = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=admin_user).key}"}
    assert post("Pay", pay, **admin).json()["retCode"] == -4  # past the token: no account C1


def test_get_is_not_a_call(rule) -> None:
    from django.test import Client

    assert Client(REMOTE_ADDR=CLIENT_IP).get("/external/server/GetPerformance").status_code == 405


class TestWebAccessRuleApi(ApiCrudTests):
    reader = writer = "admin"
    model = WebAccessRule
    api_url = "/api/v1/web-access-rules/"
    create_data = {"path": "/external/server/", "allowed": ["198.51.100.7"], "memo": "portal"}
    update_data = {"allowed": ["10.0.0.0/8", "2001:db8::1"]}
    bad_data = [
        ({"allowed": ["not-an-ip"]}, "allowed"),
        ({"allowed": []}, "allowed"),
        ({"path": "external"}, "path"),
    ]

    def make(self) -> WebAccessRule:
        return WebAccessRule.objects.create(allowed=["192.0.2.1"], memo="x")


class TestWebAccessRulePages(PageCrudTests):
    reader = writer = "admin"
    model = WebAccessRule
    list_url = "/web-access-control/"
    form_data = {"path": "/external/server/", "allowed": "198.51.100.7, 10.0.0.0/8", "memo": "NOC"}

    def make(self) -> WebAccessRule:
        return WebAccessRule.objects.create(allowed=["192.0.2.1"], memo="x")


@pytest.mark.parametrize("who", CAST)
def test_the_test_page_is_for_administrators(client, users, who) -> None:
    if users[who]:
        client.force_login(users[who])
    assert client.get("/external/test/server").status_code == expected(who, "admin", 200, 302)


def test_the_rules_page_shows_the_addresses_as_given(client, admin_user) -> None:
    client.force_login(admin_user)
    data = TestWebAccessRulePages.form_data
    assert client.post("/web-access-control/add/", data).status_code == 302
    assert WebAccessRule.objects.get().allowed == ["198.51.100.7", "10.0.0.0/8"]
    page = client.get("/web-access-control/").content.decode()
    assert "198.51.100.7, 10.0.0.0/8" in page and "Web access control" in page


def test_test_page_has_no_inline_script(client, admin_user) -> None:
    client.force_login(admin_user)
    page = client.get("/external/test/server").content.decode()
    assert "js/web_api_test.js" in page and 'id="web-api-examples"' in page
    assert "<script>" not in page  # CSP: scripts come from files; the examples are JSON data


def test_no_csrf_token_needed(rule) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True, REMOTE_ADDR=CLIENT_IP)
    response = client.post("/external/server/GetPerformance", "{}", content_type="text/html")
    assert response.status_code == 200 and response.json()["retCode"] == 0


def test_a_malformed_stored_entry_allows_nothing_and_breaks_nothing(db) -> None:
    WebAccessRule.objects.create(allowed=["not-a-network", CLIENT_IP])  # around validation
    assert status(address=CLIENT_IP) == 200
    assert status(address="198.51.100.8") == 403
