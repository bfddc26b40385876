"""Tables of the softswitch pages."""

from __future__ import annotations

import django_tables2 as tables

from softswitch.models import CurrentCall, MappingGateway, Phone, Registration, RoutingGateway
from vosadmin.core.tables import ActionsColumn, BooleanColumn, ConsoleTable, ListColumn


def account_column() -> tables.Column:
    """The paying account, or "unbilled" for an origin whose calls are not rated (SPEC §8.3)."""
    return tables.Column(default="unbilled")


class MappingGatewayTable(ConsoleTable):
    """Mapping gateways."""

    name = tables.Column(linkify=("softswitch:mappinggateway_edit", {"pk": tables.A("pk")}))
    ips = ListColumn(verbose_name="IP addresses", orderable=False)
    locked = BooleanColumn()
    dynamic_blacklist = BooleanColumn()
    account = account_column()
    actions = ActionsColumn()

    class Meta(ConsoleTable.Meta):
        model = MappingGateway
        fields = (
            "name",
            "ips",
            "auth_mode",
            "capacity",
            "locked",
            "dynamic_blacklist",
            "account",
            "routing_policy",
            "memo",
        )


class RoutingGatewayTable(ConsoleTable):
    """Routing gateways, with the OPTIONS status the engine publishes (`statuses`)."""

    statuses: dict[str, str] = {}
    name = tables.Column(linkify=("softswitch:routinggateway_edit", {"pk": tables.A("pk")}))
    status = tables.Column(accessor="pk", verbose_name="Status", orderable=False)
    prefixes = ListColumn(orderable=False)
    locked = BooleanColumn()
    options_check = BooleanColumn(verbose_name="OPTIONS check")
    actions = ActionsColumn()

    class Meta(ConsoleTable.Meta):
        model = RoutingGateway
        fields = (
            "name",
            "status",
            "host",
            "port",
            "transport",
            "prefixes",
            "priority",
            "capacity",
            "strip_digits",
            "add_prefix",
            "locked",
            "options_check",
            "clearing_account",
            "memo",
        )

    def render_status(self, record: RoutingGateway) -> str:
        if not record.options_check:
            return "Not probed"
        return self.statuses.get(str(record.pk), "online").capitalize()


class PhoneTable(ConsoleTable):
    """Phones."""

    e164 = tables.Column(linkify=("softswitch:phone_edit", {"pk": tables.A("pk")}))
    online = tables.Column(
        accessor="registration", verbose_name="Online", orderable=False, empty_values=()
    )
    locked = BooleanColumn()
    dynamic_blacklist = BooleanColumn()
    account = account_column()
    actions = ActionsColumn()

    class Meta(ConsoleTable.Meta):
        model = Phone
        fields = (
            "e164",
            "online",
            "capacity",
            "locked",
            "dynamic_blacklist",
            "account",
            "routing_policy",
            "memo",
        )

    def render_online(self, record: Phone) -> str:
        return "Yes" if hasattr(record, "registration") else "No"


class RegistrationTable(ConsoleTable):
    """Online phones."""

    e164 = tables.Column(accessor="phone__e164", verbose_name="E.164 number")
    actions = tables.TemplateColumn(
        template_name="softswitch/registration_actions.html", verbose_name="", orderable=False
    )

    class Meta(ConsoleTable.Meta):
        model = Registration
        fields = (
            "e164",
            "contact",
            "source",
            "transport",
            "registered_at",
            "expires_at",
            "user_agent",
            "node",
        )


class CurrentCallTable(ConsoleTable):
    """Calls in progress; operators may disconnect one."""

    actions = tables.TemplateColumn(
        template_name="softswitch/currentcall_actions.html", verbose_name="", orderable=False
    )

    class Meta(ConsoleTable.Meta):
        model = CurrentCall
        fields = (
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
        )
