"""Routing: longest prefix first, then priority; skip locked and unavailable; strip and add."""

from __future__ import annotations

from billing.choices import CdrEndReasonChoices as EndReason
from softswitch.rules.domain import RoutingGatewayTarget
from softswitch.rules.routing import plan_route


def gateway(
    name: str, prefixes: tuple[str, ...], priority: int = 0, **extra
) -> RoutingGatewayTarget:
    values = {
        "id": hash(name) % 1000,
        "name": name,
        "host": "192.0.2.1",
        "port": 5060,
        "transport": "udp",
        "prefixes": prefixes,
        "priority": priority,
        "capacity": 0,
        "locked": False,
        "strip_digits": 0,
        "add_prefix": "",
        "options_check": False,
    }
    return RoutingGatewayTarget(**{**values, **extra})


def names(plan) -> list[str]:
    return [choice.gateway.name for choice in plan.choices]


ALWAYS = lambda gateway: True  # noqa: E731


def test_longest_prefix_first_then_priority_then_name() -> None:
    gateways = [
        gateway("ANY", ("*",)),
        gateway("CN", ("86",), priority=5),
        gateway("CN-MOBILE", ("8613",), priority=9),
        gateway("CN-B", ("86",), priority=1),
        gateway("CN-A", ("86",), priority=1),
        gateway("UK", ("44",)),
    ]
    assert names(plan_route("8613800000000", gateways, ALWAYS, None)) == [
        "CN-MOBILE",
        "CN-A",
        "CN-B",
        "CN",
        "ANY",
    ]
    assert names(plan_route("4420", gateways, ALWAYS, None)) == ["UK", "ANY"]


def test_a_gateway_counts_with_its_best_prefix() -> None:
    plan = plan_route(
        "8613", [gateway("MULTI", ("8", "8613")), gateway("CN", ("86",))], ALWAYS, None
    )
    assert names(plan) == ["MULTI", "CN"]


def test_no_match_is_no_route() -> None:
    plan = plan_route("4420", [gateway("CN", ("86",))], ALWAYS, None)
    assert plan.choices == () and plan.failure is EndReason.NO_ROUTE


def test_locked_and_unavailable_gateways_are_skipped() -> None:
    gateways = [
        gateway("LOCKED", ("86",), locked=True),
        gateway("FULL", ("86",)),
        gateway("OK", ("86",), priority=3),
    ]
    plan = plan_route("861", gateways, lambda g: g.name != "FULL", None)
    assert names(plan) == ["OK"]
    plan = plan_route("861", gateways[:2], lambda g: g.name != "FULL", None)
    assert plan.failure is EndReason.NO_AVAILABLE_GATEWAY


def test_switch_limit_caps_the_gateways_tried() -> None:
    gateways = [gateway(f"G{i}", ("86",), priority=i) for i in range(5)]
    assert names(plan_route("86", gateways, ALWAYS, 2)) == ["G0", "G1"]
    assert len(plan_route("86", gateways, ALWAYS, None).choices) == 5


def test_strip_digits_then_add_prefix() -> None:
    plan = plan_route(
        "0086138", [gateway("X", ("0086",), strip_digits=2, add_prefix="+")], ALWAYS, None
    )
    assert plan.choices[0].dialled == "+86138"
