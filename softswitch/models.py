"""Softswitch models: who may call (phones, mapping gateways), where calls go (routing gateways),
and the live state the SIP engine reports back (registrations, current calls)."""

from __future__ import annotations

import re

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from billing.models import money_field
from softswitch.addresses import host_error, keys_clash, parse_source_address, source_key
from softswitch.choices import (
    CurrentCallOriginChoices,
    CurrentCallStateChoices,
    MappingGatewayAuthModeChoices,
    RoutingPolicyChoices,
    TransportChoices,
)
from vosadmin.core.validators import validate_number, validate_routing_prefix


class TimestampedModel(models.Model):
    """Creation and last-change times for configuration objects."""

    created = models.DateTimeField("created", auto_now_add=True)
    last_updated = models.DateTimeField("last updated", auto_now=True)

    class Meta:
        abstract = True


class CallOriginModel(TimestampedModel):
    """What phones and mapping gateways share: line limit, lock, blacklists, memo."""

    capacity = models.PositiveIntegerField(
        "capacity", default=0, help_text="Simultaneous calls allowed; 0 = unlimited."
    )
    locked = models.BooleanField("locked", default=False, help_text="A locked origin cannot call.")
    dynamic_blacklist = models.BooleanField(
        "dynamic blacklist",
        default=False,
        help_text="Watched by the dynamic blacklist in Independent run mode.",
    )
    memo = models.TextField("memo", blank=True)
    account = models.ForeignKey(
        "billing.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="%(class)ss",
        limit_choices_to={"type": 0},  # AccountTypeChoices.NORMAL: customers pay
        verbose_name="account",
        help_text="The customer charged for the calls; none = unbilled (calls are not rated).",
    )
    routing_policy = models.CharField(
        "routing policy",
        max_length=10,
        choices=RoutingPolicyChoices.choices,
        default=RoutingPolicyChoices.PRIORITY,
        help_text="Order of the matching routing gateways: by priority, or cheapest vendor first.",
    )

    class Meta:
        abstract = True


class MappingGateway(CallOriginModel):
    """A customer's gateway that sends calls in, recognised by source IP (or IP and port).

    In `ip` mode an entry of `ips` is an address; in `ip_port` mode an entry may carry a port
    (`192.0.2.10:5070`, `[2001:db8::1]:5070`) and a bare address means port 5060.
    """

    name = models.CharField("name", max_length=64, unique=True)
    ips = ArrayField(models.CharField(max_length=64), verbose_name="IP addresses")
    auth_mode = models.CharField(
        "authentication mode",
        max_length=10,
        choices=MappingGatewayAuthModeChoices.choices,
        default=MappingGatewayAuthModeChoices.IP,
    )
    caller_blacklist_groups = models.ManyToManyField(
        "blacklist.BlacklistGroup",
        blank=True,
        related_name="caller_mapping_gateways",
        verbose_name="caller blacklist groups",
    )
    callee_blacklist_groups = models.ManyToManyField(
        "blacklist.BlacklistGroup",
        blank=True,
        related_name="callee_mapping_gateways",
        verbose_name="callee blacklist groups",
    )
    # Cost guards (SPEC §8.4, softswitch.rules.routing): they skip vendors whatever the policy.
    max_cost_per_minute = money_field(
        "max cost per minute",
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Skip a vendor whose rate costs more per minute (the dearer of a 60 s call "
        "and each later minute); empty = no limit.",
    )
    min_margin_percent = models.DecimalField(
        "min margin (%)",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Skip a vendor whose cost per minute leaves less than this share of the "
        "customer's rate (first and later minutes); empty = no minimum.",
    )
    rate_check = models.BooleanField(
        "rate check",
        default=False,
        help_text="Skip a routing gateway whose clearing account has no rate for the callee.",
    )

    class Meta:
        verbose_name = "mapping gateway"
        verbose_name_plural = "mapping gateways"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_cost_per_minute__gte=0),
                name="softswitch_mapping_gateway_max_cost_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(min_margin_percent__gte=0, min_margin_percent__lte=100),
                name="softswitch_mapping_gateway_min_margin_percent",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Every address must parse; a port is only allowed in IP-and-port mode."""
        if not self.ips:
            raise ValidationError({"ips": "Enter at least one IP address."})
        with_port = self.auth_mode == MappingGatewayAuthModeChoices.IP_PORT
        errors = [error for ip in self.ips if (error := _address_error(ip, with_port))]
        if errors:
            raise ValidationError({"ips": errors})
        if clash := self._clashing_gateway():
            raise ValidationError(
                {"ips": f"An address is already used by mapping gateway {clash}."}
            )

    def _clashing_gateway(self) -> str | None:
        """Another gateway whose addresses would also claim this one's calls."""
        mine = set(self.source_keys())
        for other in MappingGateway.objects.exclude(pk=self.pk).only("name", "ips", "auth_mode"):
            if keys_clash(mine, set(other.source_keys())):
                return other.name
        return None

    def source_keys(self) -> list[tuple[str, int | None]]:
        """The (ip, port-or-None) keys the SIP engine matches INVITE sources against."""
        with_port = self.auth_mode == MappingGatewayAuthModeChoices.IP_PORT
        return [source_key(ip, with_port) for ip in self.ips]


def _address_error(entry: str, with_port: bool) -> str | None:
    try:
        _, port = parse_source_address(entry)
    except ValueError as error:
        return f"{entry!r} is not an IP address ({error})."
    if port is not None and not with_port:
        return f"{entry!r}: a port is only allowed in IP-and-port mode."
    return None


def validate_routing_host(value: str) -> None:
    """A routing gateway's host: an IPv4/IPv6 literal or an RFC 1123 DNS host name."""
    if error := host_error(value):
        raise ValidationError(f"{value!r} is not a valid host: {error}", code="invalid")


def every_number() -> list[str]:
    """Default prefix list of a routing gateway: every number."""
    return ["*"]


class RoutingGateway(TimestampedModel):
    """A vendor gateway; routing picks gateways by longest matching prefix, then priority."""

    name = models.CharField("name", max_length=64, unique=True)
    host = models.CharField(
        "host",
        max_length=255,
        validators=[validate_routing_host],
        help_text="IP address or DNS host name (the engine resolves names, cached for 60 s).",
    )
    port = models.PositiveIntegerField(
        "port", default=5060, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    transport = models.CharField(
        "transport", max_length=3, choices=TransportChoices.choices, default=TransportChoices.UDP
    )
    prefixes = ArrayField(
        models.CharField(max_length=33, validators=[validate_routing_prefix]),
        verbose_name="prefixes",
        default=every_number,
        help_text='Callee prefixes this gateway serves; "*" matches every number.',
    )
    priority = models.IntegerField("priority", default=0, help_text="Lower is tried first.")
    capacity = models.PositiveIntegerField(
        "capacity", default=0, help_text="Simultaneous calls allowed; 0 = unlimited."
    )
    locked = models.BooleanField("locked", default=False)
    strip_digits = models.PositiveSmallIntegerField(
        "strip digits",
        default=0,
        validators=[MaxValueValidator(32)],
        help_text="Leading digits removed from the callee before sending.",
    )
    add_prefix = models.CharField(
        "add prefix", max_length=32, blank=True, help_text="Digits put in front of the callee."
    )
    options_check = models.BooleanField(
        "OPTIONS check",
        default=False,
        help_text="Probe with OPTIONS every SS_SIP_OPTIONS_CHECK_PERIOD; skip while it is silent.",
    )
    memo = models.TextField("memo", blank=True)
    clearing_account = models.ForeignKey(
        "billing.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="routing_gateways",
        limit_choices_to={"type": 2},  # AccountTypeChoices.CLEARING: vendors
        verbose_name="clearing account",
        help_text="The vendor whose rate group gives the cost of the calls sent here.",
    )

    class Meta:
        verbose_name = "routing gateway"
        verbose_name_plural = "routing gateways"
        ordering = ["priority", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """A gateway needs at least one prefix, and the added prefix must be digits."""
        if not self.prefixes:
            raise ValidationError({"prefixes": 'Enter at least one prefix ("*" for all numbers).'})
        if self.add_prefix and not re.fullmatch(r"\+?[0-9]+", self.add_prefix):
            raise ValidationError({"add_prefix": "Enter digits only (optionally starting with +)."})


class Phone(CallOriginModel):
    """A SIP endpoint (account) that registers with its E.164 number and password."""

    e164 = models.CharField(
        "E.164 number", max_length=33, unique=True, validators=[validate_number]
    )
    password = models.CharField("password", max_length=64, help_text="SIP digest password.")
    caller_blacklist_groups = models.ManyToManyField(
        "blacklist.BlacklistGroup",
        blank=True,
        related_name="caller_phones",
        verbose_name="caller blacklist groups",
    )
    callee_blacklist_groups = models.ManyToManyField(
        "blacklist.BlacklistGroup",
        blank=True,
        related_name="callee_phones",
        verbose_name="callee blacklist groups",
    )

    class Meta:
        verbose_name = "phone"
        verbose_name_plural = "phones"
        ordering = ["e164"]

    def __str__(self) -> str:
        return self.e164


class Registration(models.Model):
    """A phone's current binding (console: "Online phones"), written by the SIP engine.

    One binding per phone: SS_ENDPOINT_REGISTER_REPLACE decides whether a new contact kicks the
    old one out or is rejected. A restarted engine restores its bindings from this table.
    """

    phone = models.OneToOneField(
        Phone, on_delete=models.CASCADE, related_name="registration", verbose_name="phone"
    )
    contact = models.CharField("contact", max_length=512)
    source = models.CharField("source", max_length=64, help_text="Address the REGISTER came from.")
    transport = models.CharField("transport", max_length=3, choices=TransportChoices.choices)
    registered_at = models.DateTimeField("registered at")
    expires_at = models.DateTimeField("expires at", db_index=True)
    user_agent = models.CharField("user agent", max_length=255, blank=True)
    call_id = models.CharField("Call-ID", max_length=255, blank=True)
    node = models.CharField("engine node", max_length=64, blank=True)

    class Meta:
        verbose_name = "registration"
        verbose_name_plural = "registrations"
        ordering = ["phone__e164"]

    def __str__(self) -> str:
        return f"{self.phone_id} → {self.contact}"

    @property
    def e164(self) -> str:
        """The registered account."""
        return self.phone.e164


class CurrentCallQuerySet(models.QuerySet):
    def without_cdr_in(self, cdrs: models.QuerySet) -> models.QuerySet:
        """The calls whose CDR is not among `cdrs`: the current calls follow the engine about
        once a second, and a call that just ended may still be here beside its CDR."""
        return self.exclude(call_id__in=cdrs.values("call_id"))


class CurrentCall(models.Model):
    """A call in progress, mirrored from the SIP engine's memory about once a second."""

    call_id = models.CharField("Call-ID", max_length=255, unique=True)
    node = models.CharField("engine node", max_length=64)
    caller = models.CharField("caller", max_length=64)
    callee = models.CharField("callee", max_length=64)
    caller_ip = models.CharField("caller IP", max_length=64, blank=True)
    origin_type = models.CharField(
        "origin type", max_length=16, choices=CurrentCallOriginChoices.choices
    )
    origin = models.CharField("origin", max_length=64, help_text="Phone number or gateway name.")
    routing_gateway = models.CharField("routing gateway", max_length=64, blank=True)
    state = models.CharField("state", max_length=16, choices=CurrentCallStateChoices.choices)
    started_at = models.DateTimeField("started at")
    connected_at = models.DateTimeField("connected at", null=True, blank=True)

    objects = CurrentCallQuerySet.as_manager()

    class Meta:
        verbose_name = "current call"
        verbose_name_plural = "current calls"
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.caller} → {self.callee}"
