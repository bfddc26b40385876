"""CSV export of a group's numbers and of the system white list, page and API, in the format
the import reads back."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from blacklist.models import BlacklistGroup, BlacklistNumber, SystemWhitelistEntry

pytestmark = pytest.mark.django_db

EXPORTED = (
    "number,match,memo\r\n"
    '4474000000,exact,"IRSF report, February"\r\n'
    "882,prefix,International networks\r\n"
)


@pytest.fixture
def group() -> BlacklistGroup:
    group = BlacklistGroup.objects.create(name="Known fraud")
    BlacklistNumber.objects.create(
        group=group, number="882", match="prefix", memo="International networks"
    )
    BlacklistNumber.objects.create(group=group, number="4474000000", memo="IRSF report, February")
    other = BlacklistGroup.objects.create(name="Other")
    BlacklistNumber.objects.create(group=other, number="900", match="prefix")
    return group


def body(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_the_api_exports_one_group(viewer_api, group) -> None:
    response = viewer_api.get("/api/v1/blacklist/numbers/export/", {"group": group.pk})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="blacklist-group-{group.pk}.csv"' in response["Content-Disposition"]
    assert body(response) == EXPORTED


def test_the_api_export_accepts_any_accept_header(viewer_api, group) -> None:
    url = f"/api/v1/blacklist/numbers/export/?group={group.pk}"
    assert viewer_api.get(url, HTTP_ACCEPT="text/csv").status_code == 200


def test_the_api_export_needs_a_valid_group(viewer_api, group) -> None:
    missing = viewer_api.get("/api/v1/blacklist/numbers/export/")
    assert missing.status_code == 400 and "group" in missing.json()
    unknown = viewer_api.get("/api/v1/blacklist/numbers/export/", {"group": 999999})
    assert unknown.status_code == 400 and "group" in unknown.json()


def test_the_api_export_follows_the_filters(viewer_api, group) -> None:
    query = {"group": group.pk, "match": "prefix"}
    response = viewer_api.get("/api/v1/blacklist/numbers/export/", query)
    assert body(response).splitlines()[1:] == ["882,prefix,International networks"]


def test_an_export_imports_back_unchanged(admin_api, group) -> None:
    exported = body(admin_api.get("/api/v1/blacklist/numbers/export/", {"group": group.pk}))
    copy = BlacklistGroup.objects.create(name="Copy")
    upload = SimpleUploadedFile("copy.csv", exported.encode(), content_type="text/csv")
    response = admin_api.post(
        "/api/v1/blacklist/numbers/import/", {"group": copy.pk, "file": upload}, format="multipart"
    )
    assert response.status_code == 201
    fields = ("number", "match", "memo")
    assert set(copy.numbers.values_list(*fields)) == set(group.numbers.values_list(*fields))


def test_the_white_list_exports_page_and_api(client, viewer_api, viewer_user) -> None:
    SystemWhitelistEntry.objects.create(number="112", memo="Emergency")
    SystemWhitelistEntry.objects.create(number="800", match="prefix")
    expected = "number,match,memo\r\n112,exact,Emergency\r\n800,prefix,\r\n"
    assert body(viewer_api.get("/api/v1/whitelist/export/")) == expected
    client.force_login(viewer_user)
    response = client.get("/system-white-list/export/", {"match": "prefix"})
    assert body(response) == "number,match,memo\r\n800,prefix,\r\n"


def test_the_numbers_page_exports_its_group(client, viewer_user, group) -> None:
    client.force_login(viewer_user)
    response = client.get("/blacklist-numbers/export/", {"group": group.pk})
    assert response.status_code == 200 and body(response) == EXPORTED
    assert client.get("/blacklist-numbers/export/").status_code == 400


def test_exports_need_a_role(client, roleless_user, group) -> None:
    client.force_login(roleless_user)
    assert client.get("/blacklist-numbers/export/", {"group": group.pk}).status_code == 403
    assert client.get("/system-white-list/export/").status_code == 403
