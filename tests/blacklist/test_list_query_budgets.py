"""List endpoints and pages cost a fixed number of queries, however many rows they show."""

from __future__ import annotations

import pytest

from blacklist.models import BlacklistGroup, BlacklistNumber, SystemWhitelistEntry
from tests.blacklist.conftest import make_entry

pytestmark = pytest.mark.django_db

URLS = [
    "/api/v1/blacklist/groups/",
    "/api/v1/blacklist/numbers/",
    "/api/v1/whitelist/",
    "/api/v1/blacklist/dynamic/",
    "/blacklist-groups/",
    "/blacklist-numbers/",
    "/system-white-list/",
    "/dynamic-black-list/",
    "/dynamic-black-list/history/",
]


def fill(start: int, stop: int) -> None:
    for index in range(start, stop):
        group = BlacklistGroup.objects.create(name=f"group {index}")
        BlacklistNumber.objects.create(group=group, number=f"44{index:04d}")
        SystemWhitelistEntry.objects.create(number=f"11{index:04d}")
        make_entry(f"86{index:04d}")
        make_entry(f"87{index:04d}", active=False)


@pytest.mark.parametrize("url", URLS)
def test_query_count_does_not_grow_with_the_rows(
    url, client, viewer_api, viewer_user, django_assert_max_num_queries
) -> None:
    requester = viewer_api if url.startswith("/api/") else client
    client.force_login(viewer_user)
    fill(0, 3)
    with django_assert_max_num_queries(20) as few:
        assert requester.get(url).status_code == 200
    fill(3, 33)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert requester.get(url).status_code == 200
