"""The dynamic-blacklist guidance shown on the System parameter page."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from blacklist.families import FAMILIES
from blacklist.presets import ALL_FAMILIES, DERIVED_NOTE, PRESETS
from vosadmin.core.parameters import get_parameter

register = template.Library()


@register.inclusion_tag("blacklist/parameter_guidance.html", takes_context=True)
def dynamic_blacklist_guidance(context: dict[str, Any]) -> dict[str, Any]:
    """Which families are off (LIMIT None), and the deployment presets as one-click fill-ins."""
    return {
        "families": [
            {"family": family, "settings": family.current_settings()} for family in FAMILIES
        ],
        "run_mode": get_parameter("SS_BLACK_LIST_DYNAMIC_RUN_MODE"),
        "presets": [_preset_row(preset) for preset in PRESETS],
        "derived_note": DERIVED_NOTE,
        "can_edit": context.get("can_edit", False),
    }


def _preset_row(preset: Any) -> dict[str, Any]:
    cells = [
        {"values": preset.values[family.type], "url": _apply_url(preset.key, family.type)}
        for family in FAMILIES
    ]
    return {"preset": preset, "cells": cells, "all_url": _apply_url(preset.key, ALL_FAMILIES)}


def _apply_url(preset: str, family: str) -> str:
    return reverse("blacklist:preset_apply", kwargs={"preset": preset, "family": family})
