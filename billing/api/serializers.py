"""CDR API representation: every field, and each code with its name."""

from __future__ import annotations

from rest_framework import serializers

from billing.export import EXPORT_COLUMNS
from billing.models import Cdr


class CdrSerializer(serializers.ModelSerializer):
    """A CDR; the columns are those of the CSV export, in the same order."""

    # Properties, not get_FOO_display: DRF inspects the signature of a callable source on
    # every row, which costs more than the rest of the row.
    end_reason_name = serializers.CharField(read_only=True)
    end_direction_name = serializers.CharField(read_only=True)
    billing_mode_name = serializers.CharField(read_only=True)

    class Meta:
        model = Cdr
        fields = EXPORT_COLUMNS
        read_only_fields = EXPORT_COLUMNS
