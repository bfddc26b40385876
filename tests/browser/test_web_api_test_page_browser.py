"""An administrator tries the VOS3000 Web API from the browser test page (/external/test/server):
the script runs under the console's Content Security Policy, sends the edited body, shows the
reply."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from billing.models import Account
from tests.browser.conftest import screenshot
from tests.browser.test_parameter_page_browser import log_in
from vosadmin.external.models import WebAccessRule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_sends_calls_from_the_test_page(page, admin_user) -> None:
    WebAccessRule.objects.create(allowed=["127.0.0.1", "::1"], memo="browser")
    Account.objects.create(account="C100", name="Acme")
    problems: list[str] = []
    page.on(
        "console",
        lambda message: "Content Security Policy" in message.text and problems.append(message.text),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    log_in(page, admin_user.username)
    page.click("text=Web API test")
    page.select_option("#web-api-call", "GetPerformance")
    # the page script fills in the example body once it runs (it may run after the select)
    expect(page.locator("#web-api-body")).to_have_value("{}")
    page.click("#web-api-test button[type=submit]")
    expect(page.locator("#web-api-reply")).to_contain_text("retCode")
    assert json.loads(page.inner_text("#web-api-reply"))["retCode"] == 0
    page.select_option("#web-api-call", "Pay")
    page.fill("#web-api-body", '{"ownerName": "C100", "ownerType": 2, "money": "7"}')
    page.click("#web-api-test button[type=submit]")
    expect(page.locator("#web-api-reply")).to_contain_text("infoPay")
    assert json.loads(page.inner_text("#web-api-reply"))["infoPay"]["money"] == 7.0
    assert "HTTP 200" in page.inner_text("#web-api-status")
    screenshot(page, "web-api-test-page")
    assert Account.objects.get().balance == 7
    assert not problems, problems  # no CSP violation, no script error on the page
