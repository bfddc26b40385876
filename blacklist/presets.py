"""Deployment presets for the dynamic-blacklist parameters, offered on the System parameter page.

The malicious-caller values are the seed article's table ("VOS3000 Malicious Caller Blacklist",
deployment types; where it gives a range of limits we take its lower end and show the range).
The seed gives no table for the other three families; their values are ours, derived from the
same four deployment profiles (DERIVED_NOTE says how), and the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from blacklist.choices import DynamicBlacklistTypeChoices as Type
from blacklist.families import FAMILIES, FAMILY_BY_TYPE, Family
from vosadmin.core.parameters import get_parameter, update_parameter

DERIVED_NOTE = (
    "Malicious callee: a number legitimately receives calls from many callers (hotlines, call "
    "centres), so its limits are two to three times the caller's — except on fraud-prone routes, "
    "where traffic pumping targets a few numbers. No answer: a run counts consecutive unanswered "
    "calls to one number and any answered call resets it, so a handful is already suspicious; "
    "VOS3000's 2-day block is kept except for dialer-heavy high-CPS traffic (1 day) and "
    "fraud-prone routes (7 days). Concurrent abuse: a retail caller rarely holds more than two or "
    "three calls at once while a wholesale calling number may carry dozens; 30-second checks on "
    "high-CPS and fraud-prone routes stop floods sooner."
)


@dataclass(frozen=True)
class Values:
    """One family's LIMIT, CHECK_INTERVAL and EXPIRE in a preset."""

    limit: int
    interval: int
    expire: int

    def as_tuple(self) -> tuple[int, int, int]:
        """In the order of `Family.parameters`: limit, interval, expire."""
        return (self.limit, self.interval, self.expire)


@dataclass(frozen=True)
class Preset:
    """A deployment profile: values for every family, and why."""

    key: str
    label: str
    rationale: str
    seed_limit_range: str
    values: dict[str, Values] = field(default_factory=dict)


PRESETS = (
    Preset(
        "retail",
        "Retail / calling card",
        "Lower limit; retail users rarely exceed 30 calls in 10 minutes.",
        "30–50",
        {
            Type.MALICIOUS_CALLER: Values(30, 600, 3600),
            Type.MALICIOUS_CALLEE: Values(60, 600, 3600),
            Type.NO_ANSWER: Values(10, 600, 172800),
            Type.CONCURRENT: Values(5, 60, 86400),
        },
    ),
    Preset(
        "wholesale",
        "Wholesale",
        "Higher limit for legitimate high-CPS customers; longer block for fraud.",
        "100–200",
        {
            Type.MALICIOUS_CALLER: Values(100, 600, 7200),
            Type.MALICIOUS_CALLEE: Values(300, 600, 7200),
            Type.NO_ANSWER: Values(20, 600, 172800),
            Type.CONCURRENT: Values(50, 60, 3600),
        },
    ),
    Preset(
        "high-cps",
        "High-CPS carrier",
        "Very high limit; a shorter interval for faster detection.",
        "300–500",
        {
            Type.MALICIOUS_CALLER: Values(300, 300, 3600),
            Type.MALICIOUS_CALLEE: Values(1000, 300, 3600),
            Type.NO_ANSWER: Values(50, 300, 86400),
            Type.CONCURRENT: Values(200, 30, 3600),
        },
    ),
    Preset(
        "fraud-prone",
        "Fraud-prone route",
        "Aggressive blocking; a 24-hour ban for offenders.",
        "50",
        {
            Type.MALICIOUS_CALLER: Values(50, 300, 86400),
            Type.MALICIOUS_CALLEE: Values(30, 300, 86400),
            Type.NO_ANSWER: Values(5, 300, 604800),
            Type.CONCURRENT: Values(3, 30, 86400),
        },
    ),
)
PRESET_BY_KEY = {preset.key: preset for preset in PRESETS}
ALL_FAMILIES = "all"


@dataclass(frozen=True)
class PresetChoice:
    """A preset applied to one family or to all four."""

    preset: Preset
    families: tuple[Family, ...]

    @classmethod
    def parse(cls, preset_key: str, family_key: str) -> PresetChoice:
        """From URL parts: a preset key and an entry type or "all"; KeyError if unknown."""
        preset = PRESET_BY_KEY[preset_key]
        families = FAMILIES if family_key == ALL_FAMILIES else (FAMILY_BY_TYPE[family_key],)
        return cls(preset, families)

    def __str__(self) -> str:
        scope = "all four families" if len(self.families) > 1 else self.families[0].label
        return f"{self.preset.label} preset for {scope.lower()}"


@dataclass(frozen=True)
class ParameterChange:
    """What applying a preset does to one parameter."""

    name: str
    current: Any
    new: Any

    @property
    def changes(self) -> bool:
        """Whether the value would change."""
        return self.current != self.new


def preset_changes(choice: PresetChoice) -> list[ParameterChange]:
    """Every parameter the choice sets, with its current and its new value."""
    return [
        ParameterChange(name, get_parameter(name), value)
        for family in choice.families
        for name, value in zip(
            family.parameters, choice.preset.values[family.type].as_tuple(), strict=True
        )
    ]


def apply_preset(choice: PresetChoice, user: Any) -> list[ParameterChange]:
    """Set the parameters through `update_parameter` (validated, audit-logged), all or none."""
    changed = [change for change in preset_changes(choice) if change.changes]
    with transaction.atomic():
        for change in changed:
            update_parameter(change.name, change.new, user)
    return changed
