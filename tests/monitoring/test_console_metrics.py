"""The console's /metrics (SPEC §10): administrators' tokens and allow-listed scraper addresses
only; the output parses with Prometheus's own parser and carries the switch-wide figures."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from softswitch.models import CurrentCall
from softswitch.redis_keys import HEARTBEATS_KEY, cdr_backlog_key, security_key
from tests.conftest import api_client_for
from vosadmin.alarms.evaluation import raise_alarm
from vosadmin.alarms.models import AlarmRule

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 200), ("operator", 403), ("viewer", 403), ("roleless", 403), ("anonymous", 403)],
)
def test_tokens_by_role(users, who: str, status: int) -> None:
    assert api_client_for(users[who]).get("/metrics").status_code == status


def test_allow_listed_address_needs_no_token(client, settings) -> None:
    settings.METRICS_ALLOWED_ADDRESSES = ["10.1.0.0/16"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.2.0.1").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Token not-a-token").status_code == 403


def test_switch_wide_figures_parse(admin_api, redis_client) -> None:
    CurrentCall.objects.create(
        node="node1",
        call_id="c1",
        caller="1",
        callee="2",
        origin="GW",
        state="ringing",
        started_at=timezone.now(),
    )
    now = time.time()
    redis_client.hset(HEARTBEATS_KEY, mapping={"engine:node1": now - 3, "beat:host": now})
    redis_client.set(cdr_backlog_key("node1"), 12)
    redis_client.hset(security_key(int(now // 60) - 1), "unauthorized", 7)
    rule = AlarmRule.objects.create(name="r", type="balance", threshold=Decimal(1), level=3)
    raise_alarm(rule, "ACME", Decimal("0.5"), timezone.now())
    response = admin_api.get("/metrics")
    assert response.status_code == 200
    samples = {
        (sample.name, tuple(sample.labels.values())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }
    assert samples[("vosadmin_sip_calls_in_progress", ("node1",))] == 1
    assert samples[("vosadmin_cdr_journal_backlog", ("node1",))] == 12
    assert samples[("vosadmin_sip_security_events_last_minute", ("unauthorized",))] == 7
    assert samples[("vosadmin_sip_security_events_last_minute", ("register_failed",))] == 0
    assert 2 < samples[("vosadmin_process_heartbeat_age_seconds", ("engine:node1",))] < 10
    assert samples[("vosadmin_redis_up", ())] == 1
    assert samples[("vosadmin_alarms_current", ("3",))] == 1
    assert samples[("vosadmin_alarms_current", ("0",))] == 0
