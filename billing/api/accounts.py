"""Account management API (SPEC §8.1): rate groups, rates (with CSV import/export), accounts
and their payments.

Roles as everywhere: Viewers read, Operators change the configuration, and only
Administrators make payments — the one way the API changes a balance.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, ProtectedError
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api import serializers
from billing.filtersets import (
    AccountFilterSet,
    PaymentFilterSet,
    RateFilterSet,
    RateGroupFilterSet,
)
from billing.models import Account, Payment, Rate, RateGroup, in_use_message
from billing.payments import KeyReused, PaymentAlreadyMade, PaymentRefused, make_payment
from billing.rates_csv import export_response, import_rates
from blacklist.api.views import CsvListMixin, FirstRendererNegotiation
from vosadmin.core.api.filters import chosen_id
from vosadmin.core.api.views import AuditedModelViewSet
from vosadmin.core.roles import Role


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class KeyConflict(APIException):
    """An Idempotency-Key sent again with another payment (draft-ietf-httpapi-idempotency-key)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Optional, 1–64 visible ASCII characters: a payment sent again with the same "
    "key (a retry after a lost answer) is made once; the retry gets the payment back with 200 "
    "and `Idempotent-Replayed: true`. The key of another amount or memo is a 422.",
)


class ProtectedDeleteMixin:
    """A delete refused because other objects use this one is a 409 that says which.

    (ProtectedError is an IntegrityError, which the shared handler would call a 400.)
    """

    def perform_destroy(self, instance: Any) -> None:
        try:
            super().perform_destroy(instance)
        except ProtectedError as error:
            raise Conflict(in_use_message(instance, error)) from None


class RateGroupViewSet(ProtectedDeleteMixin, AuditedModelViewSet):
    """Rate groups [Fee rate groups]; give one to an account as its tariff."""

    queryset = RateGroup.objects.annotate(rate_count=Count("rates")).order_by("name")
    serializer_class = serializers.RateGroupSerializer
    filterset_class = RateGroupFilterSet
    ordering_fields = ["name", "created", "rate_count"]


class RateViewSet(CsvListMixin, AuditedModelViewSet):
    """Rates [Fee rates] of the rate groups, with per-group CSV import (all or nothing) and
    export (`?rate_group=<id>`)."""

    queryset = Rate.objects.all()
    serializer_class = serializers.RateSerializer
    import_serializer_class = serializers.RateImportSerializer
    filterset_class = RateFilterSet
    ordering_fields = ["prefix", "rate_group", "effective_from", "fee"]

    @extend_schema(
        filters=True,
        responses={(200, "text/csv"): OpenApiTypes.STR},
        description="The filtered rates as CSV, in the import format (choose ?rate_group=).",
    )
    @action(detail=False, methods=["get"], content_negotiation_class=FirstRendererNegotiation)
    def export(self, request: Request) -> StreamingHttpResponse:
        group = chosen_id(request, "rate_group")
        queryset = self.filter_queryset(self.get_queryset()).order_by("prefix", "effective_from")
        return export_response(queryset, f"rate-group-{group}.csv")

    def import_file(self, data: dict[str, Any], user: Any) -> int:
        return import_rates(data["rate_group"], data["file"].read(), user)


class AccountViewSet(ProtectedDeleteMixin, AuditedModelViewSet):
    """Accounts [Customers]. `balance` is read only: it changes through payments
    (`…/payments/`, administrators) and the charges of calls."""

    queryset = Account.objects.select_related("rate_group")
    serializer_class = serializers.AccountSerializer
    filterset_class = AccountFilterSet
    ordering_fields = ["account", "name", "balance", "created"]
    write_role = Role.OPERATOR  # the payments action raises it to Administrator

    def get_serializer_class(self) -> type:
        if self.action == "payments":
            if self.request.method == "POST":
                return serializers.PaymentRequestSerializer
            return serializers.PaymentSerializer
        return super().get_serializer_class()

    @extend_schema(
        methods=["GET"],
        filters=False,
        responses=serializers.PaymentSerializer(many=True),
        description="The account's payments, newest first.",
    )
    @extend_schema(
        methods=["POST"],
        request=serializers.PaymentRequestSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: serializers.PaymentSerializer,
            200: OpenApiResponse(
                serializers.PaymentSerializer, description="Already made with this key."
            ),
            400: OpenApiResponse(description="Bad amount or key, or the deduction would overdraw."),
            422: OpenApiResponse(description="The key was already used for another payment."),
        },
        description="Pay (positive amount) or deduct (negative). Administrators only.",
    )
    @action(detail=True, methods=["get", "post"], write_role=Role.ADMINISTRATOR)
    def payments(self, request: Request, pk: Any = None) -> Response:
        account = self.get_object()
        if request.method == "GET":
            queryset = Payment.objects.filter(account=account)
            page = self.paginate_queryset(queryset)
            return self.get_paginated_response(self.get_serializer(page, many=True).data)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key = request.headers.get("Idempotency-Key")
        try:
            payment = make_payment(account.pk, data["amount"], data["memo"], request.user, key)
        except PaymentAlreadyMade as made:
            body = serializers.PaymentSerializer(made.payment).data
            return Response(body, headers={"Idempotent-Replayed": "true"})
        except KeyReused as reused:
            raise KeyConflict(f"Idempotency-Key: {reused}") from None
        except PaymentRefused as refused:
            if refused.field == "key":
                raise ParseError(f"Idempotency-Key: {refused}") from None
            raise ValidationError({refused.field: [str(refused)]}) from None
        body = serializers.PaymentSerializer(payment).data
        return Response(body, status=status.HTTP_201_CREATED)


class PaymentViewSet(viewsets.ReadOnlyModelViewSet):
    """Every account's payments, newest first (the ledger; read only)."""

    queryset = Payment.objects.all()
    serializer_class = serializers.PaymentSerializer
    filterset_class = PaymentFilterSet
    ordering_fields = ["created", "amount"]
