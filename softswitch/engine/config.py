"""The engine's configuration cache: loaded at start, reloaded by kind on NOTIFY (ADR 0002),
fully refreshed periodically as a safety net, and kept as it is while the database is down."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, TypeVar

from billing.rating import RateTable
from softswitch.engine import store
from softswitch.rules.domain import (
    BillingAccount,
    DynamicEntries,
    Lists,
    MappingGatewayAccount,
    PhoneAccount,
    RoutingGatewayTarget,
)

logger = logging.getLogger(__name__)

ACCOUNT_RELOAD_DELAY = 0.1  # seconds during which account notifications share one reload
NO_LOCK = contextlib.nullcontext()
LIVE_STATE_KINDS = ("registration", "current_call")  # notified, but not configuration
# Kinds whose reload replaces all the static lists at once, whatever the key: they share one
# reload (and its lock), so an older reload never lands after a newer one.
LIST_KINDS = ("blacklist_group", "blacklist_number", "whitelist")
# What a full load reloads again if notified while it ran (accounts have their own guard,
# `_charged_during_load`; an unknown kind is a full load itself).
RELOADED_AGAIN_KINDS = frozenset(
    {
        "phone",
        "parameter",
        "mapping_gateway",
        "routing_gateway",
        "blacklist_group",
        "blacklist_number",
        "whitelist",
        "dynamic_blacklist",
        "rate_group",
    }
)

_T = TypeVar("_T")


@dataclass
class Config:
    """Everything the engine decides with, as of the last (re)load."""

    parameters: dict[str, Any] = field(default_factory=dict)
    phones: dict[int, PhoneAccount] = field(default_factory=dict)
    phones_by_number: dict[str, PhoneAccount] = field(default_factory=dict)
    mapping_gateways: dict[int, MappingGatewayAccount] = field(default_factory=dict)
    gateways_by_source: dict[tuple[str, int | None], MappingGatewayAccount] = field(
        default_factory=dict
    )
    mapping_ips: frozenset[str] = frozenset()
    routing_gateways: dict[int, RoutingGatewayTarget] = field(default_factory=dict)
    routing_hosts: frozenset[str] = frozenset()
    lists: Lists = field(default_factory=Lists)
    dynamic: DynamicEntries = field(default_factory=DynamicEntries)
    accounts: dict[int, BillingAccount] = field(default_factory=dict)
    rate_tables: dict[int, RateTable] = field(default_factory=dict)  # by rate group id

    def account(self, account_id: int | None) -> BillingAccount | None:
        """The account of that id (None for None or a deleted account)."""
        return None if account_id is None else self.accounts.get(account_id)

    def rate_table_for_account(self, account_id: int | None) -> RateTable | None:
        """The rate table of an account's rate group: a customer's tariff, or a vendor's
        price list for a clearing account; None when the account or its group is missing."""
        account = self.account(account_id)
        if account is None or account.rate_group_id is None:
            return None
        return self.rate_tables.get(account.rate_group_id)

    def set_phones(self, phones: dict[int, PhoneAccount]) -> None:
        self.phones = phones
        self.phones_by_number = {phone.e164: phone for phone in phones.values()}

    def set_mapping_gateways(self, gateways: dict[int, MappingGatewayAccount]) -> None:
        self.mapping_gateways = gateways
        self.gateways_by_source = {
            key: gateway for gateway in gateways.values() for key in gateway.source_keys
        }
        self.mapping_ips = frozenset(ip for ip, _ in self.gateways_by_source)

    def set_routing_gateways(self, gateways: dict[int, RoutingGatewayTarget]) -> None:
        self.routing_gateways = gateways
        self.routing_hosts = frozenset(gateway.host for gateway in gateways.values())

    def is_gateway_ip(self, ip: str) -> bool:
        """Whether a mapping or routing gateway sends from this address."""
        return ip in self.mapping_ips or ip in self.routing_hosts

    def mapping_gateway_for(self, ip: str, port: int) -> MappingGatewayAccount | None:
        """The mapping gateway an INVITE from ip:port belongs to (IP-and-port entries first)."""
        return self.gateways_by_source.get((ip, port)) or self.gateways_by_source.get((ip, None))

    def parameter(self, name: str) -> Any:
        return self.parameters[name]


class ConfigCache:
    """Owns a `Config` and reloads parts of it in an executor.

    Reloads of one kind are serialised; a notification that arrives while a reload of its kind
    runs schedules one more reload, so the last committed change always lands. The list kinds
    are one kind here, and their notifications that wait share that one more reload (deleting
    a group notifies once per number).
    `on_change(kind, key)` lets the engine react (e.g. drop a deleted phone's binding).
    """

    def __init__(
        self, executor: Executor, on_change: Callable[[str, Any], None] | None = None
    ) -> None:
        self.config = Config()
        self.executor = executor
        self.on_change = on_change or (lambda kind, key: None)
        self._locks: dict[str, asyncio.Lock] = {}
        self._lists_reload: asyncio.Future[None] | None = None  # the one waiting to start
        self._pending_accounts: set[int] = set()
        self._account_reload: asyncio.Future[None] | None = None
        # One set per account query in flight: the accounts this node charged meanwhile.
        self._charged_during_load: list[set[int]] = []
        # One list per full load in flight: the changes notified meanwhile, which its snapshot
        # may predate; they are reloaded again once the snapshot is in place.
        self._notified_during_load: list[list[tuple[str, str, Any]]] = []

    async def load_all(self) -> None:
        """Load everything (at start, and as the periodic safety net)."""
        notified: list[tuple[str, str, Any]] = []
        self._notified_during_load.append(notified)
        try:
            await self._load_all()
        finally:
            self._notified_during_load.remove(notified)
        await self._reload_again(notified)

    async def _load_all(self) -> None:
        loop = asyncio.get_running_loop()

        def run(function: Callable[[], _T]) -> asyncio.Future[_T]:
            return loop.run_in_executor(self.executor, function)

        parameters, phones, mapping, routing, lists, dynamic = await asyncio.gather(
            run(store.load_parameters),
            run(store.load_phones),
            run(store.load_mapping_gateways),
            run(store.load_routing_gateways),
            run(store.load_lists),
            run(store.load_dynamic_entries),
        )
        accounts, rate_tables = await asyncio.gather(
            self._load_accounts(None), run(store.load_rate_tables)
        )
        config = self.config
        config.parameters = parameters
        config.set_phones(phones)
        config.set_mapping_gateways(mapping)
        config.set_routing_gateways(routing)
        config.lists = lists
        config.dynamic = dynamic
        config.accounts = accounts
        config.rate_tables = rate_tables

    async def refresh(self) -> bool:
        """A full reload that survives a database outage (the old configuration stays)."""
        try:
            await self.load_all()
        except Exception as error:
            logger.warning("configuration refresh failed, keeping the cached one: %s", error)
            return False
        return True

    async def apply_notification(self, kind: str, action: str, key: Any) -> None:
        """Reload what a NOTIFY says changed (unknown kinds: everything)."""
        if kind in RELOADED_AGAIN_KINDS:
            for notified in self._notified_during_load:
                notified.append((kind, action, key))
        if not await self._locked_reload(kind, action, key):
            return
        try:
            self.on_change(kind, key)
        except Exception:
            logger.exception("acting on the change of %s %s failed", kind, key)

    async def _locked_reload(self, kind: str, action: str, key: Any) -> bool:
        """`_reload`, serialised per kind; False (logged) if it failed."""
        # Accounts and lists are not serialised here: their reloads are coalesced instead
        # (_reload_accounts, _queue_lists_reload).
        coalesced = kind == "account" or kind in LIST_KINDS
        lock = NO_LOCK if coalesced else self._locks.setdefault(kind, asyncio.Lock())
        async with lock:
            try:
                await self._reload(kind, action, key)
            except Exception as error:
                logger.warning("reload of %s %s failed: %s", kind, key, error)
                return False
        return True

    def _queue_lists_reload(self) -> asyncio.Future[None]:
        """The lists reload that has not started yet, which every list notification from now
        until it starts shares (one is queued if there is none)."""
        if self._lists_reload is None:
            self._lists_reload = asyncio.ensure_future(self._reload_lists())
        return self._lists_reload

    async def _reload_lists(self) -> None:
        async with self._locks.setdefault("lists", asyncio.Lock()):
            self._lists_reload = None  # notifications from now on need the next reload
            self.config.lists = await asyncio.get_running_loop().run_in_executor(
                self.executor, store.load_lists
            )

    async def _reload_again(self, notified: list[tuple[str, str, Any]]) -> None:
        """Reload, once each, the changes notified while a full load ran: its snapshot of
        them may be older than what their own reload had put in place (a release would
        block again, a new entry would not block, until the next full refresh). Together, so
        that the list kinds share one reload; each kind's lock keeps its own order."""
        changes: list[tuple[str, str, Any]] = []
        for change in notified:
            if change not in changes:
                changes.append(change)
        await asyncio.gather(*(self._locked_reload(*change) for change in changes))

    async def _reload(self, kind: str, action: str, key: Any) -> None:
        loop = asyncio.get_running_loop()
        config = self.config
        if kind == "phone":
            loaded = await loop.run_in_executor(self.executor, store.load_phones, [key])
            phones = {**config.phones, **loaded}
            if key not in loaded:
                phones.pop(key, None)
            config.set_phones(phones)
        elif kind == "parameter":
            config.parameters = await loop.run_in_executor(self.executor, store.load_parameters)
        elif kind == "mapping_gateway":
            config.set_mapping_gateways(
                await loop.run_in_executor(self.executor, store.load_mapping_gateways)
            )
        elif kind == "routing_gateway":
            config.set_routing_gateways(
                await loop.run_in_executor(self.executor, store.load_routing_gateways)
            )
        elif kind in LIST_KINDS:
            await asyncio.shield(self._queue_lists_reload())
        elif kind == "dynamic_blacklist":
            await self._reload_dynamic_entry(key)
        elif kind == "account":
            await self._reload_accounts(key if isinstance(key, list) else [key])
        elif kind == "rate_group":
            config.rate_tables = await self._reload_by_id(
                store.load_rate_tables, config.rate_tables, key
            )
        elif kind not in LIVE_STATE_KINDS:
            await self.load_all()

    def apply_balances(self, balances: dict[int, Decimal]) -> None:
        """This node's CDR batch charged these accounts: their balances after the charge, as
        its transaction returned them. The batch's NOTIFY names this node, which does not
        reload them (ADR 0006); an account query already on its way may bring an older
        balance, so those accounts are queried once more (`_load_accounts`)."""
        accounts = self.config.accounts
        for account_id, balance in balances.items():
            if (account := accounts.get(account_id)) is not None:
                accounts[account_id] = replace(account, balance=balance)
        for charged in self._charged_during_load:
            charged.update(balances)

    def reload_all_accounts(self) -> None:
        """Query every account again, in the background (after the CDR writer's outage, a
        batch may have been committed and charged without this node learning its balances)."""
        asyncio.get_running_loop().create_task(self._reload_all_accounts())

    async def _reload_all_accounts(self) -> None:
        try:
            self.config.accounts = await self._load_accounts(None)
        except Exception as error:
            logger.warning("reload of the accounts failed: %s", error)

    async def _load_accounts(self, ids: list[int] | None) -> dict[int, BillingAccount]:
        """Accounts from the database (all when `ids` is None). Where this node applied its
        own charge while the query ran, the query may predate the charge: that account keeps
        the balance applied and is queried again."""
        charged: set[int] = set()
        self._charged_during_load.append(charged)
        try:
            loaded: dict[int, BillingAccount] = await asyncio.get_running_loop().run_in_executor(
                self.executor, store.load_accounts, ids
            )
        finally:
            self._charged_during_load.remove(charged)
        raced = [account_id for account_id in charged if account_id in loaded]
        for account_id in raced:
            if (applied := self.config.accounts.get(account_id)) is not None:
                loaded[account_id] = replace(loaded[account_id], balance=applied.balance)
        if raced:
            self._queue_account_reload(raced)
        return loaded

    async def _reload_accounts(self, ids: list[int]) -> None:
        """Reload these accounts, together with every other account notified in the next
        ACCOUNT_RELOAD_DELAY: balances change with every CDR batch of every node, and one
        query for all of them costs the engine far less than one per notification."""
        await asyncio.shield(self._queue_account_reload(ids))

    def _queue_account_reload(self, ids: list[int]) -> asyncio.Future[None]:
        self._pending_accounts.update(ids)
        if self._account_reload is None:
            self._account_reload = asyncio.ensure_future(self._reload_pending_accounts())
        return self._account_reload

    async def _reload_pending_accounts(self) -> None:
        await asyncio.sleep(ACCOUNT_RELOAD_DELAY)
        ids, self._pending_accounts = list(self._pending_accounts), set()
        self._account_reload = None  # notifications from now on wait for the next reload
        try:
            loaded = await self._load_accounts(ids)
        except Exception as error:  # the next notification or the full refresh tries again
            logger.warning("reload of accounts %s failed: %s", ids, error)
            return
        accounts = self.config.accounts
        accounts.update(loaded)
        for gone in set(ids) - loaded.keys():
            accounts.pop(gone, None)

    async def _reload_by_id(
        self, load: Callable[[list[int]], dict[int, Any]], current: dict[int, Any], key: Any
    ) -> dict[int, Any]:
        """`current` with the objects of `key` (an id or a list of ids) reloaded, and dropped
        if they are gone. Updated in place: only the event loop reads it, between awaits."""
        ids = key if isinstance(key, list) else [key]
        loaded = await asyncio.get_running_loop().run_in_executor(self.executor, load, ids)
        current.update(loaded)
        for gone in set(ids) - loaded.keys():
            current.pop(gone, None)
        return current

    async def _reload_dynamic_entry(self, entry_id: int) -> None:
        loop = asyncio.get_running_loop()
        loaded = await loop.run_in_executor(self.executor, store.load_dynamic_entries, [entry_id])
        self.config.dynamic.discard(entry_id)
        for (number, entry_type), (known_id, expires_at) in loaded.entries.items():
            self.config.dynamic.put(known_id, number, entry_type, expires_at)
