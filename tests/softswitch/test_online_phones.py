"""Online phones: the page and the API list bindings; operators force an unregister."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from softswitch.models import Phone, Registration
from tests.helpers import listening
from vosadmin.core.models import AuditLog
from vosadmin.core.notify import CONFIG_CHANNEL


def bind(e164: str = "1001") -> Registration:
    phone = Phone.objects.create(e164=e164, password="pw")
    now = timezone.now()
    return Registration.objects.create(
        phone=phone,
        contact=f"sip:{e164}@192.0.2.7:5060",
        source="192.0.2.7:5060",
        transport="udp",
        registered_at=now,
        expires_at=now + timedelta(seconds=3600),
        user_agent="Yealink",
        node="node1",
    )


@pytest.mark.django_db
def test_api_lists_bindings_with_the_contract_fields(viewer_api) -> None:
    bind()
    (row,) = viewer_api.get("/api/v1/registrations/").json()["results"]
    assert {
        "e164",
        "contact",
        "source",
        "transport",
        "registered_at",
        "expires_at",
        "user_agent",
    } <= set(row)
    assert (row["e164"], row["transport"], row["user_agent"]) == ("1001", "udp", "Yealink")


@pytest.mark.django_db
def test_viewer_may_not_unregister(viewer_api, client, viewer_user) -> None:
    registration = bind()
    assert viewer_api.delete(f"/api/v1/registrations/{registration.pk}/").status_code == 403
    client.force_login(viewer_user)
    assert client.post(f"/online-phones/{registration.pk}/unregister/").status_code == 403
    assert Registration.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_operator_unregisters_from_the_page_and_the_engine_hears_it(client, operator_user) -> None:
    registration = bind()
    client.force_login(operator_user)
    page = client.get("/online-phones/").content.decode()
    assert "sip:1001@192.0.2.7:5060" in page and "Unregister" in page
    with listening(CONFIG_CHANNEL) as receive:
        response = client.post(f"/online-phones/{registration.pk}/unregister/")
        assert response.status_code == 302
        assert receive() == [
            {"kind": "registration", "action": "delete", "key": registration.phone_id}
        ]
    assert not Registration.objects.exists()
    assert AuditLog.objects.get().action == "unregister"
