"""Black/white list groups, their numbers and the system white list: pages and API (CRUD,
filters, roles, operation log), and the engine hearing about every change."""

from __future__ import annotations

from typing import Any

import pytest

from blacklist.models import BlacklistGroup, BlacklistNumber, SystemWhitelistEntry
from tests.crud import ApiCrudTests, PageCrudTests
from tests.helpers import listening

pytestmark = pytest.mark.django_db


def fraud_group() -> BlacklistGroup:
    return BlacklistGroup.objects.get_or_create(name="Known fraud")[0]


class TestBlacklistGroupApi(ApiCrudTests):
    model = BlacklistGroup
    api_url = "/api/v1/blacklist/groups/"
    create_data = {"name": "Premium destinations", "applies_to_all": True, "memo": "IRSF"}
    update_data = {"applies_to_all": False, "memo": "retail callee list"}
    bad_data = [
        ({"name": ""}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"applies_to_all": "sometimes"}, "applies_to_all"),
    ]

    def make(self) -> BlacklistGroup:
        return BlacklistGroup.objects.create(name="Existing group")

    def test_duplicate_name_is_400(self, admin_api) -> None:
        self.make()
        response = admin_api.post(self.api_url, {"name": "Existing group"}, format="json")
        assert response.status_code == 400 and "name" in response.json()

    def test_groups_show_how_many_numbers_they_hold(self, viewer_api) -> None:
        group = self.make()
        BlacklistNumber.objects.create(group=group, number="882", match="prefix")
        BlacklistNumber.objects.create(group=group, number="4474000000")
        (row,) = viewer_api.get(self.api_url).json()["results"]
        assert row["number_count"] == 2
        assert viewer_api.get(f"{self.api_url}{group.pk}/").json()["number_count"] == 2


class TestBlacklistNumberApi(ApiCrudTests):
    model = BlacklistNumber
    api_url = "/api/v1/blacklist/numbers/"
    update_data = {"match": "exact", "memo": "one number only"}
    bad_data = [
        ({"number": "12ab"}, "number"),
        ({"number": ""}, "number"),
        ({"match": "wildcard"}, "match"),
        ({"group": 999999}, "group"),
        ({"memo": "x" * 201}, "memo"),
    ]

    @property
    def create_data(self) -> dict[str, Any]:
        return {"group": fraud_group().pk, "number": "882", "match": "prefix", "memo": "networks"}

    def make(self) -> BlacklistNumber:
        return BlacklistNumber.objects.create(group=fraud_group(), number="4474000000")

    def test_a_number_twice_in_one_group_is_400(self, admin_api) -> None:
        self.make()
        data = {"group": fraud_group().pk, "number": "4474000000"}
        response = admin_api.post(self.api_url, data, format="json")
        assert response.status_code == 400
        assert "unique" in str(response.json()).lower()

    def test_the_same_number_may_be_in_two_groups(self, admin_api) -> None:
        self.make()
        other = BlacklistGroup.objects.create(name="Other")
        data = {"group": other.pk, "number": "4474000000"}
        assert admin_api.post(self.api_url, data, format="json").status_code == 201

    def test_filter_by_group_and_number_prefix(self, viewer_api) -> None:
        self.make()
        other = BlacklistGroup.objects.create(name="Other")
        BlacklistNumber.objects.create(group=other, number="4474999999")
        by_group = viewer_api.get(self.api_url, {"group": other.pk}).json()["results"]
        assert [row["number"] for row in by_group] == ["4474999999"]
        assert viewer_api.get(self.api_url, {"number": "4474"}).json()["count"] == 2
        assert viewer_api.get(self.api_url, {"group": "nope"}).status_code == 400


class TestSystemWhitelistApi(ApiCrudTests):
    model = SystemWhitelistEntry
    api_url = "/api/v1/whitelist/"
    create_data = {"number": "112", "match": "exact", "memo": "Emergency"}
    update_data = {"match": "prefix"}
    bad_data = [
        ({"number": "1-1-2"}, "number"),
        ({"match": "regex"}, "match"),
        ({"number": "+" + "1" * 33}, "number"),
    ]

    def make(self) -> SystemWhitelistEntry:
        return SystemWhitelistEntry.objects.create(number="911")

    def test_a_number_twice_is_400(self, admin_api) -> None:
        self.make()
        response = admin_api.post(self.api_url, {"number": "911"}, format="json")
        assert response.status_code == 400 and "number" in response.json()


class TestBlacklistGroupPages(PageCrudTests):
    model = BlacklistGroup
    list_url = "/blacklist-groups/"
    form_data = {"name": "Premium destinations", "memo": ""}

    def make(self) -> BlacklistGroup:
        return BlacklistGroup.objects.create(name="Existing group")

    def test_the_group_list_links_to_the_groups_numbers(self, client, viewer_user) -> None:
        group = self.make()
        BlacklistNumber.objects.create(group=group, number="882", match="prefix")
        client.force_login(viewer_user)
        page = client.get(self.list_url).content.decode()
        assert f"/blacklist-numbers/?group={group.pk}" in page


class TestBlacklistNumberPages(PageCrudTests):
    model = BlacklistNumber
    list_url = "/blacklist-numbers/"

    @property
    def form_data(self) -> dict[str, Any]:
        return {"group": fraud_group().pk, "number": "882", "match": "prefix", "memo": ""}

    def make(self) -> BlacklistNumber:
        return BlacklistNumber.objects.create(group=fraud_group(), number="4474000000")

    def test_a_groups_page_lists_its_numbers_and_offers_import_export(
        self, client, operator_user
    ) -> None:
        number = self.make()
        other = BlacklistGroup.objects.create(name="Other")
        BlacklistNumber.objects.create(group=other, number="900", match="prefix")
        client.force_login(operator_user)
        response = client.get(self.list_url, {"group": number.group_id})
        assert [row.record for row in response.context["table"].page.object_list] == [number]
        page = response.content.decode()
        assert "Numbers of group “Known fraud”" in page
        for url in ("add/?group=", "import/?group=", "export/?group="):
            assert f"/blacklist-numbers/{url}{number.group_id}" in page

    def test_adding_from_a_groups_page_preselects_the_group(self, client, operator_user) -> None:
        group = fraud_group()
        client.force_login(operator_user)
        form = client.get(f"{self.list_url}add/", {"group": group.pk}).context["form"]
        assert str(form.initial["group"]) == str(group.pk)
        response = client.post(f"{self.list_url}add/", self.form_data)
        assert response["Location"] == f"/blacklist-numbers/?group={group.pk}"

    def test_a_duplicate_is_reported_on_the_form(self, client, operator_user) -> None:
        self.make()
        client.force_login(operator_user)
        data = {**self.form_data, "number": "4474000000"}
        response = client.post(f"{self.list_url}add/", data)
        assert response.status_code == 200 and response.context["form"].errors
        assert BlacklistNumber.objects.count() == 1


class TestSystemWhitelistPages(PageCrudTests):
    model = SystemWhitelistEntry
    list_url = "/system-white-list/"
    form_data = {"number": "112", "match": "exact", "memo": "Emergency"}

    def make(self) -> SystemWhitelistEntry:
        return SystemWhitelistEntry.objects.create(number="911")


def test_number_management_appears_in_the_navigation(client, viewer_user) -> None:
    client.force_login(viewer_user)
    page = client.get("/").content.decode()
    for label, url in (
        ("Black/white list groups", "/blacklist-groups/"),
        ("System white list", "/system-white-list/"),
        ("Dynamic black list", "/dynamic-black-list/"),
    ):
        assert f'<a href="{url}">{label}</a>' in page


@pytest.mark.django_db(transaction=True)
def test_every_static_list_change_reaches_the_engine(admin_api) -> None:
    with listening("vosadmin_config") as receive:
        group = admin_api.post("/api/v1/blacklist/groups/", {"name": "G"}, format="json").json()
        data = {"group": group["id"], "number": "882", "match": "prefix"}
        number = admin_api.post("/api/v1/blacklist/numbers/", data, format="json").json()
        entry = admin_api.post("/api/v1/whitelist/", {"number": "112"}, format="json").json()
        admin_api.delete(f"/api/v1/blacklist/numbers/{number['id']}/")
        payloads = receive()
    assert payloads == [
        {"kind": "blacklist_group", "action": "create", "key": group["id"]},
        {"kind": "blacklist_number", "action": "create", "key": number["id"]},
        {"kind": "whitelist", "action": "create", "key": entry["id"]},
        {"kind": "blacklist_number", "action": "delete", "key": number["id"]},
    ]
