"""Routing (SPEC §3.3 step 4): which routing gateways a call tries, in which order."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from billing.choices import CdrEndReasonChoices as EndReason
from softswitch.rules.domain import RoutingGatewayTarget


@dataclass(frozen=True, slots=True)
class RouteChoice:
    """One gateway to try and the callee number as that gateway gets it."""

    gateway: RoutingGatewayTarget
    dialled: str


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """The gateways to try in order, or why there are none (NO_ROUTE / NO_AVAILABLE_GATEWAY)."""

    choices: tuple[RouteChoice, ...]
    failure: EndReason | None = None


def plan_route(
    callee: str,
    gateways: Iterable[RoutingGatewayTarget],
    is_available: Callable[[RoutingGatewayTarget], bool],
    switch_limit: int | None,
) -> RoutePlan:
    """Gateways whose prefixes match the callee: longest prefix first, then priority, then name.

    Locked gateways and those `is_available` refuses (full, or offline by OPTIONS probing) are
    skipped; at most `switch_limit` gateways are kept (None = all).
    """
    matched = []
    for gateway in gateways:
        length = gateway.matched_prefix_length(callee)
        if length is not None:
            matched.append((-length, gateway.priority, gateway.name, gateway))
    if not matched:
        return RoutePlan((), EndReason.NO_ROUTE)
    matched.sort(key=lambda item: item[:3])
    usable = [
        RouteChoice(gateway, gateway.dialled_number(callee))
        for *_, gateway in matched
        if not gateway.locked and is_available(gateway)
    ]
    if not usable:
        return RoutePlan((), EndReason.NO_AVAILABLE_GATEWAY)
    return RoutePlan(tuple(usable[:switch_limit] if switch_limit else usable))
