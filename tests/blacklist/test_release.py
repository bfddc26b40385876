"""Early release: administrators only (page and API), audit-logged, the engine is told."""

from __future__ import annotations

import pytest

from blacklist.models import DynamicBlacklistEntry
from tests.blacklist.conftest import make_entry
from tests.conftest import api_client_for
from tests.helpers import listening
from vosadmin.core.models import AuditLog

API = "/api/v1/blacklist/dynamic/"
PAGE = "/dynamic-black-list/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 204), ("operator", 403), ("viewer", 403), ("roleless", 403), ("anonymous", 401)],
)
def test_only_administrators_release_through_the_api(users, who: str, status: int) -> None:
    entry = make_entry()
    assert api_client_for(users[who]).delete(f"{API}{entry.pk}/").status_code == status
    entry.refresh_from_db()
    assert entry.active == (status != 204)


@pytest.mark.django_db
def test_a_release_keeps_the_entry_as_history_and_is_audit_logged(admin_api, admin_user) -> None:
    entry = make_entry("8613900000001")
    assert admin_api.delete(f"{API}{entry.pk}/").status_code == 204
    entry.refresh_from_db()
    assert not entry.active and entry.released_by == admin_user.username
    assert entry.released_at is not None
    assert entry.ending() == f"released by {admin_user.username}"
    log = AuditLog.objects.get()
    assert (log.action, log.username, log.object_id) == (
        "release",
        admin_user.username,
        str(entry.pk),
    )
    assert log.object_repr == "8613900000001 (Malicious caller)"
    assert log.changes["active"] == [True, False]


@pytest.mark.django_db
def test_releasing_an_inactive_entry_is_a_conflict(admin_api) -> None:
    entry = make_entry(active=False)
    response = admin_api.delete(f"{API}{entry.pk}/")
    assert response.status_code == 409
    assert "not active" in response.json()["detail"]
    assert not AuditLog.objects.exists()
    assert admin_api.delete(f"{API}999999/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_engine_is_told_at_once(admin_api) -> None:
    entry = make_entry()
    with listening("vosadmin_config") as receive:
        admin_api.delete(f"{API}{entry.pk}/")
        payloads = receive()
    assert {"kind": "dynamic_blacklist", "action": "update", "key": entry.pk} in payloads


@pytest.mark.django_db
def test_administrators_release_from_the_page(client, admin_user) -> None:
    entry = make_entry()
    client.force_login(admin_user)
    page = client.get(PAGE).content.decode()
    assert f"/dynamic-black-list/{entry.pk}/release/" in page
    response = client.post(f"{PAGE}{entry.pk}/release/", follow=True)
    assert "8613900000001 (Malicious caller) released." in response.content.decode()
    assert not DynamicBlacklistEntry.objects.get().active
    assert AuditLog.objects.get().action == "release"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["operator", "viewer"])
def test_operators_and_viewers_only_view(client, users, who: str) -> None:
    entry = make_entry()
    client.force_login(users[who])
    page = client.get(PAGE)
    assert page.status_code == 200 and "8613900000001" in page.content.decode()
    assert "/release/" not in page.content.decode()
    assert client.post(f"{PAGE}{entry.pk}/release/").status_code == 403
    assert DynamicBlacklistEntry.objects.get().active
