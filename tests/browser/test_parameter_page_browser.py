"""An administrator logs in with a real browser, changes a parameter and sees it saved."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD
from vosadmin.core.models import AuditLog
from vosadmin.core.parameters import get_parameter, resolver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


def test_admin_changes_a_parameter_in_the_browser(page, admin_user) -> None:
    log_in(page, admin_user.username)
    page.click("text=System parameter")
    row = page.locator("tr#SS_ENDPOINT_EXPIRE")
    row.locator("input[name=value]").fill("1800")
    row.locator("button[type=submit]").click()
    page.wait_for_url("**/parameters/#SS_ENDPOINT_EXPIRE")
    assert "SS_ENDPOINT_EXPIRE: 3600 seconds → 1800 seconds." in page.inner_text(".messages")
    assert page.locator("tr#SS_ENDPOINT_EXPIRE input[name=value]").input_value() == "1800"
    screenshot(page, "parameter-saved")
    resolver.invalidate()
    assert get_parameter("SS_ENDPOINT_EXPIRE") == 1800
    assert AuditLog.objects.get().username == admin_user.username


def test_out_of_range_value_is_explained_on_the_row(page, admin_user) -> None:
    log_in(page, admin_user.username)
    page.goto("/parameters/")
    row = page.locator("tr#SS_AUTHENTICATION_FAILED_SUSPEND")
    row.locator("input[name=value]").fill("5")
    row.locator("button[type=submit]").click()
    error = page.locator("tr#SS_AUTHENTICATION_FAILED_SUSPEND .field-error")
    assert error.inner_text() == (
        "SS_AUTHENTICATION_FAILED_SUSPEND must be an integer from 60 to 3600 (seconds)."
    )
    resolver.invalidate()
    assert get_parameter("SS_AUTHENTICATION_FAILED_SUSPEND") == 180


def test_search_box_filters_rows_as_you_type(page, admin_user) -> None:
    log_in(page, admin_user.username)
    page.goto("/parameters/")
    page.fill("input[type=search]", "tcp_close")
    assert page.locator("tr.parameter-row:visible").count() == 1
