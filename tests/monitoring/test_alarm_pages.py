"""Alarm pages and API by role (the console's cast), rule and webhook CRUD, and the live
Current alarms page's WebSocket."""

from __future__ import annotations

from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from tests.blacklist.test_live_updates_websocket import headers_for
from tests.conftest import api_client_for
from tests.crud import ApiCrudTests, PageCrudTests
from vosadmin.alarms.choices import AlarmTypeChoices as Type
from vosadmin.alarms.evaluation import clear_alarm, raise_alarm
from vosadmin.alarms.models import Alarm, AlarmRule, Webhook
from vosadmin.asgi import application

pytestmark = pytest.mark.django_db


def make_rule(name: str = "ASR of vendors") -> AlarmRule:
    return AlarmRule.objects.create(name=name, type=Type.ROUTING_ASR, threshold=Decimal(40))


def open_alarm() -> Alarm:
    alarm = raise_alarm(make_rule("r"), "VENDOR", Decimal(12), timezone.now())
    assert alarm is not None
    return alarm


class TestAlarmRuleApi(ApiCrudTests):
    model = AlarmRule
    api_url = "/api/v1/alarms/rules/"
    create_data = {
        "name": "Vendors' ASR",
        "type": "routing_asr",
        "target": "",
        "threshold": "40.0000",
        "period_minutes": 15,
        "min_calls": 20,
        "level": 2,
        "enabled": True,
        "memo": "",
    }
    update_data = {"threshold": "35.0000", "level": 3}
    bad_data = [
        ({"type": "weather"}, "type"),
        ({"level": 4}, "level"),
        ({"period_minutes": 0}, "period_minutes"),
        ({"threshold": "lots"}, "threshold"),
        # Out of the type's range: an ASR floor of 150 % always fires, of -10 % never; a
        # ceiling of -1 call fires with none; -5 s of silence calls every live process down.
        ({"threshold": "100.0001"}, "threshold"),
        ({"type": "mapping_asr", "threshold": "-10"}, "threshold"),
        ({"type": "concurrency", "threshold": "-1"}, "threshold"),
        ({"type": "process_down", "threshold": "-5"}, "threshold"),
        ({"type": "routing_acd", "threshold": "-0.0001"}, "threshold"),
    ]

    def make(self) -> AlarmRule:
        return make_rule()

    @pytest.mark.parametrize(
        ("kind", "threshold"),
        [("routing_asr", "0"), ("routing_asr", "100"), ("concurrency", "0"), ("balance", "-50")],
    )
    def test_thresholds_at_the_ends_of_their_range_are_taken(
        self, admin_api, kind, threshold
    ) -> None:
        data = {**self.create_data, "type": kind, "threshold": threshold}
        response = admin_api.post(self.api_url, data, format="json")
        assert response.status_code == 201, response.json()

    def test_a_type_changed_alone_is_checked_against_the_threshold_kept(self, admin_api) -> None:
        """A balance floor of -50 is fine; the same rule made an ASR floor is not."""
        rule = AlarmRule.objects.create(name="b", type=Type.BALANCE, threshold=Decimal(-50))
        url = f"{self.api_url}{rule.pk}/"
        response = admin_api.patch(url, {"type": "routing_asr"}, format="json")
        assert response.status_code == 400 and "threshold" in response.json(), response.json()
        rule.refresh_from_db()
        assert rule.type == Type.BALANCE


class TestAlarmRulePages(PageCrudTests):
    model = AlarmRule
    list_url = "/alarm-rules/"
    form_data = {
        "name": "Low balance",
        "type": "balance",
        "target": "",
        "threshold": "10",
        "period_minutes": "5",
        "min_calls": "10",
        "level": "1",
        "enabled": "on",
        "memo": "",
    }

    def make(self) -> AlarmRule:
        return make_rule()

    def test_a_threshold_outside_its_types_range_is_refused_by_the_form(
        self, client, users
    ) -> None:
        client.force_login(users[self.writer])
        data = {**self.form_data, "type": "mapping_asr", "threshold": "150"}
        response = client.post(f"{self.list_url}add/", data)
        assert response.status_code == 200
        assert "from 0 to 100" in str(response.context["form"].errors["threshold"])
        assert not AlarmRule.objects.exists()


class TestWebhookPages(PageCrudTests):
    model = Webhook
    list_url = "/alarm-webhooks/"
    form_data = {"name": "NOC", "url": "https://noc.example.net/hook", "secret": "x", "memo": ""}

    def make(self) -> Webhook:
        return Webhook.objects.create(name="NOC", url="https://noc.example.net/hook")


@pytest.mark.parametrize(
    ("who", "read", "acknowledge"),
    [
        ("admin", 200, 200),
        ("operator", 200, 200),
        ("viewer", 200, 403),
        ("roleless", 403, 403),
        ("anonymous", 401, 401),
    ],
)
def test_alarm_api_role_matrix(users, who: str, read: int, acknowledge: int) -> None:
    alarm = open_alarm()
    client = api_client_for(users[who])
    assert client.get("/api/v1/alarms/current/").status_code == read
    assert client.get("/api/v1/alarms/history/").status_code == read
    response = client.post(f"/api/v1/alarms/current/{alarm.pk}/acknowledge/", {}, format="json")
    assert response.status_code == acknowledge
    assert client.delete(f"/api/v1/alarms/current/{alarm.pk}/").status_code in (401, 403, 405)


@pytest.mark.parametrize(
    ("who", "view", "acknowledge"),
    [("operator", 200, 302), ("viewer", 200, 403), ("roleless", 403, 403), ("anonymous", 302, 302)],
)
def test_alarm_pages_role_matrix(client, users, who: str, view: int, acknowledge: int) -> None:
    if users[who]:
        client.force_login(users[who])
    alarm = open_alarm()
    for url in ("/alarms/", "/alarms/history/", "/alarm-rules/", "/alarm-webhooks/"):
        assert client.get(url).status_code == view, url
    response = client.post(f"/alarms/{alarm.pk}/acknowledge/", {"memo": "on it"})
    assert response.status_code == acknowledge
    alarm.refresh_from_db()
    assert (alarm.acknowledged_at is not None) == (who == "operator")


def test_current_page_shows_and_acknowledges(client, operator_user) -> None:
    alarm = open_alarm()
    client.force_login(operator_user)
    page = client.get("/alarms/").content.decode()
    assert f'data-id="{alarm.pk}"' in page and "Acknowledge" in page and "js/live_table.js" in page
    client.post(f"/alarms/{alarm.pk}/acknowledge/", {"memo": "x" * 300})  # too long: refused
    alarm.refresh_from_db()
    assert alarm.acknowledged_at is None
    client.post(f"/alarms/{alarm.pk}/acknowledge/", {"memo": "carrier called"})
    page = client.get("/alarms/").content.decode()
    assert "carrier called" in page and "oscar-operator" in page


@pytest.mark.django_db(transaction=True)
def test_current_alarms_socket_hears_raise_and_clear(viewer_user) -> None:
    socket = WebsocketCommunicator(application, "/ws/alarms/", headers=headers_for(viewer_user))

    async def scenario() -> None:
        assert (await socket.connect())[0]
        alarm = await database_sync_to_async(open_alarm)()
        assert await socket.receive_json_from(timeout=5) == {"event": "changed"}
        await database_sync_to_async(clear_alarm)(alarm.pk, timezone.now())
        assert await socket.receive_json_from(timeout=5) == {"event": "changed"}
        await socket.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_current_alarms_socket_refuses_a_user_without_a_role(roleless_user) -> None:
    socket = WebsocketCommunicator(application, "/ws/alarms/", headers=headers_for(roleless_user))

    async def scenario() -> None:
        connected, code = await socket.connect()
        assert not connected and code == 4403

    async_to_sync(scenario)()


def test_a_webhook_is_http_or_https(client, operator_user) -> None:
    client.force_login(operator_user)
    data = {"name": "NOC", "url": "ftp://noc.example.net/hook", "secret": "", "memo": ""}
    response = client.post("/alarm-webhooks/add/", data)
    assert response.status_code == 200 and "url" in response.context["form"].errors
    assert not Webhook.objects.exists()


def test_a_webhook_address_without_a_scheme_is_taken_as_https(client, operator_user) -> None:
    client.force_login(operator_user)
    data = {"name": "NOC", "url": "noc.example.net/hook", "secret": "", "memo": ""}
    response = client.post("/alarm-webhooks/add/", data)
    assert response.status_code == 302
    assert Webhook.objects.get().url == "https://noc.example.net/hook"


def test_a_webhook_secret_stays_out_of_the_operation_log(client, operator_user) -> None:
    from vosadmin.core.models import AuditLog

    client.force_login(operator_user)
    data = {"name": "NOC", "url": "https://noc.example.net/hook", "secret": "hush", "memo": ""}
    assert client.post("/alarm-webhooks/add/", data).status_code == 302
    assert Webhook.objects.get().secret == "hush"
    assert "hush" not in str(AuditLog.objects.get().changes)


def test_a_webhook_address_is_shown_without_its_token(client, operator_user, viewer_user) -> None:
    """Chat services put their token in the webhook's path; some addresses carry a password:
    the list page (viewers read it) and the operation log show scheme, host and a fingerprint,
    only the edit form (operators) the whole address."""
    from vosadmin.core.models import AuditLog

    url = "https://bot:pw@hooks.example.net:8443/services/T000/B000/XXXXSECRET?token=t0k"
    client.force_login(operator_user)
    data = {"name": "NOC", "url": url, "secret": "", "memo": ""}
    assert client.post("/alarm-webhooks/add/", data).status_code == 302
    hook = Webhook.objects.get()
    assert url in client.get(f"/alarm-webhooks/{hook.pk}/edit/").content.decode()
    client.force_login(viewer_user)
    page = client.get("/alarm-webhooks/").content.decode()
    assert "https://hooks.example.net:8443/…" in page
    assert "<td >No</td>" in page  # Signed: No (it was "—")
    logged = str(AuditLog.objects.get().changes)
    for secret in ("XXXXSECRET", "t0k", "pw@", "services"):
        assert secret not in page and secret not in logged
    hook.url = url.replace("XXXXSECRET", "OTHER")
    client.force_login(operator_user)
    edit = {**data, "url": hook.url}
    assert client.post(f"/alarm-webhooks/{hook.pk}/edit/", edit).status_code == 302
    [before, after] = AuditLog.objects.latest("id").changes["url"]
    assert before != after and before.startswith("https://hooks.example.net:8443/… (")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example.net", "https://hooks.example.net/…"),
        ("http://[2001:db8::1]:8080/hook", "http://[2001:db8::1]:8080/…"),
        ("https://u:p@h.example:99999/x", "https://h.example:99999/…"),  # no such port
        ("https://u:p@h.example@evil.example/x", "https://evil.example/…"),
    ],
)
def test_a_masked_address_keeps_scheme_and_host(url, shown) -> None:
    from vosadmin.alarms.models import masked_url

    assert masked_url(url).startswith(f"{shown} (")
