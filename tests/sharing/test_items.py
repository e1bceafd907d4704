from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from sharing.models import Item
from sharing.services.loans import loan_accept, loan_request
from tests.neighbourhoods.factories import NeighbourhoodFactory
from tests.sharing.factories import BlockedPeriodFactory

pytestmark = pytest.mark.usefixtures("street_graph")


def test_create_list_update_withdraw(make_resident, client_for):
    owner = make_resident()
    client = client_for(owner)
    created = client.post(
        "/api/v1/items/",
        {
            "title": "Escabeau 5 marches",
            "category": "diy",
            "max_loan_days": 3,
            "deposit_cents": 2000,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    item_id = created.json()["id"]
    assert created.json()["category_label"] == "DIY and tools"
    mine = client.get("/api/v1/items/").json()
    assert [row["id"] for row in mine["results"]] == [item_id]
    patched = client.patch(
        f"/api/v1/items/{item_id}", {"title": "Escabeau alu 5 marches"}, format="json"
    )
    assert patched.json()["title"] == "Escabeau alu 5 marches"
    other = client_for(make_resident())
    refused = other.patch(f"/api/v1/items/{item_id}", {"title": "à moi"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "not_owner"
    assert Item.objects.get(pk=item_id).title == "Escabeau alu 5 marches"
    assert client.delete(f"/api/v1/items/{item_id}").json()["status"] == "withdrawn"


@pytest.mark.parametrize(
    "body",
    [
        {"title": "x", "category": "diy"},
        {"title": "Tente", "category": "spaceships"},
        {"title": "Tente", "category": "camping", "max_loan_days": 0},
        {"title": "Tente", "category": "camping", "deposit_cents": -5},
        {"category": "camping"},
    ],
)
def test_bad_items_are_400_and_store_nothing(make_resident, client_for, body):
    client = client_for(make_resident())
    response = client.post("/api/v1/items/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert Item.objects.count() == 0


def test_non_members_and_suspended_members_cannot_list(make_resident, client_for, neighbourhood):
    pending = make_resident(status="pending")
    response = client_for(pending).post(
        "/api/v1/items/", {"title": "Tente", "category": "camping"}, format="json"
    )
    assert response.status_code == 403 and response.json()["code"] == "not_a_member"
    suspended = make_resident(status="active")
    suspended.memberships.update(status="suspended", suspended_reason="spam")
    response = client_for(suspended).post(
        "/api/v1/items/", {"title": "Tente", "category": "camping"}, format="json"
    )
    assert response.status_code == 403 and response.json()["code"] == "member_suspended"
    assert Item.objects.count() == 0


@pytest.fixture
def catalogue(make_resident, make_item):
    owner = make_resident((24.9410, 60.1710))
    titles = [
        ("Perceuse à percussion Bosch", "diy", "Avec mèches béton"),
        ("Appareil à raclette", "kitchen", "Pour 8 personnes"),
        ("Crêpière électrique", "kitchen", ""),
        ("Tente 4 places", "camping", "Montage rapide"),
        ("Scie sauteuse", "diy", "Lames bois et métal"),
        ("Cordless drill", "diy", "18V with two batteries"),
    ]
    return {
        title: make_item(owner=owner, title=title, category=cat, description=desc)
        for title, cat, desc in titles
    }


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("perceuse", {"Perceuse à percussion Bosch"}),
        ("percussion", {"Perceuse à percussion Bosch"}),
        ("creperie", set()),
        ("crepiere", {"Crêpière électrique"}),
        ("perseuse", {"Perceuse à percussion Bosch"}),  # a typo: trigram similarity
        ("perseuse bosch", {"Perceuse à percussion Bosch"}),  # every word must match
        ("perseuse makita", set()),
        ("racelette", {"Appareil à raclette"}),
        ("raclette", {"Appareil à raclette"}),
        ("drills", {"Cordless drill"}),  # English stemming
        ("métal", {"Scie sauteuse"}),  # from the description, accents ignored
        ("mèches", {"Perceuse à percussion Bosch"}),
    ],
)
def test_french_and_english_search(catalogue, make_resident, client_for, q, expected):
    searcher = client_for(make_resident((24.9384, 60.1699)))
    response = searcher.get("/api/v1/items/nearby", {"minutes": 20, "q": q})
    assert response.status_code == 200, response.content
    assert {row["title"] for row in response.json()["results"]} == expected


def test_title_words_follow_every_write_even_in_bulk(make_resident, make_item, client_for):
    """The list of title words that typos are matched against is kept by a database trigger:
    bulk inserts and renamed titles are covered; a word no title holds any more finds nothing."""
    from sharing.models import TitleWord
    from sharing.services.items import _refresh_search

    owner = make_resident((24.9410, 60.1710))
    item = make_item(owner=owner, title="Escabeau trois marches", category="diy")
    (bulk,) = Item.objects.bulk_create(
        [
            Item(
                owner=owner,
                title="Tondeuse électrique",
                title_norm="tondeuse electrique",
                category="garden",
                location=item.location,
            )
        ]
    )
    Item.objects.filter(pk=item.pk).update(title="Aspirateur", title_norm="aspirateur")
    assert {"tondeuse", "electrique", "aspirateur", "escabeau"} <= set(
        TitleWord.objects.values_list("word", flat=True)
    )
    for pk in (bulk.pk, item.pk):  # what a bulk import does next: the search vectors
        _refresh_search(pk)
    searcher = client_for(make_resident((24.9384, 60.1699)))

    def titles(q):
        response = searcher.get("/api/v1/items/nearby", {"minutes": 20, "q": q})
        assert response.status_code == 200, response.content
        return {row["title"] for row in response.json()["results"]}

    assert titles("tondeus") == {"Tondeuse électrique"}
    assert titles("aspirateru") == {"Aspirateur"}
    assert titles("escabo") == set()


def test_nearby_is_sorted_by_coarse_time_and_hides_homes(
    catalogue, make_resident, make_item, client_for
):
    far_owner = make_resident((24.9500, 60.1640))
    make_item(owner=far_owner, title="Perceuse visseuse", category="diy")
    me = make_resident((24.9384, 60.1699))
    body = client_for(me).get("/api/v1/items/nearby", {"minutes": 20, "category": "diy"}).json()
    minutes = [row["travel_minutes"] for row in body["results"]]
    assert minutes == sorted(minutes) and minutes[0] >= 3
    assert body["count"] == len(body["results"]) == 4
    homes = {(u.home.x, u.home.y) for u in (far_owner, me)}
    for row in body["results"]:
        lon, lat = row["location"]["coordinates"]
        assert (lon, lat) not in homes
        assert "home" not in row["owner"]
    assert all(row["travel_label"].endswith("min") for row in body["results"])
    fr = client_for(me)
    fr.credentials(HTTP_ACCEPT_LANGUAGE="fr")
    rows = fr.get("/api/v1/items/nearby", {"minutes": 20}).json()["results"]
    for row in rows:
        minutes = row["travel_minutes"]
        expected = "moins de 3 min" if minutes == 3 else f"{minutes} min"
        assert row["travel_label"] == expected


def test_nearby_filters_by_availability(catalogue, make_resident, client_for, period):
    me = make_resident((24.9384, 60.1699))
    drill = catalogue["Perceuse à percussion Bosch"]
    loan = loan_request(
        borrower=make_resident(), item_id=drill.pk, starts_at=period[0], ends_at=period[1]
    )
    loan_accept(actor=drill.owner, loan_id=loan.pk)
    params = {"minutes": 20, "category": "diy"}
    during = dict(
        params,
        available_from=period[0].isoformat(),
        available_until=(period[0] + timedelta(hours=3)).isoformat(),
    )
    after = dict(
        params,
        available_from=(period[1] + timedelta(days=1)).isoformat(),
        available_until=(period[1] + timedelta(days=2)).isoformat(),
    )
    client = client_for(me)
    titles_during = {
        r["title"] for r in client.get("/api/v1/items/nearby", during).json()["results"]
    }
    titles_after = {r["title"] for r in client.get("/api/v1/items/nearby", after).json()["results"]}
    assert drill.title not in titles_during and drill.title in titles_after


@pytest.mark.parametrize(
    "params",
    [
        {"minutes": 0},
        {"minutes": 500},
        {"at": "95,24.9"},
        {"profile": "rocket"},
        {"available_from": "2026-01-02T00:00:00Z", "available_until": "2026-01-01T00:00:00Z"},
        {"available_from": "2026-01-02T00:00:00Z"},
        {"category": "spaceships"},
    ],
)
def test_nearby_bad_input(make_resident, client_for, params):
    response = client_for(make_resident()).get("/api/v1/items/nearby", params)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_nearby_query_count_does_not_depend_on_page_size(make_resident, make_item, client_for):
    owners = [make_resident() for _ in range(4)]
    for i in range(30):
        make_item(owner=owners[i % 4], title=f"Objet {i}", category="other")
    client = client_for(make_resident((24.9384, 60.1699)))
    counts = []
    for limit in (1, 10, 30):
        with CaptureQueriesContext(connection) as ctx:
            body = client.get("/api/v1/items/nearby", {"minutes": 30, "limit": limit}).json()
        assert len(body["results"]) == min(limit, body["count"])
        counts.append(len(ctx.captured_queries))
    assert len(set(counts)) == 1, counts
    # Membership, close spellings, candidates, the page's items, and one statement for their
    # photos and their owners' reliability (the client is authenticated without a query).
    assert counts[0] <= 5, counts


def test_nearby_rows_show_a_thumbnail_and_reliability_as_the_item_page_does(
    make_resident, make_item, client_for, settings, tmp_path
):
    from sharing.models import Loan

    settings.MEDIA_ROOT = tmp_path
    owner = make_resident((24.9390, 60.1702))
    item = make_item(owner=owner, title="Perceuse visseuse", category="diy")
    owner_client = client_for(owner)
    for name in ("a.jpg", "b.jpg"):
        upload = io.BytesIO(_jpeg_with_gps())
        upload.name = name
        response = owner_client.post(
            f"/api/v1/items/{item.pk}/photos", {"image": upload}, format="multipart"
        )
        assert response.status_code == 201, response.content
    other = make_item(owner=owner, title="Escabeau", category="diy")
    borrower = make_resident((24.9384, 60.1699))
    start = timezone.now() + timedelta(days=3)
    for k, status in enumerate(("accepted", "declined", "requested", "expired")):
        loan = loan_request(
            borrower=borrower,
            item_id=other.pk,
            starts_at=start + timedelta(days=10 * k),
            ends_at=start + timedelta(days=10 * k + 1),
        )
        if status == "accepted":
            loan_accept(actor=owner, loan_id=loan.pk)
        elif status != "requested":
            Loan.objects.filter(pk=loan.pk).update(status=status)
    client = client_for(borrower)
    rows = client.get("/api/v1/items/nearby", {"minutes": 20, "category": "diy"}).json()["results"]
    row = next(r for r in rows if r["id"] == item.pk)
    page = client.get(f"/api/v1/items/{item.pk}").json()
    # A row carries its first photo, small, and no description; the item's page all of them.
    assert [p["position"] for p in page["photos"]] == [1, 2]
    assert row["thumbnail"] == page["photos"][0]["thumbnail"]
    assert "description" not in row and "photos" not in row
    base = f"http://testserver{settings.MEDIA_URL}items/"
    assert all(
        p["image"].startswith(base) and p["thumbnail"].startswith(base) for p in page["photos"]
    )
    assert row["owner"] == page["owner"]
    assert row["owner"]["response_rate"] == 0.5  # accepted and declined of four asked


def test_neighbours_of_other_neighbourhoods_are_not_seen(
    make_resident, make_item, client_for, association
):
    other = NeighbourhoodFactory(association=association, name="Elsewhere", central=True)
    outsider = make_resident((24.9410, 60.1710), where=other)
    make_item(owner=outsider, title="Perceuse secrète", category="diy")
    me = make_resident((24.9384, 60.1699))
    assert (
        client_for(me).get("/api/v1/items/nearby", {"minutes": 20, "q": "perceuse"}).json()["count"]
        == 0
    )


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (2400, 1800), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"
    exif[0x0110] = "Phone 12"
    gps = {1: "N", 2: (60.0, 10.0, 12.5), 3: "E", 4: (24.0, 56.0, 7.25)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the upload does carry GPS
    return data


def test_photos_are_resized_and_stripped_of_metadata(
    make_resident, make_item, client_for, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    owner = make_resident()
    item = make_item(owner=owner)
    upload = io.BytesIO(_jpeg_with_gps())
    upload.name = "IMG_0001.jpg"
    response = client_for(owner).post(
        f"/api/v1/items/{item.pk}/photos", {"image": upload}, format="multipart"
    )
    assert response.status_code == 201, response.content
    photo = item.photos.get()
    assert (photo.width, photo.height) == (1600, 1200)
    with Image.open(photo.image.path) as stored:
        assert stored.size == (1600, 1200)
        assert not stored.getexif()
        assert "exif" not in stored.info and "xmp" not in stored.info
    with Image.open(photo.thumbnail.path) as thumb:
        assert max(thumb.size) == 320 and not thumb.getexif()
    raw = Path(photo.image.path).read_bytes()
    assert b"Camera Maker" not in raw and b"Exif" not in raw


@pytest.mark.parametrize(
    ("payload", "code"),
    [(b"%PDF-1.4 not an image", "invalid_photo"), (b"GIF89a" + b"\x00" * 100, "invalid_photo")],
)
def test_bad_uploads_are_refused(
    make_resident, make_item, client_for, settings, tmp_path, payload, code
):
    settings.MEDIA_ROOT = tmp_path
    owner = make_resident()
    item = make_item(owner=owner)
    upload = io.BytesIO(payload)
    upload.name = "x.jpg"
    response = client_for(owner).post(
        f"/api/v1/items/{item.pk}/photos", {"image": upload}, format="multipart"
    )
    assert response.status_code == 400 and response.json()["code"] == code
    assert item.photos.count() == 0


def test_oversized_upload_is_refused(make_resident, make_item, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.SHARING_PHOTO_MAX_BYTES = 10_000
    owner = make_resident()
    item = make_item(owner=owner)
    upload = io.BytesIO(_jpeg_with_gps())
    upload.name = "big.jpg"
    response = client_for(owner).post(
        f"/api/v1/items/{item.pk}/photos", {"image": upload}, format="multipart"
    )
    assert response.status_code == 400 and response.json()["code"] == "photo_too_large"
    assert item.photos.count() == 0


def test_a_nearby_row_is_what_drf_would_write(catalogue, make_resident, client_for):
    """The search's rows are written by hand (speed): the same as DRF's own serializer."""
    from rest_framework import serializers

    from sharing.selectors import items_nearby
    from sharing.serializers import NearbyItemSerializer

    me = make_resident((24.9384, 60.1699))
    search = items_nearby(user=me, minutes=20)
    rows = search.page(0, 20)
    assert rows
    fast = NearbyItemSerializer(rows, many=True).data
    drf = [
        serializers.ModelSerializer.to_representation(NearbyItemSerializer(row), row)
        for row in rows
    ]
    assert fast == drf
    assert list(fast[0]) == NearbyItemSerializer.Meta.fields


def _orm_candidates(user, origin, radius_m, q=None, category=None, period=None) -> set[int]:
    """The same rules written with the ORM: the oracle of the fixed SQL."""
    from django.contrib.gis.measure import D
    from django.contrib.postgres.search import SearchQuery

    from sharing.selectors import close_spellings, items_available, items_visible_to

    qs = items_visible_to(user).filter(location__dwithin=(origin, D(m=radius_m)))
    if q:
        written = SearchQuery(q, config="voisinage_fr", search_type="websearch") | SearchQuery(
            q, config="voisinage_en", search_type="websearch"
        )
        spellings = close_spellings(q)
        if any(group for _word, group in spellings):
            typo = None
            for word_, group in spellings:
                either = None
                for word in dict.fromkeys((word_, *group)):
                    for config in ("voisinage_fr", "voisinage_en"):
                        one = SearchQuery(word, config=config, search_type="plain")
                        either = one if either is None else either | one
                typo = either if typo is None else typo & either
            written = written | typo
        qs = qs.filter(search=written)
    if category:
        qs = qs.filter(category=category)
    if period:
        qs = items_available(qs, *period)
    return set(qs.values_list("pk", flat=True))


@pytest.mark.parametrize(
    ("q", "category", "with_period"),
    [
        (None, None, False),
        ("perceuse", None, False),
        ("perseuse bosch", None, False),
        ("perseuse makita", None, False),
        ("crepiere", "kitchen", False),
        ("drill OR tente", None, False),
        (None, "diy", True),
        ("scie", "diy", True),
    ],
)
def test_item_candidates_follow_the_orm_rules(
    catalogue, make_resident, make_item, period, q, category, with_period
):
    from django.contrib.gis.geos import Point

    from neighbourhoods.models import Membership
    from sharing.selectors import item_candidates

    me = make_resident((24.9384, 60.1699))
    make_item(owner=me, title="Ma perceuse à moi", category="diy")  # never one's own
    outsider = make_resident((24.9390, 60.1700))
    make_item(owner=outsider, title="Perceuse du voisin suspendu", category="diy")
    Membership.objects.filter(user=outsider).update(
        status=Membership.Status.SUSPENDED, suspended_reason="test"
    )
    far = make_resident((24.9900, 60.2000))
    make_item(owner=far, title="Perceuse lointaine", category="diy")  # out of the radius
    drill = catalogue["Perceuse à percussion Bosch"]
    loan = loan_request(
        borrower=make_resident(), item_id=drill.pk, starts_at=period[0], ends_at=period[1]
    )
    loan_accept(actor=drill.owner, loan_id=loan.pk)
    from psycopg.types.range import Range

    BlockedPeriodFactory(item=catalogue["Scie sauteuse"], period=Range(period[0], period[1], "[)"))
    origin = Point(24.9384, 60.1699, srid=4326)
    window = (period[0], period[0] + timedelta(hours=3)) if with_period else None
    hoods = list(
        Membership.objects.filter(user=me, status="active").values_list(
            "neighbourhood_id", flat=True
        )
    )
    rows = item_candidates(
        user=me,
        neighbourhood_ids=hoods,
        origin=origin,
        radius_m=2500,
        q=q,
        category=category,
        period=window,
    )
    expected = _orm_candidates(me, origin, 2500, q, category, window)
    assert {pk for pk, _x, _y in rows} == expected
    assert len(rows) == len(expected)
    if q is None and category is None and not with_period:
        assert len(expected) >= 6  # the catalogue, not a vacuous comparison
    if with_period:
        assert drill.pk not in expected or category != "diy"
