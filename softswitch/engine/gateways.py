"""OPTIONS probing of routing gateways (SS_SIP_OPTIONS_CHECK_PERIOD).

A gateway with `options_check` gets an OPTIONS every period; if the previous probe is still
unanswered when the next one is due, the gateway is offline and routing skips it until it
answers again. Any response, even an error, means the gateway is alive; a host name that does
not resolve, or a probe that cannot be sent, means it is offline. The status is also
published in Redis (`vosadmin:gateway:status`, id → online/offline) for the console.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from redis.asyncio import Redis

from softswitch.engine.clock import Clock
from softswitch.engine.resolver import HostResolver
from softswitch.engine.transport import Flow
from softswitch.redis_keys import GATEWAY_STATUS_KEY
from softswitch.rules.domain import RoutingGatewayTarget
from softswitch.sip.message import Response

if TYPE_CHECKING:
    from softswitch.engine.config import Config

logger = logging.getLogger(__name__)


class Prober(Protocol):
    """What the gateway monitor needs from the switch: its clock, the configuration, and a
    way to send OPTIONS."""

    clock: Clock

    @property
    def config(self) -> Config: ...

    def parameter(self, name: str) -> Any: ...

    def send_options(
        self,
        target: str,
        flow: Flow,
        on_response: Callable[[Response], None],
        on_failure: Callable[[str], None] | None = None,
    ) -> None: ...


class GatewayMonitor:
    """Keeps routing gateways' online status from OPTIONS probes."""

    def __init__(self, switch: Prober, resolver: HostResolver, redis: Redis) -> None:
        self.switch = switch
        self.resolver = resolver
        self.redis = redis  # where the status is published
        self.offline: set[int] = set()
        self.broken: set[int] = set()  # gateways whose last probe raised (logged once)
        self.pending: set[int] = set()
        self.next_probe: dict[int, float] = {}
        self.running = True

    def is_online(self, gateway: RoutingGatewayTarget) -> bool:
        """Routing may use the gateway (unprobed gateways are always online)."""
        return gateway.id not in self.offline or not self._probing(gateway)

    def _probing(self, gateway: RoutingGatewayTarget) -> bool:
        return gateway.options_check and self.switch.parameter("SS_SIP_OPTIONS_CHECK_PERIOD") > 0

    def tick(self) -> None:
        """Probe the gateways that are due (called every second)."""
        if not self.running:
            return
        now = self.switch.clock.monotonic()
        period = self.switch.parameter("SS_SIP_OPTIONS_CHECK_PERIOD")
        gateways = self.switch.config.routing_gateways
        for gateway in gateways.values():
            self.resolver.refresh(gateway.host)
            if self._probing(gateway) and now >= self.next_probe.get(gateway.id, 0.0):
                self._probe(gateway, now, period)
        for gone in set(self.next_probe) - set(gateways):
            self._forget(gone)

    def _probe(self, gateway: RoutingGatewayTarget, now: float, period: int) -> None:
        if gateway.id in self.pending:
            self._set_status(gateway, online=False)
        self.pending.add(gateway.id)
        self.next_probe[gateway.id] = now + period
        task = asyncio.get_running_loop().create_task(self._send_probe(gateway))
        task.add_done_callback(lambda done: self._probe_done(gateway, done))

    async def _send_probe(self, gateway: RoutingGatewayTarget) -> None:
        """Resolve the gateway's host (a name that does not resolve is offline), send OPTIONS."""
        address = await self.resolver.resolve(gateway.host)
        if not self.running:
            return
        if address is None:
            self._set_status(gateway, online=False)
            return
        self.switch.send_options(
            f"sip:{gateway.host}:{gateway.port}",
            Flow(gateway.transport, (address, gateway.port)),
            on_response=lambda response: self._answered(gateway),
            on_failure=lambda reason: self._failed(gateway, reason),
        )

    def _probe_done(self, gateway: RoutingGatewayTarget, task: asyncio.Task[None]) -> None:
        """A probe that raised marks its gateway offline; logged with its traceback once, not
        at every period, until a probe of that gateway works again."""
        error = None if task.cancelled() else task.exception()
        if error is None:
            self.broken.discard(gateway.id)
            return
        if gateway.id not in self.broken:
            self.broken.add(gateway.id)
            logger.error("OPTIONS probe of routing gateway %s failed", gateway.name, exc_info=error)
        if self.running:
            self._set_status(gateway, online=False)

    def _answered(self, gateway: RoutingGatewayTarget) -> None:
        self.pending.discard(gateway.id)
        self._set_status(gateway, online=True)

    def _failed(self, gateway: RoutingGatewayTarget, reason: str) -> None:
        if reason == "transport":  # refused or unreachable: no need to wait for the next round
            self._set_status(gateway, online=False)

    def _set_status(self, gateway: RoutingGatewayTarget, online: bool) -> None:
        was_online = gateway.id not in self.offline
        if online == was_online:
            return
        if online:
            self.offline.discard(gateway.id)
        else:
            self.offline.add(gateway.id)
        logger.info("routing gateway %s is %s", gateway.name, "online" if online else "offline")
        self._publish(gateway.id, "online" if online else "offline")

    def _publish(self, gateway_id: int, status: str) -> None:
        # redis-py types its commands as awaitables, not coroutines: ensure_future takes those
        # (and makes the same task on the running loop).
        task = asyncio.ensure_future(self.redis.hset(GATEWAY_STATUS_KEY, str(gateway_id), status))
        task.add_done_callback(lambda done: done.exception())  # a lost update is re-sent on change

    def _forget(self, gateway_id: int) -> None:
        self.offline.discard(gateway_id)
        self.broken.discard(gateway_id)
        self.pending.discard(gateway_id)
        self.next_probe.pop(gateway_id, None)

    def stop(self) -> None:
        self.running = False
