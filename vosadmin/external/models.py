"""Web access control (VOS3000 *System management → Web access control*)."""

from __future__ import annotations

import ipaddress

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models


def validate_network(value: str) -> None:
    """An IPv4/IPv6 address or CIDR network (`198.51.100.7`, `10.0.0.0/8`, `2001:db8::/32`)."""
    try:
        ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValidationError(
            f"“{value}” is not an IP address or CIDR network (e.g. 198.51.100.7 or 10.0.0.0/8)."
        ) from None


def validate_path_prefix(value: str) -> None:
    """A URL path prefix such as `/external/server/` or `/external/server/GetCdr`."""
    if not value.startswith("/"):
        raise ValidationError("A path prefix starts with /, e.g. /external/server/.")


class WebAccessRule(models.Model):
    """Who may call the Web API: requests for a path under `path` from one of `allowed`.

    A request is served only if some rule's path prefixes its path and one of that rule's
    addresses or networks contains its source address; otherwise it is refused with 403.
    No rule at all means nobody. `memo` names the client in the operation log.
    """

    path = models.CharField(
        "path prefix",
        max_length=255,
        default="/external/server/",
        validators=[validate_path_prefix],
        help_text="Requests whose path starts with this, e.g. /external/server/ for every call "
        "or /external/server/GetCdr for one.",
    )
    allowed = ArrayField(
        models.CharField(max_length=64, validators=[validate_network]),
        verbose_name="allowed addresses",
        help_text="IP addresses or CIDR networks, separated by commas.",
    )
    memo = models.CharField(
        "memo", max_length=100, blank=True, help_text="Who this is; the operation log names it."
    )
    created = models.DateTimeField(auto_now_add=True)
    last_updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "web access rule"
        verbose_name_plural = "web access rules"
        ordering = ["path", "id"]

    def __str__(self) -> str:
        return f"{self.path} ← {', '.join(self.allowed)}" + (f" ({self.memo})" if self.memo else "")

    def clean(self) -> None:
        if not self.allowed:
            raise ValidationError({"allowed": "Give at least one address or network."})

    def admits(self, path: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        """Whether this rule lets `address` call `path`."""
        if not path.startswith(self.path):
            return False
        return any(address in network for network in self.networks())

    def networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """The allowed networks; an entry that is not one (written around the validation)
        allows nothing."""
        networks = []
        for entry in self.allowed:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                continue
        return networks
