"""The console's Prometheus `/metrics` (SPEC §10): the switch as a whole, read from Redis and
the database at scrape time.

Each engine node serves its own process's metrics (softswitch/engine/metrics.py); this endpoint
adds what only the shared state knows: calls and registrations per node, the security counters
of the last whole minute, each node's CDR journal backlog, each process's heartbeat age and
the current alarms per level.
Scrapers are let in by address (METRICS_ALLOWED_ADDRESSES, CIDRs) or by an administrator's
API token (`Authorization: Token …`); anyone else gets 403.
"""

from __future__ import annotations

import functools
import ipaddress
import time
from collections.abc import Iterator
from typing import Any

import redis
from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from softswitch.redis_keys import (
    HEARTBEATS_KEY,
    SECURITY_EVENTS,
    cdr_backlog_key,
    security_key,
)
from vosadmin.core.live import redis_client
from vosadmin.core.roles import Role, has_role


@functools.cache
def allowed_networks(addresses: tuple[str, ...]) -> tuple[Any, ...]:
    """The allow-list as networks (a bare address is a /32 or /128)."""
    return tuple(ipaddress.ip_network(address, strict=False) for address in addresses)


def scraper_allowed(request: HttpRequest) -> bool:
    """An allow-listed address, or an administrator's API token."""
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        address = None
    networks = allowed_networks(tuple(settings.METRICS_ALLOWED_ADDRESSES))
    if address is not None and any(address in network for network in networks):
        return True
    header = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(header) != 2 or header[0].lower() != "token":
        return False
    try:
        user, _ = TokenAuthentication().authenticate_credentials(header[1])
    except AuthenticationFailed:
        return False
    return has_role(user, Role.ADMINISTRATOR)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics in the Prometheus text format."""
    if not scraper_allowed(request):
        return HttpResponse(
            "Metrics are for allow-listed scrapers and administrators' API tokens.\n",
            status=403,
            content_type="text/plain",
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ConsoleCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


class ConsoleCollector(Collector):
    """Switch-wide gauges, read when scraped."""

    def collect(self) -> Iterator[Any]:
        yield from self._database()
        try:
            yield from self._redis()
        except redis.RedisError:
            yield GaugeMetricFamily("vosadmin_redis_up", "Whether Redis answered.", value=0)
            return
        yield GaugeMetricFamily("vosadmin_redis_up", "Whether Redis answered.", value=1)

    def _database(self) -> Iterator[Any]:
        from softswitch.models import CurrentCall, Registration

        for name, documentation, model in (
            ("vosadmin_sip_calls_in_progress", "Calls in progress, per engine node.", CurrentCall),
            ("vosadmin_sip_registrations", "Registered phones, per engine node.", Registration),
        ):
            family = GaugeMetricFamily(name, documentation, labels=["node"])
            for row in model.objects.values("node").annotate(count=Count("pk")).order_by():
                family.add_metric([row["node"]], row["count"])
            yield family
        yield self._alarms()

    @staticmethod
    def _alarms() -> Any:
        from vosadmin.alarms.choices import AlarmLevelChoices
        from vosadmin.alarms.models import Alarm

        current = Alarm.objects.filter(cleared_at__isnull=True)
        counts = dict(current.values_list("level").annotate(Count("pk")).order_by())
        family = GaugeMetricFamily(
            "vosadmin_alarms_current", "Current (uncleared) alarms, by level 0-3.", labels=["level"]
        )
        for level in AlarmLevelChoices.values:
            family.add_metric([str(level)], counts.get(level, 0))
        return family

    def _redis(self) -> Iterator[Any]:
        client = redis_client()
        now = time.time()
        beats = client.hgetall(HEARTBEATS_KEY)
        ages = GaugeMetricFamily(
            "vosadmin_process_heartbeat_age_seconds",
            "Seconds since each process (engine node, worker, beat) last beat.",
            labels=["process"],
        )
        for process, beat in sorted(beats.items()):
            ages.add_metric([process], max(0.0, now - float(beat)))
        nodes = [process.split(":", 1)[1] for process in beats if process.startswith("engine:")]
        backlogs = client.mget([cdr_backlog_key(node) for node in nodes]) if nodes else []
        backlog = GaugeMetricFamily(
            "vosadmin_cdr_journal_backlog",
            "CDRs journaled on an engine node and not yet in the database.",
            labels=["node"],
        )
        for node, value in zip(nodes, backlogs, strict=True):
            if value is not None:
                backlog.add_metric([node], int(value))
        last_minute = client.hgetall(security_key(int(now // 60) - 1))
        security = GaugeMetricFamily(
            "vosadmin_sip_security_events_last_minute",
            "Security events of the last whole minute, all engine nodes.",
            labels=["event"],
        )
        for event in SECURITY_EVENTS:
            security.add_metric([event], int(last_minute.get(event, 0)))
        yield from (ages, backlog, security)
