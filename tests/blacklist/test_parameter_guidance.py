"""Operator guidance on the System parameter page: a warning for every family whose LIMIT is
None, and the deployment presets as fill-ins an administrator confirms."""

from __future__ import annotations

import pytest

from blacklist.families import FAMILIES
from blacklist.presets import PRESETS
from tests.blacklist.conftest import configure
from vosadmin.core.models import AuditLog
from vosadmin.core.parameters import get_parameter, resolver

pytestmark = pytest.mark.django_db

PAGE = "/parameters/"
APPLY = "/parameters/dynamic-blacklist-presets/{preset}/{family}/"


def warnings_on(page: str) -> list[str]:
    return [
        family.type
        for family in FAMILIES
        if f'family-off" role="alert" data-family="{family.type}"' in page
    ]


def test_every_family_left_at_none_is_warned_about(client, viewer_user) -> None:
    client.force_login(viewer_user)
    page = client.get(PAGE).content.decode()
    assert warnings_on(page) == ["malicious_caller", "malicious_callee", "no_answer", "concurrent"]
    assert "SS_BLACK_LIST_CALLER_MALICIOUS_CALL_LIMIT</code></a> is None" in page
    assert "the most common dynamic-blacklist mistake" in page


def test_a_family_with_a_limit_is_shown_as_on(client, viewer_user) -> None:
    configure("malicious_caller", limit=100)
    client.force_login(viewer_user)
    page = client.get(PAGE).content.decode()
    assert warnings_on(page) == ["malicious_callee", "no_answer", "concurrent"]
    assert "Malicious caller</strong> is on: limit 100, checked every 600 s" in page


def test_the_presets_are_shown_with_the_seeds_values(client, viewer_user) -> None:
    client.force_login(viewer_user)
    page = client.get(PAGE).content.decode()
    for label in ("Retail / calling card", "Wholesale", "High-CPS carrier", "Fraud-prone route"):
        assert label in page
    assert "30 · 600 s · 3600 s" in page and "seed: limit 30–50" in page
    assert "50 · 300 s · 86400 s" in page
    assert "these values are vosadmin's own" in page
    assert "/parameters/dynamic-blacklist-presets/" not in page, "viewers cannot apply them"


def test_the_seed_table_is_what_the_malicious_caller_presets_hold() -> None:
    caller = {preset.key: preset.values["malicious_caller"].as_tuple() for preset in PRESETS}
    assert caller == {
        "retail": (30, 600, 3600),
        "wholesale": (100, 600, 7200),
        "high-cps": (300, 300, 3600),
        "fraud-prone": (50, 300, 86400),
    }


def test_every_preset_value_is_one_the_parameters_accept() -> None:
    from vosadmin.core.parameters import PARAMETERS

    for preset in PRESETS:
        for family in FAMILIES:
            values = preset.values[family.type].as_tuple()
            for name, value in zip(family.parameters, values, strict=True):
                assert PARAMETERS[name].clean(value) == value


def test_an_administrator_confirms_before_anything_is_saved(client, admin_user) -> None:
    client.force_login(admin_user)
    assert (
        APPLY.format(preset="wholesale", family="malicious_caller")
        in client.get(PAGE).content.decode()
    )
    page = client.get(APPLY.format(preset="wholesale", family="malicious_caller"))
    assert page.status_code == 200
    changes = [(c.name, c.current, c.new) for c in page.context["changes"]]
    assert changes == [
        ("SS_BLACK_LIST_CALLER_MALICIOUS_CALL_LIMIT", None, 100),
        ("SS_BLACK_LIST_CALLER_MALICIOUS_CALL_CHECK_INTERVAL", 600, 600),
        ("SS_BLACK_LIST_CALLER_MALICIOUS_CALL_EXPIRE", 3600, 7200),
    ]
    assert "Confirm and save" in page.content.decode()
    assert not AuditLog.objects.exists()


def test_confirming_saves_through_the_parameter_registry(client, admin_user) -> None:
    client.force_login(admin_user)
    response = client.post(APPLY.format(preset="fraud-prone", family="all"), follow=True)
    assert "Fraud-prone route preset for all four families: 11 parameter(s) changed." in (
        response.content.decode()
    )
    resolver.invalidate()
    assert get_parameter("SS_BLACK_LIST_CALLER_MALICIOUS_CALL_LIMIT") == 50
    assert get_parameter("SS_BLACK_LIST_NO_ANSWER_EXPIRE") == 604800
    assert get_parameter("SS_BLACK_LIST_CALLER_CONCURRENT_CALL_CHECK_INTERVAL") == 30
    logged = set(AuditLog.objects.values_list("object_id", "username"))
    assert ("SS_BLACK_LIST_MALICIOUS_CALL_LIMIT", admin_user.username) in logged
    assert len(logged) == 11, "one operation-log entry per changed parameter"


def test_operators_cannot_apply_presets(client, operator_user) -> None:
    client.force_login(operator_user)
    url = APPLY.format(preset="retail", family="no_answer")
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert get_parameter("SS_BLACK_LIST_NO_ANSWER_LIMIT") is None


@pytest.mark.parametrize(("preset", "family"), [("bogus", "all"), ("retail", "bogus")])
def test_an_unknown_preset_is_a_404(client, admin_user, preset, family) -> None:
    client.force_login(admin_user)
    assert client.post(APPLY.format(preset=preset, family=family)).status_code == 404
