"""Keyset pages: every CDR exactly once, in order, both ways, even when start times are equal."""

from __future__ import annotations

import pytest

from billing.models import Cdr
from tests.billing.conftest import at, cdr, day_range, store

PAGE = 7


@pytest.fixture
def crowded(partitions) -> list[Cdr]:
    """130 CDRs on 10 distinct start times (13 each), with hold times that tie as well."""
    return store(
        *(
            cdr(f"call-{index}", at(index % 10), hold_time_ms=1000 * (index % 4))
            for index in range(130)
        )
    )


def walk(api, params: dict, link: str = "next", url: str = "/api/v1/cdrs/") -> list[list[dict]]:
    """Every page from `url`, following `link` until there is none."""
    pages = []
    response = api.get(url, params)
    while True:
        body = response.json()
        pages.append(body["results"])
        if not body[link]:
            return pages
        response = api.get(body[link])


def flow_numbers(pages: list[list[dict]]) -> list[int]:
    return [row["flow_no"] for page in pages for row in page]


@pytest.mark.parametrize(
    ("ordering", "key"),
    [
        (None, lambda c: (c.start_time, c.flow_no)),
        ("-start_time", lambda c: (c.start_time, c.flow_no)),
        ("start_time", lambda c: (c.start_time, c.flow_no)),
        ("hold_time_ms", lambda c: (c.hold_time_ms, c.start_time, c.flow_no)),
        ("-hold_time_ms", lambda c: (c.hold_time_ms, c.start_time, c.flow_no)),
        ("flow_no", lambda c: (c.flow_no,)),
    ],
)
def test_forward_pages_hold_every_cdr_once_in_order(viewer_api, crowded, ordering, key) -> None:
    params = {**day_range(), "limit": PAGE, **({"ordering": ordering} if ordering else {})}
    pages = walk(viewer_api, params)
    descending = ordering is None or ordering.startswith("-")
    expected = [c.flow_no for c in sorted(crowded, key=key, reverse=descending)]
    assert flow_numbers(pages) == expected
    assert all(len(page) == PAGE for page in pages[:-1]) and len(pages) == 19


@pytest.mark.parametrize("ordering", ["-start_time", "hold_time_ms", "-caller"])
def test_previous_links_walk_back_over_the_same_pages(viewer_api, crowded, ordering) -> None:
    params = {**day_range(), "limit": PAGE, "ordering": ordering}
    forward = walk(viewer_api, params)
    last = viewer_api.get("/api/v1/cdrs/", params).json()
    while last["next"]:
        last = viewer_api.get(last["next"]).json()
    backward = walk(viewer_api, {}, link="previous", url=last["previous"])
    assert [*reversed(backward), last["results"]] == forward


def test_the_first_page_has_no_previous_and_the_last_no_next(viewer_api, crowded) -> None:
    first = viewer_api.get("/api/v1/cdrs/", {**day_range(), "limit": 100}).json()
    assert first["previous"] is None and first["next"]
    second = viewer_api.get(first["next"]).json()
    assert len(second["results"]) == 30 and second["next"] is None and second["previous"]
    back = viewer_api.get(second["previous"]).json()
    assert back["results"] == first["results"] and back["previous"] is None


def test_new_cdrs_do_not_shift_the_pages_already_reached(viewer_api, crowded) -> None:
    first = viewer_api.get("/api/v1/cdrs/", {**day_range(), "limit": PAGE}).json()
    expected_second = viewer_api.get(first["next"]).json()["results"]
    store(*(cdr(f"late-{index}", at(23)) for index in range(5)))
    assert viewer_api.get(first["next"]).json()["results"] == expected_second


def test_a_cursor_belongs_to_its_ordering(viewer_api, crowded) -> None:
    next_url = viewer_api.get("/api/v1/cdrs/", {**day_range(), "limit": PAGE}).json()["next"]
    response = viewer_api.get(f"{next_url}&ordering=caller")
    assert response.status_code == 400 and "cursor" in response.json()


def test_the_page_walks_its_pages_with_next_and_previous(client, viewer_user, crowded) -> None:
    client.force_login(viewer_user)
    response = client.get("/cdrs/", day_range())
    seen = [row.flow_no for row in response.context["table"].data]
    assert response.context["table"].previous_url is None
    while response.context["table"].next_url:
        response = client.get(f"/cdrs/{response.context['table'].next_url}")
        seen += [row.flow_no for row in response.context["table"].data]
    assert len(seen) == 130 and len(set(seen)) == 130
    response = client.get(f"/cdrs/{response.context['table'].previous_url}")
    assert len(response.context["table"].data) == 50
