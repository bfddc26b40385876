"""CRUD of mapping gateways, routing gateways and phones through the API and the pages."""

from __future__ import annotations

import pytest

from blacklist.models import BlacklistGroup
from softswitch.models import MappingGateway, Phone, RoutingGateway
from tests.crud import ApiCrudTests, PageCrudTests

pytestmark = pytest.mark.django_db

# Routing gateway hosts: IP literals and RFC 1123 host names pass, anything else is a field error.
GOOD_HOSTS = ["192.0.2.9", "2001:db8::9", "localhost", "sbc-1.vendor.example", "gw.example."]
BAD_HOSTS = [
    "not a host\u0001",
    "gw_1.example",
    "-gw.example",
    "gw-.example",
    "gw..example",
    "192.0.2.300",
    "[2001:db8::9]",
    "192.0.2.9:5060",
    "a" * 64 + ".example",
    ".".join(["a" * 63] * 4),  # 255 characters: fits the column, but a name has at most 253
]


class TestMappingGatewayApi(ApiCrudTests):
    model = MappingGateway
    api_url = "/api/v1/gateways/mapping/"
    create_data = {
        "name": "GW-TEST",
        "ips": ["192.0.2.10", "2001:db8::10"],
        "auth_mode": "ip",
        "capacity": 30,
        "locked": False,
        "dynamic_blacklist": True,
        "memo": "m",
    }
    update_data = {
        "ips": ["192.0.2.10:5070", "[2001:db8::10]:5080"],
        "auth_mode": "ip_port",
        "capacity": 0,
    }
    bad_data = [
        ({"ips": ["not-an-ip"]}, "ips"),
        ({"ips": []}, "ips"),
        ({"ips": ["192.0.2.10:5070"], "auth_mode": "ip"}, "ips"),
        ({"ips": ["192.0.2.10:99999"], "auth_mode": "ip_port"}, "ips"),
        ({"auth_mode": "password"}, "auth_mode"),
        ({"capacity": -1}, "capacity"),
        ({"name": ""}, "name"),
        ({"caller_blacklist_groups": [999999]}, "caller_blacklist_groups"),
    ]

    def make(self) -> MappingGateway:
        return MappingGateway.objects.create(name="GW-EXISTING", ips=["198.51.100.1"])

    def test_blacklist_groups_attach_by_id(self, admin_api) -> None:
        group = BlacklistGroup.objects.create(name="fraud")
        data = {**self.create_data, "caller_blacklist_groups": [group.pk]}
        response = admin_api.post(self.api_url, data, format="json")
        assert response.status_code == 201
        assert response.json()["caller_blacklist_groups"] == [group.pk]
        assert list(MappingGateway.objects.get().caller_blacklist_groups.all()) == [group]

    def test_duplicate_name_is_400(self, admin_api) -> None:
        self.make()
        response = admin_api.post(
            self.api_url, {**self.create_data, "name": "GW-EXISTING"}, format="json"
        )
        assert response.status_code == 400 and "name" in response.json()

    def test_ip_port_entries_become_source_keys(self) -> None:
        gateway = MappingGateway(
            name="x", ips=["192.0.2.1", "192.0.2.2:5070", "[2001:db8::1]:5080"], auth_mode="ip_port"
        )
        assert gateway.source_keys() == [
            ("192.0.2.1", 5060),
            ("192.0.2.2", 5070),
            ("2001:db8::1", 5080),
        ]
        assert MappingGateway(name="y", ips=["192.0.2.1"]).source_keys() == [("192.0.2.1", None)]


class TestRoutingGatewayApi(ApiCrudTests):
    model = RoutingGateway
    api_url = "/api/v1/gateways/routing/"
    create_data = {
        "name": "VENDOR-TEST",
        "host": "192.0.2.50",
        "port": 5060,
        "transport": "udp",
        "prefixes": ["86", "852"],
        "priority": 1,
        "capacity": 100,
        "locked": False,
        "strip_digits": 2,
        "add_prefix": "00",
        "options_check": True,
        "memo": "",
    }
    update_data = {"prefixes": ["*"], "transport": "tcp", "priority": 0, "port": 5080}
    bad_data = [
        ({"prefixes": ["86x"]}, "prefixes"),
        ({"prefixes": []}, "prefixes"),
        ({"port": 70000}, "port"),
        ({"transport": "tls"}, "transport"),
        ({"add_prefix": "abc"}, "add_prefix"),
        ({"strip_digits": 99}, "strip_digits"),
        ({"host": ""}, "host"),
        *[({"host": host}, "host") for host in BAD_HOSTS],
    ]

    def make(self) -> RoutingGateway:
        return RoutingGateway.objects.create(name="VENDOR-EXISTING", host="192.0.2.1")

    @pytest.mark.parametrize("host", GOOD_HOSTS)
    def test_ip_literals_and_host_names_are_accepted(self, admin_api, host) -> None:
        response = admin_api.post(self.api_url, {"name": "NAMED", "host": host}, format="json")
        assert response.status_code == 201, response.json()
        assert RoutingGateway.objects.get().host == host

    def test_a_bad_host_is_named_in_the_error(self, admin_api) -> None:
        response = admin_api.post(
            self.api_url, {"name": "BAD", "host": "not a host\u0001"}, format="json"
        )
        assert response.status_code == 400
        assert "not a valid host" in response.json()["host"][0]

    def test_defaults(self, admin_api) -> None:
        response = admin_api.post(
            self.api_url, {"name": "MINIMAL", "host": "192.0.2.9"}, format="json"
        )
        assert response.status_code == 201
        body = response.json()
        assert (body["port"], body["transport"], body["prefixes"]) == (5060, "udp", ["*"])
        assert (body["capacity"], body["strip_digits"], body["locked"]) == (0, 0, False)


class TestPhoneApi(ApiCrudTests):
    model = Phone
    api_url = "/api/v1/phones/"
    create_data = {
        "e164": "8613800000001",
        "password": "s3cret-pass",
        "capacity": 2,
        "locked": False,
        "dynamic_blacklist": False,
        "memo": "desk phone",
    }
    update_data = {"password": "n3w-pass", "locked": True, "capacity": 0}
    bad_data = [
        ({"e164": "12ab"}, "e164"),
        ({"e164": ""}, "e164"),
        ({"password": ""}, "password"),
        ({"capacity": "many"}, "capacity"),
        ({"callee_blacklist_groups": ["x"]}, "callee_blacklist_groups"),
    ]

    def make(self) -> Phone:
        return Phone.objects.create(e164="1009", password="pw")

    def test_viewers_do_not_see_passwords(self, viewer_api, operator_api) -> None:
        phone = self.make()
        assert viewer_api.get(f"{self.api_url}{phone.pk}/").json()["password"] is None
        assert operator_api.get(f"{self.api_url}{phone.pk}/").json()["password"] == "pw"

    def test_audit_log_never_records_passwords(self, admin_api) -> None:
        from vosadmin.core.models import AuditLog

        admin_api.post(self.api_url, self.create_data, format="json")
        assert "password" not in AuditLog.objects.get().changes
        assert "s3cret-pass" not in str(AuditLog.objects.get().changes)


class TestMappingGatewayPages(PageCrudTests):
    model = MappingGateway
    list_url = "/mapping-gateways/"
    form_data = {
        "name": "GW-PAGE",
        "ips": "192.0.2.10\n192.0.2.11",
        "auth_mode": "ip",
        "capacity": 10,
        "memo": "x",
    }

    def make(self) -> MappingGateway:
        return MappingGateway.objects.create(name="GW-EXISTING", ips=["198.51.100.1"])

    def test_bad_address_is_reported_on_the_field(self, client, operator_user) -> None:
        client.force_login(operator_user)
        response = client.post(f"{self.list_url}add/", {**self.form_data, "ips": "192.0.2.300"})
        assert "192.0.2.300" in str(response.context["form"].errors["ips"])


class TestRoutingGatewayPages(PageCrudTests):
    model = RoutingGateway
    list_url = "/routing-gateways/"
    form_data = {
        "name": "VENDOR-PAGE",
        "host": "192.0.2.50",
        "port": 5060,
        "transport": "udp",
        "prefixes": "86, 852",
        "priority": 1,
        "capacity": 0,
        "strip_digits": 0,
        "add_prefix": "",
        "memo": "",
    }

    def make(self) -> RoutingGateway:
        return RoutingGateway.objects.create(name="VENDOR-EXISTING", host="192.0.2.1")

    @pytest.mark.parametrize("host", BAD_HOSTS)
    def test_bad_host_is_reported_on_the_field(self, client, operator_user, host) -> None:
        client.force_login(operator_user)
        response = client.post(f"{self.list_url}add/", {**self.form_data, "host": host})
        assert response.status_code == 200
        assert "not a valid host" in str(response.context["form"].errors["host"])
        assert not RoutingGateway.objects.exists()

    def test_host_name_is_accepted(self, client, operator_user) -> None:
        client.force_login(operator_user)
        response = client.post(f"{self.list_url}add/", {**self.form_data, "host": "localhost"})
        assert response.status_code == 302
        assert RoutingGateway.objects.get().host == "localhost"


class TestPhonePages(PageCrudTests):
    model = Phone
    list_url = "/phones/"
    form_data = {"e164": "1001", "password": "pw-1001", "capacity": 0, "memo": ""}

    def make(self) -> Phone:
        return Phone.objects.create(e164="1009", password="pw")

    def test_new_phone_form_offers_a_generated_password(self, client, operator_user) -> None:
        client.force_login(operator_user)
        response = client.get(f"{self.list_url}add/")
        assert len(response.context["form"].initial["password"]) >= 12


@pytest.mark.parametrize(
    ("existing", "new", "clash"),
    [
        ((["192.0.2.1"], "ip"), (["192.0.2.1"], "ip"), True),
        ((["192.0.2.1"], "ip"), (["192.0.2.1:5070"], "ip_port"), True),
        ((["192.0.2.1:5070"], "ip_port"), (["192.0.2.1:5080"], "ip_port"), False),
        ((["192.0.2.1:5060"], "ip_port"), (["192.0.2.1"], "ip_port"), True),
        ((["192.0.2.1"], "ip"), (["192.0.2.2"], "ip"), False),
    ],
)
def test_two_gateways_cannot_claim_the_same_source(admin_api, existing, new, clash) -> None:
    MappingGateway.objects.create(name="FIRST", ips=existing[0], auth_mode=existing[1])
    response = admin_api.post(
        "/api/v1/gateways/mapping/",
        {"name": "SECOND", "ips": new[0], "auth_mode": new[1]},
        format="json",
    )
    assert (response.status_code == 400) == clash
    if clash:
        assert "FIRST" in str(response.json()["ips"])
