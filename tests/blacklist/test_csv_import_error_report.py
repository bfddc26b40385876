"""A rejected CSV import reports how many rows were bad and the first 100 of them, not every
row (a 100,000-row file of junk must not come back as a 100,000-row answer)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from blacklist.csv_lists import MAX_REPORTED_ERRORS
from blacklist.models import BlacklistGroup, BlacklistNumber, SystemWhitelistEntry

pytestmark = pytest.mark.django_db

BAD_ROWS = 5_000
JUNK = "number,match,memo\n" + "".join(f"not-a-number-{n}\n" for n in range(BAD_ROWS))


def upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("numbers.csv", text.encode(), content_type="text/csv")


@pytest.fixture
def group() -> BlacklistGroup:
    return BlacklistGroup.objects.create(name="Fraud")


def test_the_api_reports_the_count_and_the_first_100(admin_api, group) -> None:
    data = {"group": group.pk, "file": upload(JUNK)}
    response = admin_api.post("/api/v1/blacklist/numbers/import/", data, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert body["error_count"] == BAD_ROWS
    assert len(body["errors"]) == MAX_REPORTED_ERRORS
    assert [error["line"] for error in body["errors"]] == list(range(2, 2 + MAX_REPORTED_ERRORS))
    assert body["detail"] == f"Nothing was imported: {BAD_ROWS} bad row(s)."
    assert not BlacklistNumber.objects.exists()


def test_the_white_list_import_reports_the_same_way(admin_api) -> None:
    response = admin_api.post("/api/v1/whitelist/import/", {"file": upload(JUNK)})
    assert response.status_code == 400
    assert response.json()["error_count"] == BAD_ROWS
    assert len(response.json()["errors"]) == MAX_REPORTED_ERRORS
    assert not SystemWhitelistEntry.objects.exists()


def test_a_few_bad_rows_are_all_reported(admin_api) -> None:
    response = admin_api.post("/api/v1/whitelist/import/", {"file": upload("1\nx\ny\n")})
    assert response.json()["error_count"] == 2 and len(response.json()["errors"]) == 2


def test_the_import_page_shows_the_count_and_the_first_100(client, operator_user, group) -> None:
    client.force_login(operator_user)
    data = {"group": group.pk, "file": upload(JUNK)}
    response = client.post("/blacklist-numbers/import/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert f"Nothing was imported: {BAD_ROWS} bad rows." in page
    assert f"The first {MAX_REPORTED_ERRORS} are listed; {BAD_ROWS - 100} more are not." in page
    assert page.count("not a number") == MAX_REPORTED_ERRORS
