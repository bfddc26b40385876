"""Choices of the softswitch models."""

from django.db import models


class MappingGatewayAuthModeChoices(models.TextChoices):
    """How a mapping gateway's INVITEs are recognised."""

    IP = "ip", "Source IP"
    IP_PORT = "ip_port", "Source IP and port"


class TransportChoices(models.TextChoices):
    """SIP transports (both are always on in the engine)."""

    UDP = "udp", "UDP"
    TCP = "tcp", "TCP"


class CurrentCallOriginChoices(models.TextChoices):
    """Who placed a call."""

    PHONE = "phone", "Phone"
    MAPPING_GATEWAY = "mapping_gateway", "Mapping gateway"


class CurrentCallStateChoices(models.TextChoices):
    """Where a call in progress stands."""

    ROUTING = "routing", "Routing"
    RINGING = "ringing", "Ringing"
    EARLY_MEDIA = "early_media", "Early media"
    CONNECTED = "connected", "Connected"


class RoutingPolicyChoices(models.TextChoices):
    """How routing orders the matching routing gateways of a phone's or mapping gateway's calls
    (SPEC §8.4)."""

    PRIORITY = "priority", "Priority"
    LEAST_COST = "least_cost", "Least cost (vendor rate, then priority)"
