"""OPTIONS probing of routing gateways (SS_SIP_OPTIONS_CHECK_PERIOD).

A gateway with `options_check` gets an OPTIONS every period; if the previous probe is still
unanswered when the next one is due, the gateway is offline and routing skips it until it
answers again. Any response, even an error, means the gateway is alive. The status is also
published in Redis (`vosadmin:gateway:status`, id → online/offline) for the console.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from softswitch.engine.transport import Flow
from softswitch.rules.domain import RoutingGatewayTarget

if TYPE_CHECKING:
    from softswitch.engine.switch import Switch

logger = logging.getLogger(__name__)
STATUS_KEY = "vosadmin:gateway:status"


class GatewayMonitor:
    """Keeps routing gateways' online status from OPTIONS probes."""

    def __init__(self, switch: Switch) -> None:
        self.switch = switch
        self.offline: set[int] = set()
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
        now = time.monotonic()
        period = self.switch.parameter("SS_SIP_OPTIONS_CHECK_PERIOD")
        gateways = self.switch.config.routing_gateways
        for gateway in gateways.values():
            if self._probing(gateway) and now >= self.next_probe.get(gateway.id, 0.0):
                self._probe(gateway, now, period)
        for gone in set(self.next_probe) - set(gateways):
            self._forget(gone)

    def _probe(self, gateway: RoutingGatewayTarget, now: float, period: int) -> None:
        if gateway.id in self.pending:
            self._set_status(gateway, online=False)
        self.pending.add(gateway.id)
        self.next_probe[gateway.id] = now + period
        flow = Flow(gateway.transport, (gateway.host, gateway.port))
        self.switch.send_options(
            f"sip:{gateway.host}:{gateway.port}",
            flow,
            on_response=lambda response, g=gateway: self._answered(g),
            on_failure=lambda reason, g=gateway: self._failed(g, reason),
        )

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
        redis: Any = self.switch.counters.redis
        task = asyncio.get_running_loop().create_task(
            redis.hset(STATUS_KEY, str(gateway_id), status)
        )
        task.add_done_callback(lambda done: done.exception())  # a lost update is re-sent on change

    def _forget(self, gateway_id: int) -> None:
        self.offline.discard(gateway_id)
        self.pending.discard(gateway_id)
        self.next_probe.pop(gateway_id, None)

    def stop(self) -> None:
        self.running = False
