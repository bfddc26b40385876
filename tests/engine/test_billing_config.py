"""Rate groups, rates and accounts reach the engine's configuration (SPEC §8.3, ADR 0006):
loaded with everything else, reloaded by NOTIFY, balances included."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing.choices import AccountTypeChoices
from billing.models import Account, Rate, RateGroup
from billing.payments import make_payment
from billing.rates_csv import import_rates
from softswitch.engine import store
from softswitch.engine.config import ConfigCache
from softswitch.models import MappingGateway, RoutingGateway
from softswitch.rules.domain import BillingAccount
from tests.helpers import listening
from vosadmin.core.notify import CONFIG_CHANNEL

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def rate(group: RateGroup, prefix: str, fee: str) -> Rate:
    return Rate.objects.create(
        rate_group=group, prefix=prefix, period=60, fee=Decimal(fee), effective_from=NOW
    )


@pytest.fixture
def retail(transactional_db) -> RateGroup:
    group = RateGroup.objects.create(name="retail")
    rate(group, "44", "0.10")
    rate(group, "4420", "0.05")
    return group


@pytest.mark.django_db(transaction=True)
def test_accounts_and_rate_tables_load(retail: RateGroup) -> None:
    customer = Account.objects.create(
        account="C1", rate_group=retail, credit_limit=Decimal("5"), locked=True
    )
    vendor = Account.objects.create(account="V1", type=AccountTypeChoices.CLEARING)
    gateway = MappingGateway.objects.create(name="GW", ips=["192.0.2.1"], account=customer)
    target = RoutingGateway.objects.create(
        name="VENDOR", host="192.0.2.9", prefixes=["44"], clearing_account=vendor
    )

    accounts = store.load_accounts()
    assert accounts[customer.pk].rate_group_id == retail.pk
    assert (accounts[customer.pk].credit_limit, accounts[customer.pk].locked) == (5, True)
    assert accounts[customer.pk].spendable == Decimal(5)
    assert accounts[vendor.pk].is_clearing and not accounts[customer.pk].is_clearing
    table = store.load_rate_tables()[retail.pk]
    assert table.lookup("442071234567", NOW).prefix == "4420"
    assert table.lookup("4413", NOW).fee == Decimal("0.10")
    assert store.load_mapping_gateways()[gateway.pk].account_id == customer.pk
    assert store.load_routing_gateways()[target.pk].clearing_account_id == vendor.pk


@pytest.mark.django_db(transaction=True)
def test_changes_notify_the_engine(retail: RateGroup, admin_user) -> None:
    with listening(CONFIG_CHANNEL) as receive:
        account = Account.objects.create(account="C2", rate_group=retail)
        assert receive() == [{"kind": "account", "action": "create", "key": account.pk}]
        make_payment(account.pk, "10", "", admin_user)
        assert {"kind": "account", "action": "update", "key": account.pk} in receive()
        rate(retail, "33", "0.20")
        assert receive() == [{"kind": "rate_group", "action": "update", "key": retail.pk}]
        import_rates(retail, "prefix,period,fee\n49,60,0.3\n", admin_user)
        assert {"kind": "rate_group", "action": "update", "key": retail.pk} in receive()


@pytest.mark.django_db(transaction=True)
def test_config_cache_reloads_billing_by_notification(retail: RateGroup, admin_user) -> None:
    account = Account.objects.create(account="C3", rate_group=retail)
    doomed = Account.objects.create(account="C4", rate_group=retail)
    executor = ThreadPoolExecutor(1)

    async def run(function, *args):
        return await asyncio.get_running_loop().run_in_executor(executor, function, *args)

    async def scenario() -> None:
        cache = ConfigCache(executor)
        await cache.load_all()
        config = cache.config
        assert config.account(account.pk).balance == 0
        assert config.rate_table_for_account(account.pk).lookup("33", NOW) is None

        await run(make_payment, account.pk, "12.5", "", admin_user)
        await cache.apply_notification("account", "update", account.pk)
        assert config.account(account.pk).balance == Decimal("12.5")

        await run(rate, retail, "33", "0.20")
        await cache.apply_notification("rate_group", "update", retail.pk)
        assert config.rate_table_for_account(account.pk).lookup("33", NOW).fee == Decimal("0.2")

        await run(Account.objects.filter(pk=doomed.pk).delete)
        await cache.apply_notification("account", "delete", [doomed.pk])
        assert config.account(doomed.pk) is None
        assert config.rate_table_for_account(doomed.pk) is None

    try:
        asyncio.run(scenario())
    finally:
        executor.submit(store.close_connection).result()
        executor.shutdown()


@pytest.mark.django_db(transaction=True)
def test_account_notifications_close_together_share_one_reload(monkeypatch) -> None:
    """Every CDR batch of every node notifies the accounts it charged: the engine reloads
    those of 100 ms in one query, not one query each."""
    first = Account.objects.create(account="N1", balance=Decimal("1"))
    second = Account.objects.create(account="N2", balance=Decimal("2"))
    loads: list[list[int]] = []

    def load_accounts(ids):
        loads.append(sorted(ids))
        return {pk: BillingAccount(pk, 0, None, Decimal(0), False, Decimal(pk)) for pk in ids}

    monkeypatch.setattr(store, "load_accounts", load_accounts)

    async def scenario() -> None:
        cache = ConfigCache(ThreadPoolExecutor(1))
        await asyncio.gather(
            cache.apply_notification("account", "update", [first.pk]),
            cache.apply_notification("account", "update", second.pk),
            cache.apply_notification("account", "update", [first.pk, second.pk]),
        )
        assert cache.config.account(second.pk).balance == second.pk
        await cache.apply_notification("account", "update", first.pk)

    asyncio.run(scenario())
    assert loads == [sorted([first.pk, second.pk]), [first.pk]]
