"""A viewer opens the gateway report in a real browser: the chart draws under the CSP, switches
metric, and the CSV export has the table's rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from billing.generation import generate_cdrs
from billing.hours import floor_hour
from billing.reports import rebuild
from tests.browser.conftest import screenshot
from tests.browser.test_parameter_page_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def console_error(message) -> bool:
    """An error in the console, but for the home page's live socket (ASGI only, not here)."""
    return message.type == "error" and "/ws/" not in message.text


def test_viewer_sees_the_chart_and_exports_the_table(page, viewer_user) -> None:
    end = floor_hour(datetime.now(UTC))
    generate_cdrs(2000, days=1, end=end, seed=15)
    list(rebuild(end - timedelta(days=1), end))
    problems: list[str] = []
    page.on("console", lambda message: console_error(message) and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    log_in(page, viewer_user.username)
    page.click("nav >> text=Gateway report")
    page.select_option("#id_side", "routing")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/reports/gateways/?*side=routing*")
    page.wait_for_selector("#report-chart canvas")
    legend = page.locator("#report-chart .u-legend").inner_text()
    assert "VENDOR-ALPHA" in legend
    page.select_option("#report-metric", "asr")
    page.wait_for_selector("#report-chart canvas")
    rows = page.locator("table.table tbody tr").count()
    assert rows > 20  # three vendors over most of a day's hours
    screenshot(page, "gateway-report")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    with open(download.value.path(), encoding="utf-8") as csv_file:
        exported = csv_file.read().splitlines()
    assert len(exported) == rows + 1 and exported[0].startswith("gateway,period_start,calls")
    assert problems == []  # no script error, no CSP violation
