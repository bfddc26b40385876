"""Who may read CDRs: every role (viewers included) on the page and the API; nobody writes."""

from __future__ import annotations

import pytest

from tests.billing.conftest import at, cdr, day_range, store
from tests.conftest import api_client_for


@pytest.fixture
def flow_no(partitions) -> int:
    return store(cdr("a-call", at(1)))[0].flow_no


@pytest.mark.parametrize(
    ("who", "expected"),
    [("admin", 200), ("operator", 200), ("viewer", 200), ("roleless", 403), ("anonymous", 401)],
)
def test_api_reads_by_role(users, flow_no, who: str, expected: int) -> None:
    client = api_client_for(users[who])
    assert client.get("/api/v1/cdrs/", day_range()).status_code == expected
    assert client.get(f"/api/v1/cdrs/{flow_no}/").status_code == expected
    csv = client.get("/api/v1/cdrs/", {"format": "csv", **day_range()})
    assert csv.status_code == expected


@pytest.mark.parametrize("who", ["admin", "operator", "viewer"])
def test_nobody_writes_cdrs_through_the_api(users, flow_no, who: str) -> None:
    client = api_client_for(users[who])
    detail = f"/api/v1/cdrs/{flow_no}/"
    assert client.post("/api/v1/cdrs/", {}, format="json").status_code in (403, 405)
    assert client.patch(detail, {"caller": "1"}, format="json").status_code in (403, 405)
    assert client.delete(detail).status_code in (403, 405)
    assert client.get(detail).json()["caller"] == "2125550100"


@pytest.mark.parametrize(
    ("who", "expected"), [("admin", 200), ("operator", 200), ("viewer", 200), ("roleless", 403)]
)
def test_page_by_role(client, users, who: str, expected: int) -> None:
    client.force_login(users[who])
    assert client.get("/cdrs/").status_code == expected


def test_anonymous_is_sent_to_login_from_the_page(client, db) -> None:
    response = client.get("/cdrs/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_menu_has_data_query_cdr(client, viewer_user) -> None:
    client.force_login(viewer_user)
    menu = client.get("/").context["menu"]
    data_query = next(group for group in menu if group["label"] == "Data query")
    assert data_query["items"] == [{"label": "CDR", "url": "/cdrs/", "active": False}]
