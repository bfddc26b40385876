"""Generated CRUD and permission tests for a model's page and API (NetBox's
`utilities/testing/api.py` is the model): a test class names the model, the URLs, valid data to
create and update, and bad data with the field it must be rejected on."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from django.db.models import Model

from tests.conftest import api_client_for
from vosadmin.core.models import AuditLog

RANKS = ("admin", "operator", "viewer")  # the console's roles, most allowed first
CAST = (*RANKS, "roleless", "anonymous")


def allowed(who: str, least: str) -> bool:
    """Whether `who` (a name of the `users` cast) holds the role `least` or a higher one."""
    return who in RANKS[: RANKS.index(least) + 1]


def expected(who: str, least: str, success: int, anonymous: int) -> int:
    """The status `who` gets from what needs the role `least`: `success`, `anonymous` without
    a login, 403 otherwise."""
    if allowed(who, least):
        return success
    return anonymous if who == "anonymous" else 403


class ApiCrudTests:
    """Subclass and set the attributes; every test below runs for that model."""

    reader: ClassVar[str] = "viewer"  # the least role that reads
    writer: ClassVar[str] = "operator"  # the least role that writes
    model: ClassVar[type[Model]]
    api_url: ClassVar[str]
    create_data: ClassVar[dict[str, Any]]
    update_data: ClassVar[dict[str, Any]]
    bad_data: ClassVar[list[tuple[dict[str, Any], str]]]  # (data, field named in the 400)

    def make(self) -> Model:
        """An existing object to read, update and delete."""
        raise NotImplementedError

    def test_create_read_update_delete(self, admin_api) -> None:
        response = admin_api.post(self.api_url, self.create_data, format="json")
        assert response.status_code == 201, response.json()
        created = response.json()
        for key, value in self.create_data.items():
            assert created[key] == value, key
        detail = f"{self.api_url}{created['id']}/"
        assert admin_api.get(detail).json() == created
        response = admin_api.patch(detail, self.update_data, format="json")
        assert response.status_code == 200, response.json()
        for key, value in self.update_data.items():
            assert response.json()[key] == value, key
        assert admin_api.delete(detail).status_code == 204
        assert admin_api.get(detail).status_code == 404
        assert list(AuditLog.objects.order_by("id").values_list("action", flat=True)) == [
            "create",
            "update",
            "delete",
        ]

    def test_list_is_paginated_and_filterable(self, users) -> None:
        self.make()
        viewer_api = api_client_for(users[self.reader])
        response = viewer_api.get(self.api_url, {"limit": 1})
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 1 and len(body["results"]) == 1
        assert viewer_api.get(self.api_url, {"q": "zz-no-match-zz"}).json()["count"] == 0

    def test_bad_input_is_400_naming_the_field_and_saves_nothing(self, admin_api, bad_case) -> None:
        data, field = self.bad_data[bad_case]
        response = admin_api.post(self.api_url, {**self.create_data, **data}, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert not self.model.objects.exists()
        assert not AuditLog.objects.exists()

    @pytest.mark.parametrize("who", CAST)
    def test_role_matrix(self, users, who: str) -> None:
        read, write = (
            expected(who, role, ok, 401) for role, ok in ((self.reader, 200), (self.writer, 201))
        )
        client = api_client_for(users[who])
        assert client.get(self.api_url).status_code == read
        assert client.post(self.api_url, self.create_data, format="json").status_code == write
        existing = self.make()
        detail = f"{self.api_url}{existing.pk}/"
        expected_delete = 204 if write == 201 else write
        assert client.delete(detail).status_code == expected_delete


class PageCrudTests:
    """Console pages of a model: list, add, edit, delete, by role."""

    reader: ClassVar[str] = "viewer"  # the least role that sees the pages
    writer: ClassVar[str] = "operator"  # the least role that changes
    model: ClassVar[type[Model]]
    list_url: ClassVar[str]
    form_data: ClassVar[dict[str, Any]]

    def make(self) -> Model:
        raise NotImplementedError

    def test_writer_adds_edits_and_deletes_through_pages(self, client, users) -> None:
        client.force_login(users[self.writer])
        response = client.post(f"{self.list_url}add/", self.form_data)
        assert response.status_code == 302, response.context["form"].errors
        obj = self.model.objects.get()
        response = client.get(f"{self.list_url}{obj.pk}/edit/")
        assert response.status_code == 200
        response = client.post(
            f"{self.list_url}{obj.pk}/edit/", {**self.form_data, "memo": "edited"}
        )
        assert response.status_code == 302
        obj.refresh_from_db()
        assert obj.memo == "edited"
        assert client.post(f"{self.list_url}{obj.pk}/delete/").status_code == 302
        assert not self.model.objects.exists()
        assert AuditLog.objects.count() == 3

    def test_invalid_form_shows_errors_and_saves_nothing(self, client, users) -> None:
        client.force_login(users[self.writer])
        response = client.post(f"{self.list_url}add/", {})
        assert response.status_code == 200
        assert response.context["form"].errors
        assert not self.model.objects.exists()

    def test_list_page_filters_sorts_and_paginates(self, client, users) -> None:
        self.make()
        client.force_login(users[self.reader])
        response = client.get(self.list_url)
        assert response.status_code == 200
        assert len(response.context["table"].page.object_list) == 1
        response = client.get(self.list_url, {"q": "zz-no-match-zz", "sort": "-memo"})
        assert response.status_code == 200
        assert len(response.context["table"].page.object_list) == 0

    @pytest.mark.parametrize("who", CAST)
    def test_role_matrix(self, client, users, who: str) -> None:
        view, change = (
            expected(who, role, ok, 302) for role, ok in ((self.reader, 200), (self.writer, 302))
        )
        if users[who]:
            client.force_login(users[who])
        obj = self.make()
        assert client.get(self.list_url).status_code == view
        response = client.post(f"{self.list_url}{obj.pk}/delete/")
        assert response.status_code == change
        assert self.model.objects.filter(pk=obj.pk).exists() == (not allowed(who, self.writer))
