"""Items' photos: listed, reordered and deleted by their owner, served under /media/items/ with
absolute URLs, and a nearby page small enough for a phone on a weak network."""

from __future__ import annotations

import gzip
import io
import json
import re

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from sharing.models import ItemPhoto
from sharing.services.items import item_photo_add


def jpeg(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), colour).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def photographed(make_resident, make_item):
    owner = make_resident((24.9390, 60.1702))
    item = make_item(owner=owner, title="Perceuse")
    photos = [
        item_photo_add(actor=owner, item_id=item.pk, data=jpeg(colour))
        for colour in ((200, 0, 0), (0, 200, 0), (0, 0, 200))
    ]
    return owner, item, photos


@pytest.mark.django_db
def test_the_owner_reorders_photos_and_lists_show_the_first(
    photographed, make_resident, client_for, street_graph
):
    owner, item, photos = photographed
    client = client_for(owner)
    listed = client.get(f"/api/v1/items/{item.pk}/photos").json()
    assert [p["id"] for p in listed] == [p.pk for p in photos]
    assert all(p["image"].startswith("http://testserver/media/items/") for p in listed)

    new_order = [photos[2].pk, photos[0].pk, photos[1].pk]
    reordered = client.post(
        f"/api/v1/items/{item.pk}/photos/order", {"order": new_order}, format="json"
    )
    assert reordered.status_code == 200 and [p["id"] for p in reordered.json()] == new_order
    assert [p["position"] for p in reordered.json()] == [1, 2, 3]

    neighbour = make_resident((24.9384, 60.1699))
    rows = client_for(neighbour).get("/api/v1/items/nearby", {"minutes": 20}).json()["results"]
    row = next(r for r in rows if r["id"] == item.pk)
    assert row["thumbnail"] == f"http://testserver{photos[2].thumbnail.url}"


@pytest.mark.django_db
@pytest.mark.parametrize("order", [[], [1, 2], "x", [0]])
def test_an_order_that_is_not_every_photo_once_is_400(photographed, client_for, order):
    owner, item, photos = photographed
    if order == [1, 2]:
        order = [photos[0].pk, photos[0].pk, photos[1].pk]
    response = client_for(owner).post(
        f"/api/v1/items/{item.pk}/photos/order", {"order": order}, format="json"
    )
    assert response.status_code == 400
    assert list(
        ItemPhoto.objects.filter(item=item).order_by("position").values_list("pk", flat=True)
    ) == [p.pk for p in photos]


@pytest.mark.django_db
def test_the_owner_deletes_a_photo_and_its_files_go(
    photographed, make_resident, client_for, django_capture_on_commit_callbacks
):
    owner, item, photos = photographed
    names = [photos[0].image.name, photos[0].thumbnail.name]
    neighbour = make_resident()
    assert (
        client_for(neighbour).delete(f"/api/v1/items/{item.pk}/photos/{photos[0].pk}").status_code
        == 403
    )
    assert (
        client_for(owner).delete(f"/api/v1/items/{item.pk + 999}/photos/{photos[0].pk}").status_code
        == 404
    )

    with django_capture_on_commit_callbacks(execute=True):
        gone = client_for(owner).delete(f"/api/v1/items/{item.pk}/photos/{photos[0].pk}")
    assert gone.status_code == 204
    assert not any(default_storage.exists(name) for name in names)
    assert [p["id"] for p in client_for(owner).get(f"/api/v1/items/{item.pk}/photos").json()] == [
        photos[1].pk,
        photos[2].pk,
    ]


@pytest.mark.django_db
def test_items_photos_are_served_and_private_files_are_not(photographed, client):
    _owner, _item, photos = photographed
    served = client.get(photos[0].thumbnail.url)
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert b"".join(served.streaming_content)[:2] == b"\xff\xd8"
    # Names are random: nothing to guess from an item's id.
    assert re.fullmatch(r"[0-9a-f]{32}\.jpg", photos[0].image.name.rsplit("/", 1)[-1])
    default_storage.save("pooling/proofs/2026/12/door.jpg", io.BytesIO(jpeg((1, 2, 3))))
    assert client.get("/media/pooling/proofs/2026/12/door.jpg").status_code == 404
    assert client.get("/media/items/../pooling/proofs/2026/12/door.jpg").status_code in (400, 404)


@pytest.mark.django_db
def test_a_nearby_page_of_20_stays_under_8_kb_gzipped(
    make_resident, make_item, client_for, street_graph
):
    for n in range(24):
        owner = make_resident((24.9380 + 0.0002 * (n % 6), 60.1695 + 0.0002 * (n // 6)))
        item = make_item(
            owner=owner,
            title=f"Perceuse à percussion numéro {n}",
            description="Une description assez longue pour peser dans une page de résultats. " * 8,
        )
        item_photo_add(actor=owner, item_id=item.pk, data=jpeg((n * 10 % 255, 40, 90)))
    asker = make_resident((24.9384, 60.1699))
    response = client_for(asker).get("/api/v1/items/nearby", {"minutes": 30, "limit": 20})
    body = response.content
    assert len(response.json()["results"]) == 20
    packed = len(gzip.compress(body))
    print(json.dumps({"nearby_page_20": {"bytes": len(body), "gzip_bytes": packed}}))
    assert packed < 8 * 1024
