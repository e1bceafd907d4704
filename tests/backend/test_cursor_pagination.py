"""One pagination style for the lists that grow: a cursor in the next link, pages that neither
repeat nor skip rows added meanwhile, and a capped limit."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from sharing.services.items import item_create


def _path(link: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(link)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


@pytest.mark.django_db
def test_pages_follow_next_and_rows_added_meanwhile_shift_nothing(
    make_resident, client_for, settings
):
    owner = make_resident()
    for n in range(7):
        item_create(owner=owner, title=f"Objet {n}", category="diy")
    client = client_for(owner)

    first = client.get("/api/v1/items/", {"limit": 3}).json()
    assert set(first) == {"next", "previous", "results"}
    assert [r["title"] for r in first["results"]] == ["Objet 6", "Objet 5", "Objet 4"]
    item_create(owner=owner, title="Objet 7 (new)", category="diy")  # added before the page
    path, query = _path(first["next"])
    second = client.get(path, query).json()
    assert [r["title"] for r in second["results"]] == ["Objet 3", "Objet 2", "Objet 1"]
    path, query = _path(second["next"])
    last = client.get(path, query).json()
    assert [r["title"] for r in last["results"]] == ["Objet 0"] and last["next"] is None
    assert first["next"].startswith("http://testserver/api/v1/items/?")


@pytest.mark.django_db
@pytest.mark.parametrize("limit", ["0", "-1", "x", "100000"])
def test_a_strange_limit_gives_the_default_or_the_cap(make_resident, client_for, settings, limit):
    settings.API_MAX_PAGE_SIZE = 4
    owner = make_resident()
    for n in range(6):
        item_create(owner=owner, title=f"Objet {n}", category="diy")
    rows = client_for(owner).get("/api/v1/items/", {"limit": limit}).json()["results"]
    assert len(rows) == 4


@pytest.mark.django_db
def test_a_forged_cursor_is_a_400_in_the_error_format(make_resident, client_for):
    answer = client_for(make_resident()).get("/api/v1/items/", {"cursor": "x"})
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_cursor"
