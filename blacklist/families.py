"""The four dynamic-blacklist families (SPEC §2.2) and the system parameters that drive them."""

from __future__ import annotations

from dataclasses import dataclass

from blacklist.choices import DynamicBlacklistTypeChoices as Type
from vosadmin.core.parameters import get_parameter


@dataclass(frozen=True)
class FamilySettings:
    """A family's current parameter values; `limit` None means the family is off."""

    limit: int | None
    interval: int
    expire: int


@dataclass(frozen=True)
class Family:
    """One family: the entry type it creates and the prefix of its three parameters."""

    type: Type
    parameter_prefix: str

    @property
    def label(self) -> str:
        """The family's name as the Dynamic black list page shows it."""
        return self.type.label

    @property
    def interval_parameter(self) -> str:
        """CHECK_INTERVAL: the beat cadence and the counting window, in seconds."""
        return f"{self.parameter_prefix}_CHECK_INTERVAL"

    @property
    def limit_parameter(self) -> str:
        """LIMIT: the threshold; None turns the family off."""
        return f"{self.parameter_prefix}_LIMIT"

    @property
    def expire_parameter(self) -> str:
        """EXPIRE: how long an entry blocks, in seconds."""
        return f"{self.parameter_prefix}_EXPIRE"

    @property
    def parameters(self) -> tuple[str, str, str]:
        """The names of LIMIT, CHECK_INTERVAL and EXPIRE, in the order operators set them."""
        return (self.limit_parameter, self.interval_parameter, self.expire_parameter)

    def current_settings(self) -> FamilySettings:
        """The family's parameter values now."""
        return FamilySettings(
            limit=get_parameter(self.limit_parameter),
            interval=get_parameter(self.interval_parameter),
            expire=get_parameter(self.expire_parameter),
        )


FAMILIES = (
    Family(Type.MALICIOUS_CALLER, "SS_BLACK_LIST_CALLER_MALICIOUS_CALL"),
    Family(Type.MALICIOUS_CALLEE, "SS_BLACK_LIST_MALICIOUS_CALL"),
    Family(Type.NO_ANSWER, "SS_BLACK_LIST_NO_ANSWER"),
    Family(Type.CONCURRENT, "SS_BLACK_LIST_CALLER_CONCURRENT_CALL"),
)
FAMILY_BY_TYPE = {family.type: family for family in FAMILIES}
