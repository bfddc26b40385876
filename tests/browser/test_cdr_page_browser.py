"""A viewer looks for illegal calls in a real browser, exports them, and finds the page as left."""

from __future__ import annotations

import pytest

from billing.generation import generate_cdrs
from tests.browser.conftest import screenshot
from tests.browser.test_parameter_page_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_viewer_filters_exports_and_comes_back(page, viewer_user) -> None:
    generate_cdrs(1500, days=1, seed=3)
    log_in(page, viewer_user.username)
    page.click("nav >> text=CDR")
    page.get_by_label("Illegal call", exact=True).check()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/cdrs/?*billing_mode=-2*")
    modes = page.locator("table.table tbody td:nth-child(5)").all_inner_texts()
    assert modes and set(modes) == {"-2 Illegal call"}
    calls = int(page.locator(".cdr-totals div:first-child dd").inner_text())
    screenshot(page, "cdr-illegal-calls")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    with open(download.value.path(), encoding="utf-8") as csv_file:
        exported = csv_file.read().splitlines()
    assert len(exported) == calls + 1 and exported[0].startswith("flow_no,call_id,caller")

    page.get_by_role("link", name="Next ›").click()
    assert set(page.locator("table.table tbody td:nth-child(5)").all_inner_texts()) == {
        "-2 Illegal call"
    }
    page.goto("/")
    page.click("nav >> text=CDR")
    assert page.get_by_label("Illegal call", exact=True).is_checked()
