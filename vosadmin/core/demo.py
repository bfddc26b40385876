"""Demo data for a fresh console: a few gateways, phones, static lists, tariffs, accounts with
balances, vendors' price lists (`billing.demo`) and two days of CDRs.

Addresses are from the documentation ranges (RFC 5737) except the loopback ones, which let a
developer try calls with sipp against `make run` straight away (see README, "Try it").
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from billing.models import Account, RateGroup
from blacklist.models import BlacklistGroup, BlacklistNumber, SystemWhitelistEntry
from softswitch.models import MappingGateway, Phone, RoutingGateway

DEMO_CDR_COUNT = 2000

MAPPING_GATEWAYS = [
    {"name": "GW-ACME", "ips": ["198.51.100.10"], "capacity": 60, "memo": "Wholesale customer"},
    {"name": "GW-GLOBALTEL", "ips": ["198.51.100.20", "198.51.100.21"], "capacity": 120},
    {"name": "GW-LOCAL-TEST", "ips": ["127.0.0.2"], "memo": "sipp from 127.0.0.2 (see README)"},
]
ROUTING_GATEWAYS = [
    {"name": "VENDOR-ALPHA", "host": "192.0.2.50", "prefixes": ["86", "852"], "priority": 1},
    {
        "name": "VENDOR-BRAVO",
        "host": "192.0.2.60",
        "prefixes": ["44", "49", "33"],
        "priority": 1,
        "transport": "tcp",
        "options_check": True,
    },
    {
        "name": "VENDOR-CHARLIE",
        "host": "192.0.2.70",
        "prefixes": ["*"],
        "priority": 5,
        "strip_digits": 0,
        "add_prefix": "",
        "memo": "Catch-all backup route",
    },
    {
        "name": "LOCAL-SIPP-UAS",
        "host": "127.0.0.1",
        "port": 5090,
        "prefixes": ["999"],
        "strip_digits": 3,
        "memo": "sipp -sn uas -p 5090 (see README)",
    },
]


def demo_data_exists() -> bool:
    """Whether the database already holds configuration (then no demo data is added)."""
    configured = (MappingGateway, Phone, RoutingGateway, Account, RateGroup)
    return any(model.objects.exists() for model in configured)


@transaction.atomic
def create_demo_data() -> dict[str, int]:
    """Create the demo configuration and CDRs; returns what was created, by kind."""
    from billing.demo import create_billing_demo
    from billing.generation import Population, generate_cdrs
    from billing.generation_rating import CdrRating
    from billing.reports import rebuild

    fraud = BlacklistGroup.objects.create(
        name="Known fraud", applies_to_all=True, memo="Numbers seen in IRSF fraud reports"
    )
    premium = BlacklistGroup.objects.create(
        name="Premium destinations", memo="Callee list for retail phones"
    )
    BlacklistNumber.objects.bulk_create(
        [
            BlacklistNumber(
                group=fraud, number="882", match="prefix", memo="International networks"
            ),
            BlacklistNumber(group=fraud, number="4474000000", match="exact"),
            BlacklistNumber(group=premium, number="900", match="prefix"),
        ]
    )
    SystemWhitelistEntry.objects.create(number="112", memo="Emergency")
    for data in MAPPING_GATEWAYS:
        MappingGateway.objects.create(**data)
    for data in ROUTING_GATEWAYS:
        RoutingGateway.objects.create(**data)
    phones = [
        Phone.objects.create(e164=str(1001 + i), password=secrets.token_urlsafe(9))
        for i in range(5)
    ]
    for phone in phones[:3]:
        phone.callee_blacklist_groups.add(premium)
    billing = create_billing_demo()
    population = Population(
        phones=[phone.e164 for phone in phones],
        mapping_gateways=[(data["name"], data["ips"][0]) for data in MAPPING_GATEWAYS[:2]],
        rating=CdrRating.from_database(),
    )
    end = timezone.now()
    cdrs = generate_cdrs(DEMO_CDR_COUNT, days=2, end=end, seed=7, population=population)
    for _ in rebuild(end - timedelta(days=2), end):  # the gateway report shows them at once
        pass
    return {
        "mapping gateways": len(MAPPING_GATEWAYS),
        "routing gateways": len(ROUTING_GATEWAYS),
        "phones": len(phones),
        "black list groups": 2,
        **billing,
        "CDRs": cdrs,
    }
