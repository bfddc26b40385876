"""Every database access of the SIP engine: small synchronous functions.

The event loop calls them through an executor (Healthchecks' smtpd command is the model); they
use Django's ORM or its connection, and each is tested directly. Tables read and written are
listed in docs/adr/0005-engine-database-contract.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.db import close_old_connections, connection, transaction

from blacklist.models import (
    BlacklistGroup,
    BlacklistNumber,
    DynamicBlacklistEntry,
    SystemWhitelistEntry,
)
from softswitch.models import CurrentCall, MappingGateway, Phone, Registration, RoutingGateway
from softswitch.rules.domain import (
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

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        close_old_connections()
        return function(*args, **kwargs)

    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper


def _groups(instance: Any, relation: str) -> tuple[int, ...]:
    return tuple(sorted(group.pk for group in getattr(instance, relation).all()))


def _phone_account(phone: Phone) -> PhoneAccount:
    return PhoneAccount(
        id=phone.pk,
        name=phone.e164,
        capacity=phone.capacity,
        locked=phone.locked,
        dynamic_blacklist=phone.dynamic_blacklist,
        caller_groups=_groups(phone, "caller_blacklist_groups"),
        callee_groups=_groups(phone, "callee_blacklist_groups"),
        password=phone.password,
    )


@fresh_connection
def load_parameters() -> dict[str, Any]:
    """Every system parameter's current value."""
    return load_parameter_values()


@fresh_connection
def load_phones(ids: Iterable[int] | None = None) -> dict[int, PhoneAccount]:
    """Phones by id (all, or those of `ids`; a missing id was deleted)."""
    queryset = Phone.objects.prefetch_related("caller_blacklist_groups", "callee_blacklist_groups")
    if ids is not None:
        queryset = queryset.filter(pk__in=list(ids))
    return {phone.pk: _phone_account(phone) for phone in queryset}


@fresh_connection
def load_mapping_gateways() -> dict[int, MappingGatewayAccount]:
    """Every mapping gateway by id."""
    queryset = MappingGateway.objects.prefetch_related(
        "caller_blacklist_groups", "callee_blacklist_groups"
    )
    return {
        gateway.pk: MappingGatewayAccount(
            id=gateway.pk,
            name=gateway.name,
            capacity=gateway.capacity,
            locked=gateway.locked,
            dynamic_blacklist=gateway.dynamic_blacklist,
            caller_groups=_groups(gateway, "caller_blacklist_groups"),
            callee_groups=_groups(gateway, "callee_blacklist_groups"),
            source_keys=tuple(gateway.source_keys()),
        )
        for gateway in queryset
    }


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
    )
    return {
        row["id"]: RoutingGatewayTarget(**{**row, "prefixes": tuple(row["prefixes"])})
        for row in RoutingGateway.objects.values(*fields)
    }


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


@fresh_connection
def save_registrations(rows: list[dict[str, Any]]) -> None:
    """Insert or update bindings (one per phone) in one statement."""
    if not rows:
        return
    objects = [Registration(**row) for row in rows]
    Registration.objects.bulk_create(
        objects,
        update_conflicts=True,
        unique_fields=["phone"],
        update_fields=[
            "contact",
            "source",
            "transport",
            "registered_at",
            "expires_at",
            "user_agent",
            "call_id",
            "node",
        ],
    )


@fresh_connection
def delete_registrations(phone_ids: list[int], node: str) -> None:
    """Remove this node's bindings of the given phones."""
    if phone_ids:
        Registration.objects.filter(phone_id__in=phone_ids, node=node).delete()


@fresh_connection
def load_registrations(node: str) -> list[dict[str, Any]]:
    """This node's bindings that have not expired, for a restarted engine."""
    now = datetime.now(UTC)
    Registration.objects.filter(node=node, expires_at__lte=now).delete()
    return list(Registration.objects.filter(node=node).values())


@fresh_connection
def sync_current_calls(node: str, upserts: list[dict[str, Any]], ended: list[str]) -> None:
    """Mirror this node's calls in progress: insert/update changed ones, delete ended ones."""
    with transaction.atomic():
        if ended:
            CurrentCall.objects.filter(node=node, call_id__in=ended).delete()
        if upserts:
            CurrentCall.objects.bulk_create(
                [CurrentCall(node=node, **row) for row in upserts],
                update_conflicts=True,
                unique_fields=["call_id"],
                update_fields=["state", "connected_at", "routing_gateway"],
            )


@fresh_connection
def clear_current_calls(node: str) -> None:
    """Forget this node's calls (at start: they died with the previous process)."""
    CurrentCall.objects.filter(node=node).delete()


def close_connection() -> None:
    """Close this thread's database connection (run in each executor thread at shutdown)."""
    connection.close()


def database_is_reachable() -> bool:
    """A cheap round trip to the database."""
    close_old_connections()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        connection.close()
        return False


@fresh_connection
def write_cdr_batch(data: bytes) -> int:
    """COPY a batch of journal lines into billing_cdr idempotently; returns rows inserted.

    A batch holding a day without a partition gets the partition created and is retried once.
    """
    import psycopg2
    from django.db import DatabaseError

    try:
        return _copy_batch(data)
    except (DatabaseError, psycopg2.Error) as error:
        if "no partition of relation" not in str(error):
            raise
    _ensure_partitions_for(data)
    return _copy_batch(data)


def _copy_batch(data: bytes) -> int:
    import io

    from billing.ingest import copy_csv_idempotent

    with transaction.atomic(), connection.cursor() as cursor:
        return copy_csv_idempotent(cursor.cursor, io.StringIO(data.decode()))


def _ensure_partitions_for(data: bytes) -> None:
    from datetime import date

    from billing.ingest import CDR_COLUMNS
    from billing.partitions import ensure_cdr_partitions
    from softswitch.engine.cdr_journal import csv_days

    for day in sorted(csv_days(data, CDR_COLUMNS.index("start_time"))):
        parsed = date.fromisoformat(day)
        ensure_cdr_partitions(parsed, parsed)
