"""The console shell: login, navigation by role, and who may open which page."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PAGES = [
    "/",
    "/mapping-gateways/",
    "/routing-gateways/",
    "/phones/",
    "/online-phones/",
    "/current-calls/",
    "/cdrs/",
    "/parameters/",
    "/operation-log/",
    "/users/",
    "/api/docs/",
]
ADMIN_ONLY = {"/users/"}


def test_anonymous_is_sent_to_login(client) -> None:
    for page in PAGES[:-1]:
        response = client.get(page)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_login_and_logout(client, viewer_user) -> None:
    response = client.post("/login/", {"username": "victor-viewer", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_shows_an_error(client, viewer_user) -> None:
    response = client.post("/login/", {"username": "victor-viewer", "password": "nope"})
    assert response.status_code == 200
    assert b"Wrong user name or password" in response.content


@pytest.mark.parametrize("who", ["admin", "operator", "viewer"])
def test_pages_by_role(client, users, who: str) -> None:
    client.force_login(users[who])
    for page in PAGES:
        expected = 403 if page in ADMIN_ONLY and who != "admin" else 200
        assert client.get(page).status_code == expected, page


def test_a_user_without_role_sees_no_page(client, roleless_user) -> None:
    client.force_login(roleless_user)
    for page in PAGES[:-1]:
        assert client.get(page).status_code == 403, page


def test_navigation_follows_the_vos3000_client_and_the_role(client, users) -> None:
    client.force_login(users["admin"])
    menu = client.get("/").context["menu"]
    labels = {group["label"]: [item["label"] for item in group["items"]] for group in menu}
    assert labels["Operation management"] == [
        "Mapping gateways",
        "Routing gateways",
        "Phones",
        "Online phones",
        "Current calls",
        "System parameter",
    ]
    assert "Users" in labels["System management"]
    client.force_login(users["operator"])
    operator_menu = client.get("/").context["menu"]
    assert all("Users" not in [i["label"] for i in group["items"]] for group in operator_menu)


@pytest.mark.parametrize(
    ("path", "marked"),
    [("/alarms/history/", "Alarm history"), ("/alarms/", "Current alarms"), ("/cdrs/", "CDR")],
)
def test_navigation_marks_the_one_page_open(client, users, path, marked) -> None:
    """Alarm history (/alarms/history/) lies under Current alarms (/alarms/): only the
    closest match is the page open."""
    client.force_login(users["admin"])
    menu = client.get(path).context["menu"]
    active = [item["label"] for group in menu for item in group["items"] if item["active"]]
    assert active == [marked]


def test_static_assets_are_served_locally(client, admin_user) -> None:
    client.force_login(admin_user)
    page = client.get("/").content.decode()
    assert "/static/css/console.css" in page
    assert "http://" not in page.replace("http://testserver", "")
    assert "https://" not in page


def test_home_shows_the_engines_security_counters(client, viewer_user, redis_client) -> None:
    import time

    from softswitch.redis_keys import security_key

    minute = int(time.time() // 60)
    redis_client.hset(
        security_key(minute),
        mapping={"register_failed": 4, "unauthorized": 9, "tcp_connections:node1": 12},
    )
    redis_client.hset(security_key(minute - 5), mapping={"register_failed": 3})
    client.force_login(viewer_user)
    security = client.get("/").context["security"]
    counts = {figure["label"]: figure["value"] for figure in security["counts"]}
    assert counts == {
        "Failed registrations": 7,
        "Unauthorised requests": 9,
        "Registration replacements": 0,
    }
    assert security["tcp_connections"] == {"node1": 12}


def test_routing_gateways_show_their_options_status(client, viewer_user, redis_client) -> None:
    from softswitch.models import RoutingGateway
    from softswitch.redis_keys import GATEWAY_STATUS_KEY

    probed = RoutingGateway.objects.create(name="PROBED", host="192.0.2.1", options_check=True)
    RoutingGateway.objects.create(name="PLAIN", host="192.0.2.2")
    redis_client.hset(GATEWAY_STATUS_KEY, str(probed.pk), "offline")
    client.force_login(viewer_user)
    page = client.get("/routing-gateways/").content.decode()
    assert "Offline" in page and "Not probed" in page
