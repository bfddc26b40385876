"""Alarms (SPEC §10, issue 15 item 4): each alarm type fires, is acknowledged, clears itself and
reaches a local webhook receiver with a valid signature; a failing webhook is retried, bounded,
and shown; raising is compare-and-set."""

from __future__ import annotations

import hashlib
import hmac
import importlib
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from billing.choices import AccountTypeChoices
from billing.models import Account
from billing.partitions import ensure_cdr_partitions
from softswitch.models import CurrentCall
from softswitch.redis_keys import HEARTBEATS_KEY, cdr_backlog_key, security_key
from tests.billing.conftest import DAY, at, cdr, store
from vosadmin.alarms import webhooks
from vosadmin.alarms.choices import AlarmTypeChoices as Type
from vosadmin.alarms.choices import DeliveryStatusChoices as Status
from vosadmin.alarms.evaluation import clear_alarm, evaluate_rules, raise_alarm
from vosadmin.alarms.measures import MEASURES, firing
from vosadmin.alarms.models import Alarm, AlarmRule, Webhook, WebhookDelivery
from vosadmin.core.models import AuditLog

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

NOW = at(12)
SECRET = "s3cret"


def calls(gateway_field: str, answered: int, failed: int, hold_ms: int = 60_000) -> None:
    """CDRs of the last minutes for gateway "GW" (on the mapping or routing side)."""
    start = NOW - timedelta(minutes=2)
    store(
        *[
            cdr(
                f"{gateway_field}-{hold_ms}-a{i}",
                start,
                hold_time_ms=hold_ms,
                **{gateway_field: "GW"},
            )
            for i in range(answered)
        ],
        *[
            cdr(f"{gateway_field}-{hold_ms}-f{i}", start, hold_time_ms=0, **{gateway_field: "GW"})
            for i in range(failed)
        ],
    )


def current_calls(count: int) -> None:
    CurrentCall.objects.all().delete()
    for i in range(count):
        CurrentCall.objects.create(
            node="node1",
            call_id=f"c{i}",
            caller="1",
            callee="2",
            origin="GW",
            state="ringing",
            started_at=NOW,
        )


# type → (threshold, target, make it fire, make it clear, the target of the alarm)
CASES: dict[str, tuple[str, str, Callable, Callable, str]] = {
    Type.MAPPING_ASR: (
        "50",
        "",
        lambda r: calls("mapping_gateway", 2, 8),
        lambda r: calls("mapping_gateway", 20, 0),
        "GW",
    ),
    Type.ROUTING_ASR: (
        "50",
        "GW",
        lambda r: calls("routing_gateway", 2, 8),
        lambda r: calls("routing_gateway", 20, 0),
        "GW",
    ),
    Type.MAPPING_ACD: (
        "30",
        "",
        lambda r: calls("mapping_gateway", 10, 0, 5_000),
        lambda r: calls("mapping_gateway", 10, 0, 600_000),
        "GW",
    ),
    Type.ROUTING_ACD: (
        "30",
        "",
        lambda r: calls("routing_gateway", 10, 0, 5_000),
        lambda r: calls("routing_gateway", 10, 0, 600_000),
        "GW",
    ),
    Type.CONCURRENCY: ("2", "", lambda r: current_calls(3), lambda r: current_calls(1), "all"),
    Type.ILLEGAL_CALLS: (
        "10",
        "",
        lambda r: r.hset(security_key(int(NOW.timestamp() // 60) - 1), "unauthorized", 100),
        lambda r: r.delete(security_key(int(NOW.timestamp() // 60) - 1)),
        "all",
    ),
    Type.CDR_BACKLOG: (
        "100",
        "",
        lambda r: (
            r.hset(HEARTBEATS_KEY, "engine:node1", time.time()),
            r.set(cdr_backlog_key("node1"), 500),
        ),
        lambda r: r.set(cdr_backlog_key("node1"), 0),
        "node1",
    ),
    Type.BALANCE: (
        "5",
        "",
        lambda r: (
            Account.objects.create(account="ACME"),
            Account.objects.create(account="VENDOR", type=AccountTypeChoices.CLEARING),
            Account.objects.update(balance=Decimal("1.5")),  # the vendor's is not watched
        ),
        lambda r: Account.objects.update(balance=Decimal("20")),
        "ACME",
    ),
    Type.PROCESS_DOWN: (
        "60",
        "worker",
        lambda r: r.hset(HEARTBEATS_KEY, "worker:host1", time.time() - 120),
        lambda r: r.hset(HEARTBEATS_KEY, "worker:host1", time.time()),
        "worker:host1",
    ),
}


@pytest.fixture
def partitions() -> None:
    ensure_cdr_partitions(DAY, DAY)


@pytest.mark.parametrize("kind", list(CASES))
def test_each_type_fires_is_acknowledged_clears_and_is_posted(
    kind, partitions, redis_client, receiver, operator_api, django_capture_on_commit_callbacks
) -> None:
    threshold, target, fire, clear, alarm_target = CASES[kind]
    rule = AlarmRule.objects.create(
        name=f"rule {kind}",
        type=kind,
        target=target,
        threshold=Decimal(threshold),
        period_minutes=5,
        min_calls=5,
        level=3,
    )
    Webhook.objects.create(name="noc", url=receiver.url, secret=SECRET)
    fire(redis_client)
    with django_capture_on_commit_callbacks(execute=True):
        assert evaluate_rules(NOW)["raised"] == 1
        assert evaluate_rules(NOW)["raised"] == 0  # still open: not raised twice
    alarm = Alarm.objects.get(rule=rule, cleared_at__isnull=True)
    assert (alarm.target, alarm.level) == (alarm_target, 3)

    response = operator_api.get("/api/v1/alarms/current/")
    assert [row["id"] for row in response.json()["results"]] == [alarm.pk]
    response = operator_api.post(
        f"/api/v1/alarms/current/{alarm.pk}/acknowledge/", {"memo": "looking"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["acknowledged_by"], response.json()["ack_memo"]) == (
        "oscar-operator",
        "looking",
    )
    assert AuditLog.objects.filter(action="acknowledge", object_id=str(alarm.pk)).exists()

    clear(redis_client)
    with django_capture_on_commit_callbacks(execute=True):
        assert evaluate_rules(NOW)["cleared"] == 1
    alarm.refresh_from_db()
    assert alarm.cleared_at == NOW
    assert operator_api.get("/api/v1/alarms/current/").json()["count"] == 0
    assert operator_api.get("/api/v1/alarms/history/").json()["results"][0]["id"] == alarm.pk

    assert receiver.events() == [("raised", alarm_target), ("cleared", alarm_target)]
    for headers, body in receiver.requests:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Vosadmin-Signature"], expected)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {Status.DELIVERED}


def test_a_failing_webhook_is_retried_then_marked_failed_and_shown(
    receiver, admin_client, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    monkeypatch.setattr(webhooks, "FIRST_RETRY_SECONDS", 0)
    receiver.status = 500
    Webhook.objects.create(name="broken", url=receiver.url)
    rule = AlarmRule.objects.create(name="r", type=Type.CONCURRENCY, threshold=Decimal(0))
    with django_capture_on_commit_callbacks(execute=True):
        raise_alarm(rule, "all", Decimal(1), NOW)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Status.FAILED, webhooks.MAX_ATTEMPTS)
    assert delivery.last_error == "HTTP 500 Internal Server Error"
    assert len(receiver.requests) == webhooks.MAX_ATTEMPTS
    assert "X-Vosadmin-Signature" not in receiver.requests[0][0]  # no secret: unsigned
    page = admin_client.get("/alarm-webhooks/").content.decode()
    assert 'data-status="failed"' in page and "HTTP 500 Internal Server Error" in page


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirecting_webhook_fails_and_is_never_followed(
    status, receiver, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    """A redirect (http → https is the usual one) is a failure naming it: followed, a POST
    would turn into a GET without the alarm, which the page behind it may well answer 200."""
    monkeypatch.setattr(webhooks, "FIRST_RETRY_SECONDS", 0)
    receiver.status, receiver.location = status, receiver.url + "/moved"
    Webhook.objects.create(name="moved", url=receiver.url)
    rule = AlarmRule.objects.create(name="r", type=Type.CONCURRENCY, threshold=Decimal(0))
    with django_capture_on_commit_callbacks(execute=True):
        raise_alarm(rule, "all", Decimal(1), NOW)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.FAILED
    assert delivery.last_error.startswith(f"HTTP {status} ")
    assert delivery.last_error.endswith(f": a redirect, not followed; use {receiver.url}/moved")
    assert receiver.gets == []
    assert len(receiver.requests) == webhooks.MAX_ATTEMPTS


def test_a_webhook_that_recovers_is_delivered_on_a_retry(
    receiver, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    monkeypatch.setattr(webhooks, "FIRST_RETRY_SECONDS", 0)
    answers = iter([503, 200])
    original = webhooks.post

    def flaky(webhook, data):
        receiver.status = next(answers)
        return original(webhook, data)

    monkeypatch.setattr(webhooks, "post", flaky)
    Webhook.objects.create(name="flaky", url=receiver.url)
    rule = AlarmRule.objects.create(name="r", type=Type.CONCURRENCY, threshold=Decimal(0))
    with django_capture_on_commit_callbacks(execute=True):
        raise_alarm(rule, "all", Decimal(1), NOW)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (Status.DELIVERED, 2, "")


def test_raising_is_compare_and_set_and_a_disabled_rule_clears(
    django_capture_on_commit_callbacks,
) -> None:
    rule = AlarmRule.objects.create(name="r", type=Type.CONCURRENCY, threshold=Decimal(0))
    CurrentCall.objects.create(
        node="n", call_id="c", caller="1", callee="2", origin="GW", state="ringing", started_at=NOW
    )
    assert raise_alarm(rule, "all", Decimal(1), NOW) is not None
    assert raise_alarm(rule, "all", Decimal(1), NOW) is None
    rule.enabled = False
    rule.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert evaluate_rules(NOW)["cleared"] == 1
    assert not Alarm.objects.filter(cleared_at__isnull=True).exists()


def test_a_measure_that_fails_changes_nothing(monkeypatch) -> None:
    rule = AlarmRule.objects.create(name="r", type=Type.PROCESS_DOWN, threshold=Decimal(60))
    raise_alarm(rule, "worker:h", Decimal(100), NOW)

    def broken(target=""):
        raise ConnectionError("Redis away")

    monkeypatch.setattr("vosadmin.alarms.measures.heartbeats", broken)
    assert evaluate_rules(NOW)["skipped"] == ["r"]
    assert Alarm.objects.filter(cleared_at__isnull=True).count() == 1


def test_an_engine_node_named_in_a_rule_covers_its_workers(redis_client) -> None:
    """With SIP_WORKERS, node1 runs as node1-0, node1-1…: a rule on `engine:node1` (or, for
    the CDR backlog, `node1`) watches them all, and nothing else whose name starts alike."""
    from vosadmin.alarms.measures import heartbeats

    now = time.time()
    for process in ("engine:node1", "engine:node1-0", "engine:node1-1", "engine:node10"):
        redis_client.hset(HEARTBEATS_KEY, process, now)
    redis_client.hset(HEARTBEATS_KEY, "engine:node1-x", now)
    redis_client.hset(HEARTBEATS_KEY, "worker:host1", now)
    assert set(heartbeats("engine:node1")) == {"engine:node1", "engine:node1-0", "engine:node1-1"}
    assert set(heartbeats("engine")) == {
        "engine:node1",
        "engine:node1-0",
        "engine:node1-1",
        "engine:node10",
        "engine:node1-x",
    }
    assert set(heartbeats("worker")) == {"worker:host1"}
    assert len(heartbeats()) == 6


def test_the_retired_worker_heartbeat_schedule_is_removed_on_migrate() -> None:
    """Beat no longer schedules the worker's heartbeat (the worker sends it, watch.py): an
    existing installation's row of it goes at the next migrate."""
    from django.apps import apps
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    retirement = importlib.import_module(
        "vosadmin.alarms.migrations.0002_retire_worker_heartbeat_schedule"
    )
    every = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name=retirement.NAME, task="x", interval=every)
    before = set(PeriodicTask.objects.values_list("name", flat=True))
    retirement.retire(apps, None)
    assert set(PeriodicTask.objects.values_list("name", flat=True)) == before - {retirement.NAME}
    assert "Alarms: evaluate" in before


def test_a_long_process_name_is_raised_once_not_on_every_round(
    redis_client, django_capture_on_commit_callbacks
) -> None:
    """A host name makes a heartbeat's name longer than an alarm's target (64): the alarm
    keeps it shortened, and the next round must know it for the same one."""
    long_name = "worker:" + "h" * 80
    redis_client.hset(HEARTBEATS_KEY, long_name, time.time() - 120)
    AlarmRule.objects.create(name="r", type=Type.PROCESS_DOWN, threshold=Decimal(60))
    with django_capture_on_commit_callbacks(execute=True):
        assert evaluate_rules(NOW) == {"raised": 1, "cleared": 0, "skipped": []}
        assert evaluate_rules(NOW) == {"raised": 0, "cleared": 0, "skipped": []}
    assert Alarm.objects.get().target == long_name[:64]


def test_deleting_a_rule_clears_its_alarms_posts_it_and_keeps_the_history(
    receiver, admin_client, operator_api, django_capture_on_commit_callbacks
) -> None:
    Webhook.objects.create(name="noc", url=receiver.url)
    rule = AlarmRule.objects.create(name="calls", type=Type.CONCURRENCY, threshold=Decimal(7))
    other = AlarmRule.objects.create(name="more", type=Type.CONCURRENCY, threshold=Decimal(9))
    with django_capture_on_commit_callbacks(execute=True):
        raise_alarm(rule, "all", Decimal(8), NOW - timedelta(hours=1))
        clear_alarm(Alarm.objects.get().pk, NOW - timedelta(minutes=30))
        raise_alarm(rule, "all", Decimal(9), NOW)
        raise_alarm(other, "all", Decimal(10), NOW)
        response = admin_client.post(f"/alarm-rules/{rule.pk}/delete/")
    assert response.status_code == 302
    events = ["raised", "cleared", "raised", "raised", "cleared"]  # the last: the rule deleted
    assert receiver.events() == [(event, "all") for event in events]
    kept = Alarm.objects.filter(rule=None).order_by("pk")
    assert [(alarm.rule_name, alarm.threshold, alarm.cleared_at) for alarm in kept] == [
        ("calls", Decimal(7), NOW - timedelta(minutes=30)),
        ("calls", Decimal(7), kept[1].cleared_at),
    ]
    assert kept[1].cleared_at is not None
    history = operator_api.get("/api/v1/alarms/history/").json()["results"]
    assert [(row["rule_name"], row["type"], row["value"]) for row in history] == [
        ("calls", Type.CONCURRENCY, "9.0000"),
        ("calls", Type.CONCURRENCY, "8.0000"),
    ]
    current = operator_api.get("/api/v1/alarms/current/").json()["results"]
    assert [row["rule_name"] for row in current] == ["more"]
    assert "calls" in admin_client.get("/alarms/history/").content.decode()


def in_progress(name: str, side_field: str, minutes_ago: float, connected: bool) -> None:
    """A call of gateway "GW" (on `side_field`'s side) started `minutes_ago`, still going."""
    started = NOW - timedelta(minutes=minutes_ago)
    fields = (
        {"origin_type": "mapping_gateway", "origin": "GW"}
        if side_field == "mapping_gateway"
        else {"origin_type": "mapping_gateway", "origin": "CUSTOMER", "routing_gateway": "GW"}
    )
    CurrentCall.objects.create(
        node="node1",
        call_id=name,
        caller="1",
        callee="2",
        state="connected" if connected else "ringing",
        started_at=started,
        connected_at=started + timedelta(seconds=5) if connected else None,
        **fields,
    )


def measured(rule: AlarmRule) -> dict[str, Decimal]:
    measure, _ = MEASURES[rule.type]
    return measure(rule, NOW)


@pytest.mark.parametrize("side", ["mapping_gateway", "routing_gateway"])
def test_asr_and_acd_count_answered_calls_still_in_progress(side, partitions) -> None:
    """4 calls failed and 6 are answered and still talking: the ASR is 60 %, not 0 %, and the
    ACD counts what those 6 have held so far. A call ended whose CDR is in but which the
    current calls still show (they follow the engine about once a second) counts once."""
    kind = side.split("_")[0]
    store(
        *[
            cdr(f"f{i}", NOW - timedelta(minutes=2), hold_time_ms=0, **{side: "GW"})
            for i in range(4)
        ]
    )
    for i in range(6):
        in_progress(f"a{i}", side, minutes_ago=3, connected=True)
    in_progress("ringing", side, minutes_ago=1, connected=False)  # not decided: not counted
    in_progress("old", side, minutes_ago=20, connected=True)  # started before the period
    store(cdr("a0", NOW - timedelta(minutes=3), hold_time_ms=30_000, **{side: "GW"}))
    asr_rule = AlarmRule.objects.create(
        name="asr", type=f"{kind}_asr", threshold=Decimal(50), period_minutes=5, min_calls=5
    )
    acd_rule = AlarmRule.objects.create(
        name="acd", type=f"{kind}_acd", threshold=Decimal(60), period_minutes=5, min_calls=5
    )
    assert firing(asr_rule, NOW) == {}
    assert measured(asr_rule) == {"GW": Decimal(60)}
    # a0 held 30 s (its CDR); a1…a5 have held 175 s each so far
    assert measured(acd_rule) == {"GW": Decimal(30 + 5 * 175) / 6}


def test_an_alarm_left_open_by_a_rule_deleted_under_an_evaluation_is_cleared(
    receiver, django_capture_on_commit_callbacks
) -> None:
    """An evaluation that read a rule just before it was deleted may commit its alarm just
    after: the next evaluation clears it, webhook included."""
    Webhook.objects.create(name="noc", url=receiver.url)
    rule = AlarmRule.objects.create(name="gone", type=Type.CONCURRENCY, threshold=Decimal(7))
    with django_capture_on_commit_callbacks(execute=True):
        alarm = raise_alarm(rule, "all", Decimal(8), NOW)
    Alarm.objects.filter(pk=alarm.pk).update(rule=None)  # what the deletion's SET NULL does
    AlarmRule.objects.filter(pk=rule.pk).delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert evaluate_rules(NOW)["cleared"] == 1
    assert receiver.events() == [("raised", "all"), ("cleared", "all")]
    assert not Alarm.objects.filter(cleared_at__isnull=True).exists()


def test_asr_counts_answered_calls_as_the_report_does(partitions) -> None:
    """Answered means a connect time (SPEC §4.1), as in the gateway report: a call answered
    and billed with no hold time (one a restarted engine billed, stop = its answer) is not a
    failure — the ASR floor alarm fired at 0 % on a gateway the report showed at 100 %."""
    now = at(12)
    start = now - timedelta(minutes=2)
    answered = start + timedelta(seconds=2)
    store(*[cdr(f"restart-{i}", start, connect_time=answered, hold_time_ms=0) for i in range(10)])
    rule = AlarmRule.objects.create(
        name="asr", type=Type.MAPPING_ASR, threshold=Decimal(50), period_minutes=5, min_calls=5
    )
    measure, _ = MEASURES[rule.type]
    assert measure(rule, now) == {"GW-ACME": Decimal(100)}


def test_compose_names_the_hosts_whose_heartbeats_are_named_after_them() -> None:
    """Worker and beat heartbeats are "<kind>:<host name>": with a container's random name,
    every recreated container left its predecessor "down" for the process-down alarm forever."""
    from pathlib import Path

    import yaml

    compose = Path(__file__).resolve().parents[2] / "docker-compose.yml"
    services = yaml.safe_load(compose.read_text())["services"]
    assert {kind: services[kind].get("hostname") for kind in ("worker", "beat")} == {
        "worker": "worker",
        "beat": "beat",
    }
