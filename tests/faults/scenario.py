"""The data of the fault scenarios, written into the private PostgreSQL of tests/faults.

    python -m tests.faults.scenario PBF   (DATABASE_URL names the private database)

Migrates, imports the street graph, and creates two neighbourhoods, each with a hub, two cargo
bike couriers, fourteen residents with a pending order and a pending batch for the day (not
queued: the tests queue them). Prints one JSON object: ids and access tokens.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import time, timedelta
from pathlib import Path


def main(pbf: Path) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from geo.services import graph_import
    from tests.accounts.factories import access_token_for
    from tests.neighbourhoods.factories import NeighbourhoodFactory
    from tests.pooling.factories import (
        DAY,
        SPOTS,
        BatchFactory,
        CourierFactory,
        HubFactory,
        OrderFactory,
        ResidentFactory,
        make_staff,
        point,
    )

    call_command("migrate", verbosity=0, interactive=False)
    graph_import(path=pbf, name="helsinki")
    # Nobody logs in with a password here (the scenarios use tokens): hash them cheaply.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    def token(user) -> str:
        return access_token_for(user)

    out: dict = {"batches": {}, "orders": {}}
    for n, name in enumerate(("kill", "resume")):
        hub = HubFactory(neighbourhood=NeighbourhoodFactory(), cutoff_time=time(23, 59))
        neighbourhood = hub.neighbourhood
        for _ in range(2):
            CourierFactory(hub=hub, capacity_units=20, capacity_kg=100)
        day = DAY + timedelta(days=n)
        orders = []
        for i, spot in enumerate(SPOTS[:14]):
            resident = ResidentFactory(home=point(*spot))
            orders.append(
                OrderFactory(
                    resident=resident,
                    neighbourhood=neighbourhood,
                    expected_on=day,
                    receive_mode="home",
                    parcels=[("m", "light")] if i % 3 else [("l", "medium"), ("s", "light")],
                ).pk
            )
        batch = BatchFactory(hub=hub, day=day)
        out["batches"][name] = batch.pk
        out["orders"][name] = orders
        if n == 0:
            out["staff_token"] = token(make_staff(neighbourhood))
            out["resident_token"] = token(resident)
    return out


if __name__ == "__main__":
    result = main(Path(sys.argv[1]))
    print(json.dumps(result))
