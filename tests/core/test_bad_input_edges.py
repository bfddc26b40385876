"""Bad input at the edges of the console and the REST API gets a clear answer, never a 500:
NUL characters in CSV imports, rate times beyond the years 1-9999 in UTC, a negative page size,
a line break in an export's group, digits of other scripts, an over-long user name at login; and
the API schema needs a role, as every page does. Found by an audit (2026-12-03)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from billing.models import Account, Payment, Rate, RateGroup
from blacklist.models import BlacklistGroup, BlacklistNumber, SystemWhitelistEntry
from softswitch.models import RoutingGateway
from tests.conftest import api_client_for
from vosadmin.core.generic import MAX_PAGE_SIZE

pytestmark = pytest.mark.django_db


def upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("f.csv", text.encode(), content_type="text/csv")


def call(client, url, data):
    client.raise_request_exception = False
    return client.post(url, data, format="multipart")


BLACKLIST_ROW = "number,match,memo\n882,prefix,a\x00b\n"
RATES_ROW = "prefix,area_name,period,fee,memo\n44,U\x00K,60,0.1,a\x00b\n"
# (API path, page path, the group's form field, the file, what must stay empty)
NUL_IMPORTS = {
    "blacklist": ("/api/v1/blacklist/numbers/", "/blacklist-numbers/", "group", BLACKLIST_ROW),
    "whitelist": ("/api/v1/whitelist/", "/system-white-list/", None, BLACKLIST_ROW),
    "rates": ("/api/v1/rates/", "/rates/", "rate_group", RATES_ROW),
}


def nul_import_data(kind: str) -> dict:
    *_, group_field, content = NUL_IMPORTS[kind]
    data = {"file": upload(content)}
    if group_field == "group":
        data["group"] = BlacklistGroup.objects.create(name="G").pk
    elif group_field:
        data[group_field] = RateGroup.objects.create(name="R").pk
    return data


@pytest.mark.parametrize("kind", NUL_IMPORTS)
def test_a_nul_in_an_api_import_is_a_bad_row(admin_api, kind):
    """PostgreSQL stores no NUL in text: the row is reported, nothing is written."""
    r = call(admin_api, NUL_IMPORTS[kind][0] + "import/", nul_import_data(kind))
    assert r.status_code == 400, r.status_code
    assert r.json()["errors"][0]["line"] == 2
    assert "NUL" in r.json()["errors"][0]["reason"]
    assert not (BlacklistNumber.objects.exists() or SystemWhitelistEntry.objects.exists())
    assert not Rate.objects.exists()


@pytest.mark.parametrize("kind", NUL_IMPORTS)
def test_a_nul_in_a_page_import_is_a_bad_row(client, operator_user, kind):
    client.force_login(operator_user)
    client.raise_request_exception = False
    r = client.post(NUL_IMPORTS[kind][1] + "import/", nul_import_data(kind))
    assert r.status_code == 400, r.status_code
    assert "NUL" in r.content.decode()


def test_rates_import_effective_from_beyond_year_9999_is_refused(operator_api, viewer_api):
    """A moment after 9999-12-31 UTC is refused: PostgreSQL stores it, Python cannot read it."""
    group = RateGroup.objects.create(name="R")
    r = call(
        operator_api,
        "/api/v1/rates/import/",
        {
            "rate_group": group.pk,
            "file": upload("prefix,period,fee,effective_to\n44,60,0.1,9999-12-31T23:00:00-05:00\n"),
        },
    )
    viewer_api.raise_request_exception = False
    listed = viewer_api.get("/api/v1/rates/").status_code
    assert (r.status_code, listed) == (400, 200)


LATE = "9999-12-31T23:00:00-05:00"  # 10000-01-01T04:00Z


@pytest.mark.parametrize(
    ("field", "moment"),
    [("effective_to", LATE), ("effective_from", "0001-01-01T00:00:00+05:00")],  # year 0 in UTC
)
def test_rate_page_form_refuses_a_moment_outside_years_1_to_9999(
    client, operator_user, field, moment
):
    group = RateGroup.objects.create(name="R")
    client.force_login(operator_user)
    client.raise_request_exception = False
    data = {
        "rate_group": group.pk,
        "prefix": "44",
        "area_name": "",
        "first_period": "0",
        "first_fee": "0",
        "period": "60",
        "fee": "0.1",
        "effective_from": "2026-01-01 00:00:00",
        "effective_to": "",
        "memo": "",
    }
    data[field] = moment
    saved = client.post("/rates/add/", data).status_code
    listed = client.get("/rates/", {"rate_group": group.pk}).status_code
    assert (saved, listed) == (200, 200)  # the form shows an error; the list still works


def test_rate_api_refuses_a_moment_after_year_9999(operator_api):
    group = RateGroup.objects.create(name="R")
    operator_api.raise_request_exception = False
    r = operator_api.post(
        "/api/v1/rates/",
        {"rate_group": group.pk, "prefix": "44", "period": 60, "fee": "0.1", "effective_to": LATE},
        format="json",
    )
    listed = operator_api.get("/api/v1/rates/").status_code
    assert (r.status_code, listed) == (400, 200)


@pytest.mark.parametrize("per_page", ["-1", "-50", "0"])
@pytest.mark.parametrize("rows", [0, 3])
def test_a_bad_per_page_is_not_a_500(client, viewer_user, per_page, rows):
    for i in range(rows):
        SystemWhitelistEntry.objects.create(number=f"11{i}")
    client.force_login(viewer_user)
    client.raise_request_exception = False
    response = client.get("/system-white-list/", {"per_page": per_page})
    assert response.status_code == 200, response.status_code
    assert 1 <= response.context["table"].paginator.per_page <= MAX_PAGE_SIZE


def test_per_page_is_at_most_the_largest_page(client, viewer_user):
    SystemWhitelistEntry.objects.bulk_create(
        SystemWhitelistEntry(number=f"1{i:04}") for i in range(MAX_PAGE_SIZE + 1)
    )
    client.force_login(viewer_user)
    response = client.get("/system-white-list/", {"per_page": "100000"})
    assert len(response.context["table"].page.object_list) == MAX_PAGE_SIZE


@pytest.mark.parametrize("value", ["{pk}\n", " {pk}", "{pk}\t"])
@pytest.mark.parametrize(
    ("path", "parameter", "model", "filename"),
    [
        ("/api/v1/rates/export/", "rate_group", RateGroup, "rate-group"),
        ("/api/v1/blacklist/numbers/export/", "group", BlacklistGroup, "blacklist-group"),
    ],
)
def test_an_export_names_its_file_by_the_group_its_filter_read(
    viewer_api, value, path, parameter, model, filename
):
    """The group id with spaces or a line break around it, as a filter reads it: the file's
    name is the group's id (a line break put into the header failed the response)."""
    group = model.objects.create(name="G")
    viewer_api.raise_request_exception = False
    r = viewer_api.get(path, {parameter: value.format(pk=group.pk)})
    assert r.status_code == 200, r.status_code
    assert r["Content-Disposition"] == f'attachment; filename="{filename}-{group.pk}.csv"'


def test_cdr_api_limit_superscript_digit_is_a_400(viewer_api):
    viewer_api.raise_request_exception = False
    r = viewer_api.get("/api/v1/cdrs/", {"limit": "²"})
    assert r.status_code == 400, r.status_code
    assert "limit" in r.json()


@pytest.mark.parametrize("add_prefix", ["١٢٣", "²", "++86"])
def test_routing_gateway_add_prefix_must_be_ascii_digits(operator_api, add_prefix):
    r = operator_api.post(
        "/api/v1/gateways/routing/",
        {"name": "V", "host": "192.0.2.50", "add_prefix": add_prefix},
        format="json",
    )
    assert r.status_code == 400, (r.status_code, r.json())
    assert "add_prefix" in r.json()
    assert not RoutingGateway.objects.exists()


@pytest.mark.parametrize("username", ["x" * 300, "x" * 5000, "ü" * 200])
def test_token_endpoint_long_username_is_400(username, viewer_user):
    client = APIClient()
    client.raise_request_exception = False
    r = client.post(
        "/api/v1/auth/token/", {"username": username, "password": "wrong"}, format="json"
    )
    assert r.status_code == 400, r.status_code
    assert list(r.json()) == ["username"]  # refused before authenticating


def test_login_page_long_username(client):
    client.raise_request_exception = False
    r = client.post("/login/", {"username": "x" * 300, "password": "wrong"})
    assert r.status_code == 200, r.status_code
    assert "username" in r.context["form"].errors  # refused before authenticating
    assert "_auth_user_id" not in client.session


def test_roleless_token_cannot_read_the_schema(roleless_user):
    assert api_client_for(roleless_user).get("/api/schema/").status_code == 403


def test_roleless_session_cannot_open_the_docs(client, roleless_user):
    client.force_login(roleless_user)
    assert client.get("/api/docs/").status_code == 403


def test_payment_memo_must_be_text(admin_api):
    account = Account.objects.create(account="A1", name="A")
    r = admin_api.post(
        f"/api/v1/accounts/{account.pk}/payments/", {"amount": "10", "memo": 12345}, format="json"
    )
    assert r.status_code == 400, (r.status_code, r.json())
    assert "memo" in r.json()
    assert not Payment.objects.exists()
