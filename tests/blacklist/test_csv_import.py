"""CSV import of black list numbers (per group) and the system white list, page and API:
all or nothing, every bad row reported with its line number and reason."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from blacklist.models import BlacklistGroup, BlacklistNumber, SystemWhitelistEntry
from tests.helpers import listening
from vosadmin.core.models import AuditLog

NUMBERS_API = "/api/v1/blacklist/numbers/import/"
WHITELIST_API = "/api/v1/whitelist/import/"

GOOD = """number,match,memo
882,prefix,International networks
4474000000,exact,IRSF report 2026-02
"8613900000001",,"memo, with a comma"
"""

BAD = """number,match,memo
882,prefix,ok
12ab,exact,letters
4474000000,wildcard,
882,exact,again

,prefix,
4930000001,exact,already in the group
+4930000002,PREFIX,fine
"""

BAD_ERRORS = [
    {"line": 3, "reason": "not a number: “12ab”"},
    {"line": 4, "reason": "unknown match type “wildcard” (use exact or prefix)"},
    {"line": 5, "reason": "882 is a duplicate of line 2"},
    {"line": 7, "reason": "the number is missing"},
    {"line": 8, "reason": "4930000001 is already in group “Known fraud”"},
]


def upload(text: str | bytes, name: str = "numbers.csv") -> SimpleUploadedFile:
    content = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.fixture
def group(db) -> BlacklistGroup:
    return BlacklistGroup.objects.create(name="Known fraud")


def post_numbers(client, group: BlacklistGroup, text: str | bytes):
    return client.post(NUMBERS_API, {"group": group.pk, "file": upload(text)}, format="multipart")


@pytest.mark.django_db
def test_a_good_file_is_imported_whole(operator_api, group, operator_user) -> None:
    response = post_numbers(operator_api, group, GOOD)
    assert response.status_code == 201, response.json()
    assert response.json() == {"imported": 3}
    rows = set(group.numbers.values_list("number", "match", "memo"))
    assert rows == {
        ("882", "prefix", "International networks"),
        ("4474000000", "exact", "IRSF report 2026-02"),
        ("8613900000001", "exact", "memo, with a comma"),
    }
    log = AuditLog.objects.get()
    assert (log.action, log.username, log.object_id) == (
        "import",
        operator_user.username,
        str(group.pk),
    )
    assert log.changes == {"imported": [None, 3]}


@pytest.mark.django_db
def test_one_bad_row_and_nothing_is_imported_every_bad_row_reported(admin_api, group) -> None:
    BlacklistNumber.objects.create(group=group, number="4930000001")
    response = post_numbers(admin_api, group, BAD)
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == BAD_ERRORS
    assert body["detail"] == "Nothing was imported: 5 bad row(s)."
    assert list(group.numbers.values_list("number", flat=True)) == ["4930000001"]
    assert not AuditLog.objects.exists()


@pytest.mark.django_db
def test_the_header_is_optional(admin_api, group) -> None:
    response = post_numbers(admin_api, group, "882,prefix\n4474000000\n")
    assert response.status_code == 201
    assert dict(group.numbers.values_list("number", "match")) == {
        "882": "prefix",
        "4474000000": "exact",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("number,match,memo\n\n", {"line": 0, "reason": "the file holds no numbers"}),
        (b"882,prefix,\xff\xfe\n", {"line": 0, "reason": "the file is not UTF-8 text"}),
        (
            "number,kind\n882,prefix\n",
            {
                "line": 1,
                "reason": "the header must name the columns number, match, memo (each once)",
            },
        ),
        (
            "882,prefix,memo,extra\n",
            {"line": 1, "reason": "4 columns, expected at most 3: number, match, memo"},
        ),
        (
            "882,prefix," + "m" * 201 + "\n",
            {"line": 1, "reason": "the memo is longer than 200 characters"},
        ),
        ('882,"prefix\n', {"line": 1, "reason": "not valid CSV (unexpected end of data)"}),
        (
            "12ab,wild\n",
            {
                "line": 1,
                "reason": "not a number: “12ab”; unknown match type “wild” (use exact or prefix)",
            },
        ),
    ],
)
def test_files_that_cannot_be_imported_are_explained(admin_api, group, text, error) -> None:
    response = post_numbers(admin_api, group, text)
    assert response.status_code == 400
    assert response.json()["errors"] == [error]
    assert not BlacklistNumber.objects.exists()


@pytest.mark.django_db
def test_the_upload_itself_is_validated(admin_api, group) -> None:
    missing_file = admin_api.post(NUMBERS_API, {"group": group.pk}, format="multipart")
    assert missing_file.status_code == 400 and "file" in missing_file.json()
    empty_file = post_numbers(admin_api, group, "")
    assert empty_file.status_code == 400 and "file" in empty_file.json()
    no_group = admin_api.post(NUMBERS_API, {"file": upload(GOOD)}, format="multipart")
    assert no_group.status_code == 400 and "group" in no_group.json()
    bad_group = admin_api.post(
        NUMBERS_API, {"group": 999999, "file": upload(GOOD)}, format="multipart"
    )
    assert bad_group.status_code == 400 and "group" in bad_group.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "status"), [("viewer", 403), ("roleless", 403), ("anonymous", 401)]
)
def test_only_operators_and_administrators_import(users, group, who, status) -> None:
    from tests.conftest import api_client_for

    assert post_numbers(api_client_for(users[who]), group, GOOD).status_code == status
    assert not BlacklistNumber.objects.exists()


@pytest.mark.django_db
def test_the_white_list_imports_the_same_way(admin_api) -> None:
    SystemWhitelistEntry.objects.create(number="112")
    bad = admin_api.post(
        WHITELIST_API, {"file": upload("911\n112\n800,prefix\n")}, format="multipart"
    )
    assert bad.status_code == 400
    assert bad.json()["errors"] == [
        {"line": 2, "reason": "112 is already on the system white list"}
    ]
    assert SystemWhitelistEntry.objects.count() == 1
    good = admin_api.post(WHITELIST_API, {"file": upload("911\n800,prefix\n")}, format="multipart")
    assert good.status_code == 201 and good.json() == {"imported": 2}
    assert set(SystemWhitelistEntry.objects.values_list("number", "match")) == {
        ("112", "exact"),
        ("911", "exact"),
        ("800", "prefix"),
    }


@pytest.mark.django_db
def test_a_large_file_is_one_bulk_insert(admin_api, group, django_assert_max_num_queries) -> None:
    text = "".join(f"86139{number:08d},exact\n" for number in range(20_000))
    with django_assert_max_num_queries(30):
        response = post_numbers(admin_api, group, text)
    assert response.status_code == 201 and response.json() == {"imported": 20_000}


@pytest.mark.django_db(transaction=True)
def test_the_engine_hears_about_an_import_once(admin_api) -> None:
    """One NOTIFY per import, not per row: the engine reloads a list as a whole."""
    group = BlacklistGroup.objects.create(name="Known fraud")
    with listening("vosadmin_config") as receive:
        post_numbers(admin_api, group, GOOD)
        numbers = receive()
        admin_api.post(WHITELIST_API, {"file": upload(GOOD)}, format="multipart")
        whitelist = receive()
    assert numbers == [{"kind": "blacklist_group", "action": "update", "key": group.pk}]
    assert whitelist == [{"kind": "whitelist", "action": "update", "key": None}]


@pytest.mark.django_db(transaction=True)
def test_a_rejected_file_notifies_nothing(admin_api) -> None:
    group = BlacklistGroup.objects.create(name="Known fraud")
    with listening("vosadmin_config") as receive:
        post_numbers(admin_api, group, BAD)
        assert receive(timeout=0.5) == []


@pytest.mark.django_db
def test_the_import_page_lists_the_bad_rows(client, operator_user, group) -> None:
    BlacklistNumber.objects.create(group=group, number="4930000001")
    client.force_login(operator_user)
    form = client.get("/blacklist-numbers/import/", {"group": group.pk}).context["form"]
    assert str(form.initial["group"]) == str(group.pk)
    response = client.post("/blacklist-numbers/import/", {"group": group.pk, "file": upload(BAD)})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was imported: 5 bad rows." in page
    for error in BAD_ERRORS:
        assert f"<td>{error['line']}</td><td>{error['reason']}</td>" in page
    assert group.numbers.count() == 1


@pytest.mark.django_db
def test_the_import_page_imports_and_goes_to_the_group(client, operator_user, group) -> None:
    client.force_login(operator_user)
    response = client.post("/blacklist-numbers/import/", {"group": group.pk, "file": upload(GOOD)})
    assert response.status_code == 302
    assert response["Location"] == f"/blacklist-numbers/?group={group.pk}"
    assert group.numbers.count() == 3


@pytest.mark.django_db
def test_the_white_list_import_page(client, operator_user, viewer_user) -> None:
    client.force_login(viewer_user)
    assert client.post("/system-white-list/import/", {"file": upload(GOOD)}).status_code == 403
    client.force_login(operator_user)
    response = client.post("/system-white-list/import/", {"file": upload(GOOD)})
    assert response.status_code == 302 and SystemWhitelistEntry.objects.count() == 3


@pytest.mark.django_db
def test_an_oversized_file_is_refused_as_a_whole(admin_api, group, monkeypatch) -> None:
    monkeypatch.setattr("blacklist.csv_lists.MAX_ROWS", 3)
    response = post_numbers(admin_api, group, "1\n2\n3\n4\n")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"line": 0, "reason": "more than 3 rows: split the file"}]
    assert not BlacklistNumber.objects.exists()
