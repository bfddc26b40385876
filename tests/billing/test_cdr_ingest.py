"""COPY ingest keeps every value as written: empty text, NULL, commas, quotes, backslashes."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection

from billing.ingest import CDR_COLUMNS, copy_cdrs, copy_cdrs_idempotent
from billing.models import Cdr
from tests.billing.conftest import at, cdr


def row(instance: Cdr) -> tuple:
    return tuple(getattr(instance, column) for column in CDR_COLUMNS)


AWKWARD = [
    cdr('quote"comma,newline\nend', at(1), caller=r"\N", callee="", phone="", hold_time_ms=0),
    cdr("plain", at(2), caller="sipvicious", fee=Decimal("12.3456")),
]


def test_copy_stores_values_exactly(partitions) -> None:
    with connection.cursor() as cursor:
        assert copy_cdrs(cursor.cursor, (row(instance) for instance in AWKWARD)) == 2
    stored = {instance.call_id: row(instance) for instance in Cdr.objects.all()}
    assert stored == {instance.call_id: row(instance) for instance in AWKWARD}
    assert Cdr.objects.get(call_id="plain").connect_time is not None
    assert Cdr.objects.get(caller=r"\N").connect_time is None


def test_idempotent_copy_skips_flow_numbers_already_stored(partitions) -> None:
    with connection.cursor() as cursor:
        assert copy_cdrs_idempotent(cursor.cursor, [row(AWKWARD[0])]) == 1
        assert copy_cdrs_idempotent(cursor.cursor, [row(i) for i in AWKWARD + AWKWARD]) == 1
    assert Cdr.objects.count() == 2


def test_copy_streams_a_large_iterator(partitions) -> None:
    rows = (row(cdr(f"call-{index}", at(index / 1000))) for index in range(5000))
    with connection.cursor() as cursor:
        assert copy_cdrs(cursor.cursor, rows) == 5000
    assert Cdr.objects.count() == 5000
