"""Rate groups, rates and accounts reach the engine's configuration (SPEC §8.3, ADR 0006):
loaded with everything else, reloaded by NOTIFY, balances included."""

from __future__ import annotations

import asyncio
import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from billing.choices import AccountTypeChoices
from billing.models import Account, Rate, RateGroup
from billing.payments import make_payment
from billing.rates_csv import import_rates
from softswitch.engine import store
from softswitch.engine.config import ConfigCache
from softswitch.engine.listener import NotificationListener
from softswitch.models import MappingGateway, RoutingGateway
from softswitch.rules.domain import BillingAccount
from tests.engine.test_cdr_charges import line
from tests.helpers import listening
from vosadmin.core.notify import CONFIG_CHANNEL

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def rate(group: RateGroup, prefix: str, fee: str) -> Rate:
    return Rate.objects.create(
        rate_group=group, prefix=prefix, period=60, fee=Decimal(fee), effective_from=NOW
    )


def run_and_close(scenario: Any, executor: ThreadPoolExecutor) -> None:
    """Run `scenario()` on a new loop, then close the database connection of each of the
    executor's threads (the test database is dropped after the test)."""
    try:
        asyncio.run(scenario())
    finally:
        threads = executor._max_workers
        together = threading.Barrier(threads)  # one close in each thread
        close = lambda: (together.wait(5), store.close_connection())  # noqa: E731
        for closed in [executor.submit(close) for _ in range(threads)]:
            closed.result()
        executor.shutdown()


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

    run_and_close(scenario, executor)


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


def database_params() -> dict:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return params


@pytest.mark.django_db(transaction=True)
def test_a_node_applies_its_own_charges_and_hears_only_the_others(admin_user) -> None:
    """A CDR batch returns the balances it charged: its node puts them in its cache and skips
    the batch's NOTIFY, which names it; other nodes' charges and payments still reload."""
    alice = Account.objects.create(account="A1", balance=Decimal("10"))
    executor = ThreadPoolExecutor(1)
    heard: list[tuple[str, Any]] = []

    async def run(function, *args, **kwargs):
        call = functools.partial(function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(executor, call)

    async def on_notify(kind: str, action: str, key: Any) -> None:
        heard.append((kind, key))
        await cache.apply_notification(kind, action, key)

    async def until_heard(count: int) -> None:
        for _ in range(100):
            if len(heard) >= count:
                return
            await asyncio.sleep(0.05)

    async def scenario() -> None:
        await cache.load_all()
        listener = NotificationListener(database_params(), on_notify, cache.refresh, node="n1")
        listening = asyncio.ensure_future(listener.step())
        await listener.connected.wait()
        try:
            inserted = await run(store.write_cdr_batch, line(1, alice, "1.50"), origin="n1")
            cache.apply_balances(inserted.balances)
            assert cache.config.account(alice.pk).balance == Decimal("8.50")
            await run(store.write_cdr_batch, line(2, alice, "0.25"), origin="n2")
            await until_heard(1)
            await run(make_payment, alice.pk, "5", "", admin_user)
            await until_heard(2)
            await asyncio.sleep(0.3)  # the reloads, 0.1 s after their notifications
        finally:
            listening.cancel()
        assert heard == [("account", [alice.pk]), ("account", alice.pk)]
        assert cache.config.account(alice.pk).balance == Decimal("13.25")

    cache = ConfigCache(executor)
    run_and_close(scenario, executor)


@pytest.mark.django_db(transaction=True)
def test_an_account_query_older_than_the_nodes_own_charge_does_not_undo_it(monkeypatch) -> None:
    """A reload whose query ran before this node's batch charged the account must not put the
    older balance back: the account keeps the balance its batch returned and is queried again."""
    alice = Account.objects.create(account="A2", balance=Decimal("10"))
    executor = ThreadPoolExecutor(2)
    queried, resume = threading.Event(), threading.Event()
    queries: list[list[int]] = []
    load_accounts = store.load_accounts

    def slow_load_accounts(ids):
        loaded = load_accounts(ids)  # the query sees the balance before the batch
        queries.append(sorted(ids))
        queried.set()
        resume.wait(5)
        return loaded

    monkeypatch.setattr(store, "load_accounts", slow_load_accounts)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        reload = asyncio.ensure_future(cache.apply_notification("account", "update", alice.pk))
        await loop.run_in_executor(None, queried.wait, 5)
        batch = functools.partial(store.write_cdr_batch, line(3, alice, "2.00"), origin="n1")
        cache.apply_balances((await loop.run_in_executor(executor, batch)).balances)
        resume.set()
        await reload
        assert cache.config.account(alice.pk).balance == Decimal("8.00")  # not the older 10
        for _ in range(50):  # the second query, 0.1 s later
            if len(queries) == 2:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.05)
        assert queries == [[alice.pk], [alice.pk]]
        assert cache.config.account(alice.pk).balance == Decimal("8.00")

    cache = ConfigCache(executor)
    cache.config.accounts = load_accounts([alice.pk])
    run_and_close(scenario, executor)
