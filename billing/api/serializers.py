"""Billing API representations: CDRs (every field, each code with its name), rate groups,
rates, accounts and payments (money as strings with 4 decimal places, never float)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from billing.export import EXPORT_COLUMNS
from billing.models import (
    MONEY_DIGITS,
    MONEY_PLACES,
    RATE_TERMS,
    Account,
    Cdr,
    Payment,
    Rate,
    RateGroup,
)
from vosadmin.core.api.serializers import ModelCleanSerializer, StrictCharField


class CdrSerializer(serializers.ModelSerializer):
    """A CDR; the columns are those of the CSV export, in the same order."""

    # Properties, not get_FOO_display: DRF inspects the signature of a callable source on
    # every row, which costs more than the rest of the row.
    end_reason_name = serializers.CharField(read_only=True)
    end_direction_name = serializers.CharField(read_only=True)
    billing_mode_name = serializers.CharField(read_only=True)
    account_id = serializers.IntegerField(read_only=True, allow_null=True)
    margin = serializers.DecimalField(max_digits=15, decimal_places=4, read_only=True)

    class Meta:
        model = Cdr
        fields = EXPORT_COLUMNS
        read_only_fields = EXPORT_COLUMNS


class RateGroupSerializer(ModelCleanSerializer):
    """A rate group [Fee rate group]; `rate_count` is how many rates it holds."""

    rate_count = serializers.SerializerMethodField()

    class Meta:
        model = RateGroup
        fields = ["id", "name", "memo", "rate_count", "created", "last_updated"]

    def get_rate_count(self, group: RateGroup) -> int:
        """Annotated on lists (one query); counted for a group just created or changed."""
        count = getattr(group, "rate_count", None)
        return group.rates.count() if count is None else count


class RateSerializer(ModelCleanSerializer):
    """A rate [Fee rate]: money as strings with 4 decimal places, periods in seconds."""

    class Meta:
        model = Rate
        fields = ["id", "rate_group", *RATE_TERMS, "memo"]
        validators = []  # the unique (group, prefix, effective_from) is checked in validate()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        current = self.instance
        key = {
            name: attrs.get(name, getattr(current, name, None))
            for name in ("rate_group", "prefix", "effective_from")
        }
        if key["effective_from"] is None:
            key["effective_from"] = attrs["effective_from"] = timezone.now()
        clash = Rate.objects.filter(**key).exclude(pk=getattr(current, "pk", None))
        if clash.exists():
            raise serializers.ValidationError(
                {"effective_from": ["This group already has a rate for this prefix from then."]}
            )
        return attrs


class AccountSerializer(ModelCleanSerializer):
    """An account [Customer]. `balance` is read only (payments change it); `account` is fixed
    once created."""

    type_label = serializers.CharField(source="get_type_display", read_only=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "account",
            "name",
            "type",
            "type_label",
            "balance",
            "credit_limit",
            "rate_group",
            "locked",
            "memo",
            "created",
            "last_updated",
        ]
        read_only_fields = ["balance"]

    def validate_account(self, value: str) -> str:
        if self.instance is not None and value != self.instance.account:
            raise serializers.ValidationError("The account code cannot be changed.")
        return value


class PaymentSerializer(serializers.ModelSerializer):
    """A row of an account's ledger (read only)."""

    class Meta:
        model = Payment
        fields = ["id", "account", "amount", "balance_after", "username", "created", "memo"]
        read_only_fields = fields


class PaymentRequestSerializer(serializers.Serializer):
    """A payment to make: positive adds to the balance, negative deducts."""

    amount = serializers.DecimalField(
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
        help_text="Money, at most 4 decimal places; negative = deduction. Send it as a string.",
    )
    memo = StrictCharField(max_length=255, required=False, allow_blank=True, default="")

    def validate_amount(self, value: Decimal) -> Decimal:
        if value == 0:
            raise serializers.ValidationError("The amount must not be zero.")
        return value


class RateImportSerializer(serializers.Serializer):
    """A CSV file of rates to import into one group (multipart/form-data)."""

    rate_group = serializers.PrimaryKeyRelatedField(queryset=RateGroup.objects.all())
    file = serializers.FileField(help_text="UTF-8 CSV with the export's header row.")
