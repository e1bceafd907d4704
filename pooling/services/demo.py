"""The pooling demo over central Helsinki: merchants, a hub, couriers, relay points and neighbour
hosts, a day of orders for the demo residents (and a few more neighbours), planned.

Orders arrive through the same service as the signed webhook, with idempotency keys made of the
day, the resident and a number, so running the demo again replays them instead of adding more,
whatever else the database holds. Everything else is found by its name or email before being
created. Deterministic: the shared draws come from ``random.Random(seed)``, each resident's from a
generator of their own.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, time

import numpy as np
from django.conf import settings
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.utils import timezone
from django.utils.text import slugify

from accounts.demo import DEMO_ADMIN_EMAIL, DEMO_EMAIL_DOMAIN, DEMO_PASSWORD, DEMO_RESIDENTS
from accounts.models import User
from accounts.services import demo_users_seed, user_create
from geo.graph import get_network
from geo.profiles import get_profile
from geo.selectors import travel_matrix
from neighbourhoods.models import Association, Neighbourhood
from neighbourhoods.services import demo_volunteer_seed
from pooling.models import Batch, Courier, Hub, Merchant, ReceiveMode, RelayPoint, WalkProfile
from pooling.planning.pipeline import batch_plan
from pooling.services.orders import Receiving, order_receive_from_merchant, receiving_preference_set
from pooling.services.places import courier_create, hub_create, merchant_create, relay_point_create

DEFAULT_SEED = 2026
# The same association and neighbourhood as the sharing demo (found or created).
ASSOCIATION_NAME = "Association Voisins de Kamppi"
NEIGHBOURHOOD_NAME = "Kamppi et centre-ville"
NEIGHBOURHOOD_BBOX = (24.90, 60.150, 24.98, 60.190)
HOMES_BBOX = (24.936, 60.164, 24.953, 60.178)
HUB = ("Hub Voisinage Kamppi", 24.9432, 60.1680, "Yrjönkatu, Helsinki")
MERCHANTS = [
    ("Akateeminen Kirjakauppa", "Posti"),
    ("Verkkokauppa.com", "DHL"),
    ("Marimekko", "Budbee"),
    ("Ruohonjuuri", "Bring"),
]
RELAYS = [
    ("shop", "R-kioski Aleksanterinkatu", 24.9458, 60.1670, 60),
    ("locker", "Posti parcel locker Kamppi", 24.9406, 60.1670, 40),
    ("post_office", "Posti Kluuvi", 24.9484, 60.1730, 80),
]
# Neighbour hosts: demo residents who volunteer, with their capacity and hours.
HOSTS = [("hugo", 6, time(16, 0), time(20, 0)), ("chloe", 4, time(12, 0), time(19, 0))]
COURIERS = [
    ("coursier.velo1", "Noé (vélo cargo)", "cargo_bike", time(9, 0), time(17, 0)),
    ("coursier.velo2", "Maëlys (vélo cargo)", "cargo_bike", time(12, 0), time(20, 0)),
    ("coursier.pied", "Sacha (à pied)", "foot", time(10, 0), time(14, 0)),
]
EXTRA_NEIGHBOURS = 24
ORDERS_PER_RESIDENT = (1, 2)


@dataclass
class DemoPoolingResult:
    merchants_created: list[tuple[str, str, str]] = field(default_factory=list)
    residents: int = 0
    orders: int = 0
    orders_created: int = 0
    batch_id: int | None = None
    batch_status: str = ""
    rounds: int = 0
    stops: int = 0
    vehicle_km: float = 0.0
    per_carrier_km: float = 0.0


def _point(lon: float, lat: float) -> Point:
    return Point(lon, lat, srid=settings.GEO_SRID)


def _reachable(points: list[tuple[float, float]], hub: tuple[float, float]) -> list[bool]:
    """Whether each point and the hub are connected both ways, on foot and by bike."""
    ok = np.ones(len(points), dtype=bool)
    for profile in ("bike", "walk"):
        matrix = travel_matrix(points=[hub, *points], profile=profile)
        out = np.array([v is not None for v in matrix.seconds[0][1:]])
        back = np.array([row[0] is not None for row in matrix.seconds[1:]])
        ok &= out & back
    return ok.tolist()


def _homes(rng: random.Random, count: int, hub: tuple[float, float]) -> list[Point]:
    """Homes on the walking graph, within 40 m of a way, that the rounds can reach."""
    net = get_network()
    prof = get_profile("walk")
    lon0, lat0, lon1, lat1 = HOMES_BBOX
    homes: list[Point] = []
    while len(homes) < count:
        batch = []
        for _ in range(count):
            lon, lat = rng.uniform(lon0, lon1), rng.uniform(lat0, lat1)
            snaps = net.snap_many(np.array([lon]), np.array([lat]), prof)
            if snaps.edge[0] < 0 or snaps.approach_m[0] > 40:
                continue
            batch.append((round(lon, 6), round(lat, 6)))
        for (lon, lat), good in zip(batch, _reachable(batch, hub), strict=True):
            if good and len(homes) < count:
                homes.append(_point(lon, lat))
    return homes


def _place() -> tuple[Neighbourhood, User]:
    admin = User.objects.get(email=DEMO_ADMIN_EMAIL)
    association, _ = Association.objects.get_or_create(
        name=ASSOCIATION_NAME, defaults={"slug": slugify(ASSOCIATION_NAME)}
    )
    association.staff.add(admin)
    demo_volunteer_seed(association=association)
    neighbourhood, _ = Neighbourhood.objects.get_or_create(
        association=association,
        name=NEIGHBOURHOOD_NAME,
        defaults={
            "area": MultiPolygon(Polygon.from_bbox(NEIGHBOURHOOD_BBOX), srid=settings.GEO_SRID),
            "join_policy": Neighbourhood.JoinPolicy.APPROVAL,
        },
    )
    return neighbourhood, admin


def _user(first: str, display: str, home: Point | None) -> User:
    email = f"{first}@{DEMO_EMAIL_DOMAIN}"
    user = User.objects.filter(email=email).first()
    if user is None:
        user = user_create(
            email=email,
            password=DEMO_PASSWORD,
            display_name=display,
            home=home,
            home_address="Helsinki" if home is not None else "",
            email_verified=True,
            documents_accepted=True,
        )
    return user


def pooling_demo_seed(*, seed: int = DEFAULT_SEED, day: date | None = None) -> DemoPoolingResult:
    rng = random.Random(seed)
    day = day or timezone.localdate()
    result = DemoPoolingResult()
    demo_users_seed()
    neighbourhood, _admin = _place()
    hub = Hub.objects.filter(neighbourhood=neighbourhood).first() or hub_create(
        neighbourhood=neighbourhood,
        name=HUB[0],
        lon=HUB[1],
        lat=HUB[2],
        address_label=HUB[3],
    )
    hub_lonlat = (hub.location.x, hub.location.y)
    for name, carrier in MERCHANTS:
        if not Merchant.objects.filter(name=name).exists():
            creds = merchant_create(name=name, default_carrier=carrier)
            result.merchants_created.append((name, creds.api_key, creds.signing_secret))
    for kind, name, lon, lat, capacity in RELAYS:
        if not RelayPoint.objects.filter(name=name).exists():
            relay_point_create(
                kind=kind,
                name=name,
                lon=lon,
                lat=lat,
                neighbourhood=neighbourhood,
                capacity_per_day=capacity,
                opens_at=time(8, 0),
                closes_at=time(21, 0),
                address_label=name,
            )
    for first, capacity, opens, closes in HOSTS:
        host = User.objects.filter(email=f"{first}@{DEMO_EMAIL_DOMAIN}").first()
        name = f"Chez {host.display_name}" if host else ""
        if (
            host is not None
            and host.home is not None
            and not RelayPoint.objects.filter(name=name).exists()
        ):
            relay_point_create(
                kind=RelayPoint.Kind.NEIGHBOUR_HOST,
                name=name,
                lon=host.home.x,
                lat=host.home.y,
                neighbourhood=neighbourhood,
                operator=host,
                capacity_per_day=capacity,
                opens_at=opens,
                closes_at=closes,
                address_label=host.home_address,
            )
    for first, display, vehicle, start, end in COURIERS:
        user = _user(first, display, None)
        if not Courier.objects.filter(user=user).exists():
            courier_create(user=user, hub=hub, vehicle=vehicle, shift_start=start, shift_end=end)

    # Residents: the demo ones whose home the rounds can reach, and neighbours added here.
    # seed_demo's residents only (not whoever else shares the demo's domain, such as the sharing
    # demo's): a second run finds the same people whatever ran in between.
    demo = list(
        User.objects.filter(
            email__in=[r.email for r in DEMO_RESIDENTS], home__isnull=False
        ).order_by("email")
    )
    places = [(u.home.x, u.home.y) for u in demo if u.home is not None]
    reach = _reachable(places, hub_lonlat) if places else []
    residents = [u for u, ok in zip(demo, reach, strict=True) if ok]
    homes = _homes(rng, EXTRA_NEIGHBOURS, hub_lonlat)
    for n, home in enumerate(homes, start=1):
        residents.append(_user(f"voisin{n:02d}", f"Voisin·e {n:02d}", home))
    result.residents = len(residents)

    modes = [
        ReceiveMode.HOME,
        ReceiveMode.HOME,
        ReceiveMode.ANY,
        ReceiveMode.RELAY,
        ReceiveMode.HOST,
    ]
    merchants = list(Merchant.objects.filter(name__in=[m[0] for m in MERCHANTS]).order_by("name"))
    for resident in residents:
        # Each resident's draws come from their own generator: the same whoever else the
        # database holds (the sharing demo's residents, or not yet), so a second run replays the
        # same orders under the same idempotency keys.
        own = random.Random(f"{seed}:{resident.email}")
        weekday = day.weekday()
        windows = (
            [{"weekday": weekday, "start": "17:00", "end": "20:00"}] if own.random() < 1 / 3 else []
        )
        receiving_preference_set(
            resident=resident,
            receiving=Receiving(
                mode=own.choice(modes),
                max_walk_seconds=own.choice([480, 600, 900]),
                walk_profile=WalkProfile.WHEELCHAIR if own.random() < 1 / 11 else WalkProfile.WALK,
            ),
            home_windows=windows,
        )
        for number in range(1, own.randint(*ORDERS_PER_RESIDENT) + 1):
            merchant = merchants[own.randrange(len(merchants))]
            size = own.choice(["s", "s", "m", "m", "l"])
            weight = own.choice(["light", "light", "medium", "heavy"])
            tag = f"{day:%Y%m%d}-{resident.pk}-{number}"
            payload = {
                "reference": f"DEMO-{tag}",
                "resident_email": resident.email,
                "tracking_number": f"DEMO{day:%Y%m%d}{resident.pk:05d}{number}",
                "expected_on": day.isoformat(),
                "parcels": [{"size": size, "weight": weight}],
            }
            raw = json.dumps(payload, sort_keys=True).encode()
            validated = {**payload, "expected_on": day, "carrier": ""}
            _order, created = order_receive_from_merchant(
                merchant=merchant,
                idempotency_key=f"demo-{tag}",
                raw_body=raw,
                payload=validated,
            )
            result.orders += 1
            result.orders_created += int(created)

    batch = (
        Batch.objects.filter(neighbourhood=neighbourhood, day=day)
        .exclude(status__in=[Batch.Status.FAILED, Batch.Status.CANCELLED])
        .first()
    )
    if batch is None:
        batch = Batch.objects.create(neighbourhood=neighbourhood, hub=hub, day=day)
    if batch.status in (Batch.Status.PENDING, Batch.Status.PLANNING) or (
        batch.status == Batch.Status.PLANNED and result.orders_created
    ):
        batch = batch_plan(batch_id=batch.pk) or batch
    batch.refresh_from_db()
    result.batch_id = batch.pk
    result.batch_status = batch.status
    result.rounds = batch.routes.count()
    result.stops = sum(r.stops.count() for r in batch.routes.all())
    impact = getattr(batch, "impact", None)
    if impact is not None:
        result.vehicle_km = round(impact.vehicle_meters / 1000, 2)
        result.per_carrier_km = round(impact.per_carrier_meters / 1000, 2)
    return result
