"""Every database access of the SIP engine: small synchronous functions.

The event loop calls them through an executor (Healthchecks' smtpd command is the model); they
use Django's ORM or its connection, and each is tested directly. Tables read and written are
listed in docs/adr/0005-engine-database-contract.md.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q

from billing.ingest import Inserted, rows_to_csv
from billing.models import RATE_TERMS, Account, Rate, RateGroup
from billing.rating import RateTable, RateTerms
from blacklist.models import (
    BlacklistGroup,
    BlacklistNumber,
    DynamicBlacklistEntry,
    SystemWhitelistEntry,
)
from softswitch.engine.workers import NodeShare
from softswitch.models import CurrentCall, MappingGateway, Phone, Registration, RoutingGateway
from softswitch.rules.domain import (
    BillingAccount,
    DynamicEntries,
    Lists,
    MappingGatewayAccount,
    NumberMatcher,
    PhoneAccount,
    RoutingGatewayTarget,
)
from vosadmin.core.parameters.resolver import load_parameter_values


def fresh_connection(function: Any) -> Any:
    """Drop a broken or stale connection before the call (executor threads live long)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        close_old_connections()
        return function(*args, **kwargs)

    return wrapper


def _group_ids(model: Any, relation: str, ids: list[int] | None) -> dict[int, tuple[int, ...]]:
    """{object id: sorted group ids} of one many-to-many relation, in one query."""
    through = getattr(model, relation).through
    owner = f"{model._meta.model_name}_id"
    rows = through.objects.all()
    if ids is not None:
        rows = rows.filter(**{f"{owner}__in": ids})
    groups: dict[int, list[int]] = {}
    for owner_id, group_id in rows.values_list(owner, "blacklistgroup_id"):
        groups.setdefault(owner_id, []).append(group_id)
    return {owner_id: tuple(sorted(values)) for owner_id, values in groups.items()}


def _origin_rows(model: Any, fields: tuple[str, ...], ids: list[int] | None) -> Any:
    """Rows of phones or mapping gateways (`fields` besides the common ones), each with the
    arguments every origin account takes: id, line limit, lock, dynamic-list flag, groups."""
    queryset = model.objects.all() if ids is None else model.objects.filter(pk__in=ids)
    callers = _group_ids(model, "caller_blacklist_groups", ids)
    callees = _group_ids(model, "callee_blacklist_groups", ids)
    for row in queryset.values(*ORIGIN_FIELDS, *fields):
        common = {field: row[field] for field in ORIGIN_FIELDS}
        common["caller_groups"] = callers.get(row["id"], ())
        common["callee_groups"] = callees.get(row["id"], ())
        yield row, common


ORIGIN_FIELDS = ("id", "capacity", "locked", "dynamic_blacklist", "account_id", "routing_policy")


@fresh_connection
def load_parameters() -> dict[str, Any]:
    """Every system parameter's current value."""
    return load_parameter_values()


@fresh_connection
def load_phones(ids: Iterable[int] | None = None) -> dict[int, PhoneAccount]:
    """Phones by id (all, or those of `ids`; a missing id was deleted).

    Plain rows, not model instances: a full reload of 100,000 phones stays well under a second.
    """
    wanted = None if ids is None else list(ids)
    phones = {}
    for row, common in _origin_rows(Phone, ("e164", "password"), wanted):
        phones[row["id"]] = PhoneAccount(**common, name=row["e164"], password=row["password"])
    return phones


@fresh_connection
def load_mapping_gateways() -> dict[int, MappingGatewayAccount]:
    """Every mapping gateway by id."""
    gateways = {}
    fields = ("name", "ips", "auth_mode", *COST_GUARD_FIELDS)
    for row, common in _origin_rows(MappingGateway, fields, None):
        model = MappingGateway(ips=row["ips"], auth_mode=row["auth_mode"])
        guards = {field: row[field] for field in COST_GUARD_FIELDS}
        gateways[row["id"]] = MappingGatewayAccount(
            **common, **guards, name=row["name"], source_keys=tuple(model.source_keys())
        )
    return gateways


COST_GUARD_FIELDS = ("max_cost_per_minute", "min_margin_percent", "rate_check")


@fresh_connection
def load_routing_gateways() -> dict[int, RoutingGatewayTarget]:
    """Every routing gateway by id."""
    fields = (
        "id",
        "name",
        "host",
        "port",
        "transport",
        "prefixes",
        "priority",
        "capacity",
        "locked",
        "strip_digits",
        "add_prefix",
        "options_check",
        "clearing_account_id",
    )
    return {
        row["id"]: RoutingGatewayTarget(**{**row, "prefixes": tuple(row["prefixes"])})
        for row in RoutingGateway.objects.values(*fields)
    }


ACCOUNT_FIELDS = ("id", "type", "rate_group_id", "credit_limit", "locked", "balance")


@fresh_connection
def load_accounts(ids: Iterable[int] | None = None) -> dict[int, BillingAccount]:
    """Accounts by id, with their balances (all, or those of `ids`; a missing id was deleted)."""
    queryset = Account.objects.all() if ids is None else Account.objects.filter(pk__in=list(ids))
    return {row["id"]: BillingAccount(**row) for row in queryset.values(*ACCOUNT_FIELDS)}


@fresh_connection
def load_rate_tables(group_ids: Iterable[int] | None = None) -> dict[int, RateTable]:
    """Rate tables by rate group id (all groups, or those of `group_ids`), in one query.

    A group without rates gets an empty table; a group id that does not exist gets none.
    """
    rates = (
        Rate.objects.all()
        if group_ids is None
        else Rate.objects.filter(rate_group_id__in=list(group_ids))
    )
    by_group: dict[int, list[RateTerms]] = {}
    for row in rates.values(*RATE_FIELDS):
        group_id, rate_id = row.pop("rate_group_id"), row.pop("id")
        by_group.setdefault(group_id, []).append(RateTerms(**row, rate_id=rate_id))
    groups = (
        RateGroup.objects.all()
        if group_ids is None
        else RateGroup.objects.filter(pk__in=list(group_ids))
    )
    return {
        group_id: RateTable(by_group.get(group_id, ()))
        for group_id in groups.values_list("pk", flat=True)
    }


RATE_FIELDS = ("id", "rate_group_id", *RATE_TERMS)


@fresh_connection
def load_lists() -> Lists:
    """Static black list groups with their numbers, and the system white list."""
    entries: dict[int, list[tuple[str, str]]] = {}
    for group_id, number, match in BlacklistNumber.objects.values_list(
        "group_id", "number", "match"
    ):
        entries.setdefault(group_id, []).append((number, match))
    groups = {group_id: NumberMatcher.build(numbers) for group_id, numbers in entries.items()}
    global_groups = tuple(
        BlacklistGroup.objects.filter(applies_to_all=True).values_list("pk", flat=True)
    )
    whitelist = NumberMatcher.build(
        list(SystemWhitelistEntry.objects.values_list("number", "match"))
    )
    return Lists(groups=groups, global_groups=global_groups, whitelist=whitelist)


@fresh_connection
def load_dynamic_entries(ids: Iterable[int] | None = None) -> DynamicEntries:
    """Active dynamic-blacklist entries (all, or those of `ids` that are still active)."""
    queryset = DynamicBlacklistEntry.objects.filter(active=True)
    if ids is not None:
        queryset = queryset.filter(pk__in=list(ids))
    entries = DynamicEntries()
    for entry_id, number, entry_type, expires_at in queryset.values_list(
        "id", "number", "type", "expires_at"
    ):
        entries.put(entry_id, number, entry_type, expires_at.timestamp())
    return entries


def timestamp_to_datetime(value: float) -> datetime:
    """A Unix time as an aware UTC datetime."""
    return datetime.fromtimestamp(value, tz=UTC)


REGISTRATION_COLUMNS = (
    "phone_id",
    "contact",
    "source",
    "transport",
    "registered_at",
    "expires_at",
    "user_agent",
    "call_id",
    "node",
)


@fresh_connection
def save_registrations(rows: list[dict[str, Any]]) -> None:
    """Insert or update bindings (one per phone): COPY into a temporary table, then one
    INSERT … ON CONFLICT — the hot write of REGISTER, cheap in Python at thousands a second."""
    if not rows:
        return
    columns = ", ".join(REGISTRATION_COLUMNS)
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in REGISTRATION_COLUMNS[1:])
    data = rows_to_csv(tuple(row[column] for column in REGISTRATION_COLUMNS) for row in rows)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS registration_incoming ON COMMIT DELETE ROWS "
            f"AS SELECT {columns} FROM softswitch_registration WITH NO DATA"
        )
        cursor.cursor.copy_expert(
            f"COPY registration_incoming ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", data
        )
        cursor.execute(
            f"INSERT INTO softswitch_registration ({columns}) "
            f"SELECT DISTINCT ON (phone_id) {columns} FROM registration_incoming "
            f"ORDER BY phone_id ON CONFLICT (phone_id) DO UPDATE SET {updates}"
        )


@fresh_connection
def delete_registrations(phone_ids: list[int], node: str) -> None:
    """Remove this node's bindings of the given phones."""
    if phone_ids:
        Registration.objects.filter(phone_id__in=phone_ids, node=node).delete()


def engine_nodes(engine: str) -> Q:
    """The rows of every node an engine has been: SIP_NODE_NAME alone (a single engine) or
    followed by a worker's number (`<SIP_NODE_NAME>-<n>`), whatever SIP_WORKERS was then."""
    return Q(node=engine) | Q(node__regex=rf"^{re.escape(engine)}-[0-9]+$")


@fresh_connection
def load_registrations(node: str, share: NodeShare) -> list[dict[str, Any]]:
    """The bindings a (re)started node holds: those of its engine's nodes, whatever SIP_WORKERS
    was when they were made, whose phone's requests now come to this node (`share`); it takes
    them over. Expired ones are deleted."""
    now = datetime.now(UTC)
    rows = Registration.objects.filter(engine_nodes(share.engine))
    rows.filter(expires_at__lte=now).delete()
    held = [
        row
        for row in rows.values(*REGISTRATION_COLUMNS, e164=F("phone__e164"))
        if share.holds(row["e164"])
    ]
    taken = [row["phone_id"] for row in held if row["node"] != node]
    Registration.objects.filter(phone_id__in=taken).update(node=node)
    return held


CURRENT_CALL_COLUMNS = (
    "call_id",
    "node",
    "caller",
    "callee",
    "caller_ip",
    "origin_type",
    "origin",
    "routing_gateway",
    "state",
    "started_at",
    "connected_at",
)


@fresh_connection
def sync_current_calls(node: str, upserts: list[dict[str, Any]], ended: list[str]) -> None:
    """Mirror this node's calls in progress: insert/update changed ones, delete ended ones."""
    from psycopg2.extras import execute_values

    with transaction.atomic(), connection.cursor() as cursor:
        if ended:
            cursor.execute(
                "DELETE FROM softswitch_currentcall WHERE node = %s AND call_id = ANY(%s)",
                [node, ended],
            )
        if upserts:
            values = [
                tuple({**row, "node": node}[column] for column in CURRENT_CALL_COLUMNS)
                for row in upserts
            ]
            execute_values(
                cursor.cursor,
                f"INSERT INTO softswitch_currentcall ({', '.join(CURRENT_CALL_COLUMNS)}) VALUES %s "
                "ON CONFLICT (call_id) DO UPDATE SET state = EXCLUDED.state, "
                "connected_at = EXCLUDED.connected_at, routing_gateway = EXCLUDED.routing_gateway",
                values,
                page_size=1000,
            )


@fresh_connection
def clear_current_calls(node: str, engine: str, nodes: Iterable[str]) -> None:
    """Forget this node's calls (at start: they died with the previous process), and those of
    its engine's nodes that are not among `nodes`, its nodes now (a worker that SIP_WORKERS no
    longer starts)."""
    gone = engine_nodes(engine) & ~Q(node__in=list(nodes))
    CurrentCall.objects.filter(Q(node=node) | gone).delete()


def close_connection() -> None:
    """Close this thread's database connection (run in each executor thread at shutdown)."""
    connection.close()


@fresh_connection
def write_cdr_batch(data: bytes, origin: str = "") -> Inserted:
    """COPY a batch of journal lines into billing_cdr idempotently and charge their fees, in
    one transaction; returns the rows inserted and the balances charged (the NOTIFY that
    tells the engines names `origin`: the node that applies these balances itself).

    A batch holding a day without a partition gets the partition created and is retried once.
    """
    import psycopg2
    from django.db import DatabaseError

    try:
        return _copy_batch(data, origin)
    except (DatabaseError, psycopg2.Error) as error:
        if "no partition of relation" not in str(error):
            raise
    _ensure_partitions_for(data)
    return _copy_batch(data, origin)


def _copy_batch(data: bytes, origin: str) -> Inserted:
    import io

    from billing.ingest import copy_csv_charging

    with transaction.atomic(), connection.cursor() as cursor:
        return copy_csv_charging(cursor.cursor, io.StringIO(data.decode()), origin)


def _ensure_partitions_for(data: bytes) -> None:
    from datetime import date

    from billing.ingest import CDR_COLUMNS
    from billing.partitions import ensure_cdr_partitions
    from softswitch.engine.cdr_journal import csv_days

    for day in sorted(csv_days(data, CDR_COLUMNS.index("start_time"))):
        parsed = date.fromisoformat(day)
        ensure_cdr_partitions(parsed, parsed)
