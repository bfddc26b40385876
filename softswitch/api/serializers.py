"""Serializers of the softswitch API (field names are a contract: see issue "Foundation")."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from blacklist.models import BlacklistGroup
from softswitch.models import CurrentCall, MappingGateway, Phone, Registration, RoutingGateway
from vosadmin.core.api.serializers import ModelCleanSerializer, StrictPrimaryKeyRelatedField
from vosadmin.core.roles import Role, has_role

BLACKLIST_GROUP_FIELDS = ("caller_blacklist_groups", "callee_blacklist_groups")


class BlacklistGroupsMixin(serializers.Serializer):
    """Caller/callee blacklist groups as lists of group ids."""

    caller_blacklist_groups = StrictPrimaryKeyRelatedField(
        many=True, required=False, queryset=BlacklistGroup.objects.all()
    )
    callee_blacklist_groups = StrictPrimaryKeyRelatedField(
        many=True, required=False, queryset=BlacklistGroup.objects.all()
    )


class MappingGatewaySerializer(BlacklistGroupsMixin, ModelCleanSerializer):
    """A customer gateway recognised by source address."""

    class Meta:
        model = MappingGateway
        fields = [
            "id",
            "name",
            "ips",
            "auth_mode",
            "capacity",
            "locked",
            "dynamic_blacklist",
            *BLACKLIST_GROUP_FIELDS,
            "account",
            "routing_policy",
            "max_cost_per_minute",
            "min_margin_percent",
            "rate_check",
            "memo",
            "created",
            "last_updated",
        ]


class RoutingGatewaySerializer(ModelCleanSerializer):
    """A vendor gateway calls are routed to."""

    class Meta:
        model = RoutingGateway
        fields = [
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
            "clearing_account",
            "memo",
            "created",
            "last_updated",
        ]
        extra_kwargs = {"prefixes": {"required": False}}


class PhoneSerializer(BlacklistGroupsMixin, ModelCleanSerializer):
    """A SIP account. Its password is shown to operators and administrators only."""

    class Meta:
        model = Phone
        fields = [
            "id",
            "e164",
            "password",
            "capacity",
            "locked",
            "dynamic_blacklist",
            *BLACKLIST_GROUP_FIELDS,
            "account",
            "routing_policy",
            "memo",
            "created",
            "last_updated",
        ]

    def to_representation(self, instance: Phone) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None and not has_role(request.user, Role.OPERATOR):
            data["password"] = None
        return data


class RegistrationSerializer(serializers.ModelSerializer):
    """An online phone's binding."""

    e164 = serializers.CharField(source="phone.e164", read_only=True)

    class Meta:
        model = Registration
        fields = [
            "id",
            "e164",
            "contact",
            "source",
            "transport",
            "registered_at",
            "expires_at",
            "user_agent",
            "node",
        ]
        read_only_fields = fields


class CurrentCallSerializer(serializers.ModelSerializer):
    """A call in progress (mirrored from the SIP engine about once a second)."""

    class Meta:
        model = CurrentCall
        fields = [
            "id",
            "call_id",
            "caller",
            "callee",
            "origin_type",
            "origin",
            "caller_ip",
            "routing_gateway",
            "state",
            "started_at",
            "connected_at",
            "node",
        ]
        read_only_fields = fields
